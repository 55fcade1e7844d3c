// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export.h"

#include "io/checkpoint.h"
#include "merge/merge_job.h"
#include "merge/recipe.h"
#include "util/atomic_file.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace mf::project {

namespace fs = std::filesystem;

const EvaluationEntry *measuredAt(const Project &project, const std::vector<double> &coefficients)
{
    for (const EvaluationEntry &entry : project.evaluations)
        if (!entry.result.failed && entry.result.coefficients == coefficients)
            return &entry;
    return nullptr;
}

nlohmann::ordered_json metricsJson(const Project &project, const Eigen::VectorXd &values)
{
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (std::size_t t = 0; t < project.tasks.size(); ++t) {
        const double v = static_cast<Eigen::Index>(t) < values.size()
                             ? values[static_cast<Eigen::Index>(t)]
                             : NAN;
        out[project.tasks[t].name] =
            std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    }
    return out;
}

nlohmann::ordered_json intervalsJson(const Project &project, const Eigen::VectorXd &lower,
                                     const Eigen::VectorXd &upper)
{
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (std::size_t t = 0; t < project.tasks.size(); ++t) {
        const auto k = static_cast<Eigen::Index>(t);
        if (k < lower.size() && k < upper.size() && std::isfinite(lower[k]) &&
            std::isfinite(upper[k]))
            out[project.tasks[t].name] = {lower[k], upper[k]};
        else
            out[project.tasks[t].name] = nullptr;
    }
    return out;
}

std::string predictionText(double mean, double std, double lower, double upper, double level)
{
    char text[160];
    if (!std::isfinite(std) || !std::isfinite(lower) || !std::isfinite(upper))
        std::snprintf(text, sizeof text, "%.4g (uncertainty unknown)", mean);
    else
        std::snprintf(text, sizeof text, "%.4g ± %.2g (%.0f%%: %.4g to %.4g)", mean, std,
                      100 * level, lower, upper);
    return text;
}

ExportResult exportMerge(Project &project, const ExportRequest &request,
                         const std::function<void(const std::string &)> &log,
                         const ProgressCallback &progress)
{
    MergeRequest merge;
    merge.basePath = project.resolve(project.base);
    for (const TaskEntry &task : project.tasks) {
        merge.modelPaths.push_back(project.resolve(task.checkpoint));
        merge.taskNames.push_back(task.name);
    }
    merge.coefficients = request.coefficients;
    merge.options = project.merge;
    merge.outPath = request.out;
    merge.shardSize = request.shardSize;
    merge.threads = request.threads;
    merge.dtype = request.dtype;
    merge.ggufType = request.ggufType;
    merge.tokenizerFrom = request.tokenizerFrom;
    merge.adapterOutput = request.adapterOutput;
    merge.origin = request.origin.empty() ? "Mergefront, project " + project.path
                                          : request.origin + "\n(project " + project.path + ")";
    const EvaluationEntry *measured = measuredAt(project, request.coefficients);
    {
        std::ostringstream card;
        card << "## Metrics\n\nPredicted by the project's surrogates (± one standard deviation, "
                "model error included, and the 90% interval)";
        if (measured)
            card << " and measured by its evaluators";
        card << " (" << project.evaluations.size() << " evaluations in the project)";
        if (!request.preference.is_null())
            card << "; chosen by the preference `" << request.preference.dump() << "`";
        card
            << ".\n\n| task | metric | direction | predicted | measured |\n|---|---|---|---|---|\n";
        for (std::size_t t = 0; t < project.tasks.size(); ++t) {
            const TaskEntry &task = project.tasks[t];
            card << "| " << task.name << " | " << task.metric << " | "
                 << (task.direction == map::Direction::Maximize ? "maximize" : "minimize") << " | ";
            const auto k = static_cast<Eigen::Index>(t);
            if (k < request.predicted.size())
                card << (k < request.stddev.size()
                             ? predictionText(request.predicted[k], request.stddev[k],
                                              request.lower[k], request.upper[k])
                             : nlohmann::json(request.predicted[k]).dump());
            card << " | ";
            if (measured && measured->result.metrics.count(task.name)) {
                char value[40]; // rounded as the predictions are (%.4g), not 17 digits
                std::snprintf(value, sizeof value, "%.4g", measured->result.metrics.at(task.name));
                card << value;
            } else
                card << "not measured";
            card << " |\n";
        }
        if (!request.provisional.empty())
            card << "\nThe predicted front was **provisional** when this merge was chosen: "
                 << request.provisional << ".\n";
        merge.cardExtra = card.str();
    }
    const MergeReport report = runMerge(
        merge, log ? log : [](const std::string &) {},
        [&progress](const Progress &p) { return !progress || progress(p); });

    // Which way each metric is read: a perplexity's lower value is the better one.
    nlohmann::ordered_json objectives = nlohmann::ordered_json::object();
    for (const TaskEntry &task : project.tasks)
        objectives[task.name] = {
            {"metric", task.metric},
            {"direction", task.direction == map::Direction::Maximize ? "maximize" : "minimize"}};
    // The sidecar is the merge's recipe (merge --recipe replays it), then what the project knew.
    nlohmann::ordered_json sidecar = recipeJson(merge, report);
    sidecar["project"] = fs::absolute(project.path).lexically_normal().string();
    sidecar["objectives"] = objectives;
    sidecar["preference"] = request.preference;
    sidecar["predicted"] = metricsJson(project, request.predicted);
    sidecar["std"] = metricsJson(project, request.stddev);
    sidecar["interval"] = intervalsJson(project, request.lower, request.upper);
    sidecar["interval_level"] = 0.9;
    nlohmann::ordered_json methods = nullptr;
    for (std::size_t t = 0; t < request.surrogates.size() && t < project.tasks.size(); ++t) {
        const map::SurrogateDiagnostics &d = request.surrogates[t];
        methods[project.tasks[t].name] = {{"model", map::modelName(d)},
                                          {"interval", d.interval},
                                          {"loo_inside", d.looInside},
                                          {"loo_count", d.looCount}};
    }
    sidecar["interval_method"] = std::move(methods);
    sidecar["provisional"] = !request.provisional.empty();
    sidecar["measured"] = nullptr;
    // How "measured" was measured: each task's evaluator (kind, data, format, metric, ...).
    nlohmann::ordered_json evaluators = nlohmann::ordered_json::object();
    for (const TaskEntry &task : project.tasks) {
        // A task the project-level command serves: that command, marked as shared.
        const bool shared = project.sharedEvaluator(task);
        nlohmann::ordered_json evaluator = shared ? project.evaluator : task.evaluator;
        if (shared)
            evaluator["shared"] = true;
        evaluator["metric"] = task.evaluator.value("metric", task.metric);
        evaluators[task.name] = std::move(evaluator);
    }
    sidecar["evaluators"] = std::move(evaluators);
    sidecar["outputs"] = report.outputs;
    if (measured)
        sidecar["measured"] = measured->result.metrics;
    if (!request.provisional.empty())
        sidecar["provisional_reason"] = request.provisional;
    ExportResult result;
    result.outputs = report.outputs;
    std::string out = request.out;
    while (out.size() > 1 && out.back() == '/')
        out.pop_back(); // a folder's sidecar lies beside it: merged/ -> merged.json
    result.sidecar = out + ".json";
    writeFileAtomically(result.sidecar, sidecar.dump(2) + "\n");
    project.chosen.push_back({{"coefficients", request.coefficients},
                              {"preference", request.preference},
                              {"exported", project.relativize(request.out)},
                              {"when", utcNow()}});
    project.save();
    return result;
}

} // namespace mf::project
