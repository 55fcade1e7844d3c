// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/gguf_output.h"

#include "eval/lm/config.h"
#include "text/json_path.h"
#include "text/pre_tokenizer_regexes.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace mf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// gguf-py's TokenType.
enum TokenType : std::int32_t {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6,
};

const char *const kKnownPre = "llama-bpe (Llama 3's byte-level BPE), qwen2 (Qwen2 and Qwen3's), "
                              "gpt-2 (GPT-2's byte-level BPE), and SentencePiece-style BPE with "
                              "byte fallback (Llama 2, Mistral)";

// -- tensor names ----------------------------------------------------------------------------

struct NameRule {
    const char *hf;   ///< after "model.layers.N." (or "h.N."), or the whole name
    const char *gguf; ///< after "blk.N.", or the whole name
};

// Decoder families (llama, mistral, qwen2, qwen3): gguf-py's tensor_mapping for these names.
constexpr NameRule kDecoderGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};
constexpr NameRule kDecoderBlock[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.gate_proj.bias", "ffn_gate.bias"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.up_proj.bias", "ffn_up.bias"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.down_proj.bias", "ffn_down.bias"},
};
// GPT-2 (names with or without the "transformer." prefix).
constexpr NameRule kGpt2Global[] = {
    {"wte.weight", "token_embd.weight"},   {"wpe.weight", "position_embd.weight"},
    {"ln_f.weight", "output_norm.weight"}, {"ln_f.bias", "output_norm.bias"},
    {"lm_head.weight", "output.weight"},
};
constexpr NameRule kGpt2Block[] = {
    {"ln_1.weight", "attn_norm.weight"},          {"ln_1.bias", "attn_norm.bias"},
    {"attn.c_attn.weight", "attn_qkv.weight"},    {"attn.c_attn.bias", "attn_qkv.bias"},
    {"attn.c_proj.weight", "attn_output.weight"}, {"attn.c_proj.bias", "attn_output.bias"},
    {"ln_2.weight", "ffn_norm.weight"},           {"ln_2.bias", "ffn_norm.bias"},
    {"mlp.c_fc.weight", "ffn_up.weight"},         {"mlp.c_fc.bias", "ffn_up.bias"},
    {"mlp.c_proj.weight", "ffn_down.weight"},     {"mlp.c_proj.bias", "ffn_down.bias"},
};

/// Buffers and caches a checkpoint carries that are not weights (the converter skips them).
bool isSkippedBuffer(const std::string &name)
{
    return endsWith(name, ".rotary_emb.inv_freq") || endsWith(name, ".attn.bias") ||
           endsWith(name, ".attn.masked_bias");
}

/// The rule's GGUF name for `key`, or nullptr.
template<std::size_t N>
const char *lookup(const NameRule (&rules)[N], const std::string &key)
{
    for (const NameRule &rule : rules)
        if (key == rule.hf)
            return rule.gguf;
    return nullptr;
}

