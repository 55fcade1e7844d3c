// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mf::text {

class Normalizer;

/// A token added beside the model's vocabulary (tokenizer.json's "added_tokens").
struct AddedToken {
    std::uint32_t id = 0;
    std::string content;
    bool singleWord = false; ///< only matches between non-word characters
    bool lstrip = false;     ///< swallows the whitespace on its left
    bool rstrip = false;     ///< swallows the whitespace on its right
    bool normalized = false; ///< matched in the normalized text, not the raw input
    bool special = false;    ///< skipped by decode's skip-special
};

/// Finds added tokens in text as tokenizers/src/tokenizer/added_vocabulary.rs does: the
/// leftmost, then longest, occurrence wins; matches never overlap. Tokens with
/// normalized = false are found in the raw input, the others in its normalized pieces.
class AddedVocabulary {
public:
    /// One stretch of text: an added token (id set) or text between them.
    struct Section {
        std::size_t begin = 0, end = 0;
        std::optional<std::uint32_t> id;
    };

    AddedVocabulary() = default;
    /// `normalizer` (may be null) gives the form normalized tokens are matched in.
    AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer *normalizer);

    /// Sections of raw input (tokens with normalized = false).
    std::vector<Section> splitRaw(std::string_view text) const;
    /// Sections of normalized text (tokens with normalized = true).
    std::vector<Section> splitNormalized(std::string_view text) const;

    const AddedToken *byId(std::uint32_t id) const;
    std::optional<std::uint32_t> idOf(std::string_view content) const;
    const std::vector<AddedToken> &tokens() const { return m_tokens; }

private:
    struct Trie {
        struct Node {
            std::vector<std::pair<unsigned char, int>> children;
            int token = -1; ///< index into m_tokens of the token ending here
        };
        std::vector<Node> nodes{Node{}};
        bool first[256] = {};
        void insert(std::string_view text, int token);
        /// The longest token starting at `pos`: (token index, length), or (-1, 0).
        std::pair<int, std::size_t> longestAt(std::string_view text, std::size_t pos) const;
    };
    std::vector<Section> split(std::string_view text, const Trie &trie) const;

    std::vector<AddedToken> m_tokens;
    std::unordered_map<std::uint32_t, std::size_t> m_byId;
    std::unordered_map<std::string, std::uint32_t> m_byContent;
    Trie m_raw, m_normalized;
};

} // namespace mf::text
