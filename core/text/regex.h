// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mf::text {

/// A pattern of Hugging Face's tokenizers (Oniguruma syntax, UTF-8), compiled with the same
/// engine and options the reference uses (Debian's libonig: `\p{L}`, `\s`, `(?!\S)`,
/// `(?i:...)` behave as there). Searches are const and may run on several threads.
class Regex {
public:
    /// Throws mf::Error naming `where` (file and key) when the pattern does not compile.
    Regex(const std::string &pattern, const std::string &where);
    ~Regex();
    Regex(const Regex &) = delete;
    Regex &operator=(const Regex &) = delete;

    /// Every match of `text` as [start, end) byte offsets, left to right, as the reference's
    /// find_iter gives them (an empty match right after the previous one is skipped).
    std::vector<std::pair<std::size_t, std::size_t>> findAll(std::string_view text) const;

private:
    struct Compiled;
    std::unique_ptr<Compiled> m_compiled;
};

/// [start, end) of every occurrence of `literal` in `text`, left to right, not overlapping.
std::vector<std::pair<std::size_t, std::size_t>> findLiteral(std::string_view text,
                                                             std::string_view literal);

/// The "pattern" of Replace and Split: {"String": literal} or {"Regex": oniguruma}.
class Pattern {
public:
    /// Reads {"String": ...} or {"Regex": ...}; `where` names the key in messages.
    Pattern(const nlohmann::json &value, const std::string &where);
    ~Pattern();
    Pattern(Pattern &&) noexcept;

    std::vector<std::pair<std::size_t, std::size_t>> findAll(std::string_view text) const;
    /// `text` with every match replaced by `content`.
    std::string replaceAll(std::string_view text, std::string_view content) const;

private:
    std::string m_literal;
    std::unique_ptr<Regex> m_regex;
};

} // namespace mf::text