/// The GGUF name of `name`, or "" when the mapping has none.
std::string ggufTensorName(const std::string &name, bool gpt2)
{
    std::string rest = name;
    if (gpt2 && rest.rfind("transformer.", 0) == 0)
        rest = rest.substr(12);
    if (const char *global = gpt2 ? lookup(kGpt2Global, rest) : lookup(kDecoderGlobal, rest))
        return global;
    const std::string prefix = gpt2 ? "h." : "model.layers.";
    if (rest.rfind(prefix, 0) != 0)
        return "";
    const std::size_t dot = rest.find('.', prefix.size());
    if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 6)
        return "";
    const std::string layer = rest.substr(prefix.size(), dot - prefix.size());
    if (!std::all_of(layer.begin(), layer.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return "";
    const std::string tail = rest.substr(dot + 1);
    const char *block = gpt2 ? lookup(kGpt2Block, tail) : lookup(kDecoderBlock, tail);
    return block ? "blk." + std::to_string(std::stoul(layer)) + "." + block : "";
}

// -- tokenizer -------------------------------------------------------------------------------

struct Vocabulary {
    std::vector<std::string> tokens;
    std::vector<float> scores; ///< the llama (SentencePiece-style) model only
    std::vector<std::int32_t> types;
    std::vector<std::string> merges; ///< the gpt2 (byte-level) model only
    std::string model, pre;
    bool addSpacePrefix = false;
};

bool looksSpecial(const std::string &token) // gguf-py's does_token_look_special
{
    auto wraps = [&](const std::string &open, const std::string &close) {
        return token.size() >= open.size() + close.size() && token.rfind(open, 0) == 0 &&
               endsWith(token, close);
    };
    return token == "<pad>" || token == "<mask>" || token == "<2mass>" || token == "[@BOS@]" ||
           wraps("<|", "|>") || wraps("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wraps("<unused", ">");
}

bool isByteToken(const std::string &token)
{
    return token.size() == 6 && token.rfind("<0x", 0) == 0 && token[5] == '>' &&
           std::isxdigit(static_cast<unsigned char>(token[3])) &&
           std::isxdigit(static_cast<unsigned char>(token[4]));
}

/// tokenizer.ggml.pre for a byte-level BPE tokenizer.json, refusing what llama.cpp would not
/// tokenize the same way.
std::string preTokenizerName(const json &tokenizer, const std::string &file)
{
    const json &normalizer = tokenizer.value("normalizer", json());
    const json &pre = tokenizer.value("pre_tokenizer", json());
    const std::string normalizerType =
        normalizer.is_object() ? normalizer.value("type", std::string("?")) : "";
    std::string name;
    if (pre.is_object() && pre.value("type", "") == "ByteLevel" && pre.value("use_regex", true)) {
        name = "gpt-2";
    } else if (pre.is_object() && pre.value("type", "") == "Sequence" &&
               pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
               pre["pretokenizers"].size() == 2) {
        const json &split = pre["pretokenizers"][0];
        const json &byteLevel = pre["pretokenizers"][1];
        const bool shape =
            split.value("type", "") == "Split" && split.value("behavior", "") == "Isolated" &&
            !split.value("invert", false) && split.contains("pattern") &&
            split["pattern"].is_object() && split["pattern"].contains("Regex") &&
            byteLevel.value("type", "") == "ByteLevel" && !byteLevel.value("use_regex", true) &&
            !byteLevel.value("add_prefix_space", false);
        const std::string regex = shape ? split["pattern"]["Regex"].get<std::string>() : "";
        // llama-vocab.cpp applies its own copy of each regex by the name in tokenizer.ggml.pre.
        if (regex == text::kLlama3PreTokenizerRegex)
            name = "llama-bpe";
        else if (regex == text::kQwen2PreTokenizerRegex)
            name = "qwen2";
    }
    if (name.empty())
        throw Error(file + ": pre_tokenizer " +
                    (pre.is_null() ? std::string("null") : text::brief(pre)) +
                    " is not one llama.cpp knows by name, so the GGUF would tokenize differently "
                    "(known: " +
                    kKnownPre + ")");
    const bool normalizerFits =
        normalizer.is_null() || (name == "qwen2" && normalizerType == "NFC");
    if (!normalizerFits)
        throw Error(file + ": normalizer " + normalizerType + " is not applied by llama.cpp's '" +
                    name + "' tokenizer (known: " + kKnownPre + ")");
    return name;
}

/// The folder's tokenizer.json (its path in `file`), or an error saying what the folder has.
json readTokenizerJson(const std::string &folder, std::string &file)
{
    file = (fs::path(folder) / "tokenizer.json").string();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        const bool spm = fs::is_regular_file(fs::path(folder) / "tokenizer.model", ec);
        throw Error("GGUF output needs the tokenizer as tokenizer.json, and " + folder +
                    (spm ? " has only tokenizer.model (SentencePiece): save the tokenizer with "
                           "transformers' save_pretrained to get tokenizer.json"
                         : " has none"));
    }
    return text::readJsonFile(file);
}

/// `tokenizer`: the tokenizer.json at `file`.
Vocabulary readVocabulary(const json &tokenizer, const std::string &file,
                          std::uint64_t embeddingRows, std::vector<std::string> &lines)
{
    const json &model = tokenizer.value("model", json());
    const std::string type = model.is_object() ? model.value("type", std::string("BPE")) : "";
    if (type != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
        throw Error(file + ": model.type " + (type.empty() ? "(none)" : type) +
                    " has no GGUF mapping in Mergefront (known: " + kKnownPre + ")");
    const json &decoder = tokenizer.value("decoder", json());
    const std::string decoderType = decoder.is_object() ? decoder.value("type", "") : "";
    const bool byteFallback = model.value("byte_fallback", false);
    Vocabulary vocab;
    if (!byteFallback && decoderType == "ByteLevel") {
        vocab.model = "gpt2";
        vocab.pre = preTokenizerName(tokenizer, file);
    } else if (byteFallback && decoderType == "Sequence") {
        vocab.model = "llama";
        vocab.pre = "default";
    } else {
        throw Error(file + ": a BPE tokenizer with byte_fallback " +
                    (byteFallback ? "true" : "false") + " and decoder " +
                    (decoderType.empty() ? "(none)" : decoderType) +
                    " has no GGUF mapping (known: " + kKnownPre + ")");
    }

    // Ids -> text: the model's vocabulary, then the added tokens (which may repeat it).
    std::unordered_map<std::int64_t, std::string> byId;
    std::int64_t maxId = -1;
    for (const auto &[text, id] : model["vocab"].items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
            throw Error(file + ": model.vocab['" + text + "'] is not a token id");
        byId[id.get<std::int64_t>()] = text;
        maxId = std::max(maxId, id.get<std::int64_t>());
    }
    const std::size_t baseSize = model["vocab"].size();
    std::map<std::int64_t, bool> added; // id -> special
    for (const json &entry : tokenizer.value("added_tokens", json::array())) {
        if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer())
            throw Error(file + ": added_tokens holds an entry without an id");
        const std::int64_t id = entry["id"].get<std::int64_t>();
        byId[id] = entry.value("content", std::string());
        added[id] = entry.value("special", false);
        maxId = std::max(maxId, id);
    }
    if (static_cast<std::uint64_t>(maxId + 1) > embeddingRows)
        throw Error(file + ": the vocabulary has " + std::to_string(maxId + 1) +
                    " tokens and the embedding only " + std::to_string(embeddingRows) +
                    " rows; this tokenizer does not belong to this model");

    // Merges (byte-level: written; SentencePiece-style: they rank the scores).
    std::vector<std::string> merges;
    if (model.contains("merges") && model["merges"].is_array()) {
        for (const json &merge : model["merges"]) {
            if (merge.is_string()) {
                merges.push_back(merge.get<std::string>());
            } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                       merge[1].is_string()) {
                // The pair format (transformers >= 4.45): a space inside a part is written as
                // U+0120, as gguf-py does, so "a b" splits back into the same two parts.
                std::string joined;
                for (int part = 0; part < 2; ++part) {
                    for (char c : merge[part].get<std::string>())
                        joined += c == ' ' ? std::string("\xc4\xa0") : std::string(1, c);
                    if (part == 0)
                        joined += ' ';
                }
                merges.push_back(joined);
            } else {
                throw Error(file + ": model.merges holds an entry that is neither \"a b\" nor "
                                   "[\"a\", \"b\"]");
            }
        }
    }

    const auto rows = static_cast<std::size_t>(embeddingRows);
    vocab.tokens.reserve(rows);
    vocab.types.reserve(rows);
    if (vocab.model == "gpt2") {
        for (std::size_t i = 0; i < rows; ++i) {
            const auto it = byId.find(static_cast<std::int64_t>(i));
            if (it == byId.end()) {
                vocab.tokens.push_back("[PAD" + std::to_string(i) + "]");
                vocab.types.push_back(kUnused);
                continue;
            }
            std::string token = it->second;
            const auto a = added.find(static_cast<std::int64_t>(i));
            std::int32_t tokenType = kNormal;
            if (a != added.end()) {
                if (a->second || looksSpecial(token)) {
                    tokenType = kControl;
                } else {
                    tokenType = kUserDefined;
                    std::string spaced; // pre-normalized user-defined spaces (U+2581 -> ' ')
                    for (std::size_t k = 0; k < token.size(); ++k) {
                        if (token.compare(k, 3, "\xe2\x96\x81") == 0) {
                            spaced += ' ';
                            k += 2;
                        } else {
                            spaced += token[k];
                        }
                    }
                    token = spaced;
                }
            }
            vocab.tokens.push_back(token);
            vocab.types.push_back(tokenType);
        }
        vocab.merges = std::move(merges);
    } else {
        // SentencePiece-style BPE: token types as gguf-py's LlamaHfVocab gives them (bytes,
        // specials as control); scores so that llama.cpp's SentencePiece merge order (highest
        // score first) is the merges' rank order: -(rank of the first merge making the token).
        std::unordered_map<std::string, std::size_t> rankOf;
        for (std::size_t r = 0; r < merges.size(); ++r) {
            const std::string &m = merges[r];
            const std::size_t space = m.find(' ');
            if (space == std::string::npos)
                continue;
            rankOf.emplace(m.substr(0, space) + m.substr(space + 1), r);
        }
        vocab.scores.reserve(rows);
        for (std::size_t i = 0; i < rows; ++i) {
            const auto it = byId.find(static_cast<std::int64_t>(i));
            if (it == byId.end()) {
                vocab.tokens.push_back("[PAD" + std::to_string(i) + "]");
                vocab.types.push_back(kUnused);
                vocab.scores.push_back(-1000.0f);
                continue;
            }
            const std::string &token = it->second;
            const auto a = added.find(static_cast<std::int64_t>(i));
            std::int32_t tokenType = kNormal;
            float score = 0;
            if (isByteToken(token)) {
                tokenType = kByte;
            } else if (a != added.end()) {
                tokenType = a->second ? kControl : i >= baseSize ? kUserDefined : kNormal;
                if (tokenType == kUserDefined)
                    score = -1000.0f;
            } else if (const auto r = rankOf.find(token); r != rankOf.end()) {
                score = -static_cast<float>(r->second);
            } else {
                score = -static_cast<float>(merges.size() + i); // single characters: never merged
            }
            vocab.tokens.push_back(token);
            vocab.types.push_back(tokenType);
            vocab.scores.push_back(score);
        }
        // Does the text get a leading space, as SentencePiece adds one?
        const json &normalizer = tokenizer.value("normalizer", json());
        const json &pre = tokenizer.value("pre_tokenizer", json());
        const std::string dumpedNormalizer = normalizer.dump(), dumpedPre = pre.dump();
        vocab.addSpacePrefix = dumpedNormalizer.find("\"Prepend\"") != std::string::npos ||
                               (dumpedPre.find("\"Metaspace\"") != std::string::npos &&
                                dumpedPre.find("\"never\"") == std::string::npos &&
                                dumpedPre.find("\"add_prefix_space\":false") == std::string::npos);
    }
    const std::size_t padded = rows - static_cast<std::size_t>(maxId + 1);
    lines.push_back("tokenizer: " + vocab.model + " (" +
                    (vocab.model == "gpt2" ? "byte-level BPE, pre-tokenizer '" + vocab.pre + "'"
                                           : std::string("SentencePiece-style BPE")) +
                    "), " + std::to_string(maxId + 1) + " tokens" +
                    (padded ? " + " + std::to_string(padded) + " unused [PAD] rows" : "") +
                    (vocab.model == "gpt2" ? ", " + std::to_string(vocab.merges.size()) + " merges"
                                           : std::string()) +
                    ", from " + file);
    return vocab;
}

