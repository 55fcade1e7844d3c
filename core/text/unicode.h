// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mf::text {

/// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it.
char32_t nextCodePoint(std::string_view text, std::size_t &pos);
/// The byte length of the UTF-8 sequence whose first byte is `lead` (1 for a stray byte).
std::size_t sequenceLength(unsigned char lead);
/// Where the code point that ends at byte `end` (> 0) of valid UTF-8 begins.
std::size_t previousCodePointStart(std::string_view text, std::size_t end);
/// The byte length of the whitespace run (Unicode White_Space) that starts `text`.
std::size_t leadingWhitespaceLength(std::string_view text);
/// Where the whitespace run (Unicode White_Space) that ends `text` begins.
std::size_t trailingWhitespaceStart(std::string_view text);
/// Appends `c` as UTF-8.
void appendUtf8(std::string &out, char32_t c);
/// The byte offset of the first invalid UTF-8 sequence, or npos when `text` is valid.
std::size_t invalidUtf8Offset(std::string_view text);
/// `bytes` with every maximal invalid subsequence replaced by U+FFFD (Rust's
/// String::from_utf8_lossy, WHATWG's TextDecoder).
std::string utf8Lossy(std::string_view bytes);

/// Unicode White_Space (Rust's char::is_whitespace).
bool isWhitespace(char32_t c);
/// General category N* (Rust's char::is_numeric).
bool isNumeric(char32_t c);
/// General category P* (the Punctuation pre-tokenizer adds ASCII symbols to it).
bool isPunctuation(char32_t c);
/// A regex word character: letters, marks, decimal and letter numbers, connectors.
bool isWordCharacter(char32_t c);
/// General category Mn (what StripAccents removes).
bool isNonSpacingMark(char32_t c);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
/// `text` (valid UTF-8) in the given normalization form (utf8proc, Unicode 15).
std::string normalize(std::string_view text, NormalForm form);
/// Every character lowercased as Rust's char::to_lowercase does (full mappings).
std::string lowercase(std::string_view text);

} // namespace mf::text
