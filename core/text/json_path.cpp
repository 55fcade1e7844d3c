// SPDX-License-Identifier: GPL-3.0-or-later
#include "text/json_path.h"

#include "util/atomic_file.h"
#include "util/error.h"

namespace mf::text {

JsonPath::JsonPath(std::string file, std::string key)
    : m_file(std::move(file))
    , m_key(std::move(key))
{
}

JsonPath JsonPath::operator/(const std::string &key) const
{
    return JsonPath(m_file, m_key.empty() ? key : m_key + "." + key);
}

JsonPath JsonPath::operator[](std::size_t index) const
{
    return JsonPath(m_file, m_key + "[" + std::to_string(index) + "]");
}

std::string JsonPath::where() const
{
    return m_key.empty() ? m_file : m_file + ": " + m_key;
}

void JsonPath::fail(const std::string &message) const
{
    throw Error(where() + ": " + message);
}

std::string brief(const nlohmann::json &value)
{
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > 60)
        text = text.substr(0, 57) + "...";
    return text;
}

const nlohmann::json &requiredMember(const nlohmann::json &value, const char *key,
                                     const JsonPath &path)
{
    if (!value.is_object())
        path.fail("expected an object, found " + brief(value));
    const auto it = value.find(key);
    if (it == value.end())
        (path / key).fail("missing");
    return *it;
}

std::string stringMember(const nlohmann::json &value, const char *key, const JsonPath &path,
                         const std::optional<std::string> &fallback)
{
    if (!value.is_object())
        path.fail("expected an object, found " + brief(value));
    const auto it = value.find(key);
    if (it == value.end() || it->is_null()) {
        if (!fallback)
            (path / key).fail("missing");
        return *fallback;
    }
    if (!it->is_string())
        (path / key).fail("expected a string, found " + brief(*it));
    return it->get<std::string>();
}

bool boolMember(const nlohmann::json &value, const char *key, const JsonPath &path, bool fallback)
{
    if (!value.is_object())
        path.fail("expected an object, found " + brief(value));
    const auto it = value.find(key);
    if (it == value.end() || it->is_null())
        return fallback;
    if (!it->is_boolean())
        (path / key).fail("expected true or false, found " + brief(*it));
    return it->get<bool>();
}

std::uint64_t countMember(const nlohmann::json &value, const char *key, const JsonPath &path,
                          std::uint64_t fallback)
{
    if (!value.is_object())
        path.fail("expected an object, found " + brief(value));
    const auto it = value.find(key);
    if (it == value.end() || it->is_null())
        return fallback;
    const auto count = nonNegative(*it);
    if (!count)
        (path / key).fail("expected a non-negative integer, found " + brief(*it));
    return *count;
}

std::optional<std::uint64_t> nonNegative(const nlohmann::json &value)
{
    if (value.is_number_unsigned())
        return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
        return static_cast<std::uint64_t>(value.get<std::int64_t>());
    return std::nullopt;
}

std::string componentType(const nlohmann::json &value, const JsonPath &path)
{
    if (!value.is_object())
        path.fail("expected an object with a \"type\", found " + brief(value));
    return stringMember(value, "type", path);
}

nlohmann::json readJsonFile(const std::string &path)
{
    const std::string bytes = readFile(path);
    try {
        return nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::parse_error &e) {
        std::string message = e.what();
        const std::size_t colon = message.find("] ");
        throw Error(path + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                    (colon == std::string::npos ? message : message.substr(colon + 2)));
    }
}

std::optional<std::string> tokenText(const nlohmann::json &config, const char *key,
                                     const JsonPath &path)
{
    const auto it = config.find(key);
    if (it == config.end() || it->is_null())
        return std::nullopt;
    if (it->is_string())
        return it->get<std::string>();
    if (it->is_object())
        return stringMember(*it, "content", path / key);
    (path / key).fail("expected a token or {\"content\": ...}, found " + brief(*it));
}

} // namespace mf::text