/// tokenizer.ggml.*_token_id, add_bos/add_eos and the chat template, as gguf-py's SpecialVocab
/// reads them: tokenizer_config.json's tokens first, config.json's ids where those are missing,
/// tokenizer.json's TemplateProcessing for whether BOS/EOS are added (tokenizer_config's
/// add_bos_token/add_eos_token win).
void specialTokens(const json &tokenizer, const std::string &tokenizerFolder,
                   const std::string &configFolder, std::size_t vocabSize, GgufMetadata &kv,
                   std::vector<std::string> &lines)
{
    json tokenizerConfig = json::object();
    const fs::path configPath = fs::path(tokenizerFolder) / "tokenizer_config.json";
    const text::JsonPath configAt(configPath.string());
    std::error_code ec;
    if (fs::is_regular_file(configPath, ec))
        tokenizerConfig = text::readJsonFile(configPath.string());
    const json config = text::readJsonFile((fs::path(configFolder) / "config.json").string());
    static const json none = json::array();
    const json &added = tokenizer.contains("added_tokens") ? tokenizer.at("added_tokens") : none;
    auto idOf = [&](const std::string &content) -> std::optional<std::int64_t> {
        for (const json &entry : added)
            if (entry.value("content", std::string()) == content)
                return entry.value("id", std::int64_t(-1));
        return std::nullopt;
    };
    static const std::pair<const char *, const char *> kKinds[] = {
        {"bos", "bos_token_id"},       {"eos", "eos_token_id"},     {"unk", "unknown_token_id"},
        {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"cls", "cls_token_id"},
        {"mask", "mask_token_id"},
    };
    std::map<std::string, std::int64_t> ids;
    std::map<std::string, bool> addToken;
    const std::string bosText =
        text::tokenText(tokenizerConfig, "bos_token", configAt).value_or("");
    const std::string eosText =
        text::tokenText(tokenizerConfig, "eos_token", configAt).value_or("");
    // TemplateProcessing: does the single-sequence template begin with BOS, end with EOS?
    const json &post = tokenizer.value("post_processor", json());
    std::vector<json> processors;
    if (post.is_object()) {
        if (post.contains("processors") && post["processors"].is_array())
            processors.assign(post["processors"].begin(), post["processors"].end());
        else
            processors.push_back(post);
    }
    for (const json &processor : processors) {
        if (processor.value("type", "") != "TemplateProcessing")
            continue;
        const json single = processor.value("single", json::array());
        if (single.size() < 2)
            continue;
        auto specialId = [](const json &piece) {
            return piece.contains("SpecialToken") ? piece["SpecialToken"].value("id", std::string())
                                                  : std::string();
        };
        const std::string first = specialId(single.front()), last = specialId(single.back());
        if (!first.empty())
            addToken["bos"] = first == bosText || bosText.empty();
        if (!last.empty())
            addToken["eos"] = last == eosText || eosText.empty();
    }
    for (const auto &[kind, key] : kKinds) {
        const std::string k = kind;
        const json flag = tokenizerConfig.value("add_" + k + "_token", json());
        if (flag.is_boolean())
            addToken[k] = flag.get<bool>();
        const std::string content =
            text::tokenText(tokenizerConfig, (k + "_token").c_str(), configAt).value_or("");
        if (!content.empty())
            if (const auto id = idOf(content);
                id && *id >= 0 && static_cast<std::size_t>(*id) < vocabSize)
                ids[k] = *id;
        if (!ids.count(k)) {
            const json fromConfig = config.value(k + "_token_id", json());
            if (fromConfig.is_number_integer() && fromConfig.get<std::int64_t>() >= 0 &&
                static_cast<std::size_t>(fromConfig.get<std::int64_t>()) < vocabSize)
                ids[k] = fromConfig.get<std::int64_t>();
        }
        if (ids.count(k))
            kv.emplace_back(std::string("tokenizer.ggml.") + key,
                            GgufValue::u32(static_cast<std::uint32_t>(ids[k])));
    }
    std::string said;
    for (const auto &[kind, id] : ids)
        said += (said.empty() ? "" : ", ") + kind + " " + std::to_string(id);
    for (const char *kind : {"bos", "eos"})
        if (addToken.count(kind)) {
            kv.emplace_back(std::string("tokenizer.ggml.add_") + kind + "_token",
                            GgufValue::boolean(addToken[kind]));
            said += std::string(", add ") + kind + " " + (addToken[kind] ? "yes" : "no");
        }
    // The chat template: tokenizer_config.json's, else chat_template.jinja / .json beside it.
    json chat = tokenizerConfig.value("chat_template", json());
    if (chat.is_null()) {
        const fs::path jinja = fs::path(tokenizerFolder) / "chat_template.jinja";
        const fs::path chatJson = fs::path(tokenizerFolder) / "chat_template.json";
        if (fs::is_regular_file(jinja, ec))
            chat = readFile(jinja.string());
        else if (fs::is_regular_file(chatJson, ec))
            chat = text::readJsonFile(chatJson.string()).value("chat_template", json());
    }
    if (chat.is_string()) {
        kv.emplace_back("tokenizer.chat_template", GgufValue::string(chat.get<std::string>()));
        said += ", chat template";
    } else if (chat.is_array()) {
        std::vector<std::string> names;
        for (const json &entry : chat) {
            const std::string name = entry.value("name", std::string());
            const std::string text = entry.value("template", std::string());
            if (name == "default")
                kv.emplace_back("tokenizer.chat_template", GgufValue::string(text));
            else if (!name.empty())
                kv.emplace_back("tokenizer.chat_template." + name, GgufValue::string(text)),
                    names.push_back(name);
        }
        if (!names.empty())
            kv.emplace_back("tokenizer.chat_templates", GgufValue::strings(names));
        said += ", chat templates";
    }
    lines.push_back("special tokens: " + (said.empty() ? std::string("none") : said));
}

