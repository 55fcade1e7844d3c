// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/recipe.h"

#include "util/error.h"

#include <cmath>
#include <filesystem>
#include <fstream>

namespace mf {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string &path, const std::string &message)
{
    throw Error("recipe " + path + ": " + message);
}

const nlohmann::json &member(const nlohmann::json &object, const char *key, const std::string &path,
                             const std::string &where = "")
{
    const auto it = object.find(key);
    if (it == object.end())
        fail(path, (where.empty() ? "" : where + " ") + "has no \"" + key + "\"");
    return *it;
}

std::string stringMember(const nlohmann::json &object, const char *key, const std::string &path,
                         const std::string &where = "")
{
    const nlohmann::json &value = member(object, key, path, where);
    if (!value.is_string() || value.get<std::string>().empty())
        fail(path,
             (where.empty() ? "" : where + " ") + "\"" + key + "\" is not a non-empty string");
    return value.get<std::string>();
}

std::string absolute(const std::string &path)
{
    return fs::absolute(path).lexically_normal().string();
}

} // namespace

std::vector<double> taskRow(const std::vector<double> &matrix, std::size_t task,
                            std::size_t columns)
{
    const auto first = matrix.begin() + static_cast<std::ptrdiff_t>(task * columns);
    return std::vector<double>(first, first + static_cast<std::ptrdiff_t>(columns));
}

nlohmann::ordered_json groupsJson(const std::vector<CoefficientGroup> &groups)
{
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const CoefficientGroup &group : groups) {
        nlohmann::ordered_json g = {{"name", group.name}, {"include", group.include}};
        if (group.ramp)
            g["ramp"] = true;
        out.push_back(std::move(g));
    }
    return out;
}

std::vector<CoefficientGroup> readGroups(const nlohmann::json &array, const std::string &where)
{
    if (!array.is_array())
        throw Error(where + ": \"groups\" is not a list");
    std::vector<CoefficientGroup> groups;
    for (std::size_t i = 0; i < array.size(); ++i) {
        const nlohmann::json &g = array[i];
        const std::string which = where + ": group " + std::to_string(i + 1);
        if (!g.is_object() || !g.contains("name") || !g["name"].is_string())
            throw Error(which + " has no \"name\" (a string)");
        CoefficientGroup group;
        group.name = g["name"].get<std::string>();
        if (g.contains("include") && !g["include"].is_null()) {
            if (!g["include"].is_string())
                throw Error(which + " ('" + group.name + "'): \"include\" is not a string");
            group.include = g["include"].get<std::string>();
        }
        if (g.contains("ramp")) {
            if (!g["ramp"].is_boolean())
                throw Error(which + " ('" + group.name + "'): \"ramp\" is not true or false");
            group.ramp = g["ramp"].get<bool>();
        }
        for (const auto &[key, value] : g.items())
            if (key != "name" && key != "include" && key != "ramp")
                throw Error(which + " ('" + group.name + "'): unknown key \"" + key +
                            "\" (expected name, include, ramp)");
        groups.push_back(std::move(group));
    }
    try {
        validateGroups(groups);
    } catch (const Error &e) {
        throw Error(where + ": " + e.what());
    }
    return groups;
}

nlohmann::ordered_json coefficientsJson(const std::vector<double> &coefficients,
                                        std::size_t columns)
{
    if (columns <= 1)
        return coefficients;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (std::size_t t = 0; t * columns < coefficients.size(); ++t)
        rows.push_back(taskRow(coefficients, t, columns));
    return rows;
}

