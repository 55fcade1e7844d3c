// SPDX-License-Identifier: GPL-3.0-or-later
#include "arguments.h"

#include <cmath>
#include <cstdint>

namespace mf::cli {

Arguments::Arguments(const std::vector<std::string> &tokens,
                     const std::set<std::string> &valueOptions,
                     const std::set<std::string> &flagOptions)
{
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string &token = tokens[i];
        if (token.size() < 3 || token.compare(0, 2, "--") != 0) {
            m_positionals.push_back(token);
            continue;
        }
        std::string name = token.substr(2);
        std::optional<std::string> inlineValue;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            inlineValue = name.substr(eq + 1);
            name.resize(eq);
        }
        if (flagOptions.count(name)) {
            if (inlineValue)
                throw UsageError("--" + name + " takes no value");
            m_flags.insert(name);
        } else if (valueOptions.count(name)) {
            if (!inlineValue) {
                if (i + 1 >= tokens.size())
                    throw UsageError("--" + name + " needs a value");
                inlineValue = tokens[++i];
            }
            m_values[name].push_back(*inlineValue);
        } else {
            throw UsageError("unknown option --" + name);
        }
    }
}

std::optional<std::string> Arguments::value(const std::string &name) const
{
    const auto it = m_values.find(name);
    if (it == m_values.end())
        return std::nullopt;
    if (it->second.size() > 1)
        throw UsageError("--" + name + " given more than once");
    return it->second.front();
}

std::vector<std::string> Arguments::values(const std::string &name) const
{
    const auto it = m_values.find(name);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

std::string Arguments::required(const std::string &name) const
{
    const auto v = value(name);
    if (!v)
        throw UsageError("--" + name + " is required");
    return *v;
}

double Arguments::number(const std::string &name, double fallback) const
{
    const auto v = value(name);
    if (!v)
        return fallback;
    return parseNumberList(*v, name).at(0);
}

std::uint64_t Arguments::unsignedNumber(const std::string &name, std::uint64_t fallback) const
{
    const auto v = value(name);
    if (!v)
        return fallback;
    std::size_t used = 0;
    unsigned long long parsed = 0;
    try {
        parsed = std::stoull(*v, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != v->size() || v->empty() || (*v)[0] == '-')
        throw UsageError("--" + name + " expects a non-negative integer, got '" + *v + "'");
    return parsed;
}

std::vector<double> parseNumberList(const std::string &text, const std::string &option)
{
    std::vector<double> numbers;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma - start);
        std::size_t used = 0;
        double value = 0;
        try {
            value = std::stod(item, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (item.empty() || used != item.size() || !std::isfinite(value))
            throw UsageError("--" + option + " expects numbers separated by commas, got '" + text +
                             "'");
        numbers.push_back(value);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return numbers;
}

} // namespace mf::cli
