// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export.h"

#include "io/checkpoint.h"
#include "merge/merge_job.h"
#include "util/atomic_file.h"

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
                         const std::function<void(const std::string &)> &log)
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
    const MergeReport report = runMerge(
        merge, log ? log : [](const std::string &) {});

    nlohmann::ordered_json fingerprints = nlohmann::ordered_json::object();
    fingerprints["base"] = Checkpoint::open(merge.basePath).fingerprint();
    for (std::size_t t = 0; t < project.tasks.size(); ++t)
        fingerprints[project.tasks[t].name] = Checkpoint::open(merge.modelPaths[t]).fingerprint();
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
    if (const EvaluationEntry *seen = measuredAt(project, request.coefficients))
        sidecar["measured"] = seen->result.metrics;
    ExportResult result;
    result.outputs = report.outputs;
    result.sidecar = request.out + ".json";
    writeFileAtomically(result.sidecar, sidecar.dump(2) + "\n");
    project.chosen.push_back({{"coefficients", request.coefficients},
                              {"preference", request.preference},
                              {"exported", project.relativize(request.out)},
                              {"when", utcNow()}});
    project.save();
    return result;
}

} // namespace mf::project