std::vector<double> readCoefficientMatrix(const nlohmann::json &value, std::size_t tasks,
                                          std::size_t columns, const std::string &where)
{
    if (!value.is_array())
        throw Error(where + ": \"coefficients\" is not a list");
    std::vector<double> out;
    const bool rows = !value.empty() && value.front().is_array();
    for (std::size_t i = 0; i < value.size(); ++i) {
        const nlohmann::json &row = value[i];
        if (rows != row.is_array())
            throw Error(where + ": \"coefficients\" mixes numbers and rows");
        if (rows && row.size() != columns)
            throw Error(where + ": coefficient row " + std::to_string(i + 1) + " has " +
                        std::to_string(row.size()) + " values for " + std::to_string(columns) +
                        " group column(s)");
        for (const nlohmann::json &c : rows ? row : nlohmann::json::array({row})) {
            if (!c.is_number() || !std::isfinite(c.get<double>()))
                throw Error(where + ": a coefficient is not a finite number");
            out.push_back(c.get<double>());
        }
    }
    if (out.size() != tasks * columns)
        throw Error(where + ": " + std::to_string(out.size()) + " coefficients for " +
                    std::to_string(tasks) + " task(s) x " + std::to_string(columns) +
                    " group column(s)");
    return out;
}

nlohmann::ordered_json recipeJson(const MergeRequest &request, const MergeReport &report)
{
    const MergeOptions &o = request.options;
    const std::vector<std::string> names =
        request.taskNames.empty() ? taskNamesFromPaths(request.modelPaths) : request.taskNames;
    const std::vector<std::string> columns = groupColumns(o.groups);
    nlohmann::ordered_json models = nlohmann::ordered_json::array();
    nlohmann::ordered_json fingerprints = {{"base", report.fingerprints.at(0)}};
    for (std::size_t t = 0; t < names.size(); ++t) {
        models.push_back({{"name", names[t]},
                          {"path", absolute(request.modelPaths[t])},
                          {"fingerprint", report.fingerprints.at(t + 1)}});
        fingerprints[names[t]] = report.fingerprints.at(t + 1);
    }
    nlohmann::ordered_json recipe = {
        {"recipe", kRecipeVersion},
        {"made_with", std::string("Mergefront ") + MERGEFRONT_VERSION},
        {"method", methodName(o.method)},
        {"density", o.density},
        {"drop_rate", o.dropRate},
        {"seed", o.seed},
        {"disjoint_mean", o.disjointMean},
        {"include", o.include},
        {"exclude", o.exclude},
        {"task_only", o.keepTaskOnly ? "keep" : "drop"},
        {"groups", groupsJson(o.groups)},
        {"columns",
         o.groups.empty() ? nlohmann::ordered_json::array() : nlohmann::ordered_json(columns)},
        {"tasks", names},
        {"coefficients", coefficientsJson(request.coefficients, columns.size())},
        {"base",
         {{"path", absolute(request.basePath)}, {"fingerprint", report.fingerprints.at(0)}}},
        {"models", models},
        {"fingerprints", fingerprints},
        {"dtype", request.dtype ? nlohmann::ordered_json(dtypeName(*request.dtype))
                                : nlohmann::ordered_json(nullptr)},
        {"gguf_type", request.ggufType
                          ? nlohmann::ordered_json(ggufWeightTypeName(*request.ggufType))
                          : nlohmann::ordered_json(nullptr)},
        {"shard_size", request.shardSize},
        {"tokenizer_from", request.tokenizerFrom}};
    return recipe;
}

