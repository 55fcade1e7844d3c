// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Exporting a chosen merge of a project (CLI.md `export`; the GUI's "Export merged model"):
// the merged checkpoint, its FILE.json sidecar, and the point recorded under `chosen`.
#include "io/gguf.h"
#include "map/surrogate.h"
#include "merge/merger.h"
#include "project/project.h"

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mf::project {

/// A successful evaluation of exactly these coefficients, if the project holds one.
const EvaluationEntry *measuredAt(const Project &project, const std::vector<double> &coefficients);

/// {"<task>": value, ...} in task order (null for NaN).
nlohmann::ordered_json metricsJson(const Project &project, const Eigen::VectorXd &values);
/// {"<task>": [lower, upper], ...} in task order (null where not estimable).
nlohmann::ordered_json intervalsJson(const Project &project, const Eigen::VectorXd &lower,
                                     const Eigen::VectorXd &upper);
/// "0.952 ± 0.004 (90%: 0.945 to 0.958)", or "0.952 (uncertainty unknown)".
std::string predictionText(double mean, double std, double lower, double upper, double level = 0.9);

struct ExportRequest {
    std::vector<double> coefficients;
    Eigen::VectorXd predicted;            ///< the surrogates' metrics there
    Eigen::VectorXd stddev, lower, upper; ///< their std and 90% intervals (may be empty)
    /// How the intervals were made, task by task (the sidecar's `interval_method`; may be empty).
    std::vector<map::SurrogateDiagnostics> surrogates;
    std::string provisional; ///< why the front was provisional when chosen ("" when it was not)
    nlohmann::ordered_json preference = nullptr; ///< how it was chosen (null: by hand)
    std::string out;                             ///< any format `merge` writes, a folder too
    std::uint64_t shardSize = 0;
    int threads = 0;
    std::optional<DType> dtype;           ///< floating tensors in this dtype (default: the base's)
    std::optional<mf::GgmlType> ggufType; ///< a .gguf output: its weight type (default: the base's)
    std::string tokenizerFrom;            ///< a folder output: the task whose tokenizer is copied
    bool adapterOutput = false; ///< `out` is one PEFT LoRA adapter folder (merge --out-adapter)
    std::string origin;         ///< how the export was asked for (the model card says it)
};

struct ExportResult {
    std::vector<std::string> outputs; ///< checkpoint files (entry point last)
    std::string sidecar;              ///< OUT.json
};

/// Merges the project's checkpoints with the request's coefficients into `out` (atomically;
/// refuses to overwrite an input; a model folder gets a model card with the predicted and
/// measured metrics), writes OUT.json (coefficients, method and parameters,
/// preference, predicted and measured metrics, source fingerprints, outputs), records the
/// point under `chosen` and saves the project. `log` gets the merge's report lines.
/// `progress` hears how far the merge is (bytes written of the total); returning false stops
/// it (mf::Cancelled; nothing is left behind).
ExportResult exportMerge(Project &project, const ExportRequest &request,
                         const std::function<void(const std::string &)> &log = {},
                         const ProgressCallback &progress = {});

} // namespace mf::project
