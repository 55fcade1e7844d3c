// SPDX-License-Identifier: GPL-3.0-or-later
// One small class per pre-tokenizer, as tokenizers/src/pre_tokenizers/ has them. Splitting
// follows the reference's NormalizedString::split: the matches and the text between them
// cover the piece; the behavior says what becomes of the matches; empty pieces are dropped.
#include "text/pre_tokenizers.h"

#include "text/regex.h"
#include "text/unicode.h"

#include <functional>
#include <utility>

namespace mf::text {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

using Span = std::pair<std::size_t, std::size_t>;
/// Spans covering a text, each flagged whether it is a match.
using Marked = std::vector<std::pair<Span, bool>>;

Marked markMatches(std::size_t length, const std::vector<Span> &matches)
{
    if (length == 0)
        return {{{0, 0}, false}};
    Marked marked;
    std::size_t previous = 0;
    for (const Span &match : matches) {
        if (previous != match.first)
            marked.push_back({{previous, match.first}, false});
        marked.push_back({match, true});
        previous = match.second;
    }
    if (previous != length)
        marked.push_back({{previous, length}, false});
    return marked;
}

/// Spans of the characters `predicate` accepts, each alone (the reference's Fn(char) pattern).
std::vector<Span> characterMatches(const std::string &text,
                                   const std::function<bool(char32_t)> &predicate)
{
    std::vector<Span> matches;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t start = pos;
        if (predicate(nextCodePoint(text, pos)))
            matches.emplace_back(start, pos);
    }
    return matches;
}

/// The pieces `behavior` makes of `piece` given its marked spans.
void splitPiece(const Piece &piece, Marked marked, Behavior behavior, std::vector<Piece> &out)
{
    std::vector<std::pair<Span, bool>> spans; // (span, removed)
    switch (behavior) {
    case Behavior::Isolated:
        for (const auto &[span, isMatch] : marked)
            spans.push_back({span, false});
        break;
    case Behavior::Removed:
        spans = std::move(marked);
        break;
    case Behavior::Contiguous: {
        bool previousMatch = false;
        for (const auto &[span, isMatch] : marked) {
            if (isMatch == previousMatch && !spans.empty())
                spans.back().first.second = span.second;
            else
                spans.push_back({span, false});
            previousMatch = isMatch;
        }
        break;
    }
    case Behavior::MergedWithPrevious: {
        bool previousMatch = false;
        for (const auto &[span, isMatch] : marked) {
            if (isMatch && !previousMatch && !spans.empty())
                spans.back().first.second = span.second;
            else
                spans.push_back({span, false});
            previousMatch = isMatch;
        }
        break;
    }
    case Behavior::MergedWithNext: {
        bool previousMatch = false;
        for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
            const auto &[span, isMatch] = *it;
            if (isMatch && !previousMatch && !spans.empty())
                spans.back().first.first = span.first;
            else
                spans.push_back({span, false});
            previousMatch = isMatch;
        }
        std::reverse(spans.begin(), spans.end());
        break;
    }
    }
    for (const auto &[span, removed] : spans) {
        if (removed || span.first == span.second)
            continue;
        out.push_back({piece.text.substr(span.first, span.second - span.first),
                       piece.atStart && span.first == 0});
    }
}

/// Applies `split` to every piece.
void splitAll(std::vector<Piece> &pieces, const std::function<Marked(const Piece &)> &mark,
              Behavior behavior)
{
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (const Piece &piece : pieces)
        splitPiece(piece, mark(piece), behavior, out);
    pieces = std::move(out);
}

Behavior parseBehavior(const nlohmann::json &value, const JsonPath &path, Behavior fallback)
{
    const std::string name = stringMember(value, "behavior", path, std::string());
    if (name.empty())
        return fallback;
    if (name == "Removed")
        return Behavior::Removed;
    if (name == "Isolated")
        return Behavior::Isolated;
    if (name == "MergedWithPrevious")
        return Behavior::MergedWithPrevious;
    if (name == "MergedWithNext")
        return Behavior::MergedWithNext;
    if (name == "Contiguous")
        return Behavior::Contiguous;
    (path / "behavior").fail("unknown split behavior '" + name + "'");
}

