// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/project.h"

#include "merge/recipe.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/text.h"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace mf::project {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char *kFormat = "mergefront-project";

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
    throw Error(path + ": " + what);
}

/// A coefficient vector of the file (an evaluation's, a job's): one number per task.
std::vector<double> readCoefficients(const nlohmann::json &array, std::size_t tasks,
                                     const std::string &path, const std::string &where)
{
    std::vector<double> coefficients;
    for (const auto &c : array) {
        if (!c.is_number())
            fail(path, where + ": a coefficient is not a number");
        coefficients.push_back(c.get<double>());
    }
    // tasks x group columns: an evaluation made under other coefficient groups keeps its own
    // number of columns (its cache key tells it apart; samples() leaves it out).
    if (coefficients.empty() || tasks == 0 || coefficients.size() % tasks != 0)
        fail(path, where + " has " + std::to_string(coefficients.size()) + " coefficients for " +
                       std::to_string(tasks) + " tasks");
    return coefficients;
}

std::string requireString(const json &object, const char *key, const std::string &path,
                          const std::string &where)
{
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string() || it->get<std::string>().empty())
        fail(path, where + " has no \"" + key + "\" (a non-empty string)");
    return it->get<std::string>();
}

double optionalNumber(const json &object, const char *key, double fallback, const std::string &path,
                      const std::string &where)
{
    const auto it = object.find(key);
    if (it == object.end())
        return fallback;
    if (!it->is_number() || !std::isfinite(it->get<double>()))
        fail(path, where + ": \"" + key + "\" is not a finite number");
    return it->get<double>();
}

map::Direction parseDirection(const std::string &text, const std::string &path,
                              const std::string &where)
{
    if (text == "maximize")
        return map::Direction::Maximize;
    if (text == "minimize")
        return map::Direction::Minimize;
    fail(path, where + ": direction '" + text + "' (expected maximize or minimize)");
}

json numberOrNull(double value)
{
    return std::isfinite(value) ? json(value) : json(nullptr);
}

} // namespace

