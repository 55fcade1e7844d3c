// SPDX-License-Identifier: GPL-3.0-or-later
// Commands on a project file (../shared/docs/CLI.md): explore, grid, status, front, select,
// evaluate, export. Argument parsing and output only; the work is in mergefront::project.
#include "commands.h"

#include "arguments.h"
#include "interrupt.h"

#include "map/design.h"
#include "map/selection.h"
#include "merge/merge_job.h"
#include "merge/recipe.h"
#include "project/export.h"
#include "project/project.h"
#include "project/sample_table.h"
#include "project/session.h"
#include "project/evaluator_backend.h"
#include "project/slurm_runner.h"
#include "eval/slurm.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <tuple>

namespace mf::cli {

const char *const kExploreUsage =
    "usage: mergefront-cli explore PROJECT.json [--budget N] [--mode plain|bayesian|nested] "
    "[--threads T]\n"
    "                              [--acquisition ehvi|uncertainty] [--workers W] [--json]\n"
    "  samples, evaluates (resuming what the project holds), fits, computes the front; the "
    "project\n"
    "  is saved after every evaluation. Ctrl-C stops after saving what finished. Says when the\n"
    "  front is still provisional, why, and about how many more evaluations would fix it.\n";
const char *const kGridUsage =
    "usage: mergefront-cli grid PROJECT.json --levels K [--csv FILE] [--threads T] [--workers W]\n";
const char *const kStatusUsage =
    "usage: mergefront-cli status PROJECT.json [--json]\n"
    "  evaluations, surrogates, and with a cluster runner the jobs in flight and their states\n";
const char *const kJobUsage =
    "usage: mergefront-cli job PROJECT.json --coef c1,...,cN --result FILE.json [--cache-key K]\n"
    "                          [--threads T]\n"
    "  what a cluster job runs on its node: merges into node-local scratch ($TMPDIR, else the\n"
    "  runner's work folder), evaluates with the project's evaluators, writes FILE.json\n"
    "  atomically and removes the merge; the project file is only read\n";
const char *const kFrontUsage =
    "usage: mergefront-cli front PROJECT.json --csv|--json\n"
    "  the predicted front: coefficients, predicted metrics with their std (model error\n"
    "  included) and 90% interval, measured metrics where evaluated; whether it is provisional\n";
const char *const kSelectUsage =
    "usage: mergefront-cli select PROJECT.json --weights w1,...,wN "
    "[--rule weighted|chebyshev|reference]\n"
    "                             [--reference r1,...,rN] [--json]\n"
    "  the merge the preference picks, optimized on the surrogates from the nearest front\n"
    "  point, with its predicted metrics, std and 90% intervals\n";
const char *const kEvaluateUsage =
    "usage: mergefront-cli evaluate PROJECT.json (--coef c1,...,cN [--json] | --points FILE.csv "
    "[--csv OUT])\n"
    "  measures merges for real (cached in the project): one, or every row's c:<task> columns\n"
    "  of FILE.csv (e.g. what `front --csv` writes), written as CSV (c: columns, then metrics)\n";
const char *const kExportUsage =
    "usage: mergefront-cli export PROJECT.json (--weights w1,...,wN [--rule R] | --coef c1,...,cN) "
    "(--out OUT | --out-adapter DIR)\n"
    "                             [--shard-size SIZE] [--dtype bf16|f16|f32] [--tokenizer-from "
    "NAME]\n"
    "                             [--gguf-type f32|f16|bf16|q8_0]\n"
    "  writes the merged checkpoint (OUT: a file, .gguf for llama.cpp, or a model folder as\n"
    "  `merge` writes it, with\n"
    "  a model card holding the predicted and measured metrics) and OUT.json: coefficients,\n"
    "  method, preference, predicted metrics (with std and 90% intervals) and measured ones,\n"
    "  whether the front was provisional, source checkpoint fingerprints.\n"
    "  --out-adapter DIR: a project whose tasks are all LoRA adapters, merged by task\n"
    "  arithmetic, as one exact PEFT adapter folder (merge --out-adapter)\n";

namespace {

std::string onlyProject(const Arguments &args)
{
    if (args.positionals().size() != 1)
        throw UsageError("give exactly one PROJECT.json");
    return args.positionals().front();
}

project::SessionOptions sessionOptions(const Arguments &args)
{
    project::SessionOptions options;
    options.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    options.workers = std::max(1, static_cast<int>(args.unsignedNumber("workers", 1)));
    options.cancel = interruptToken(); // Ctrl-C reaches the evaluations in flight
    return options;
}

/// Progress on stderr and Ctrl-C as a stop request.
eval::JobRunner::ProgressCallback progressPrinter()
{
    catchInterrupts();
    return [last = std::string()](const eval::JobProgress &p) mutable {
        char line[256];
        std::snprintf(line, sizeof line, "evaluated %d/%d (%d failed), %.2f/s, ETA %.0f s", p.done,
                      p.total, p.failed, p.rate, p.etaSeconds);
        std::string text = line;
        if (!p.jobs.empty()) // a cluster run: reported after every look at the queue
            text += ", Slurm: " + std::to_string(p.queued) + " queued, " +
                    std::to_string(p.running) + " running";
        // Said when the counts change (not the rate alone).
        const std::string counts = std::to_string(p.done) + "/" + std::to_string(p.failed) + "/" +
                                   std::to_string(p.queued) + "/" + std::to_string(p.running);
        if (counts != last)
            std::fprintf(stderr, "%s\n", text.c_str());
        last = counts;
        return !interrupted();
    };
}

/// "a/embeddings, a/blocks:first, ...": the order --coef takes with coefficient groups.
std::string coefficientOrder(const project::Project &p)
{
    std::string order;
    for (const std::string &name : p.problem().coefficients)
        order += (order.empty() ? "" : ", ") + name;
    return order;
}

/// The group columns of a block-wise project (empty without groups).
nlohmann::ordered_json groupColumnsJson(const project::Project &p)
{
    return p.merge.groups.empty() ? nlohmann::ordered_json::array()
                                  : nlohmann::ordered_json(p.columns());
}

/// One row per merge: its `c:` columns (CLI.md), then one metric column per task (empty cell
/// where failed), as `grid --csv` and `evaluate --points` write them.
project::Table evaluationTable(const project::Project &p,
                               const std::vector<std::vector<double>> &queue,
                               const std::vector<eval::Evaluation> &results)
{
    project::Table table;
    const std::vector<std::string> coefficients = p.problem().coefficients;
    for (const std::string &name : coefficients)
        table.header.push_back("c:" + name);
    for (const auto &task : p.tasks)
        table.header.push_back(task.name);
    const std::size_t d = coefficients.size();
    table.values.resize(static_cast<Eigen::Index>(results.size()),
                        static_cast<Eigen::Index>(table.header.size()));
    for (std::size_t r = 0; r < results.size(); ++r) {
        const auto row = static_cast<Eigen::Index>(r);
        for (std::size_t k = 0; k < d; ++k)
            table.values(row, static_cast<Eigen::Index>(k)) = queue[r][k];
        for (std::size_t t = 0; t < p.tasks.size(); ++t) {
            const auto metric = results[r].metrics.find(p.tasks[t].name);
            table.values(row, static_cast<Eigen::Index>(d + t)) =
                results[r].failed || metric == results[r].metrics.end() ? std::nan("")
                                                                        : metric->second;
        }
    }
    return table;
}

std::vector<double> coefficientsFrom(const Arguments &args, const project::Project &p)
{
    const std::vector<double> c = parseNumberList(args.required("coef"), "coef");
    if (c.size() != p.dimension()) {
        const std::size_t columns = p.columns().size();
        throw UsageError("--coef has " + std::to_string(c.size()) + " values for " +
                         std::to_string(p.tasks.size()) + " tasks" +
                         (columns == 1 ? std::string()
                                       : " x " + std::to_string(columns) + " group columns (give " +
                                             std::to_string(p.dimension()) +
                                             ", task by task: " + coefficientOrder(p) + ")"));
    }
    return c;
}

struct Choice {
    std::vector<double> coefficients;
    project::PointPrediction predicted;
    nlohmann::ordered_json preference;
    map::Trust trust;
};

/// "provisional", its reasons and the evaluations that would fix it, for JSON outputs.
void addTrust(nlohmann::ordered_json &out, const map::Trust &trust)
{
    out["provisional"] = trust.provisional;
    if (trust.provisional) {
        out["provisional_reasons"] = trust.reasons;
        out["more_evaluations"] = trust.moreEvaluations;
    }
}

Choice choose(const Arguments &args, const project::Project &p)
{
    const project::FrontResult fitted = project::fitFront(p);
    map::Preference preference;
    const std::vector<double> weights = parseNumberList(args.required("weights"), "weights");
    if (weights.size() != p.tasks.size())
        throw UsageError("--weights has " + std::to_string(weights.size()) + " values for " +
                         std::to_string(p.tasks.size()) + " tasks");
    preference.weights = Eigen::Map<const Eigen::VectorXd>(
        weights.data(), static_cast<Eigen::Index>(weights.size()));
    preference.rule = map::parseRule(args.value("rule").value_or("chebyshev"));
    if (const auto reference = args.value("reference")) {
        const std::vector<double> r = parseNumberList(*reference, "reference");
        preference.reference =
            Eigen::Map<const Eigen::VectorXd>(r.data(), static_cast<Eigen::Index>(r.size()));
    }
    // Optimized on the surrogates, from the front point the rule picks.
    const map::SurrogateSelection selected =
        map::selectOnSurrogates(p.problem(), fitted.surrogates, fitted.front, preference);
    Choice choice;
    choice.coefficients.assign(selected.coefficients.begin(), selected.coefficients.end());
    choice.predicted = {selected.metrics, selected.stddev, selected.lower, selected.upper, {}};
    for (const map::Surrogate &s : fitted.surrogates)
        choice.predicted.surrogates.push_back(s.diagnostics());
    choice.preference = {{"weights", weights}, {"rule", map::ruleName(preference.rule)}};
    if (!selected.selection.note.empty())
        choice.preference["note"] = selected.selection.note;
    choice.trust = fitted.trust;
    return choice;
}

} // namespace

int exploreCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"budget", "mode", "acquisition", "threads", "workers"}, {"json"});
    project::Project p = project::Project::load(onlyProject(args));
    if (const auto budget = args.value("budget"))
        p.map.budget = static_cast<int>(args.unsignedNumber("budget", 0));
    if (const auto mode = args.value("mode")) {
        if (*mode != "plain" && *mode != "bayesian" && *mode != "nested")
            throw UsageError("--mode expects plain, bayesian or nested");
        p.map.mode = *mode;
    }
    if (const auto acquisition = args.value("acquisition")) {
        if (*acquisition != "ehvi" && *acquisition != "uncertainty")
            throw UsageError("--acquisition expects ehvi or uncertainty");
        p.map.acquisition = *acquisition;
    }
    std::fprintf(stderr, "explore: %s\n", project::budgetSummary(p).c_str());
    project::Session session(p, sessionOptions(args));
    map::MapResult result;
    try {
        result = session.explore(progressPrinter());
    } catch (const Cancelled &) {
        p.save();
        std::fprintf(stderr, "mergefront-cli explore: stopped; %zu evaluations are saved in %s\n",
                     p.evaluations.size(), p.path.c_str());
        return 130;
    }
    p.save();
    nlohmann::ordered_json surrogates = nlohmann::ordered_json::array();
    for (const auto &s : result.surrogates)
        surrogates.push_back(surrogateJson(s));
    nlohmann::ordered_json out = {{"evaluations", result.samples.count()},
                                  {"rounds", result.rounds},
                                  {"stop", result.stopReason},
                                  {"surrogates", surrogates},
                                  {"front_points", result.front.size()}};
    const map::Trust trust = map::assessTrust(p.problem(), result.surrogates, result.samples);
    addTrust(out, trust);
    if (args.flag("json"))
        std::cout << out.dump(2) << "\n";
    else
        std::fprintf(stderr, "explore: %d evaluations, %d rounds (%s), front of %d points%s%s\n",
                     result.samples.count(), result.rounds, result.stopReason.c_str(),
                     result.front.size(), trust.provisional ? "; " : "", trust.summary().c_str());
    return 0;
}

int gridCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"levels", "csv", "threads", "workers"}, {});
    project::Project p = project::Project::load(onlyProject(args));
    const int levels = static_cast<int>(args.unsignedNumber("levels", 0));
    if (levels < 2)
        throw UsageError("--levels must be at least 2");
    const Eigen::MatrixXd grid = map::gridDesign(p.problem(), levels);
    std::fprintf(stderr, "grid: %lld merges x %zu tasks\n", static_cast<long long>(grid.rows()),
                 p.tasks.size());
    std::vector<std::vector<double>> queue;
    for (Eigen::Index r = 0; r < grid.rows(); ++r)
        queue.emplace_back(grid.row(r).begin(), grid.row(r).end());
    project::Session session(p, sessionOptions(args));
    std::vector<eval::Evaluation> results;
    try {
        results = session.evaluate(queue, "grid", progressPrinter());
    } catch (const Cancelled &) {
        std::fprintf(stderr, "mergefront-cli grid: stopped; evaluations so far are saved in %s\n",
                     p.path.c_str());
        return 130;
    }
    if (const auto csv = args.value("csv")) {
        project::writeTable(*csv, evaluationTable(p, queue, results));
    }
    return 0;
}

int statusCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {}, {"json"});
    const project::Project p = project::Project::load(onlyProject(args));
    int samples = 0, failed = 0, grid = 0;
    for (const auto &e : p.evaluations) {
        samples += e.kind == "sample";
        grid += e.kind == "grid";
        failed += e.result.failed;
    }
    nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
    std::string device;
    for (const auto &t : p.tasks)
        tasks.push_back(t.name);
    const project::EvaluatorBackend &backend = project::projectBackend(p);
    device = backend.device(p);
    nlohmann::ordered_json surrogates = nlohmann::ordered_json::array();
    std::string note;
    map::Trust trust;
    // Samples recorded under other settings (merge, evaluator, checkpoints) stay out of fits.
    const std::string key = project::currentCacheKeyOrEmpty(p);
    const map::Samples current = p.samples("sample", key);
    int stale = 0;
    for (const auto &e : p.evaluations)
        stale += e.kind == "sample" && !key.empty() && !e.cacheKey.empty() && e.cacheKey != key;
    try {
        const auto fitted = map::fitSurrogates(p.problem(), current);
        for (const auto &s : fitted)
            surrogates.push_back(surrogateJson(s));
        trust = map::assessTrust(p.problem(), fitted, current);
    } catch (const Error &e) {
        note = e.what(); // too few samples so far: said, not an error
        trust = map::assessTrust(p.problem(), {}, current);
        trust.reasons.push_back(note);
    }
    if (p.runner.slurm())
        device = "slurm";
    nlohmann::ordered_json out = {
        {"tasks", tasks},           {"evaluations", samples},    {"failed", failed},
        {"grid_evaluations", grid}, {"other_settings", stale},   {"surrogates", surrogates},
        {"device", device},         {"evaluator", backend.kind}, {"note", note}};
    if (backend.describe)
        out["model"] = backend.describe(p);
    addTrust(out, trust);
    if (p.runner.slurm()) {
        // The jobs in flight as Slurm sees them now ("unknown" when it cannot be asked).
        std::vector<std::string> ids;
        for (const auto &job : p.jobs)
            ids.push_back(job.id);
        std::map<std::string, eval::SlurmJobState> states;
        std::string slurmNote;
        try {
            states = eval::SlurmClient().states(ids);
        } catch (const Error &e) {
            slurmNote = e.what();
        }
        nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
        for (const auto &job : p.jobs) {
            const auto it = states.find(job.id);
            jobs.push_back({{"id", job.id},
                            {"state", it == states.end() ? "unknown" : it->second.state},
                            {"coefficients", job.coefficients},
                            {"attempt", job.attempt},
                            {"submitted_at", job.submittedAt}});
        }
        out["jobs"] = std::move(jobs);
        if (!slurmNote.empty())
            out["slurm"] = slurmNote;
    }
    if (args.flag("json")) {
        std::cout << out.dump(2) << "\n";
    } else {
        std::printf("%s: %zu tasks, %d evaluations (%d failed), %d grid evaluations\n",
                    p.path.c_str(), p.tasks.size(), samples, failed, grid);
        if (stale > 0)
            std::printf("  %d evaluations were made under other settings (merge, evaluator or "
                        "checkpoints): kept, left out of the fits\n",
                        stale);
        std::printf("  evaluator %s on %s%s\n", backend.kind.c_str(), device.c_str(),
                    out.contains("model") ? (": " + out["model"].get<std::string>()).c_str() : "");
        for (const auto &s : surrogates) {
            const int count = s["loo_count"].get<int>();
            const std::string coverage =
                count > 0 ? ", LOO: " + std::to_string(s["loo_inside"].get<int>()) + " of " +
                                std::to_string(count) + " inside its 90% interval"
                          : "";
            std::printf("  %s: %s, R2 %s, LOO RMSE %s%s\n", s["metric"].get<std::string>().c_str(),
                        s["model"].get<std::string>().c_str(), s["r2"].dump().c_str(),
                        s["loo_rmse"].dump().c_str(), coverage.c_str());
        }
        if (trust.provisional)
            std::printf("  front %s\n", trust.summary().c_str());
        else if (!note.empty())
            std::printf("  %s\n", note.c_str());
        if (out.contains("jobs"))
            for (const auto &job : out["jobs"])
                std::printf(
                    "  Slurm job %s: %s, coefficients %s\n", job["id"].get<std::string>().c_str(),
                    job["state"].get<std::string>().c_str(), job["coefficients"].dump().c_str());
    }
    return 0;
}

int jobCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"coef", "result", "cache-key", "threads"}, {});
    project::Project p = project::Project::load(onlyProject(args));
    const std::vector<double> c = coefficientsFrom(args, p);
    const std::string resultPath = args.required("result");
    p.runner.kind = "local"; // this is the node: evaluate here
    project::SessionOptions options;
    options.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    options.cancel = interruptToken(); // scancel's SIGTERM stops the evaluation
    const char *scratch = std::getenv("TMPDIR");
    options.workDir = scratch && *scratch ? scratch : p.runnerWorkdir() + "/scratch";
    eval::Evaluation evaluation;
    {
        project::Session session(p, options);
        if (const auto expected = args.value("cache-key");
            expected && *expected != session.cacheKey())
            throw Error(p.path + ": the merge or evaluation settings (or a checkpoint) changed "
                                 "since this job was submitted; its result would not be of that "
                                 "project");
        try {
            evaluation = session.evaluateHere(c);
        } catch (const Cancelled &) {
            std::fprintf(stderr, "mergefront-cli job: cancelled; no result written\n");
            return 130;
        }
        project::writeJobResult(resultPath, evaluation, session.cacheKey());
    } // the session's merges in scratch are removed here
    std::fprintf(stderr, "job: %s %s\n", resultPath.c_str(),
                 evaluation.failed ? ("(failed: " + evaluation.error + ")").c_str() : "written");
    return 0;
}

int frontCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {}, {"csv", "json"});
    if (args.flag("csv") == args.flag("json"))
        throw UsageError("give --csv or --json");
    const project::Project p = project::Project::load(onlyProject(args));
    const project::FrontResult fitted = project::fitFront(p);
    const map::Front &front = fitted.front;
    const auto n = static_cast<Eigen::Index>(p.tasks.size());
    const auto d = static_cast<Eigen::Index>(p.dimension());
    if (args.flag("csv")) {
        std::string line;
        for (const std::string &name : p.problem().coefficients)
            line += "c:" + name + ",";
        for (const auto &t : p.tasks)
            line += t.name + ",";
        for (const auto &t : p.tasks)
            line += "measured:" + t.name + ",";
        for (const auto &t : p.tasks)
            line += "std:" + t.name + ",";
        for (const auto &t : p.tasks)
            line += "lower:" + t.name + ",";
        for (const auto &t : p.tasks)
            line += "upper:" + t.name + ",";
        for (std::size_t t = 0; t < p.tasks.size(); ++t)
            line += "extrapolated:" + p.tasks[t].name + (t + 1 < p.tasks.size() ? "," : "\n");
        std::cout << line;
        char number[32];
        for (int i = 0; i < front.size(); ++i) {
            const std::vector<double> c(front.coefficients.row(i).begin(),
                                        front.coefficients.row(i).end());
            const auto *seen = project::measuredAt(p, c);
            line.clear();
            for (Eigen::Index k = 0; k < d + n; ++k) {
                std::snprintf(number, sizeof number, "%.17g,",
                              k < d ? front.coefficients(i, k) : front.metrics(i, k - d));
                line += number;
            }
            for (Eigen::Index t = 0; t < n; ++t) {
                if (seen) {
                    std::snprintf(
                        number, sizeof number, "%.17g",
                        seen->result.metrics.at(p.tasks[static_cast<std::size_t>(t)].name));
                    line += number;
                }
                line += ",";
            }
            // std, lower, upper: empty where not estimable (as many samples as parameters).
            for (const Eigen::MatrixXd *values : {&front.stddev, &front.lower, &front.upper})
                for (Eigen::Index t = 0; t < n; ++t) {
                    if (std::isfinite((*values)(i, t))) {
                        std::snprintf(number, sizeof number, "%.17g", (*values)(i, t));
                        line += number;
                    }
                    line += ",";
                }
            // 1 where the prediction is beyond every measured value of the task.
            for (Eigen::Index t = 0; t < n; ++t)
                line += front.extrapolated(i, t) ? "1," : "0,";
            line.back() = '\n';
            std::cout << line;
        }
        return 0;
    }
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (int i = 0; i < front.size(); ++i) {
        const std::vector<double> c(front.coefficients.row(i).begin(),
                                    front.coefficients.row(i).end());
        nlohmann::ordered_json point = {
            {"coefficients", coefficientsJson(c, p.columns().size())},
            {"predicted", project::metricsJson(p, front.metrics.row(i).transpose())},
            {"std", project::metricsJson(p, front.stddev.row(i).transpose())},
            {"interval", project::intervalsJson(p, front.lower.row(i).transpose(),
                                                front.upper.row(i).transpose())}};
        // An end of the front predicted beyond everything measured: the tasks where it is.
        nlohmann::ordered_json beyond = nlohmann::ordered_json::array();
        for (Eigen::Index t = 0; t < n; ++t)
            if (front.extrapolated(i, t))
                beyond.push_back(p.tasks[static_cast<std::size_t>(t)].name);
        point["extrapolated"] = !beyond.empty();
        point["extrapolated_tasks"] = std::move(beyond);
        if (const auto *seen = project::measuredAt(p, c))
            point["measured"] = seen->result.metrics;
        points.push_back(std::move(point));
    }
    nlohmann::ordered_json surrogates = nlohmann::ordered_json::array();
    for (const auto &s : fitted.surrogates)
        surrogates.push_back(surrogateJson(s));
    nlohmann::ordered_json out = {{"front", points},
                                  {"columns", groupColumnsJson(p)},
                                  {"spacing", front.spacing},
                                  {"interval_level", front.level},
                                  {"surrogates", surrogates}};
    addTrust(out, fitted.trust);
    std::cout << out.dump(2) << "\n";
    return 0;
}

int selectCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"weights", "rule", "reference"}, {"json"});
    const project::Project p = project::Project::load(onlyProject(args));
    const Choice choice = choose(args, p);
    nlohmann::ordered_json out = {
        {"coefficients", coefficientsJson(choice.coefficients, p.columns().size())},
        {"columns", groupColumnsJson(p)},
        {"predicted", project::metricsJson(p, choice.predicted.mean)},
        {"std", project::metricsJson(p, choice.predicted.std)},
        {"interval", project::intervalsJson(p, choice.predicted.lower, choice.predicted.upper)},
        {"preference", choice.preference}};
    addTrust(out, choice.trust);
    std::cout << (args.flag("json") ? out.dump(2) : out.dump()) << "\n";
    return 0;
}

int evaluateCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"coef", "points", "csv", "threads", "workers"}, {"json"});
    project::Project p = project::Project::load(onlyProject(args));
    if (args.value("coef").has_value() == args.value("points").has_value())
        throw UsageError("give --coef c1,...,cN or --points FILE.csv, not both");
    std::vector<std::vector<double>> queue;
    if (args.value("coef")) {
        queue.push_back(coefficientsFrom(args, p));
    } else {
        // Every row's c:<task> columns (e.g. a `front --csv` file): measure those merges.
        const std::string path = *args.value("points");
        const project::Table table = project::readTable(path);
        std::vector<int> columns;
        for (const std::string &name : p.problem().coefficients) {
            columns.push_back(table.column("c:" + name));
            if (columns.back() < 0)
                throw Error(path + " has no column 'c:" + name + "'");
        }
        for (Eigen::Index r = 0; r < table.values.rows(); ++r) {
            std::vector<double> c;
            for (int column : columns)
                c.push_back(table.values(r, column));
            queue.push_back(c);
        }
        if (queue.empty())
            throw Error(path + " has no rows");
    }
    project::Session session(p, sessionOptions(args));
    std::vector<bool> cached;
    for (const auto &c : queue)
        cached.push_back(p.cached(c, session.cacheKey()) != nullptr);
    std::vector<eval::Evaluation> results;
    try {
        results = session.evaluate(queue, "point", progressPrinter());
    } catch (const Cancelled &) {
        std::fprintf(stderr,
                     "mergefront-cli evaluate: stopped; finished evaluations are saved "
                     "in %s\n",
                     p.path.c_str());
        return 130;
    }
    if (args.value("coef")) {
        const eval::Evaluation &result = results.front();
        if (result.failed)
            throw Error("the evaluation failed: " + result.error);
        const nlohmann::ordered_json out = {
            {"coefficients", coefficientsJson(result.coefficients, p.columns().size())},
            {"metrics", result.metrics},
            {"seconds", result.seconds},
            {"device", result.device},
            {"cached", cached.front()}};
        std::cout << (args.flag("json") ? out.dump(2) : out.dump()) << "\n";
        return 0;
    }
    const project::Table table = evaluationTable(p, queue, results);
    int failed = 0;
    for (const eval::Evaluation &result : results)
        failed += result.failed;
    if (const auto csv = args.value("csv")) {
        project::writeTable(*csv, table);
    } else {
        std::cout << project::formatTable(table);
    }
    if (failed > 0)
        std::fprintf(stderr,
                     "evaluate: %d of %zu evaluations failed (empty cells); the reasons "
                     "are in the project\n",
                     failed, results.size());
    return failed > 0 ? 1 : 0;
}

int exportCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens,
                         {"weights", "rule", "reference", "coef", "out", "shard-size", "threads",
                          "dtype", "tokenizer-from", "gguf-type", "out-adapter"},
                         {});
    project::Project p = project::Project::load(onlyProject(args));
    if (args.value("weights").has_value() == args.value("coef").has_value())
        throw UsageError("give --weights (a preference) or --coef (coefficients), not both");
    Choice choice;
    if (args.value("weights")) {
        choice = choose(args, p);
    } else {
        choice.coefficients = coefficientsFrom(args, p);
        const project::FrontResult fitted = project::fitFront(p);
        choice.predicted = project::predictAt(fitted, choice.coefficients);
        choice.trust = fitted.trust;
        choice.preference = nullptr;
    }
    project::ExportRequest request;
    request.coefficients = choice.coefficients;
    request.predicted = choice.predicted.mean;
    request.stddev = choice.predicted.std;
    request.lower = choice.predicted.lower;
    request.upper = choice.predicted.upper;
    request.surrogates = choice.predicted.surrogates;
    request.provisional = choice.trust.summary();
    request.preference = choice.preference;
    std::tie(request.out, request.adapterOutput) = outputOrAdapter(args);
    if (const auto shard = args.value("shard-size"))
        request.shardSize = parseByteSize(*shard);
    request.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    if (const auto dtype = args.value("dtype"))
        request.dtype = parseOutputDType(*dtype);
    request.tokenizerFrom = args.value("tokenizer-from").value_or("");
    if (const auto type = args.value("gguf-type")) {
        try {
            request.ggufType = parseGgufWeightType(*type);
        } catch (const Error &e) {
            throw UsageError(std::string("--gguf-type: ") + e.what());
        }
    }
    request.origin = "mergefront-cli export";
    for (const std::string &token : tokens)
        request.origin += " " + shellWord(token);
    const project::ExportResult result = project::exportMerge(
        p, request, [](const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    std::fprintf(stderr, "exported %s and %s\n", result.outputs.back().c_str(),
                 result.sidecar.c_str());
    return 0;
}

} // namespace mf::cli
