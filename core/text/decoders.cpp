// SPDX-License-Identifier: GPL-3.0-or-later
// One small class per decoder, as tokenizers/src/decoders/ has them.
#include "text/decoders.h"

#include "text/pre_tokenizers.h"
#include "text/regex.h"
#include "text/unicode.h"

namespace mf::text {
namespace {

/// Byte-level symbols back to bytes, all tokens at once; a token with other characters
/// stands for its own UTF-8 bytes. Invalid UTF-8 becomes U+FFFD.
class ByteLevel final : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::string bytes;
        for (const std::string &token : tokens) {
            std::string mapped;
            bool all = true;
            for (std::size_t pos = 0; pos < token.size() && all;) {
                const int b = byteOfSymbol(nextCodePoint(token, pos));
                all = b >= 0;
                mapped += static_cast<char>(b);
            }
            bytes += all ? mapped : token;
        }
        return {utf8Lossy(bytes)};
    }
};

/// Runs of <0xAB> tokens back to the text they spell (one U+FFFD per byte when invalid).
class ByteFallback final : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        const auto flush = [&] {
            if (bytes.empty())
                return;
            if (invalidUtf8Offset(bytes) == std::string::npos)
                out.push_back(bytes);
            else
                for (std::size_t i = 0; i < bytes.size(); ++i)
                    out.push_back("\xEF\xBF\xBD");
            bytes.clear();
        };
        for (std::string &token : tokens) {
            int value = -1;
            if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
                const auto hex = [](char c) {
                    return c >= '0' && c <= '9'   ? c - '0'
                           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                  : -1;
                };
                const int high = hex(token[3]), low = hex(token[4]);
                if (high >= 0 && low >= 0)
                    value = high * 16 + low;
            }
            if (value >= 0) {
                bytes += static_cast<char>(value);
            } else {
                flush();
                out.push_back(std::move(token));
            }
        }
        flush();
        return out;
    }
};

/// The replacement character back to spaces; dropped in the first token unless the
/// pre-tokenizer never prepends one.
class Metaspace final : public Decoder {
public:
    Metaspace(std::string replacement, bool prepends)
        : m_replacement(std::move(replacement))
        , m_prepends(prepends)
    {
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string out;
            const std::string &token = tokens[i];
            for (std::size_t pos = 0; pos < token.size();) {
                if (token.compare(pos, m_replacement.size(), m_replacement) == 0) {
                    if (!(i == 0 && m_prepends))
                        out += ' ';
                    pos += m_replacement.size();
                } else {
                    out += token[pos++];
                }
            }
            tokens[i] = std::move(out);
        }
        return tokens;
    }

private:
    std::string m_replacement;
    bool m_prepends;
};

class Replace final : public Decoder {
public:
    Replace(Pattern pattern, std::string content)
        : m_pattern(std::move(pattern))
        , m_content(std::move(content))
    {
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (std::string &token : tokens)
            token = m_pattern.replaceAll(token, m_content);
        return tokens;
    }

private:
    Pattern m_pattern;
    std::string m_content;
};

/// Removes up to `start` leading and `stop` trailing copies of one character per token.
class Strip final : public Decoder {
public:
    Strip(char32_t content, std::size_t start, std::size_t stop)
        : m_content(content)
        , m_start(start)
        , m_stop(stop)
    {
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (std::string &token : tokens) {
            std::vector<std::pair<std::size_t, char32_t>> chars; // (byte offset, character)
            for (std::size_t pos = 0; pos < token.size();) {
                const std::size_t at = pos;
                chars.emplace_back(at, nextCodePoint(token, pos));
            }
            std::size_t first = 0, last = chars.size();
            for (std::size_t i = 0; i < m_start && i < chars.size() && chars[i].second == m_content;
                 ++i)
                first = i + 1;
            for (std::size_t i = 0;
                 i < m_stop && i < chars.size() && chars[chars.size() - 1 - i].second == m_content;
                 ++i)
                last = chars.size() - 1 - i;
            if (last <= first) {
                token.clear();
                continue;
            }
            const std::size_t begin = chars[first].first;
            const std::size_t end = last < chars.size() ? chars[last].first : token.size();
            token = token.substr(begin, end - begin);
        }
        return tokens;
    }

private:
    char32_t m_content;
    std::size_t m_start, m_stop;
};

class Fuse final : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        std::string joined;
        for (const std::string &token : tokens)
            joined += token;
        return {joined};
    }
};

class Sequence final : public Decoder {
public:
    explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps)
        : m_steps(std::move(steps))
    {
    }
    std::vector<std::string> decodeChain(std::vector<std::string> tokens) const override
    {
        for (const auto &step : m_steps)
            if (step)
                tokens = step->decodeChain(std::move(tokens));
        return tokens;
    }

private:
    std::vector<std::unique_ptr<Decoder>> m_steps;
};

char32_t singleCharacter(const std::string &text, const JsonPath &path)
{
    std::size_t pos = 0;
    if (text.empty())
        path.fail("expected one character, found an empty string");
    const char32_t c = nextCodePoint(text, pos);
    if (pos != text.size())
        path.fail("expected one character, found '" + text + "'");
    return c;
}

} // namespace

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json &value, const JsonPath &path)
{
    if (value.is_null())
        return nullptr;
    const std::string type = componentType(value, path);
    if (type == "ByteLevel")
        return std::make_unique<ByteLevel>();
    if (type == "ByteFallback")
        return std::make_unique<ByteFallback>();
    if (type == "Fuse")
        return std::make_unique<Fuse>();
    if (type == "Metaspace") {
        const std::string replacement =
            stringMember(value, "replacement", path, std::string("\u2581"));
        singleCharacter(replacement, path / "replacement");
        const std::string scheme =
            stringMember(value, "prepend_scheme", path, std::string("always"));
        const bool prepends =
            scheme != "never" && boolMember(value, "add_prefix_space", path, true);
        return std::make_unique<Metaspace>(replacement, prepends);
    }
    if (type == "Replace")
        return std::make_unique<Replace>(
            Pattern(requiredMember(value, "pattern", path), (path / "pattern").where()),
            stringMember(value, "content", path));
    if (type == "Strip")
        return std::make_unique<Strip>(
            singleCharacter(stringMember(value, "content", path), path / "content"),
            countMember(value, "start", path, 0), countMember(value, "stop", path, 0));
    if (type == "Sequence")
        return std::make_unique<Sequence>(componentList(value, "decoders", path, makeDecoder));
    (path / "type")
        .fail("unknown decoder type '" + type +
              "' (Mergefront reads ByteLevel, ByteFallback, Metaspace, Replace, Strip, Fuse, "
              "Sequence)");
}

} // namespace mf::text