// -- hyperparameters -------------------------------------------------------------------------

/// llama3 rope scaling's per-frequency factors: the rope_freqs.weight the converter generates
/// (llama.cpp divides each rotary frequency by its factor).
std::vector<float> llama3RopeFactors(const eval::lm::LmConfig &config)
{
    std::vector<float> factors;
    const double lowWavelength = config.originalMaxPositions / config.lowFreqFactor;
    const double highWavelength = config.originalMaxPositions / config.highFreqFactor;
    for (int i = 0; i < config.headDim; i += 2) {
        const auto exponent = static_cast<float>(i) / static_cast<float>(config.headDim);
        const double frequency =
            1.0 / std::pow(static_cast<float>(config.ropeTheta), exponent); // torch: float32
        const double wavelength = 2 * M_PI / frequency;
        if (wavelength < highWavelength) {
            factors.push_back(1.0f);
        } else if (wavelength > lowWavelength) {
            factors.push_back(static_cast<float>(config.ropeFactor));
        } else {
            const double smooth =
                (config.originalMaxPositions / wavelength - config.lowFreqFactor) /
                (config.highFreqFactor - config.lowFreqFactor);
            factors.push_back(
                static_cast<float>(1.0 / ((1 - smooth) / config.ropeFactor + smooth)));
        }
    }
    return factors;
}