std::string utcNow()
{
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string cacheKey(const MergeOptions &options, const std::vector<std::string> &fingerprints,
                     const std::string &evaluation)
{
    json key = {{"method", methodName(options.method)},
                {"include", options.include},
                {"exclude", options.exclude},
                {"checkpoints", fingerprints},
                {"evaluation", evaluation}};
    if (options.method == MergeMethod::Ties || options.method == MergeMethod::DareTies) {
        key["density"] = options.density;
        key["disjoint_mean"] = options.disjointMean;
    }
    if (options.method == MergeMethod::Dare || options.method == MergeMethod::DareTies) {
        key["drop_rate"] = options.dropRate;
        key["seed"] = options.seed;
    }
    if (!options.keepTaskOnly) // only when not the default: older projects' keys stay valid
        key["task_only"] = "drop";
    if (!options.groups.empty())
        key["groups"] = groupsJson(options.groups);
    return hexDigits(hashString(key.dump()));
}

Project Project::load(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot open " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    Project p;
    p.path = path;
    try {
        p.m_document = json::parse(buffer.str());
    } catch (const json::parse_error &e) {
        fail(path, std::string("invalid JSON (") + e.what() + ")");
    }
    const json &d = p.m_document;
    if (!d.is_object() || d.value("format", "") != kFormat)
        fail(path, "not a Mergefront project (\"format\" is not \"mergefront-project\")");
    if (!d.contains("version") || !d["version"].is_number_integer() || d["version"].get<int>() < 1)
        fail(path, "\"version\" is missing or not a positive integer");
    p.version = d["version"].get<int>();
    p.base = requireString(d, "base", path, "the project");
    if (!d.contains("tasks") || !d["tasks"].is_array() || d["tasks"].empty())
        fail(path, "\"tasks\" is missing or empty");
    std::set<std::string> names;
    for (std::size_t i = 0; i < d["tasks"].size(); ++i) {
        const json &t = d["tasks"][i];
        const std::string where = "task " + std::to_string(i + 1);
        if (!t.is_object())
            fail(path, where + " is not an object");
        TaskEntry task;
        task.raw = t;
        task.name = requireString(t, "name", path, where);
        if (!names.insert(task.name).second)
            fail(path, "two tasks are named '" + task.name + "'");
        task.checkpoint = requireString(t, "checkpoint", path, "task '" + task.name + "'");
        task.metric = t.value("metric", task.metric);
        task.direction =
            parseDirection(t.value("direction", "maximize"), path, "task '" + task.name + "'");
        try {
            task.link = map::parseLink(t.value("link", "auto"));
        } catch (const Error &e) {
            fail(path, "task '" + task.name + "': " + e.what());
        }
        task.lower = optionalNumber(t, "lower", 0, path, "task '" + task.name + "'");
        task.upper = optionalNumber(t, "upper", 1, path, "task '" + task.name + "'");
        if (!(task.lower < task.upper))
            fail(path, "task '" + task.name + "': the box [lower, upper] is empty");
        if (t.contains("evaluator"))
            task.evaluator = t["evaluator"];
        p.tasks.push_back(std::move(task));
    }
    if (d.contains("merge")) {
        const json &m = d["merge"];
        try {
            p.merge.method = parseMergeMethod(m.value("method", "task_arithmetic"));
        } catch (const Error &e) {
            fail(path, std::string("merge: ") + e.what());
        }
        p.merge.density = optionalNumber(m, "density", p.merge.density, path, "merge");
        p.merge.dropRate = optionalNumber(m, "drop_rate", p.merge.dropRate, path, "merge");
        p.merge.seed = static_cast<std::uint64_t>(optionalNumber(m, "seed", 0, path, "merge"));
        p.merge.disjointMean = m.value("disjoint_mean", false);
        p.merge.include = m.value("include", "");
        p.merge.exclude = m.value("exclude", "");
        const std::string taskOnly = m.value("task_only", "keep");
        if (taskOnly != "keep" && taskOnly != "drop")
            fail(path, "merge: task_only is '" + taskOnly + "' (expected keep or drop)");
        p.merge.keepTaskOnly = taskOnly == "keep";
        if (m.contains("groups") && !m["groups"].is_null()) {
            try {
                p.merge.groups = readGroups(m["groups"], "merge");
            } catch (const Error &e) {
                fail(path, e.what());
            }
        }
        try {
            validateMergeOptions(p.merge);
        } catch (const Error &e) {
            fail(path, std::string("merge: ") + e.what());
        }
    }
    if (d.contains("map")) {
        const json &m = d["map"];
        p.map.mode = m.value("mode", p.map.mode);
        if (p.map.mode != "plain" && p.map.mode != "bayesian" && p.map.mode != "nested")
            fail(path, "map: mode '" + p.map.mode + "' (expected plain, bayesian or nested)");
        p.map.budget = static_cast<int>(optionalNumber(m, "budget", 0, path, "map"));
        p.map.seed = static_cast<std::uint64_t>(optionalNumber(m, "seed", 1, path, "map"));
        p.map.acquisition = m.value("acquisition", p.map.acquisition);
        if (p.map.acquisition != "ehvi" && p.map.acquisition != "uncertainty")
            fail(path,
                 "map: acquisition '" + p.map.acquisition + "' (expected ehvi or uncertainty)");
    }
    if (d.contains("evaluations")) {
        if (!d["evaluations"].is_array())
            fail(path, "\"evaluations\" is not an array");
        for (std::size_t i = 0; i < d["evaluations"].size(); ++i) {
            const json &e = d["evaluations"][i];
            const std::string where = "evaluation " + std::to_string(i + 1);
            if (!e.is_object() || !e.contains("coefficients") || !e["coefficients"].is_array())
                fail(path, where + " has no \"coefficients\" array");
            EvaluationEntry entry;
            entry.raw = e;
            entry.result.coefficients =
                readCoefficients(e["coefficients"], p.tasks.size(), path, where);
            if (e.contains("metrics") && e["metrics"].is_object())
                for (const auto &[task, value] : e["metrics"].items())
                    entry.result.metrics[task] = value.is_number() ? value.get<double>() : NAN;
            entry.result.failed = e.value("failed", false);
            entry.result.error = e.value("error", "");
            entry.result.seconds = e.value("seconds", 0.0);
            entry.result.device = e.value("device", "");
            entry.when = e.value("when", "");
            entry.kind = e.value("kind", "sample");
            entry.cacheKey = e.value("cache_key", "");
            p.evaluations.push_back(std::move(entry));
        }
    }
    if (d.contains("runner")) {
        const json &r = d["runner"];
        if (!r.is_object())
            fail(path, "\"runner\" is not an object");
        p.runner.kind = r.value("kind", p.runner.kind);
        if (p.runner.kind != "local" && p.runner.kind != "slurm")
            fail(path, "runner: kind '" + p.runner.kind + "' (expected local or slurm)");
        if (r.contains("sbatch")) {
            if (!r["sbatch"].is_array())
                fail(path, "runner: \"sbatch\" is not a list of options");
            for (const json &option : r["sbatch"]) {
                if (!option.is_string())
                    fail(path, "runner: an sbatch option is not a string");
                p.runner.sbatch.push_back(option.get<std::string>());
            }
        }
        p.runner.maxJobs = static_cast<int>(optionalNumber(r, "max_jobs", 4, path, "runner"));
        if (p.runner.maxJobs < 1)
            fail(path, "runner: max_jobs must be at least 1");
        p.runner.workdir = r.value("workdir", "");
        p.runner.setup = r.value("setup", "");
        p.runner.cli = r.value("cli", p.runner.cli);
        p.runner.retries = static_cast<int>(optionalNumber(r, "retries", 2, path, "runner"));
        if (p.runner.retries < 0)
            fail(path, "runner: retries must not be negative");
        p.runner.pollSeconds = optionalNumber(r, "poll_seconds", 5, path, "runner");
        if (!(p.runner.pollSeconds >= 0.1))
            fail(path, "runner: poll_seconds must be at least 0.1");
    }
    if (d.contains("jobs")) {
        if (!d["jobs"].is_array())
            fail(path, "\"jobs\" is not an array");
        for (std::size_t i = 0; i < d["jobs"].size(); ++i) {
            const json &j = d["jobs"][i];
            const std::string where = "job " + std::to_string(i + 1);
            if (!j.is_object() || !j.contains("id") || !j["id"].is_string() ||
                !j.contains("coefficients") || !j["coefficients"].is_array())
                fail(path, where + " needs a string \"id\" and a \"coefficients\" array");
            JobRecord job;
            job.id = j["id"].get<std::string>();
            job.coefficients = readCoefficients(j["coefficients"], p.tasks.size(), path,
                                                where + " (Slurm job " + job.id + ")");
            job.kind = j.value("kind", "sample");
            job.cacheKey = j.value("cache_key", "");
            job.submittedAt = j.value("submitted_at", "");
            job.attempt = j.value("attempt", 1);
            job.result = j.value("result", "");
            if (j.contains("history") && j["history"].is_array())
                for (const json &h : j["history"])
                    if (h.is_string())
                        job.history.push_back(h.get<std::string>());
            p.jobs.push_back(std::move(job));
        }
    }
    if (d.contains("chosen"))
        p.chosen = d["chosen"];
    if (d.contains("preference"))
        p.preference = d["preference"];
    if (d.contains("bookmarks")) {
        if (!d["bookmarks"].is_array())
            fail(path, "\"bookmarks\" is not an array");
        for (std::size_t i = 0; i < d["bookmarks"].size(); ++i) {
            const json &b = d["bookmarks"][i];
            const std::string where = "bookmark " + std::to_string(i + 1);
            if (!b.is_object() || !b.contains("coefficients") || !b["coefficients"].is_array())
                fail(path, where + " needs a \"coefficients\" array");
            Bookmark bookmark;
            bookmark.name = requireString(b, "name", path, where);
            bookmark.coefficients =
                readCoefficients(b["coefficients"], p.tasks.size(), path, where);
            bookmark.when = b.value("when", "");
            p.bookmarks.push_back(std::move(bookmark));
        }
    }
    p.device = d.value("device", p.device);
    if (d.contains("evaluator") && !d["evaluator"].is_null()) {
        const json &e = d["evaluator"];
        if (!e.is_object())
            fail(path, "\"evaluator\" is not an object");
        if (e.value("kind", "") != "command")
            fail(path, "evaluator: the project-level evaluator runs a command (\"kind\": "
                       "\"command\"), not '" +
                           e.value("kind", "") + "'");
        if (!e.contains("command") || !e["command"].is_string() ||
            e["command"].get<std::string>().find_first_not_of(" \t") == std::string::npos)
            fail(path, "evaluator: \"command\" is missing or empty");
        if (!(optionalNumber(e, "timeout", 3600, path, "evaluator") > 0))
            fail(path, "evaluator: \"timeout\" must be a positive number of seconds");
        p.evaluator = e;
    }
    return p;
}

std::string Project::evaluatorKind(const TaskEntry &task) const
{
    if (!sharedEvaluator(task))
        return task.evaluator.value("kind", "");
    return evaluator.is_object() ? evaluator.value("kind", "") : "";
}

bool Project::sharedEvaluator(const TaskEntry &task) const
{
    return evaluator.is_object() && (!task.evaluator.is_object() || task.evaluator.empty());
}

void Project::save() const
{
    json d = m_document.is_object() ? m_document : json::object();
    d["format"] = kFormat;
    d["version"] = std::max(version, kVersion);
    d["base"] = base;
    json tasksJson = json::array();
    for (const TaskEntry &task : tasks) {
        json t = task.raw.is_object() ? task.raw : json::object();
        t["name"] = task.name;
        t["checkpoint"] = task.checkpoint;
        t["metric"] = task.metric;
        t["direction"] = task.direction == map::Direction::Maximize ? "maximize" : "minimize";
        t["link"] = map::linkName(task.link);
        t["lower"] = task.lower;
        t["upper"] = task.upper;
        if (sharedEvaluator(task))
            t.erase("evaluator"); // the project-level one serves it
        else
            t["evaluator"] = task.evaluator;
        tasksJson.push_back(std::move(t));
    }
    d["tasks"] = std::move(tasksJson);
    json mergeJson = d.contains("merge") && d["merge"].is_object() ? d["merge"] : json::object();
    mergeJson["method"] = methodName(merge.method);
    mergeJson["density"] = merge.density;
    mergeJson["drop_rate"] = merge.dropRate;
    mergeJson["seed"] = merge.seed;
    mergeJson["disjoint_mean"] = merge.disjointMean;
    mergeJson["include"] = merge.include;
    mergeJson["exclude"] = merge.exclude;
    mergeJson["task_only"] = merge.keepTaskOnly ? "keep" : "drop";
    if (merge.groups.empty())
        mergeJson.erase("groups");
    else
        mergeJson["groups"] = groupsJson(merge.groups);
    d["merge"] = std::move(mergeJson);
    json mapJson = d.contains("map") && d["map"].is_object() ? d["map"] : json::object();
    mapJson["mode"] = map.mode;
    mapJson["budget"] = map.budget;
    mapJson["seed"] = map.seed;
    mapJson["acquisition"] = map.acquisition;
    d["map"] = std::move(mapJson);
    json evaluationsJson = json::array();
    for (const EvaluationEntry &entry : evaluations) {
        json e = entry.raw.is_object() ? entry.raw : json::object();
        e["coefficients"] = entry.result.coefficients;
        json metrics = json::object();
        for (const auto &[task, value] : entry.result.metrics)
            metrics[task] = numberOrNull(value);
        e["metrics"] = std::move(metrics);
        e["failed"] = entry.result.failed;
        e["error"] = entry.result.error;
        e["seconds"] = entry.result.seconds;
        e["device"] = entry.result.device;
        e["when"] = entry.when;
        e["kind"] = entry.kind;
        e["cache_key"] = entry.cacheKey;
        evaluationsJson.push_back(std::move(e));
    }
    d["evaluations"] = std::move(evaluationsJson);
    d["chosen"] = chosen;
    if (evaluator.is_null())
        d.erase("evaluator");
    else
        d["evaluator"] = evaluator;
    if (d.contains("runner") || runner.slurm()) {
        json r = d.contains("runner") && d["runner"].is_object() ? d["runner"] : json::object();
        r["kind"] = runner.kind;
        if (runner.slurm()) {
            r["sbatch"] = runner.sbatch;
            r["max_jobs"] = runner.maxJobs;
            r["workdir"] = runner.workdir;
            r["setup"] = runner.setup;
            r["cli"] = runner.cli;
            r["retries"] = runner.retries;
            r["poll_seconds"] = runner.pollSeconds;
        }
        d["runner"] = std::move(r);
    }
    json jobsJson = json::array();
    for (const JobRecord &job : jobs)
        jobsJson.push_back({{"id", job.id},
                            {"coefficients", job.coefficients},
                            {"kind", job.kind},
                            {"cache_key", job.cacheKey},
                            {"submitted_at", job.submittedAt},
                            {"attempt", job.attempt},
                            {"result", job.result},
                            {"history", job.history}});
    if (!jobsJson.empty() || d.contains("jobs"))
        d["jobs"] = std::move(jobsJson);
    if (!preference.is_null())
        d["preference"] = preference;
    json bookmarksJson = json::array();
    for (const Bookmark &bookmark : bookmarks)
        bookmarksJson.push_back({{"name", bookmark.name},
                                 {"coefficients", bookmark.coefficients},
                                 {"when", bookmark.when}});
    if (!bookmarksJson.empty() || d.contains("bookmarks"))
        d["bookmarks"] = std::move(bookmarksJson);
    d["device"] = device;
    writeFileAtomically(path, d.dump(1, '\t', false, json::error_handler_t::replace) + "\n");
}

void Project::saveNew() const
{
    std::error_code ec;
    if (std::filesystem::exists(path, ec))
        throw Error(path + " already exists (its evaluations would be lost): choose another name");
    // A folder that does not exist yet is created (and removed again if the project fails).
    fs::path created;
    for (fs::path folder = fs::absolute(path).parent_path();
         !folder.empty() && !fs::exists(folder, ec); folder = folder.parent_path())
        created = folder;
    if (!created.empty()) {
        fs::create_directories(fs::absolute(path).parent_path(), ec);
        if (ec)
            throw Error("cannot create the folder " + fs::absolute(path).parent_path().string() +
                        " for " + path + ": " + ec.message());
    }
    try {
        save();
        load(path); // the same checks as opening it
    } catch (...) {
        fs::remove(path, ec);
        if (!created.empty())
            fs::remove_all(created, ec);
        throw;
    }
}

std::string Project::runnerWorkdir() const
{
    // Absolute: the job scripts name it on the nodes.
    if (!runner.workdir.empty())
        return fs::absolute(resolve(runner.workdir)).lexically_normal().string();
    const fs::path file = fs::absolute(path);
    return (file.parent_path() / (file.stem().string() + ".slurm")).lexically_normal().string();
}

std::string Project::resolve(const std::string &relative) const
{
    const fs::path p(relative);
    if (p.is_absolute())
        return relative;
    return (fs::path(path).parent_path() / p).lexically_normal().string();
}

std::string Project::relativize(const std::string &absolute) const
{
    return relativePath(absolute, fs::absolute(fs::path(path)).parent_path().string());
}

void Project::moveTo(const std::string &newPath)
{
    std::vector<std::string *> paths{&base};
    for (TaskEntry &task : tasks) {
        paths.push_back(&task.checkpoint);
        for (const char *key : {"module", "data"}) // the TorchScript evaluator's files
            if (task.evaluator.contains(key) && task.evaluator[key].is_string())
                paths.push_back(task.evaluator[key].get_ptr<std::string *>());
    }
    std::vector<std::string> resolved;
    for (const std::string *p : paths)
        resolved.push_back(resolve(*p));
    path = newPath;
    for (std::size_t i = 0; i < paths.size(); ++i)
        if (!fs::path(*paths[i]).is_absolute())
            *paths[i] = relativize(resolved[i]);
}

std::vector<std::string> Project::taskNames() const
{
    std::vector<std::string> names;
    for (const TaskEntry &task : tasks)
        names.push_back(task.name);
    return names;
}

std::vector<std::string> Project::columns() const
{
    return groupColumns(merge.groups);
}

std::size_t Project::dimension() const
{
    return tasks.size() * columns().size();
}

map::Problem Project::problem() const
{
    map::Problem problem;
    const std::vector<std::string> groupColumnNames = columns();
    const std::size_t c = groupColumnNames.size();
    problem.lower.resize(static_cast<Eigen::Index>(dimension()));
    problem.upper.resize(static_cast<Eigen::Index>(dimension()));
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        problem.metrics.push_back({tasks[t].name, tasks[t].direction, tasks[t].link});
        for (std::size_t g = 0; g < c; ++g) {
            problem.coefficients.push_back(c == 1 ? tasks[t].name
                                                  : tasks[t].name + "/" + groupColumnNames[g]);
            problem.lower[static_cast<Eigen::Index>(t * c + g)] = tasks[t].lower;
            problem.upper[static_cast<Eigen::Index>(t * c + g)] = tasks[t].upper;
        }
    }
    return problem;
}

