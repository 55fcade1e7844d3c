// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/bpe.h"

#include "text/unicode.h"

#include <cstdio>
#include <queue>

namespace mf::text {
namespace {

/// Ids beyond this are refused: a vocabulary of real models has at most a few hundred thousand.
constexpr std::uint64_t kMaxId = 1u << 24;
/// Pieces at least this long are not cached (as the reference).
constexpr std::size_t kMaxCachedLength = 256;
constexpr std::size_t kCacheCapacity = 100000;

std::uint64_t pairKey(std::uint32_t a, std::uint32_t b)
{
    return (static_cast<std::uint64_t>(a) << 32) | b;
}

struct Symbol {
    std::uint32_t id;
    std::int64_t prev;
    std::int64_t next;
    std::size_t length; ///< bytes of the piece it covers; 0 once merged into its left neighbour
};

struct Candidate {
    std::uint32_t rank;
    std::size_t position;
    std::uint32_t newId;
    bool operator>(const Candidate &other) const
    {
        return rank != other.rank ? rank > other.rank : position > other.position;
    }
};

} // namespace

Bpe::Bpe(BpeConfig config, const JsonPath &vocabPath, const JsonPath &mergesPath)
    : m_prefix(config.continuingSubwordPrefix.value_or(""))
    , m_suffix(config.endOfWordSuffix.value_or(""))
    , m_fuseUnk(config.fuseUnk)
    , m_byteFallback(config.byteFallback)
    , m_ignoreMerges(config.ignoreMerges)
{
    if (config.dropout != 0)
        vocabPath.fail("BPE dropout " + std::to_string(config.dropout) +
                       " makes tokenization random; Mergefront needs it null or 0");
    std::uint64_t size = 0;
    for (const auto &[token, id] : config.vocab) {
        if (id >= kMaxId)
            (vocabPath / token).fail("id " + std::to_string(id) + " is out of range");
        size = std::max(size, id + 1);
    }
    m_tokens.resize(size);
    m_present.assign(size, false);
    for (const auto &[token, id] : config.vocab) {
        if (m_present[id])
            (vocabPath / token)
                .fail("id " + std::to_string(id) + " is also the id of '" + m_tokens[id] +
                      "' (duplicate ids)");
        m_tokens[id] = token;
        m_present[id] = true;
    }
    m_ids.reserve(config.vocab.size());
    for (std::uint32_t id = 0; id < m_tokens.size(); ++id)
        if (m_present[id] && !m_ids.emplace(m_tokens[id], id).second)
            (vocabPath / m_tokens[id]).fail("the token appears twice");

    m_merges.reserve(config.merges.size());
    for (std::size_t rank = 0; rank < config.merges.size(); ++rank) {
        const auto &[a, b] = config.merges[rank];
        const auto left = tokenToId(a), right = tokenToId(b);
        if (!left || !right)
            mergesPath[rank].fail("'" + (!left ? a : b) + "' is not in the vocabulary");
        if (b.size() < m_prefix.size() || b.compare(0, m_prefix.size(), m_prefix) != 0)
            mergesPath[rank].fail("'" + b + "' lacks the continuing-subword prefix '" + m_prefix +
                                  "'");
        const std::string joined = a + b.substr(m_prefix.size());
        const auto merged = tokenToId(joined);
        if (!merged)
            mergesPath[rank].fail("'" + a + " " + b + "' makes '" + joined +
                                  "', which is not in the vocabulary");
        // A repeated pair takes its last rank, as the reference's map does.
        m_merges[pairKey(*left, *right)] = {static_cast<std::uint32_t>(rank), *merged};
    }
    if (config.unkToken) {
        m_unk = tokenToId(*config.unkToken);
        if (!m_unk)
            vocabPath.fail("the unk token '" + *config.unkToken + "' is not in the vocabulary");
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        const auto id = tokenToId(name);
        m_haveByteIds[b] = id.has_value();
        m_byteIds[b] = id.value_or(0);
    }
}

std::optional<std::uint32_t> Bpe::tokenToId(std::string_view token) const
{
    const auto it = m_ids.find(token);
    if (it == m_ids.end())
        return std::nullopt;
    return it->second;
}

const std::string *Bpe::idToToken(std::uint32_t id) const
{
    return id < m_tokens.size() && m_present[id] ? &m_tokens[id] : nullptr;
}

void Bpe::tokenize(std::string_view piece, std::vector<std::uint32_t> &ids) const
{
    if (piece.empty())
        return;
    if (m_ignoreMerges)
        if (const auto id = tokenToId(piece)) {
            ids.push_back(*id);
            return;
        }
    if (piece.size() >= kMaxCachedLength) {
        merge(piece, ids);
        return;
    }
    std::string key(piece); // built once: looked up, then stored on a miss
    {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        const auto it = m_cache.find(key);
        if (it != m_cache.end()) {
            ids.insert(ids.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<std::uint32_t> result;
    merge(piece, result);
    ids.insert(ids.end(), result.begin(), result.end());
    std::lock_guard<std::mutex> lock(m_cacheMutex);
    if (m_cache.size() >= kCacheCapacity)
        m_cache.clear();
    m_cache.emplace(std::move(key), std::move(result));
}

void Bpe::merge(std::string_view piece, std::vector<std::uint32_t> &ids) const
{
    std::vector<Symbol> symbols;
    symbols.reserve(piece.size());
    const auto add = [&symbols](std::uint32_t id, std::size_t length) {
        const auto index = static_cast<std::int64_t>(symbols.size());
        if (!symbols.empty())
            symbols.back().next = index;
        symbols.push_back({id, index - 1, -1, length});
    };
    bool unkPending = false; // an unk symbol waiting to be added (unknown characters fuse into it)
    std::uint32_t unkId = 0;
    std::size_t unkLength = 0;
    std::string symbol;
    for (std::size_t pos = 0; pos < piece.size();) {
        const std::size_t start = pos;
        nextCodePoint(piece, pos);
        const std::size_t length = pos - start;
        symbol.clear();
        if (start > 0)
            symbol += m_prefix;
        symbol.append(piece.substr(start, length));
        if (pos == piece.size())
            symbol += m_suffix;
        if (const auto id = tokenToId(symbol)) {
            if (unkPending)
                add(unkId, unkLength);
            unkPending = false;
            add(*id, length);
            continue;
        }
        if (m_byteFallback) {
            bool all = true;
            for (char c : symbol)
                all = all && m_haveByteIds[static_cast<unsigned char>(c)];
            if (all) {
                for (char c : symbol)
                    add(m_byteIds[static_cast<unsigned char>(c)], 1);
                continue;
            }
        }
        if (m_unk) {
            if (unkPending && m_fuseUnk) {
                unkLength += length;
            } else {
                if (unkPending)
                    add(unkId, unkLength);
                unkPending = true;
                unkId = *m_unk;
                unkLength = length;
            }
        }
    }
    if (unkPending)
        add(unkId, unkLength);

    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    const auto consider = [this, &queue](std::uint32_t a, std::uint32_t b, std::size_t position) {
        const auto it = m_merges.find(pairKey(a, b));
        if (it != m_merges.end())
            queue.push({it->second.first, position, it->second.second});
    };
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
        consider(symbols[i].id, symbols[i + 1].id, i);
    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol &current = symbols[top.position];
        if (current.length == 0 || current.next == -1)
            continue;
        const auto nextIndex = static_cast<std::size_t>(current.next);
        const Symbol right = symbols[nextIndex];
        const auto it = m_merges.find(pairKey(current.id, right.id));
        if (it == m_merges.end() || it->second.second != top.newId)
            continue; // stale: one side was merged since
        current.id = top.newId;
        current.length += right.length;
        current.next = right.next;
        symbols[nextIndex].length = 0;
        if (right.next >= 0)
            symbols[static_cast<std::size_t>(right.next)].prev =
                static_cast<std::int64_t>(top.position);
        if (current.prev >= 0)
            consider(symbols[static_cast<std::size_t>(current.prev)].id, current.id,
                     static_cast<std::size_t>(current.prev));
        if (current.next >= 0)
            consider(current.id, symbols[static_cast<std::size_t>(current.next)].id, top.position);
    }
    for (const Symbol &s : symbols)
        if (s.length != 0)
            ids.push_back(s.id);
}

BpeConfig bpeConfigFromJson(const nlohmann::json &model, const JsonPath &path)
{
    BpeConfig config;
    const auto optionalString = [&](const char *key) -> std::optional<std::string> {
        const std::string value = stringMember(model, key, path, std::string("\x01"));
        if (value == "\x01")
            return std::nullopt;
        return value;
    };
    config.unkToken = optionalString("unk_token");
    config.continuingSubwordPrefix = optionalString("continuing_subword_prefix");
    config.endOfWordSuffix = optionalString("end_of_word_suffix");
    config.fuseUnk = boolMember(model, "fuse_unk", path, false);
    config.byteFallback = boolMember(model, "byte_fallback", path, false);
    config.ignoreMerges = boolMember(model, "ignore_merges", path, false);
    const auto dropout = model.find("dropout");
    if (dropout != model.end() && !dropout->is_null()) {
        if (!dropout->is_number())
            (path / "dropout").fail("expected a number or null, found " + brief(*dropout));
        config.dropout = dropout->get<double>();
    }
    return config;
}

} // namespace mf::text