std::string architectureOf(const eval::lm::LmConfig &config)
{
    if (config.family == "llama" || config.family == "mistral")
        return "llama";
    if (config.family == "qwen2" || config.family == "qwen3" || config.family == "gpt2")
        return config.family;
    throw Error(config.file + ": model_type '" + config.family + "' has no GGUF mapping (known: " +
                [] {
                    std::string list;
                    for (const std::string &t : ggufModelTypes())
                        list += (list.empty() ? "" : ", ") + t;
                    return list;
                }() +
                ")");
}

void hyperparameters(const eval::lm::LmConfig &config, const std::string &arch,
                     std::uint64_t vocabRows, GgufMetadata &kv, std::vector<std::string> &lines)
{
    auto u32 = [&](const std::string &key, std::int64_t value) {
        kv.emplace_back(arch + "." + key, GgufValue::u32(static_cast<std::uint32_t>(value)));
    };
    u32("context_length", config.maxPositions);
    u32("embedding_length", config.hidden);
    u32("feed_forward_length", config.intermediate);
    u32("block_count", config.layers);
    u32("attention.head_count", config.heads);
    if (arch == "gpt2") {
        kv.emplace_back("gpt2.attention.layer_norm_epsilon", GgufValue::f32(config.normEpsilon));
        return;
    }
    u32("attention.head_count_kv", config.kvHeads);
    u32("attention.key_length", config.headDim);
    u32("attention.value_length", config.headDim);
    kv.emplace_back(arch + ".attention.layer_norm_rms_epsilon", GgufValue::f32(config.normEpsilon));
    kv.emplace_back(arch + ".rope.freq_base", GgufValue::f32(config.ropeTheta));
    u32("rope.dimension_count", config.headDim);
    u32("vocab_size", static_cast<std::int64_t>(vocabRows));
    if (config.ropeScaling == "linear") {
        kv.emplace_back(arch + ".rope.scaling.type", GgufValue::string("linear"));
        kv.emplace_back(arch + ".rope.scaling.factor", GgufValue::f32(config.ropeFactor));
        lines.push_back("rope scaling: linear, factor " + json(config.ropeFactor).dump());
    }
    if (config.slidingWindow > 0)
        lines.push_back(config.slidingWindowKey + " " + std::to_string(config.slidingWindow) +
                        " is not in GGUF's " + arch +
                        ": llama.cpp attends to every position (the same results up to " +
                        std::to_string(config.slidingWindow) + " tokens)");
}

} // namespace

