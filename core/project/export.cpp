// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export.h"

#include "io/checkpoint.h"
#include "merge/merge_job.h"
#include "util/atomic_file.h"

#include <sstream>

namespace mf::project {

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
    for (std::size_t t = 0; t < project.tasks.size(); ++t)
        out[project.tasks[t].name] = values[static_cast<Eigen::Index>(t)];
    return out;
}

ExportResult exportMerge(Project &project, const ExportRequest &request,
                         const std::function<void(const std::string &)> &log,
                         const std::function<bool()> &keepGoing)
{
    MergeRequest merge;
    merge.basePath = project.resolve(project.base);
    std::vector<std::string> names;
    for (const TaskEntry &task : project.tasks) {
        merge.modelPaths.push_back(project.resolve(task.checkpoint));
        merge.taskNames.push_back(task.name);
        names.push_back(task.name);
    }
    merge.coefficients = request.coefficients;
    merge.options = project.merge;
    merge.outPath = request.out;
    merge.shardSize = request.shardSize;
    merge.threads = request.threads;
    merge.dtype = request.dtype;
    merge.tokenizerFrom = request.tokenizerFrom;
    merge.origin = request.origin.empty() ? "Mergefront, project " + project.path
                                          : request.origin + "\n(project " + project.path + ")";
    const EvaluationEntry *measured = measuredAt(project, request.coefficients);
    {
        std::ostringstream card;
        card << "## Metrics\n\nPredicted by the project's surrogates";
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
            if (static_cast<Eigen::Index>(t) < request.predicted.size())
                card << nlohmann::json(request.predicted[static_cast<Eigen::Index>(t)]).dump();
            card << " | ";
            if (measured && measured->result.metrics.count(task.name))
                card << nlohmann::json(measured->result.metrics.at(task.name)).dump();
            else
                card << "not measured";
            card << " |\n";
        }
        merge.cardExtra = card.str();
    }
    const MergeReport report = runMerge(
        merge, log ? log : [](const std::string &) {},
        [&keepGoing](const Progress &) { return !keepGoing || keepGoing(); });

    nlohmann::ordered_json fingerprints = nlohmann::ordered_json::object();
    fingerprints["base"] = report.fingerprints.front(); // as the merge read them
    for (std::size_t t = 0; t < project.tasks.size(); ++t)
        fingerprints[project.tasks[t].name] = report.fingerprints[t + 1];
    nlohmann::ordered_json sidecar = {{"coefficients", request.coefficients},
                                      {"tasks", names},
                                      {"method", methodName(project.merge.method)},
                                      {"density", project.merge.density},
                                      {"drop_rate", project.merge.dropRate},
                                      {"seed", project.merge.seed},
                                      {"preference", request.preference},
                                      {"predicted", metricsJson(project, request.predicted)},
                                      {"measured", nullptr},
                                      {"fingerprints", fingerprints},
                                      {"outputs", report.outputs}};
    if (measured)
        sidecar["measured"] = measured->result.metrics;
    if (request.dtype)
        sidecar["dtype"] = dtypeName(*request.dtype);
    if (!request.tokenizerFrom.empty())
        sidecar["tokenizer_from"] = request.tokenizerFrom;
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
