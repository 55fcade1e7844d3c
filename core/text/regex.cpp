// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/regex.h"

#include "text/unicode.h"
#include "util/error.h"

#include <nlohmann/json.hpp>
#include <oniguruma.h>

#include <mutex>

namespace mf::text {

struct Regex::Compiled {
    regex_t *regex = nullptr;
};

namespace {

void initializeOniguruma()
{
    static std::once_flag once;
    std::call_once(once, [] {
        OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
        onig_initialize(encodings, 1);
    });
}

struct RegionDeleter {
    void operator()(OnigRegion *region) const { onig_region_free(region, 1); }
};

} // namespace

Regex::Regex(const std::string &pattern, const std::string &where)
    : m_compiled(std::make_unique<Compiled>())
{
    initializeOniguruma();
    if (invalidUtf8Offset(pattern) != std::string::npos)
        throw Error(where + ": the pattern is not valid UTF-8");
    OnigErrorInfo info;
    const auto *begin = reinterpret_cast<const OnigUChar *>(pattern.data());
    const int status = onig_new(&m_compiled->regex, begin, begin + pattern.size(), ONIG_OPTION_NONE,
                                ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
    if (status != ONIG_NORMAL) {
        OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(message, status, &info);
        m_compiled->regex = nullptr;
        throw Error(where + ": the regex /" + pattern +
                    "/ does not compile: " + reinterpret_cast<const char *>(message));
    }
}

Regex::~Regex()
{
    if (m_compiled && m_compiled->regex)
        onig_free(m_compiled->regex);
}

std::vector<std::pair<std::size_t, std::size_t>> Regex::findAll(std::string_view text) const
{
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    if (text.empty()) // what a match in nothing would split is nothing
        return matches;
    std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
    const auto *begin = reinterpret_cast<const OnigUChar *>(text.data());
    const auto *end = begin + text.size();
    std::size_t from = 0;
    bool haveLast = false;
    std::size_t lastEnd = 0;
    while (from <= text.size()) {
        onig_region_clear(region.get());
        const int found = onig_search(m_compiled->regex, begin, end, begin + from, end,
                                      region.get(), ONIG_OPTION_NONE);
        if (found == ONIG_MISMATCH)
            break;
        if (found < 0) {
            OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(message, found);
            throw Error(std::string("regex search failed: ") +
                        reinterpret_cast<const char *>(message));
        }
        const auto start = static_cast<std::size_t>(region->beg[0]);
        const auto stop = static_cast<std::size_t>(region->end[0]);
        if (start == stop && haveLast && lastEnd == stop) {
            // An empty match where the last one ended: step one character and search again.
            from += from < text.size() ? sequenceLength(static_cast<unsigned char>(text[from])) : 1;
            continue;
        }
        matches.emplace_back(start, stop);
        haveLast = true;
        lastEnd = stop;
        from = stop;
    }
    return matches;
}

std::vector<std::pair<std::size_t, std::size_t>> findLiteral(std::string_view text,
                                                             std::string_view literal)
{
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    if (literal.empty())
        return matches;
    for (std::size_t pos = text.find(literal); pos != std::string_view::npos;
         pos = text.find(literal, pos + literal.size()))
        matches.emplace_back(pos, pos + literal.size());
    return matches;
}

Pattern::Pattern(const nlohmann::json &value, const std::string &where)
{
    if (value.is_object() && value.size() == 1 && value.begin()->is_string()) {
        if (value.contains("String")) {
            m_literal = value["String"].get<std::string>();
            return;
        }
        if (value.contains("Regex")) {
            m_regex = std::make_unique<Regex>(value["Regex"].get<std::string>(), where);
            return;
        }
    }
    throw Error(where + ": expected {\"String\": ...} or {\"Regex\": ...}, found " +
                value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Pattern::~Pattern() = default;
Pattern::Pattern(Pattern &&) noexcept = default;

std::vector<std::pair<std::size_t, std::size_t>> Pattern::findAll(std::string_view text) const
{
    return m_regex ? m_regex->findAll(text) : findLiteral(text, m_literal);
}

std::string Pattern::replaceAll(std::string_view text, std::string_view content) const
{
    std::string out;
    std::size_t last = 0;
    for (const auto &[start, stop] : findAll(text)) {
        out.append(text.substr(last, start - last));
        out.append(content);
        last = stop;
    }
    out.append(text.substr(last));
    return out;
}

} // namespace mf::text
