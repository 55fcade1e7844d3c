// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/unicode.h"

#include "util/error.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

namespace mf::text {

std::size_t sequenceLength(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if ((lead & 0xE0) == 0xC0)
        return 2;
    if ((lead & 0xF0) == 0xE0)
        return 3;
    if ((lead & 0xF8) == 0xF0)
        return 4;
    return 1;
}

char32_t nextCodePoint(std::string_view text, std::size_t &pos)
{
    const auto lead = static_cast<unsigned char>(text[pos]);
    const std::size_t length = std::min(sequenceLength(lead), text.size() - pos);
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i)
        c = (c << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
    pos += length;
    return c;
}

std::size_t previousCodePointStart(std::string_view text, std::size_t end)
{
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        --start;
    return start;
}

std::size_t leadingWhitespaceLength(std::string_view text)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t next = pos;
        if (!isWhitespace(nextCodePoint(text, next)))
            break;
        pos = next;
    }
    return pos;
}

std::size_t trailingWhitespaceStart(std::string_view text)
{
    std::size_t end = text.size();
    while (end > 0) {
        const std::size_t start = previousCodePointStart(text, end);
        std::size_t pos = start;
        if (!isWhitespace(nextCodePoint(text, pos)))
            break;
        end = start;
    }
    return end;
}

void appendUtf8(std::string &out, char32_t c)
{
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

namespace {

/// The length of the valid UTF-8 sequence at `pos`, or of its maximal invalid prefix negated
/// (at least 1 byte): the "maximal subpart" practice of Unicode's chapter 3.
std::ptrdiff_t validSequenceAt(std::string_view text, std::size_t pos)
{
    const auto b0 = static_cast<unsigned char>(text[pos]);
    if (b0 < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF; // the allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3;
        if (b0 == 0xE0)
            low = 0xA0;
        if (b0 == 0xED)
            high = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4;
        if (b0 == 0xF0)
            low = 0x90;
        if (b0 == 0xF4)
            high = 0x8F;
    } else {
        return -1;
    }
    for (std::size_t i = 1; i < length; ++i) {
        if (pos + i >= text.size())
            return -static_cast<std::ptrdiff_t>(i);
        const auto b = static_cast<unsigned char>(text[pos + i]);
        const bool ok = i == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
        if (!ok)
            return -static_cast<std::ptrdiff_t>(i);
    }
    return static_cast<std::ptrdiff_t>(length);
}

utf8proc_category_t category(char32_t c)
{
    return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

} // namespace

std::size_t invalidUtf8Offset(std::string_view text)
{
    for (std::size_t pos = 0; pos < text.size();) {
        const std::ptrdiff_t length = validSequenceAt(text, pos);
        if (length < 0)
            return pos;
        pos += static_cast<std::size_t>(length);
    }
    return std::string_view::npos;
}

std::string utf8Lossy(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        const std::ptrdiff_t length = validSequenceAt(bytes, pos);
        if (length > 0) {
            out.append(bytes.substr(pos, static_cast<std::size_t>(length)));
            pos += static_cast<std::size_t>(length);
        } else {
            out += "\xEF\xBF\xBD";
            pos += static_cast<std::size_t>(-length);
        }
    }
    return out;
}

bool isWhitespace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

bool isNumeric(char32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    const auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

bool isPunctuation(char32_t c)
{
    const auto cat = category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool isWordCharacter(char32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    const auto cat = category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) ||
           cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_PC || c == 0x200C || c == 0x200D;
}

bool isNonSpacingMark(char32_t c)
{
    return category(c) == UTF8PROC_CATEGORY_MN;
}

std::string normalize(std::string_view text, NormalForm form)
{
    int options = UTF8PROC_STABLE;
    switch (form) {
    case NormalForm::NFC:
        options |= UTF8PROC_COMPOSE;
        break;
    case NormalForm::NFD:
        options |= UTF8PROC_DECOMPOSE;
        break;
    case NormalForm::NFKC:
        options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
        break;
    case NormalForm::NFKD:
        options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
        break;
    }
    utf8proc_uint8_t *out = nullptr;
    const utf8proc_ssize_t length = utf8proc_map(
        reinterpret_cast<const utf8proc_uint8_t *>(text.data()),
        static_cast<utf8proc_ssize_t>(text.size()), &out, static_cast<utf8proc_option_t>(options));
    if (length < 0)
        throw Error(std::string("Unicode normalization failed: ") + utf8proc_errmsg(length));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
    return std::string(reinterpret_cast<const char *>(out), static_cast<std::size_t>(length));
}

std::string lowercase(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const char32_t c = nextCodePoint(text, pos);
        if (c < 0x80) {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else if (c == 0x130) { // İ: the one unconditional multi-character lowercase mapping
            out += "i\xCC\x87";
        } else {
            appendUtf8(out,
                       static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
        }
    }
    return out;
}

} // namespace mf::text
