// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/model_folder.h"

#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace mf {

namespace fs = std::filesystem;

namespace {

/// "<stem>-NNNNN-of-NNNNN<extension>", the shard names save_pretrained writes.
bool isShardOf(const std::string &name, const std::string &stem, const std::string &extension)
{
    const std::string pattern = stem + "-00000-of-00000" + extension;
    if (name.size() != pattern.size() || name.compare(0, stem.size(), stem) != 0)
        return false;
    for (std::size_t i = stem.size(); i < pattern.size(); ++i) {
        const bool digit = std::isdigit(static_cast<unsigned char>(name[i])) != 0;
        if (pattern[i] == '0' ? !digit : name[i] != pattern[i])
            return false;
    }
    return true;
}

/// One of the four weight layouts, as found in a folder.
struct WeightSet {
    std::string entry;               ///< the file to open (single file or index)
    std::vector<std::string> shards; ///< shard files of that format found beside it
    std::string index;               ///< the index file name a shard needs ("" for singles)
};

/// The input-embedding names of the common architectures (GPT-2, Llama/Mistral/Qwen, BERT,
/// GPT-NeoX, T5): the tensor an absent, tied lm_head.weight is.
bool isInputEmbedding(const std::string &name)
{
    for (const char *suffix : {"embed_tokens.weight", "wte.weight", "word_embeddings.weight",
                               "embed_in.weight", "tok_embeddings.weight", "shared.weight"})
        if (name == suffix || endsWith(name, std::string(".") + suffix))
            return true;
    return false;
}

nlohmann::json readConfig(const fs::path &path)
{
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(readFile(path.string()));
    } catch (const nlohmann::json::exception &e) {
        throw Error(path.string() + " is not valid JSON (" + e.what() +
                    "); fix or remove it: a merged folder copies it");
    }
    if (!config.is_object())
        throw Error(path.string() + " is not a JSON object (a model config)");
    return config;
}

/// Where two weight sets of one folder disagree, in words ("" when they hold the same tensors).
std::string disagreement(const Checkpoint &a, const Checkpoint &b)
{
    for (const TensorRef &tensor : a.tensors()) {
        const TensorRef *other = b.findOrTied(tensor.name);
        if (!other)
            return "tensor '" + tensor.name + "' is only in the first";
        if (other->shape != tensor.shape)
            return "tensor '" + tensor.name + "' is " + formatShape(tensor.shape) + " in one, " +
                   formatShape(other->shape) + " in the other";
    }
    for (const TensorRef &tensor : b.tensors())
        if (!a.findOrTied(tensor.name))
            return "tensor '" + tensor.name + "' is only in the second";
    return "";
}

} // namespace

FolderFile classifyFolderFile(const std::string &name)
{
    if (name == "model.safetensors" || name == "model.safetensors.index.json" ||
        name == "pytorch_model.bin" || name == "pytorch_model.bin.index.json" ||
        isShardOf(name, "model", ".safetensors") || isShardOf(name, "pytorch_model", ".bin"))
        return FolderFile::Weights;
    if (name == "config.json")
        return FolderFile::Config;
    if (name == "generation_config.json")
        return FolderFile::GenerationConfig;
    if (name == "README.md")
        return FolderFile::ModelCard;
    static const std::set<std::string> tokenizer = {"tokenizer.json",
                                                    "tokenizer_config.json",
                                                    "special_tokens_map.json",
                                                    "added_tokens.json",
                                                    "vocab.json",
                                                    "vocab.txt",
                                                    "merges.txt",
                                                    "tokenizer.model",
                                                    "spiece.model",
                                                    "sentencepiece.bpe.model",
                                                    "chat_template.jinja",
                                                    "chat_template.json",
                                                    "preprocessor_config.json",
                                                    "processor_config.json"};
    if (tokenizer.count(name))
        return FolderFile::Tokenizer;
    return FolderFile::Other;
}

