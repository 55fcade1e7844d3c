// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/added_vocabulary.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf::text {

class Normalizer;
class PreTokenizer;
class Model;
class PostProcessor;
class Decoder;

/// What tokenizer_config.json (or special_tokens_map.json) says beside the pipeline.
struct TokenizerConfig {
    std::string source;         ///< the file the pipeline came from
    std::string kind;           ///< "tokenizer.json", "vocab.json + merges.txt", "tokenizer.model"
    std::string tokenizerClass; ///< transformers' class name ("" when not given)
    std::optional<std::string> bosToken, eosToken, padToken, unkToken;
    std::optional<bool> addBosToken, addEosToken;
    std::string chatTemplate;                         ///< the default chat template ("" if none)
    std::map<std::string, std::string> chatTemplates; ///< named ones, when a list is given
    bool cleanUpTokenizationSpaces = false;           ///< transformers' decode clean-up
    std::optional<std::uint64_t> modelMaxLength;
};

/// A tokenizer as Hugging Face's tokenizers library runs it: added tokens are split out of
/// the raw text, the rest is normalized, pre-tokenized and turned into ids by the model, then
/// the post-processor adds special tokens. Decoding runs the decoder over the token strings.
/// Encoding is const and may run on several threads at once.
class Tokenizer {
public:
    struct Parts {
        std::unique_ptr<Normalizer> normalizer;
        std::unique_ptr<PreTokenizer> preTokenizer;
        std::unique_ptr<Model> model; ///< required
        std::unique_ptr<PostProcessor> postProcessor;
        std::unique_ptr<Decoder> decoder;
        std::vector<AddedToken> addedTokens;
        Parts();
        Parts(Parts &&) noexcept;
        Parts &operator=(Parts &&) noexcept;
        ~Parts();
    };

    Tokenizer(Parts parts, TokenizerConfig config);
    ~Tokenizer();

    /// The ids of `text` (valid UTF-8, or mf::Error naming the byte). With
    /// `addSpecialTokens` the post-processor adds what the model expects (BOS, ...);
    /// without, none are added (lm-evaluation-harness' log-likelihood requests).
    std::vector<std::uint32_t> encode(std::string_view text, bool addSpecialTokens) const;
    /// The token string of each id (added tokens by their content).
    std::vector<std::string> tokens(const std::vector<std::uint32_t> &ids) const;
    /// The text of `ids`; ids the vocabulary lacks are refused (mf::Error naming the id).
    std::string decode(const std::vector<std::uint32_t> &ids, bool skipSpecialTokens) const;

    std::optional<std::uint32_t> tokenToId(std::string_view token) const;
    /// nullptr when no token has this id.
    const std::string *idToToken(std::uint32_t id) const;
    /// One past the largest id (added tokens included).
    std::uint32_t vocabularySize() const;
    const AddedVocabulary &addedVocabulary() const { return m_added; }
    const TokenizerConfig &config() const { return m_config; }

private:
    void encodeSection(std::string_view text, bool atStart, std::vector<std::uint32_t> &ids) const;

    Parts m_parts;
    AddedVocabulary m_added;
    TokenizerConfig m_config;
};

/// The pipeline of a tokenizer.json's bytes. Errors name `file` and the key: invalid or
/// truncated JSON (with the byte), unknown component types, merges naming tokens the
/// vocabulary lacks, duplicate ids. WordPiece, Unigram and WordLevel models are refused.
Tokenizer::Parts partsFromTokenizerJson(std::string_view bytes, const std::string &file);

/// transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", ...
std::string cleanUpTokenization(std::string text);

} // namespace mf::text
