// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mf::text {

/// Where a value sits in a tokenizer file, for messages that name the file and the key:
/// "tokenizer.json: pre_tokenizer.pretokenizers[1].pattern: ...".
class JsonPath {
public:
    explicit JsonPath(std::string file, std::string key = {});

    JsonPath operator/(const std::string &key) const;
    JsonPath operator[](std::size_t index) const;
    const std::string &file() const { return m_file; }
    /// "file: key" (or "file" at the top).
    std::string where() const;
    /// Throws mf::Error("file: key: message").
    [[noreturn]] void fail(const std::string &message) const;

private:
    std::string m_file;
    std::string m_key;
};

/// The member `key` of the object `value`; fails naming the key when it is missing.
const nlohmann::json &requiredMember(const nlohmann::json &value, const char *key,
                                     const JsonPath &path);
/// The member `key` as a string; `fallback` when missing or null (fails when there is none).
std::string stringMember(const nlohmann::json &value, const char *key, const JsonPath &path,
                         const std::optional<std::string> &fallback = std::nullopt);
/// The member `key` as a bool; `fallback` when missing or null.
bool boolMember(const nlohmann::json &value, const char *key, const JsonPath &path, bool fallback);
/// The member `key` as a non-negative integer; `fallback` when missing or null.
std::uint64_t countMember(const nlohmann::json &value, const char *key, const JsonPath &path,
                          std::uint64_t fallback);
/// A non-negative integer (however the JSON library stored it), or nullopt.
std::optional<std::uint64_t> nonNegative(const nlohmann::json &value);
/// `value` must be an object carrying a string "type"; returns it.
std::string componentType(const nlohmann::json &value, const JsonPath &path);
/// A JSON value in one line, shortened for a message.
std::string brief(const nlohmann::json &value);

/// The JSON file at `path`; throws mf::Error naming the file and the byte where it is invalid.
nlohmann::json readJsonFile(const std::string &path);

/// A special token as tokenizer_config.json writes it under `key`: a string or
/// {"content": ...}; nullopt when absent or null; fails naming the key for anything else.
std::optional<std::string> tokenText(const nlohmann::json &config, const char *key,
                                     const JsonPath &path);

/// A Sequence's components: the list `value[key]`, each element made by `make(element, path)`.
template<typename Make>
auto componentList(const nlohmann::json &value, const char *key, const JsonPath &path, Make make)
{
    const nlohmann::json &list = requiredMember(value, key, path);
    if (!list.is_array())
        (path / key).fail("expected a list");
    std::vector<decltype(make(list, path))> components;
    for (std::size_t i = 0; i < list.size(); ++i)
        components.push_back(make(list[i], (path / key)[i]));
    return components;
}

} // namespace mf::text
