// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/groups.h"

#include "util/error.h"
#include "util/text.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace mf {

namespace {

std::regex compileGroup(const CoefficientGroup &group)
{
    try {
        return std::regex(group.include, std::regex::ECMAScript);
    } catch (const std::regex_error &e) {
        throw Error("coefficient group '" + group.name + "': invalid regex '" + group.include +
                    "': " + e.what());
    }
}

/// "a, b, c and 12 more": the first few names of a long list.
std::string someNames(const std::vector<std::string> &names)
{
    constexpr std::size_t kShown = 6;
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i)
        text += (i ? ", " : "") + names[i];
    if (names.size() > kShown)
        text += " and " + std::to_string(names.size() - kShown) + " more";
    return text;
}

} // namespace

void validateGroups(const std::vector<CoefficientGroup> &groups)
{
    std::set<std::string> names;
    int rest = 0;
    for (const CoefficientGroup &group : groups) {
        if (group.name.empty())
            throw Error("a coefficient group has no name");
        if (group.name.find_first_of(":/,=") != std::string::npos)
            throw Error("coefficient group '" + group.name +
                        "': a name may not hold ':', '/', ',' or '='");
        if (!names.insert(group.name).second)
            throw Error("two coefficient groups are named '" + group.name + "'");
        if (group.include.empty()) {
            if (group.ramp)
                throw Error("coefficient group '" + group.name +
                            "' is a ramp without a regex (say which layers it covers)");
            if (++rest > 1)
                throw Error("coefficient groups: more than one group takes the rest (no regex)");
        } else {
            compileGroup(group);
        }
    }
}

std::vector<std::string> groupColumns(const std::vector<CoefficientGroup> &groups)
{
    if (groups.empty())
        return {""};
    std::vector<std::string> columns;
    for (const CoefficientGroup &group : groups) {
        if (group.ramp) {
            columns.push_back(group.name + ":first");
            columns.push_back(group.name + ":last");
        } else {
            columns.push_back(group.name);
        }
    }
    return columns;
}

int layerIndex(const std::string &name)
{
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string::npos)
            end = name.size();
        const std::string part = name.substr(start, end - start);
        if (!part.empty() && part.size() < 9 &&
            std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            start > 0)
            return std::stoi(part);
        start = end + 1;
    }
    return -1;
}

std::vector<GroupMember> assignGroups(const std::vector<std::string> &names,
                                      const std::vector<CoefficientGroup> &groups)
{
    std::vector<GroupMember> members(names.size());
    if (groups.empty())
        return members;
    validateGroups(groups);
    std::vector<std::regex> patterns;
    std::vector<int> firstColumn;
    int rest = -1, column = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        patterns.push_back(groups[g].include.empty() ? std::regex() : compileGroup(groups[g]));
        firstColumn.push_back(column);
        column += groups[g].ramp ? 2 : 1;
        if (groups[g].include.empty())
            rest = static_cast<int>(g);
    }
    std::vector<std::string> overlaps, orphans, unlayered;
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::vector<std::size_t> hits;
        for (std::size_t g = 0; g < groups.size(); ++g)
            if (!groups[g].include.empty() && std::regex_search(names[i], patterns[g]))
                hits.push_back(g);
        if (hits.size() > 1) {
            std::string which;
            for (std::size_t h : hits)
                which += (which.empty() ? "" : ", ") + groups[h].name;
            overlaps.push_back(names[i] + " (" + which + ")");
            continue;
        }
        const int g = hits.empty() ? rest : static_cast<int>(hits.front());
        if (g < 0) {
            orphans.push_back(names[i]);
            continue;
        }
        GroupMember &member = members[i];
        member.group = g;
        member.column = firstColumn[static_cast<std::size_t>(g)];
        member.ramp = groups[static_cast<std::size_t>(g)].ramp;
        member.layer = layerIndex(names[i]);
        if (member.ramp && member.layer < 0)
            unlayered.push_back(names[i] + " (" + groups[static_cast<std::size_t>(g)].name + ")");
    }
    if (!overlaps.empty())
        throw Error("coefficient groups overlap: " + std::to_string(overlaps.size()) +
                    " tensor(s) match more than one group: " + someNames(overlaps));
    if (!orphans.empty())
        throw Error("coefficient groups miss " + std::to_string(orphans.size()) +
                    " merged tensor(s): " + someNames(orphans) +
                    " (add a group for them, or one without a regex for the rest)");
    if (!unlayered.empty())
        throw Error("a ramp group holds tensor(s) without a layer index (.N. in the name): " +
                    someNames(unlayered));
    // A ramp runs from its group's first layer to its last; a group must hold something.
    for (std::size_t g = 0; g < groups.size(); ++g) {
        int low = -1, high = -1;
        bool any = false;
        for (const GroupMember &m : members)
            if (m.group == static_cast<int>(g)) {
                low = any ? std::min(low, m.layer) : m.layer;
                high = any ? std::max(high, m.layer) : m.layer;
                any = true;
            }
        if (!any)
            throw Error("coefficient group '" + groups[g].name + "' holds no merged tensor" +
                        (groups[g].include.empty()
                             ? std::string(" (nothing is left for it)")
                             : " (its regex '" + groups[g].include + "' matches none)"));
        if (!groups[g].ramp)
            continue;
        for (GroupMember &m : members)
            if (m.group == static_cast<int>(g))
                m.position = high > low ? static_cast<double>(m.layer - low) / (high - low) : 0.0;
    }
    return members;
}

