// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/tokenizer_folder.h"

#include "text/bpe.h"
#include "text/decoders.h"
#include "text/model.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/pre_tokenizer_regexes.h"
#include "text/processors.h"
#include "text/sentencepiece_model.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <filesystem>
#include <set>
#include <sstream>

namespace mf::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void readChatTemplates(const json &value, const JsonPath &path, TokenizerConfig &config)
{
    if (value.is_null())
        return;
    if (value.is_string()) {
        config.chatTemplate = value.get<std::string>();
        return;
    }
    if (!value.is_array())
        path.fail("expected a template or a list of {\"name\", \"template\"}");
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string name = stringMember(value[i], "name", path[i]);
        config.chatTemplates[name] = stringMember(value[i], "template", path[i]);
    }
    const auto fallback = config.chatTemplates.find("default");
    if (fallback != config.chatTemplates.end())
        config.chatTemplate = fallback->second;
}

/// tokenizer_config.json's added_tokens_decoder: {"id": {"content", ...}}.
std::vector<AddedToken> configAddedTokens(const json &config, const JsonPath &path)
{
    std::vector<AddedToken> tokens;
    const auto it = config.find("added_tokens_decoder");
    if (it == config.end() || it->is_null())
        return tokens;
    const JsonPath at = path / "added_tokens_decoder";
    if (!it->is_object())
        at.fail("expected an object of id: token");
    for (const auto &[key, entry] : it->items()) {
        AddedToken token;
        try {
            std::size_t used = 0;
            const unsigned long id = std::stoul(key, &used);
            if (used != key.size() || id >= (1u << 24))
                throw std::invalid_argument(key);
            token.id = static_cast<std::uint32_t>(id);
        } catch (const std::exception &) {
            (at / key).fail("expected a token id as the key");
        }
        token.content = stringMember(entry, "content", at / key);
        token.special = boolMember(entry, "special", at / key, false);
        token.singleWord = boolMember(entry, "single_word", at / key, false);
        token.lstrip = boolMember(entry, "lstrip", at / key, false);
        token.rstrip = boolMember(entry, "rstrip", at / key, false);
        token.normalized = boolMember(entry, "normalized", at / key, !token.special);
        if (!token.content.empty())
            tokens.push_back(std::move(token));
    }
    return tokens;
}

std::optional<std::uint32_t> lookup(const Tokenizer::Parts &parts,
                                    const std::optional<std::string> &token)
{
    if (!token)
        return std::nullopt;
    for (const AddedToken &added : parts.addedTokens)
        if (added.content == *token)
            return added.id;
    return parts.model->tokenToId(*token);
}