MergeRequest readRecipe(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read recipe " + path);
    nlohmann::json r;
    try {
        r = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &e) {
        fail(path, std::string("not valid JSON: ") + e.what());
    }
    if (!r.is_object())
        fail(path, "not a JSON object");
    const nlohmann::json &version = member(r, "recipe", path);
    if (!version.is_number_integer() || version.get<int>() < 1)
        fail(path, "\"recipe\" is not a format version (an integer from 1)");
    if (version.get<int>() > kRecipeVersion)
        fail(path, "written by a newer Mergefront (recipe format " +
                       std::to_string(version.get<int>()) + ", this one reads up to " +
                       std::to_string(kRecipeVersion) + ")");
    const fs::path folder = fs::absolute(path).parent_path();
    auto resolve = [&](const std::string &p) {
        return fs::path(p).is_absolute() ? p : (folder / p).lexically_normal().string();
    };
    MergeRequest request;
    const nlohmann::json &base = member(r, "base", path);
    if (!base.is_object())
        fail(path, "\"base\" is not an object");
    request.basePath = resolve(stringMember(base, "path", path, "base"));
    request.expectedFingerprints.push_back(stringMember(base, "fingerprint", path, "base"));
    const nlohmann::json &models = member(r, "models", path);
    if (!models.is_array() || models.empty())
        fail(path, "\"models\" is not a non-empty list");
    for (std::size_t i = 0; i < models.size(); ++i) {
        const std::string where = "model " + std::to_string(i + 1);
        if (!models[i].is_object())
            fail(path, where + " is not an object");
        request.taskNames.push_back(stringMember(models[i], "name", path, where));
        request.modelPaths.push_back(resolve(stringMember(models[i], "path", path, where)));
        request.expectedFingerprints.push_back(stringMember(models[i], "fingerprint", path, where));
    }
    MergeOptions &o = request.options;
    try {
        o.method = parseMergeMethod(stringMember(r, "method", path));
        auto number = [&](const char *key, double fallback) {
            if (!r.contains(key))
                return fallback;
            if (!r[key].is_number())
                fail(path, std::string("\"") + key + "\" is not a number");
            return r[key].get<double>();
        };
        o.density = number("density", o.density);
        o.dropRate = number("drop_rate", o.dropRate);
        if (r.contains("seed") && !r["seed"].is_number_unsigned())
            fail(path, "\"seed\" is not a non-negative integer");
        o.seed = r.value("seed", std::uint64_t{0});
        o.disjointMean = r.value("disjoint_mean", false);
        o.include = r.value("include", "");
        o.exclude = r.value("exclude", "");
        const std::string taskOnly = r.value("task_only", "keep");
        if (taskOnly != "keep" && taskOnly != "drop")
            fail(path, "\"task_only\" is '" + taskOnly + "' (expected keep or drop)");
        o.keepTaskOnly = taskOnly == "keep";
        if (r.contains("groups"))
            o.groups = readGroups(r["groups"], "recipe " + path);
        validateMergeOptions(o);
        const std::size_t columns = groupColumns(o.groups).size();
        if (r.contains("columns") && !o.groups.empty() &&
            r["columns"] != nlohmann::json(groupColumns(o.groups)))
            fail(path, "\"columns\" " + r["columns"].dump() + " are not the groups' columns " +
                           nlohmann::json(groupColumns(o.groups)).dump());
        request.coefficients = readCoefficientMatrix(
            member(r, "coefficients", path), request.modelPaths.size(), columns, "recipe " + path);
        if (r.contains("dtype") && !r["dtype"].is_null()) {
            if (!r["dtype"].is_string())
                fail(path, "\"dtype\" is not a string");
            request.dtype = parseDTypeName(r["dtype"].get<std::string>(), "recipe " + path);
        }
        if (r.contains("gguf_type") && !r["gguf_type"].is_null()) {
            if (!r["gguf_type"].is_string())
                fail(path, "\"gguf_type\" is not a string");
            request.ggufType = parseGgufWeightType(r["gguf_type"].get<std::string>());
        }
        if (r.contains("shard_size") && !r["shard_size"].is_number_unsigned())
            fail(path, "\"shard_size\" is not a byte count");
        request.shardSize = r.value("shard_size", std::uint64_t{0});
        request.tokenizerFrom = r.value("tokenizer_from", "");
    } catch (const nlohmann::json::exception &e) {
        fail(path, e.what());
    } catch (const Error &e) {
        const std::string message = e.what();
        if (message.rfind("recipe ", 0) == 0)
            throw;
        fail(path, message);
    }
    return request;
}

} // namespace mf
