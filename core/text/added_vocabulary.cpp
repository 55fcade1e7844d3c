// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/added_vocabulary.h"

#include "text/normalizers.h"
#include "text/unicode.h"

namespace mf::text {
namespace {

char32_t lastCodePoint(std::string_view text)
{
    std::size_t start = previousCodePointStart(text, text.size());
    return nextCodePoint(text, start);
}

} // namespace

void AddedVocabulary::Trie::insert(std::string_view text, int token)
{
    if (text.empty())
        return;
    first[static_cast<unsigned char>(text[0])] = true;
    std::size_t node = 0;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        int child = -1;
        for (const auto &[b, index] : nodes[node].children)
            if (b == byte)
                child = index;
        if (child < 0) {
            child = static_cast<int>(nodes.size());
            nodes[node].children.emplace_back(byte, child);
            nodes.emplace_back();
        }
        node = static_cast<std::size_t>(child);
    }
    if (nodes[node].token < 0) // the first token of a content wins, as the reference's map
        nodes[node].token = token;
}

std::pair<int, std::size_t> AddedVocabulary::Trie::longestAt(std::string_view text,
                                                             std::size_t pos) const
{
    std::pair<int, std::size_t> best{-1, 0};
    std::size_t node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        int child = -1;
        for (const auto &[b, index] : nodes[node].children)
            if (b == byte)
                child = index;
        if (child < 0)
            break;
        node = static_cast<std::size_t>(child);
        if (nodes[node].token >= 0)
            best = {nodes[node].token, i + 1 - pos};
    }
    return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer *normalizer)
    : m_tokens(std::move(tokens))
{
    for (std::size_t i = 0; i < m_tokens.size(); ++i) {
        const AddedToken &token = m_tokens[i];
        m_byId[token.id] = i;
        m_byContent.emplace(token.content, token.id);
        if (token.normalized)
            m_normalized.insert(normalizer ? normalizer->normalize(token.content) : token.content,
                                static_cast<int>(i));
        else
            m_raw.insert(token.content, static_cast<int>(i));
    }
}

std::vector<AddedVocabulary::Section> AddedVocabulary::splitRaw(std::string_view text) const
{
    return split(text, m_raw);
}

std::vector<AddedVocabulary::Section> AddedVocabulary::splitNormalized(std::string_view text) const
{
    return split(text, m_normalized);
}

std::vector<AddedVocabulary::Section> AddedVocabulary::split(std::string_view text,
                                                             const Trie &trie) const
{
    std::vector<Section> sections;
    std::size_t taken = 0; // the end of the last section pushed
    for (std::size_t pos = 0; pos < text.size();) {
        if (!trie.first[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        const auto [index, length] = trie.longestAt(text, pos);
        if (index < 0) {
            ++pos;
            continue;
        }
        const AddedToken &token = m_tokens[static_cast<std::size_t>(index)];
        std::size_t start = pos, stop = pos + length;
        pos = stop; // matches never overlap, kept or not
        if (token.singleWord) {
            const bool wordBefore =
                start > 0 && isWordCharacter(lastCodePoint(text.substr(0, start)));
            std::size_t after = stop;
            const bool wordAfter =
                stop < text.size() && isWordCharacter(nextCodePoint(text, after));
            if (wordBefore || wordAfter)
                continue;
        }
        if (token.lstrip)
            start = std::max(trailingWhitespaceStart(text.substr(0, start)), taken);
        if (token.rstrip)
            stop += leadingWhitespaceLength(text.substr(stop));
        if (taken < start)
            sections.push_back({taken, start, std::nullopt});
        sections.push_back({start, stop, token.id});
        taken = stop;
        pos = std::max(pos, stop);
    }
    if (taken < text.size() || sections.empty())
        sections.push_back({taken, text.size(), std::nullopt});
    return sections;
}

const AddedToken *AddedVocabulary::byId(std::uint32_t id) const
{
    const auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : &m_tokens[it->second];
}

std::optional<std::uint32_t> AddedVocabulary::idOf(std::string_view content) const
{
    const auto it = m_byContent.find(std::string(content));
    if (it == m_byContent.end())
        return std::nullopt;
    return it->second;
}

} // namespace mf::text