bool isGgufOutput(const std::string &path)
{
    return path.size() > 5 && asciiLower(path.substr(path.size() - 5)) == ".gguf";
}

const std::vector<std::string> &ggufModelTypes()
{
    static const std::vector<std::string> types = {"llama", "mistral", "qwen2", "qwen3", "gpt2"};
    return types;
}

GgufPlan planGguf(const std::string &configFolder, const std::string &tokenizerFolder,
                  const std::vector<OutputTensor> &outputs, const std::vector<std::string> &untied,
                  GgmlType weightType, const std::string &name, const Metadata &extra)
{
    std::error_code ec;
    if (configFolder.empty() || !fs::is_regular_file(fs::path(configFolder) / "config.json", ec))
        throw Error("GGUF output needs the base as a model folder with config.json (" +
                    (configFolder.empty() ? std::string("the base is a single file")
                                          : configFolder + " has no config.json") +
                    "): GGUF carries the architecture and the tokenizer");
    const eval::lm::LmConfig config = eval::lm::readLmConfig(configFolder);
    GgufPlan plan;
    plan.architecture = architectureOf(config);
    plan.weightType = weightType;
    const bool gpt2 = plan.architecture == "gpt2";
    const std::string act = config.activation;
    if (gpt2 ? act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast"
             : act != "silu")
        throw Error(config.file + ": activation '" + act + "': llama.cpp's " + plan.architecture +
                    " computes " + (gpt2 ? "tanh-approximated GELU (gelu_new)" : "SiLU") +
                    " only, so the GGUF would compute something else");
    if (!gpt2 && config.ropeScaling != "default" && config.ropeScaling != "linear" &&
        !(config.ropeScaling == "llama3" && plan.architecture == "llama"))
        throw Error(config.file + ": rope_scaling '" + config.ropeScaling +
                    "' has no GGUF mapping for " + plan.architecture);

    // The tensors, in the merge's order, renamed; the head only when the model has its own.
    bool tokenEmbedding = false;
    std::uint64_t embeddingRows = 0;
    for (const OutputTensor &output : outputs) {
        if (isSkippedBuffer(output.name)) {
            plan.lines.push_back("left out " + output.name + " (a buffer, not a weight)");
            continue;
        }
        const std::string ggufName = ggufTensorName(output.name, gpt2);
        if (ggufName.empty())
            throw Error("tensor '" + output.name + "' has no GGUF name in the " +
                        plan.architecture + " mapping (" + config.file +
                        "): llama.cpp would not load it");
        if (ggufName == "output.weight" && (config.tiedHead || gpt2) &&
            std::find(untied.begin(), untied.end(), output.name) == untied.end()) {
            continue; // tied: said below
        }
        if (output.shape.empty() || output.shape.size() > 2)
            throw Error("tensor '" + output.name + "' has " + std::to_string(output.shape.size()) +
                        " dimensions; the GGUF mapping takes 1 or 2");
        GgufTensorPlan t;
        t.source = output.name;
        t.tensor.name = ggufName;
        const bool conv1d = gpt2 && output.shape.size() == 2 &&
                            (endsWith(output.name, "attn.c_attn.weight") ||
                             endsWith(output.name, "attn.c_proj.weight") ||
                             endsWith(output.name, "mlp.c_fc.weight") ||
                             endsWith(output.name, "mlp.c_proj.weight"));
        std::vector<std::uint64_t> torchShape(output.shape.begin(), output.shape.end());
        if (conv1d) {
            t.layout = GgufTensorPlan::Layout::Transpose;
            std::swap(torchShape[0], torchShape[1]);
        }
        if (plan.architecture == "llama" && (ggufName.find(".attn_q.") != std::string::npos ||
                                             ggufName.find(".attn_k.") != std::string::npos)) {
            t.layout = GgufTensorPlan::Layout::PermuteHeads;
            t.heads =
                ggufName.find(".attn_q.") != std::string::npos ? config.heads : config.kvHeads;
            if (torchShape[0] % (2 * static_cast<std::uint64_t>(t.heads)) != 0)
                throw Error("tensor '" + output.name + "' has " + std::to_string(torchShape[0]) +
                            " rows, not a multiple of 2 x " + std::to_string(t.heads) + " heads");
        }
        t.tensor.dims.assign(torchShape.rbegin(), torchShape.rend());
        const bool vector = t.tensor.dims.size() == 1 || endsWith(ggufName, "_norm.weight");
        t.tensor.type = vector ? GgmlType::F32 : weightType;
        if (t.tensor.type == GgmlType::Q8_0 && t.tensor.dims[0] % 32 != 0) {
            t.tensor.type = GgmlType::F16;
            plan.lines.push_back(ggufName + ": rows of " + std::to_string(t.tensor.dims[0]) +
                                 " are not whole Q8_0 blocks of 32, written F16");
        }
        if (ggufName == "token_embd.weight") {
            tokenEmbedding = true;
            embeddingRows = torchShape[0];
        }
        plan.tensors.push_back(std::move(t));
    }
    if (std::none_of(plan.tensors.begin(), plan.tensors.end(),
                     [](const GgufTensorPlan &t) { return t.tensor.name == "output.weight"; }))
        plan.lines.push_back("tied head: no output.weight (llama.cpp uses token_embd.weight)");
    if (!tokenEmbedding)
        throw Error("the merge has no token embedding (" +
                    std::string(gpt2 ? "wte.weight" : "model.embed_tokens.weight") +
                    "), so it is not a whole " + plan.architecture + " model");
    if (config.ropeScaling == "llama3") {
        GgufTensorPlan freqs;
        freqs.tensor.name = "rope_freqs.weight";
        freqs.values = llama3RopeFactors(config);
        freqs.tensor.dims = {freqs.values.size()};
        freqs.tensor.type = GgmlType::F32;
        freqs.layout = GgufTensorPlan::Layout::Generated;
        plan.tensors.push_back(std::move(freqs));
        plan.lines.push_back("rope scaling: llama3 (factor " + json(config.ropeFactor).dump() +
                             "), as the rope_freqs.weight tensor");
    }
    if (plan.architecture == "llama")
        plan.lines.push_back("attn_q and attn_k rows permuted for ggml's rotary layout (" +
                             std::to_string(config.heads) + " and " +
                             std::to_string(config.kvHeads) + " heads)");
    if (gpt2)
        plan.lines.push_back("GPT-2's Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc, "
                             "mlp.c_proj) transposed to [out, in]");

    GgufMetadata &kv = plan.metadata;
    kv.emplace_back("general.architecture", GgufValue::string(plan.architecture));
    kv.emplace_back("general.name", GgufValue::string(name));
    kv.emplace_back("general.alignment", GgufValue::u32(32));
    kv.emplace_back("general.file_type", GgufValue::u32(ggufFileType(weightType)));
    kv.emplace_back("general.quantization_version", GgufValue::u32(2));
    hyperparameters(config, plan.architecture, embeddingRows, kv, plan.lines);
    std::string tokenizerFile;
    const json tokenizer = readTokenizerJson(tokenizerFolder, tokenizerFile);
    Vocabulary vocab = readVocabulary(tokenizer, tokenizerFile, embeddingRows, plan.lines);
    kv.emplace_back("tokenizer.ggml.model", GgufValue::string(vocab.model));
    kv.emplace_back("tokenizer.ggml.pre", GgufValue::string(vocab.pre));
    kv.emplace_back("tokenizer.ggml.tokens", GgufValue::strings(vocab.tokens));
    if (vocab.model == "llama") {
        kv.emplace_back("tokenizer.ggml.scores", GgufValue::floats(vocab.scores));
        kv.emplace_back("tokenizer.ggml.add_space_prefix",
                        GgufValue::boolean(vocab.addSpacePrefix));
    }
    kv.emplace_back("tokenizer.ggml.token_type", GgufValue::int32s(vocab.types));
    if (vocab.model == "gpt2")
        kv.emplace_back("tokenizer.ggml.merges", GgufValue::strings(vocab.merges));
    specialTokens(tokenizer, tokenizerFolder, configFolder, vocab.tokens.size(), kv, plan.lines);
    for (const auto &[key, value] : extra)
        if (key.rfind("mergefront.", 0) == 0)
            kv.emplace_back(key, GgufValue::string(value));

    std::vector<GgufTensor> tensors;
    for (const GgufTensorPlan &t : plan.tensors)
        tensors.push_back(t.tensor);
    plan.layout = layoutGguf(kv, tensors);
    return plan;
}