void memberCoefficients(const GroupMember &member, const double *matrix, std::size_t tasks,
                        std::size_t columns, double *out)
{
    const auto column = static_cast<std::size_t>(member.column);
    for (std::size_t t = 0; t < tasks; ++t) {
        const double *row = matrix + t * columns;
        out[t] = member.ramp ? row[column] + (row[column + 1] - row[column]) * member.position
                             : row[column];
    }
}

std::vector<CoefficientGroup> transformerGroups(const std::vector<std::string> &names, bool ramp)
{
    // The layer stacks: the name before ".N." (e.g. "transformer.h"), and its layers.
    std::map<std::string, std::set<int>> stacks;
    std::vector<std::string> embeddings;
    const std::regex embedding("(embed|wte|wpe|word_embeddings|position)");
    for (const std::string &name : names) {
        const int layer = layerIndex(name);
        if (layer >= 0) {
            const std::string mark = "." + std::to_string(layer);
            const std::size_t at = name.find(mark + ".") != std::string::npos
                                       ? name.find(mark + ".")
                                       : name.rfind(mark);
            stacks[name.substr(0, at)].insert(layer);
        } else if (std::regex_search(name, embedding)) {
            embeddings.push_back(name);
        }
    }
    std::size_t layers = 0;
    for (const auto &[prefix, indices] : stacks)
        layers = std::max(layers, indices.size());
    if (layers < 2)
        throw Error("these tensor names have fewer than two numbered layers (.N.): no "
                    "transformer groups to offer");
    auto layerRegex = [&](bool firstHalf, bool secondHalf) {
        std::string alternatives;
        for (const auto &[prefix, indices] : stacks) {
            const std::vector<int> sorted(indices.begin(), indices.end());
            const std::size_t half = (sorted.size() + 1) / 2;
            std::string numbers;
            for (std::size_t k = 0; k < sorted.size(); ++k)
                if ((k < half && firstHalf) || (k >= half && secondHalf))
                    numbers += (numbers.empty() ? "" : "|") + std::to_string(sorted[k]);
            if (!numbers.empty())
                alternatives += (alternatives.empty() ? "" : "|") + escapeRegex(prefix) + "\\.(" +
                                numbers + ")";
        }
        return "^(" + alternatives + ")(\\.|$)";
    };
    std::vector<CoefficientGroup> groups;
    if (!embeddings.empty()) {
        std::string alternatives;
        for (const std::string &name : embeddings)
            alternatives += (alternatives.empty() ? "" : "|") + escapeRegex(name);
        groups.push_back({"embeddings", "^(" + alternatives + ")$", false});
    }
    if (ramp) {
        groups.push_back({"layers", layerRegex(true, true), true});
    } else {
        groups.push_back({"first half", layerRegex(true, false), false});
        groups.push_back({"second half", layerRegex(false, true), false});
    }
    const std::size_t covered =
        std::count_if(names.begin(), names.end(), [&](const std::string &n) {
            return layerIndex(n) >= 0 ||
                   std::find(embeddings.begin(), embeddings.end(), n) != embeddings.end();
        });
    if (covered < names.size())
        groups.push_back({"head", "", false});
    return groups;
}

} // namespace mf
