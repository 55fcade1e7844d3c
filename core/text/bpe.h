// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "text/json_path.h"
#include "text/model.h"

#include <memory>
#include <mutex>
#include <unordered_map>

namespace mf::text {

/// What a BPE model is made of (tokenizer.json's "model" of type BPE, or vocab.json and
/// merges.txt).
struct BpeConfig {
    std::vector<std::pair<std::string, std::uint64_t>> vocab; ///< token -> id, in file order
    std::vector<std::pair<std::string, std::string>> merges;  ///< by rank, first = applied first
    std::optional<std::string> unkToken;                      ///< unknown characters become it
    std::optional<std::string> continuingSubwordPrefix;       ///< on every symbol but the first
    std::optional<std::string> endOfWordSuffix;               ///< on the last symbol
    bool fuseUnk = false;      ///< consecutive unknown characters become one unk token
    bool byteFallback = false; ///< unknown characters become <0xAB> byte tokens
    bool ignoreMerges = false; ///< a piece that is a token as it is stays whole
    double dropout = 0;        ///< must be 0 (training-time randomness)
};

/// Byte-pair encoding exactly as tokenizers/src/models/bpe does it: characters (or their
/// byte-fallback tokens, or unk) become symbols, then the pair of lowest merge rank is merged,
/// leftmost first among equals, until no pair has a merge. Pieces are cached.
class Bpe final : public Model {
public:
    /// Checks everything up front; errors name `vocabPath` / `mergesPath` and the entry:
    /// duplicate ids, merges naming tokens the vocabulary lacks, a missing unk token.
    Bpe(BpeConfig config, const JsonPath &vocabPath, const JsonPath &mergesPath);

    void tokenize(std::string_view piece, std::vector<std::uint32_t> &ids) const override;
    std::optional<std::uint32_t> tokenToId(std::string_view token) const override;
    const std::string *idToToken(std::uint32_t id) const override;
    std::uint32_t vocabularySize() const override
    {
        return static_cast<std::uint32_t>(m_tokens.size());
    }

private:
    void merge(std::string_view piece, std::vector<std::uint32_t> &ids) const;

    std::vector<std::string> m_tokens; ///< by id; holes are empty and absent from m_ids
    std::vector<bool> m_present;
    std::unordered_map<std::string_view, std::uint32_t> m_ids; ///< views into m_tokens
    std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> m_merges;
    std::optional<std::uint32_t> m_unk;
    std::string m_prefix, m_suffix;
    bool m_fuseUnk, m_byteFallback, m_ignoreMerges;
    std::uint32_t m_byteIds[256];
    bool m_haveByteIds[256];

    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<std::uint32_t>> m_cache;
};

/// tokenizer.json's "model" of type BPE read into a config (vocab and merges come from the
/// parsed file; see tokenizer_json.h).
BpeConfig bpeConfigFromJson(const nlohmann::json &model, const JsonPath &path);

} // namespace mf::text
