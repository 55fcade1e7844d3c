// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mf::cli {

/// Bad command line: exit code 2 with a usage hint.
class UsageError : public std::runtime_error {
public:
    explicit UsageError(const std::string &message)
        : std::runtime_error(message)
    {
    }
};

/// Command-line options of one command: `--name value`, `--name=value`, repeatable
/// options, boolean flags, and positionals. Unknown options are usage errors.
class Arguments {
public:
    Arguments(const std::vector<std::string> &tokens, const std::set<std::string> &valueOptions,
              const std::set<std::string> &flagOptions);

    bool flag(const std::string &name) const { return m_flags.count(name) > 0; }
    std::optional<std::string> value(const std::string &name) const;
    std::vector<std::string> values(const std::string &name) const;
    const std::vector<std::string> &positionals() const { return m_positionals; }

    std::string required(const std::string &name) const;
    double number(const std::string &name, double fallback) const;
    std::uint64_t unsignedNumber(const std::string &name, std::uint64_t fallback) const;

private:
    std::map<std::string, std::vector<std::string>> m_values;
    std::set<std::string> m_flags;
    std::vector<std::string> m_positionals;
};

/// "0.5,0.3,1" -> {0.5, 0.3, 1}; throws UsageError on anything that is not a number.
std::vector<double> parseNumberList(const std::string &text, const std::string &option);

} // namespace mf::cli