class ByteLevel final : public PreTokenizer {
public:
    ByteLevel(bool addPrefixSpace, bool useRegex)
        : m_addPrefixSpace(addPrefixSpace)
        , m_useRegex(useRegex)
    {
    }
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        if (m_addPrefixSpace)
            for (Piece &piece : pieces)
                if (piece.text.empty() || piece.text[0] != ' ')
                    piece.text.insert(0, 1, ' ');
        if (m_useRegex)
            splitAll(
                pieces,
                [](const Piece &piece) {
                    return markMatches(piece.text.size(), gpt2Pattern().findAll(piece.text));
                },
                Behavior::Isolated);
        const auto &symbols = byteSymbols();
        for (Piece &piece : pieces) {
            std::string mapped;
            mapped.reserve(piece.text.size() * 2);
            for (char c : piece.text)
                mapped += symbols[static_cast<unsigned char>(c)];
            piece.text = std::move(mapped);
        }
    }

private:
    static const Regex &gpt2Pattern()
    {
        static const Regex pattern(
            R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
            "the ByteLevel pre-tokenizer");
        return pattern;
    }
    bool m_addPrefixSpace, m_useRegex;
};

class Split final : public PreTokenizer {
public:
    Split(Pattern pattern, Behavior behavior, bool invert)
        : m_pattern(std::move(pattern))
        , m_behavior(behavior)
        , m_invert(invert)
    {
    }
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        splitAll(
            pieces,
            [this](const Piece &piece) {
                Marked marked = markMatches(piece.text.size(), m_pattern.findAll(piece.text));
                if (m_invert)
                    for (auto &entry : marked)
                        entry.second = !entry.second;
                return marked;
            },
            m_behavior);
    }

private:
    Pattern m_pattern;
    Behavior m_behavior;
    bool m_invert;
};

class Metaspace final : public PreTokenizer {
public:
    enum class Prepend { Always, First, Never };
    Metaspace(std::string replacement, Prepend prepend, bool split)
        : m_replacement(std::move(replacement))
        , m_prepend(prepend)
        , m_split(split)
    {
    }
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        for (Piece &piece : pieces) {
            std::string replaced;
            for (char c : piece.text)
                if (c == ' ')
                    replaced += m_replacement;
                else
                    replaced += c;
            const bool starts = replaced.compare(0, m_replacement.size(), m_replacement) == 0;
            if (!starts &&
                (m_prepend == Prepend::Always || (m_prepend == Prepend::First && piece.atStart)))
                replaced.insert(0, m_replacement);
            piece.text = std::move(replaced);
        }
        if (m_split)
            splitAll(
                pieces,
                [this](const Piece &piece) {
                    return markMatches(piece.text.size(), findLiteral(piece.text, m_replacement));
                },
                Behavior::MergedWithNext);
    }

private:
    std::string m_replacement;
    Prepend m_prepend;
    bool m_split;
};

/// Splits on characters of one class (Digits, Punctuation, WhitespaceSplit).
class CharacterSplit final : public PreTokenizer {
public:
    CharacterSplit(std::function<bool(char32_t)> predicate, Behavior behavior)
        : m_predicate(std::move(predicate))
        , m_behavior(behavior)
    {
    }
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        splitAll(
            pieces,
            [this](const Piece &piece) {
                return markMatches(piece.text.size(), characterMatches(piece.text, m_predicate));
            },
            m_behavior);
    }

private:
    std::function<bool(char32_t)> m_predicate;
    Behavior m_behavior;
};

/// Runs of word characters and runs of other non-space characters (`\w+|[^\w\s]+`).
class Whitespace final : public PreTokenizer {
public:
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        splitAll(
            pieces,
            [](const Piece &piece) {
                std::vector<Span> matches;
                int runClass = 0; // 0 space, 1 word, 2 other
                for (std::size_t pos = 0; pos < piece.text.size();) {
                    const std::size_t start = pos;
                    const char32_t c = nextCodePoint(piece.text, pos);
                    const int cls = isWordCharacter(c) ? 1 : isWhitespace(c) ? 0 : 2;
                    if (cls != 0 && cls == runClass)
                        matches.back().second = pos;
                    else if (cls != 0)
                        matches.emplace_back(start, pos);
                    runClass = cls;
                }
                Marked marked = markMatches(piece.text.size(), matches);
                for (auto &entry : marked)
                    entry.second = !entry.second; // keep the runs, remove what lies between
                return marked;
            },
            Behavior::Removed);
    }
};