/// vocab.json + merges.txt as GPT2TokenizerFast (or Qwen2TokenizerFast) converts them.
Tokenizer::Parts bpeFileParts(const fs::path &folder, const TokenizerConfig &config,
                              const json &rawConfig)
{
    const fs::path vocabFile = folder / "vocab.json", mergesFile = folder / "merges.txt";
    const json vocab = readJsonFile(vocabFile.string());
    const JsonPath vocabPath(vocabFile.string());
    if (!vocab.is_object())
        vocabPath.fail("expected an object of token: id");
    BpeConfig bpe;
    for (const auto &[token, id] : vocab.items()) {
        const auto value = nonNegative(id);
        if (!value)
            (vocabPath / token).fail("expected a token id, found " + brief(id));
        bpe.vocab.emplace_back(token, *value);
    }
    std::istringstream lines(readFile(mergesFile.string()));
    std::size_t lineNumber = 0;
    for (std::string line; std::getline(lines, line);) {
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if ((lineNumber == 1 && line.rfind("#version", 0) == 0) || line.empty())
            continue;
        const std::size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
            throw Error(mergesFile.string() + ": line " + std::to_string(lineNumber) +
                        ": expected two tokens separated by one space, found '" + line + "'");
        bpe.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
    Tokenizer::Parts parts;
    parts.model =
        std::make_unique<Bpe>(std::move(bpe), vocabPath, JsonPath(mergesFile.string(), "merge"));
    const JsonPath builtIn("the byte-level pipeline");
    if (config.tokenizerClass.rfind("Qwen2Tokenizer", 0) == 0) {
        parts.normalizer = makeNormalizer({{"type", "NFC"}}, builtIn);
        parts.preTokenizer = makePreTokenizer(
            {{"type", "Sequence"},
             {"pretokenizers",
              {{{"type", "Split"},
                {"pattern", {{"Regex", kQwen2PreTokenizerRegex}}},
                {"behavior", "Isolated"}},
               {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}},
            builtIn);
    } else {
        const bool prefix = rawConfig.is_object() && rawConfig.value("add_prefix_space", false);
        parts.preTokenizer = makePreTokenizer(
            {{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"use_regex", true}}, builtIn);
    }
    parts.decoder = makeDecoder({{"type", "ByteLevel"}}, builtIn);
    return parts;
}

bool isLlamaLikeClass(const std::string &name)
{
    static const std::set<std::string> classes = {"LlamaTokenizer",     "LlamaTokenizerFast",
                                                  "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                                                  "GemmaTokenizer",     "GemmaTokenizerFast"};
    return classes.count(name) > 0;
}

/// The config of `folder` (tokenizer_config.json, then special_tokens_map.json; either may be
/// absent) and tokenizer_config.json as it is (an empty object when absent).
std::pair<TokenizerConfig, json> readConfigFiles(const fs::path &dir)
{
    TokenizerConfig config;
    json raw = json::object();
    const fs::path configFile = dir / "tokenizer_config.json";
    if (fs::exists(configFile)) {
        raw = readJsonFile(configFile.string());
        if (!raw.is_object())
            JsonPath(configFile.string()).fail("expected a JSON object");
    }
    const JsonPath path(configFile.string());
    // special_tokens_map.json fills what tokenizer_config.json leaves out.
    const fs::path mapFile = dir / "special_tokens_map.json";
    json map = json::object();
    if (fs::exists(mapFile)) {
        map = readJsonFile(mapFile.string());
        if (!map.is_object())
            JsonPath(mapFile.string()).fail("expected a JSON object");
    }
    const auto special = [&](const char *key) {
        auto value = tokenText(raw, key, path);
        return value ? value : tokenText(map, key, JsonPath(mapFile.string()));
    };
    config.bosToken = special("bos_token");
    config.eosToken = special("eos_token");
    config.padToken = special("pad_token");
    config.unkToken = special("unk_token");
    const auto optionalBool = [&](const char *key) -> std::optional<bool> {
        if (!raw.contains(key) || raw[key].is_null())
            return std::nullopt;
        return boolMember(raw, key, path, false);
    };
    config.addBosToken = optionalBool("add_bos_token");
    config.addEosToken = optionalBool("add_eos_token");
    config.cleanUpTokenizationSpaces = boolMember(raw, "clean_up_tokenization_spaces", path, false);
    config.tokenizerClass = stringMember(raw, "tokenizer_class", path, std::string());
    if (raw.contains("model_max_length") && raw["model_max_length"].is_number_unsigned())
        config.modelMaxLength = raw["model_max_length"].get<std::uint64_t>();
    if (raw.contains("chat_template"))
        readChatTemplates(raw["chat_template"], path / "chat_template", config);
    const fs::path jinja = dir / "chat_template.jinja";
    if (config.chatTemplate.empty() && fs::exists(jinja))
        config.chatTemplate = readFile(jinja.string());
    return {std::move(config), std::move(raw)};
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const std::string &path)
{
    fs::path dir(path), jsonFile;
    std::error_code error;
    if (fs::is_regular_file(dir, error)) {
        jsonFile = dir;
        dir = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
    } else if (!fs::is_directory(dir, error)) {
        throw Error(path + ": no such folder (a model folder, or one with the tokenizer files)");
    } else if (fs::exists(dir / "tokenizer.json")) {
        jsonFile = dir / "tokenizer.json";
    }
    auto [config, rawConfig] = readConfigFiles(dir);

    Tokenizer::Parts parts;
    if (!jsonFile.empty()) {
        parts = partsFromTokenizerJson(readFile(jsonFile.string()), jsonFile.string());
        config.source = jsonFile.string();
        config.kind = "tokenizer.json";
    } else if (fs::exists(dir / "tokenizer.model")) {
        config.source = (dir / "tokenizer.model").string();
        config.kind = "tokenizer.model";
        parts = sentencePieceParts(config.source);
        // Without a config, SentencePiece's own control pieces (LlamaTokenizer's defaults).
        for (auto [token, name] : {std::pair{&config.bosToken, "<s>"},
                                   {&config.eosToken, "</s>"},
                                   {&config.unkToken, "<unk>"}})
            if (!*token && parts.model->tokenToId(name))
                *token = name;
    } else if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
        config.source = (dir / "vocab.json").string();
        config.kind = "vocab.json + merges.txt";
        parts = bpeFileParts(dir, config, rawConfig);
    } else {
        throw Error(path + ": no tokenizer.json, tokenizer.model, or vocab.json + merges.txt");
    }

    // Added tokens tokenizer_config.json knows that the pipeline does not.
    std::set<std::uint32_t> known;
    for (const AddedToken &token : parts.addedTokens)
        known.insert(token.id);
    for (AddedToken &token :
         configAddedTokens(rawConfig, JsonPath((dir / "tokenizer_config.json").string())))
        if (known.insert(token.id).second)
            parts.addedTokens.push_back(std::move(token));
    if (config.kind != "tokenizer.json") {
        // The slow tokenizers' special tokens are matched in the text, as transformers does.
        for (const auto &name :
             {config.bosToken, config.eosToken, config.unkToken, config.padToken}) {
            if (!name || lookup(parts, name) == std::nullopt)
                continue;
            const std::uint32_t id = *lookup(parts, name);
            if (known.insert(id).second)
                parts.addedTokens.push_back({id, *name, false, false, false, false, true});
        }
    }

    const bool llamaLike = isLlamaLikeClass(config.tokenizerClass);
    if (llamaLike || config.kind != "tokenizer.json") {
        // Asked for explicitly, a missing token is an error; by default it is just not added.
        const auto idOf = [&](const std::optional<bool> &asked, bool fallback,
                              const std::optional<std::string> &token,
                              const char *what) -> std::optional<std::uint32_t> {
            if (!asked.value_or(fallback))
                return std::nullopt;
            const auto id = lookup(parts, token);
            if (!id && asked)
                throw Error((dir / "tokenizer_config.json").string() + ": add_" + what +
                            "_token is true but the " + what + " token " +
                            (token ? "'" + *token + "' is not in the vocabulary" : "is not given"));
            return id;
        };
        const bool defaultBos = llamaLike || config.kind == "tokenizer.model";
        parts.postProcessor =
            makeBosEosProcessor(idOf(config.addBosToken, defaultBos, config.bosToken, "bos"),
                                idOf(config.addEosToken, false, config.eosToken, "eos"));
    }
    return std::make_unique<Tokenizer>(std::move(parts), std::move(config));
}

} // namespace mf::text