std::string writeGguf(const Merger &merger, const GgufPlan &plan, const std::string &path,
                      const std::vector<double> &coefficients, int threads, bool sync,
                      const ProgressCallback &progress)
{
    std::map<std::string, std::size_t> planIndex;
    for (std::size_t i = 0; i < merger.plan().tensors.size(); ++i)
        planIndex.emplace(merger.plan().tensors[i].name, i);
    std::vector<OutputTensor> files;
    for (const GgufTensorPlan &t : plan.tensors)
        files.push_back(
            {t.tensor.name, DType::U8, {static_cast<std::int64_t>(t.tensor.byteSize())}});
    WriterOptions options;
    options.sync = sync;
    MemoryEstimate sizes = merger.estimate(threads);
    sizes.outputBytes = plan.layout.fileSize;
    options.dropWritten = largerThanMemory(sizes);
    CheckpointWriter writer(path, files, plan.layout.header, plan.layout.offsets,
                            plan.layout.fileSize, options);

    // The work, in pieces the merge kernel hands over from its cache-sized buffers:
    // - as-is tensors: runs of kMergeBlock elements (a multiple of Q8_0's 32; rows are whole
    //   blocks), encoded and written where they lie;
    // - permuted 2-D tensors: runs of whole rows, each row written at its permuted place;
    // - a permuted bias and a transposed (GPT-2 Conv1D) weight: the whole tensor at once.
    struct Job {
        std::size_t tensor;  ///< into plan.tensors
        std::uint64_t first; ///< first element (as-is) or row (permuted rows)
        std::uint64_t count; ///< elements
    };
    std::vector<Merger::Range> ranges;
    std::vector<Job> jobs;
    std::uint64_t totalBytes = 0;
    for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
        const GgufTensorPlan &t = plan.tensors[i];
        if (t.layout == GgufTensorPlan::Layout::Generated) {
            std::string bytes(t.tensor.byteSize(), '\0');
            encodeGgmlRow(t.tensor.type, t.values.data(), t.values.size(), bytes.data());
            writer.write(i, 0, bytes.data(), bytes.size());
            continue;
        }
        const auto found = planIndex.find(t.source);
        if (found == planIndex.end())
            throw Error("internal: GGUF tensor '" + t.tensor.name + "' is not in the merge");
        const std::uint64_t elements = t.tensor.elements();
        const std::uint64_t rowLength = t.tensor.dims[0];
        totalBytes += t.tensor.byteSize();
        const bool whole =
            t.layout == GgufTensorPlan::Layout::Transpose ||
            (t.layout == GgufTensorPlan::Layout::PermuteHeads && t.tensor.dims.size() == 1);
        const std::uint64_t step =
            whole ? elements
            : t.layout == GgufTensorPlan::Layout::PermuteHeads
                ? std::max<std::uint64_t>(1, kMergeBlock / rowLength) * rowLength
                : kMergeBlock;
        for (std::uint64_t start = 0; start < elements; start += step) {
            const std::uint64_t count = std::min(step, elements - start);
            ranges.push_back({found->second, start, count});
            jobs.push_back({i,
                            t.layout == GgufTensorPlan::Layout::PermuteHeads && !whole
                                ? start / rowLength
                                : start,
                            count});
        }
    }
    const std::size_t workers = static_cast<std::size_t>(std::max(1, threads));
    std::vector<std::vector<float>> reordered(workers);
    std::vector<std::string> encoded(workers);
    const Merger::RangeSink sink = [&](std::size_t r, const float *values, int worker) {
        const Job &job = jobs[r];
        const GgufTensorPlan &t = plan.tensors[job.tensor];
        const GgmlType type = t.tensor.type;
        const auto [blockElements, blockBytes] = ggmlBlock(static_cast<std::uint32_t>(type));
        std::string &bytes = encoded[static_cast<std::size_t>(worker)];
        bytes.resize(static_cast<std::size_t>(job.count / blockElements * blockBytes));
        const std::uint64_t rowLength = t.tensor.dims[0];
        if (t.layout == GgufTensorPlan::Layout::AsIs) {
            encodeGgmlRow(type, values, static_cast<std::size_t>(job.count), bytes.data());
            writer.write(job.tensor, job.first / blockElements * blockBytes, bytes.data(),
                         bytes.size());
            return static_cast<std::uint64_t>(bytes.size());
        }
        if (t.layout == GgufTensorPlan::Layout::PermuteHeads && t.tensor.dims.size() == 2) {
            // Within a head of d rows, HF's rotate-half pairs (j, j + d/2) become ggml's
            // adjacent pairs: row k * d/2 + j goes to row 2j + k.
            const std::uint64_t d = t.tensor.dims[1] / static_cast<std::uint64_t>(t.heads);
            const std::uint64_t rowBytes = ggmlRowBytes(type, rowLength);
            encodeGgmlRow(type, values, static_cast<std::size_t>(job.count), bytes.data());
            for (std::uint64_t k = 0; k < job.count / rowLength; ++k) {
                const std::uint64_t row = job.first + k, head = row / d, within = row % d;
                const std::uint64_t to = head * d + 2 * (within % (d / 2)) + within / (d / 2);
                writer.write(job.tensor, to * rowBytes, bytes.data() + k * rowBytes, rowBytes);
            }
            return static_cast<std::uint64_t>(bytes.size());
        }
        // The whole tensor, reordered: a permuted bias (elements as rows of one), or GPT-2's
        // Conv1D [in, out] written as [out, in] (rows of `in`).
        std::vector<float> &buffer = reordered[static_cast<std::size_t>(worker)];
        buffer.resize(static_cast<std::size_t>(job.count));
        if (t.layout == GgufTensorPlan::Layout::PermuteHeads) {
            const std::uint64_t d = job.count / static_cast<std::uint64_t>(t.heads);
            for (std::uint64_t e = 0; e < job.count; ++e) {
                const std::uint64_t head = e / d, within = e % d;
                buffer[head * d + 2 * (within % (d / 2)) + within / (d / 2)] = values[e];
            }
        } else {
            const std::uint64_t in = rowLength, outRows = job.count / rowLength;
            for (std::uint64_t o = 0; o < outRows; ++o)
                for (std::uint64_t i = 0; i < in; ++i)
                    buffer[static_cast<std::size_t>(o * in + i)] = values[i * outRows + o];
        }
        encodeGgmlRow(type, buffer.data(), buffer.size(), bytes.data());
        writer.write(job.tensor, 0, bytes.data(), bytes.size());
        return static_cast<std::uint64_t>(bytes.size());
    };
    merger.mergeRanges(ranges, coefficients, threads, totalBytes, sink, progress);
    return writer.commit().back();
}

} // namespace mf