std::vector<std::pair<std::string, FolderFile>> listFolderFiles(const std::string &folder)
{
    std::vector<std::pair<std::string, FolderFile>> files;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(folder, ec)) {
        if (!entry.is_regular_file(ec))
            continue;
        const std::string name = entry.path().filename().string();
        const FolderFile role = classifyFolderFile(name);
        if (role != FolderFile::Weights)
            files.emplace_back(name, role);
    }
    if (ec)
        throw Error("cannot list folder " + folder + ": " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

Checkpoint openModelFolder(const std::string &folderPath)
{
    const fs::path folder(folderPath);
    std::set<std::string> names;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(folder, ec))
        names.insert(entry.path().filename().string());
    if (ec)
        throw Error("cannot list folder " + folderPath + ": " + ec.message());

    WeightSet sets[4] = {{"model.safetensors", {}, ""},
                         {"model.safetensors.index.json", {}, ""},
                         {"pytorch_model.bin", {}, ""},
                         {"pytorch_model.bin.index.json", {}, ""}};
    std::vector<std::string> safetensorsShards, binShards;
    for (const std::string &name : names) {
        if (isShardOf(name, "model", ".safetensors"))
            safetensorsShards.push_back(name);
        else if (isShardOf(name, "pytorch_model", ".bin"))
            binShards.push_back(name);
    }
    sets[1].shards = safetensorsShards;
    sets[1].index = "model.safetensors.index.json";
    sets[3].shards = binShards;
    sets[3].index = "pytorch_model.bin.index.json";
    for (const WeightSet &set : {sets[1], sets[3]})
        if (!set.shards.empty() && !names.count(set.index))
            throw Error("folder " + folderPath + " holds the shard " + set.shards.front() +
                        " but no " + set.index + " (the index that names the shards)");

    if (names.count("adapter_config.json"))
        throw Error("folder " + folderPath +
                    " is a PEFT adapter (adapter_config.json), not a whole model: give it as a "
                    "task (--model, a project task) and the model it adapts as the base "
                    "(docs/ADAPTERS.md)");

    std::vector<const WeightSet *> present;
    for (const WeightSet &set : sets)
        if (names.count(set.entry))
            present.push_back(&set);
    if (present.empty()) {
        // Not a Hugging Face layout: one index or one .safetensors file, named anything.
        const bool anyWeights = std::any_of(names.begin(), names.end(), [](const std::string &n) {
            return endsWith(n, ".safetensors") || endsWith(n, ".index.json");
        });
        if (!anyWeights)
            throw Error("folder " + folderPath +
                        " holds no weights: none of model.safetensors, "
                        "model.safetensors.index.json, pytorch_model.bin, "
                        "pytorch_model.bin.index.json, nor a single .safetensors file");
        Checkpoint checkpoint = Checkpoint::open(resolvePlainFolder(folderPath));
        checkpoint.setFolder(folderPath);
        return checkpoint;
    }

    // The first present set, in from_pretrained's order, is taken; the others must agree.
    Checkpoint checkpoint = Checkpoint::open((folder / present.front()->entry).string());
    std::vector<Checkpoint> others;
    for (const WeightSet *set : present) {
        Checkpoint opened = set == present.front()
                                ? Checkpoint()
                                : Checkpoint::open((folder / set->entry).string());
        const Checkpoint &ofSet = set == present.front() ? checkpoint : opened;
        if (!set->index.empty()) {
            std::set<std::string> used;
            for (const std::string &file : ofSet.files())
                used.insert(fs::path(file).filename().string());
            for (const std::string &shard : set->shards)
                if (!used.count(shard))
                    throw Error("folder " + folderPath + " holds the shard " + shard + ", which " +
                                set->index +
                                " does not name (a left-over of another save? remove it)");
        }
        if (set != present.front())
            others.push_back(std::move(opened));
    }

    checkpoint.setFolder(folderPath);
    if (names.count("config.json")) {
        const nlohmann::json config = readConfig(folder / "config.json");
        const auto tie = config.find("tie_word_embeddings");
        const bool tied = tie == config.end() || !tie->is_boolean() || tie->get<bool>();
        if (tied && !checkpoint.find("lm_head.weight")) {
            std::vector<std::string> embeddings;
            for (const TensorRef &tensor : checkpoint.tensors())
                if (isInputEmbedding(tensor.name))
                    embeddings.push_back(tensor.name);
            if (embeddings.size() == 1) {
                checkpoint.addTie("lm_head.weight", embeddings.front());
                checkpoint.addNote("lm_head.weight is not stored: tied to " + embeddings.front() +
                                   " (config.json tie_word_embeddings)");
            }
        }
    }
    for (std::size_t k = 0; k < others.size(); ++k) {
        for (const auto &[name, storedAs] : checkpoint.tied())
            others[k].addTie(name, storedAs);
        for (const auto &[name, storedAs] : others[k].tied())
            if (!checkpoint.find(name))
                checkpoint.addTie(name, storedAs);
        const std::string why = disagreement(checkpoint, others[k]);
        const std::string taken = present.front()->entry, other = present[k + 1]->entry;
        if (!why.empty())
            throw Error("folder " + folderPath + " holds two weight sets that disagree: " + taken +
                        " and " + other + " (" + why + "); remove the stale one");
        checkpoint.addNote("took " + taken + "; " + other +
                           " holds the same tensors and was not read");
    }
    return checkpoint;
}

} // namespace mf