map::Samples Project::samples(const std::string &kind, const std::string &cacheKey) const
{
    // Evaluations of this kind under the project's coefficient groups (one made under other
    // groups has another number of coefficients; its metrics describe another space), and
    // under its current settings when the key is given.
    const std::size_t d = dimension();
    std::vector<const EvaluationEntry *> chosenEntries;
    for (const EvaluationEntry &entry : evaluations)
        if (entry.kind == kind && entry.result.coefficients.size() == d &&
            (cacheKey.empty() || entry.cacheKey.empty() || entry.cacheKey == cacheKey))
            chosenEntries.push_back(&entry);
    const auto n = static_cast<Eigen::Index>(tasks.size());
    map::Samples samples;
    samples.c.resize(static_cast<Eigen::Index>(chosenEntries.size()), static_cast<Eigen::Index>(d));
    samples.y.resize(static_cast<Eigen::Index>(chosenEntries.size()), n);
    for (std::size_t i = 0; i < chosenEntries.size(); ++i) {
        const auto row = static_cast<Eigen::Index>(i);
        for (std::size_t k = 0; k < d; ++k)
            samples.c(row, static_cast<Eigen::Index>(k)) = chosenEntries[i]->result.coefficients[k];
        for (Eigen::Index t = 0; t < n; ++t) {
            const auto &metrics = chosenEntries[i]->result.metrics;
            const auto it = metrics.find(tasks[static_cast<std::size_t>(t)].name);
            samples.y(row, t) =
                chosenEntries[i]->result.failed || it == metrics.end() ? NAN : it->second;
        }
    }
    return samples;
}

const EvaluationEntry *Project::cached(const std::vector<double> &coefficients,
                                       const std::string &key) const
{
    for (const EvaluationEntry &entry : evaluations)
        if (!entry.result.failed && entry.cacheKey == key &&
            entry.result.coefficients == coefficients)
            return &entry;
    return nullptr;
}

void Project::record(const eval::Evaluation &result, const std::string &kind,
                     const std::string &key)
{
    EvaluationEntry entry;
    entry.result = result;
    entry.when = utcNow();
    entry.kind = kind;
    entry.cacheKey = key;
    evaluations.push_back(std::move(entry));
}

} // namespace mf::project