class Sequence final : public PreTokenizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : m_steps(std::move(steps))
    {
    }
    void preTokenize(std::vector<Piece> &pieces) const override
    {
        for (const auto &step : m_steps)
            if (step)
                step->preTokenize(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_steps;
};

bool isAsciiPunctuation(char32_t c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

std::unique_ptr<PreTokenizer> makeMetaspace(const nlohmann::json &value, const JsonPath &path)
{
    std::string replacement = stringMember(value, "replacement", path, std::string("\u2581"));
    std::size_t pos = 0;
    if (replacement.empty() || (nextCodePoint(replacement, pos), pos != replacement.size()))
        (path / "replacement").fail("expected one character, found '" + replacement + "'");
    const std::string scheme = stringMember(value, "prepend_scheme", path, std::string("always"));
    Metaspace::Prepend prepend = Metaspace::Prepend::Always;
    if (scheme == "first")
        prepend = Metaspace::Prepend::First;
    else if (scheme == "never")
        prepend = Metaspace::Prepend::Never;
    else if (scheme != "always")
        (path / "prepend_scheme").fail("expected always, first or never, found '" + scheme + "'");
    if (!boolMember(value, "add_prefix_space", path, true)) {
        if (prepend != Metaspace::Prepend::Never && value.contains("prepend_scheme"))
            (path / "add_prefix_space").fail("false does not match prepend_scheme " + scheme);
        prepend = Metaspace::Prepend::Never;
    }
    return std::make_unique<Metaspace>(std::move(replacement), prepend,
                                       boolMember(value, "split", path, true));
}

} // namespace

const std::array<std::string, 256> &byteSymbols()
{
    static const std::array<std::string, 256> symbols = [] {
        std::array<std::string, 256> table;
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            appendUtf8(table[static_cast<std::size_t>(b)],
                       static_cast<char32_t>(printable ? b : next++));
        }
        return table;
    }();
    return symbols;
}

int byteOfSymbol(char32_t c)
{
    static const std::vector<int> bytes = [] {
        std::vector<int> table(0x144, -1);
        const auto &symbols = byteSymbols();
        for (int b = 0; b < 256; ++b) {
            std::size_t pos = 0;
            table[nextCodePoint(symbols[static_cast<std::size_t>(b)], pos)] = b;
        }
        return table;
    }();
    return c < bytes.size() ? bytes[c] : -1;
}

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json &value, const JsonPath &path)
{
    if (value.is_null())
        return nullptr;
    const std::string type = componentType(value, path);
    if (type == "ByteLevel")
        return std::make_unique<ByteLevel>(boolMember(value, "add_prefix_space", path, true),
                                           boolMember(value, "use_regex", path, true));
    if (type == "Split")
        return std::make_unique<Split>(
            Pattern(requiredMember(value, "pattern", path), (path / "pattern").where()),
            parseBehavior(value, path, Behavior::Isolated),
            boolMember(value, "invert", path, false));
    if (type == "Metaspace")
        return makeMetaspace(value, path);
    if (type == "Digits")
        return std::make_unique<CharacterSplit>(
            isNumeric, boolMember(value, "individual_digits", path, false) ? Behavior::Isolated
                                                                           : Behavior::Contiguous);
    if (type == "Punctuation")
        return std::make_unique<CharacterSplit>(
            [](char32_t c) { return isAsciiPunctuation(c) || isPunctuation(c); },
            parseBehavior(value, path, Behavior::Isolated));
    if (type == "WhitespaceSplit")
        return std::make_unique<CharacterSplit>(isWhitespace, Behavior::Removed);
    if (type == "Whitespace")
        return std::make_unique<Whitespace>();
    if (type == "Sequence")
        return std::make_unique<Sequence>(
            componentList(value, "pretokenizers", path, makePreTokenizer));
    (path / "type")
        .fail("unknown pre-tokenizer type '" + type +
              "' (Mergefront reads ByteLevel, Split, Metaspace, Digits, Punctuation, "
              "Whitespace, WhitespaceSplit, Sequence)");
}

} // namespace mf::text
