// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "map/problem.h"
#include "merge/merge_plan.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mf::project {

/// One task of a project (docs/PROJECT.md).
struct TaskEntry {
    std::string name;
    std::string checkpoint;          ///< as written in the file: relative to the project file
    std::string metric = "accuracy"; ///< the evaluator's metric name
    map::Direction direction = map::Direction::Maximize;
    map::Link link = map::Link::Auto;
    double lower = 0, upper = 1;                         ///< the task's coefficient box
    nlohmann::json evaluator = nlohmann::json::object(); ///< {"kind": "command"|"torchscript", ...}
    nlohmann::json raw = nlohmann::json::object();       ///< as read, unknown keys included
};

/// One evaluation of a merge, as recorded (docs/PROJECT.md).
struct EvaluationEntry {
    eval::Evaluation result;
    std::string when;     ///< UTC, ISO 8601
    std::string kind;     ///< "sample" (MAP), "grid" (ground truth), "point" (evaluate/export)
    std::string cacheKey; ///< the merge settings and checkpoints it was computed with
    nlohmann::json raw = nlohmann::json::object();
};

struct MapSettings {
    std::string mode = "bayesian"; ///< "plain", "bayesian", "nested"
    int budget = 0;                ///< evaluations in all; 0: 3P
    std::uint64_t seed = 1;
};

/// A versioned JSON project: what to merge, how to evaluate, every evaluation so far, the
/// user's chosen points. Unknown keys (a newer Mergefront's) are kept through load and save.
/// save() is atomic; callers save after every evaluation so a crash loses at most the one
/// in flight.
class Project {
public:
    static constexpr int kVersion = 1;

    /// Reads and checks a project; throws mf::Error naming the file and the key at fault.
    static Project load(const std::string &path);

    std::string path;       ///< the project file
    int version = kVersion; ///< as read (a newer one is kept as is)
    std::string base;       ///< relative to the project file
    std::vector<TaskEntry> tasks;
    MergeOptions merge;
    MapSettings map;
    std::string device = "auto"; ///< in-process evaluation: "auto", "cpu", "cuda", "cuda:N"
    std::vector<EvaluationEntry> evaluations;
    nlohmann::json chosen = nlohmann::json::array(); ///< the user's chosen points, as given
    /// The GUI's last preference ({"weights", "rule", "floors"}), null when never saved.
    nlohmann::json preference = nullptr;

    /// Writes the project (atomically) to `path`.
    void save() const;
    /// Writes a new project to `path`: refused when a file is there (its evaluations would be
    /// lost); the file is then read back with the checks of load() and removed if they fail.
    /// The one way a project file comes into being (File > New, the example zoo).
    void saveNew() const;

    /// A path from the file, resolved against the project file's folder.
    std::string resolve(const std::string &relative) const;
    /// `absolute` made relative to the project file's folder (for writing into the file).
    std::string relativize(const std::string &absolute) const;
    /// Moves the project to `newPath` (nothing is written): the paths it holds relative to the
    /// old folder (base, checkpoints, a TorchScript evaluator's module and data) are rewritten
    /// relative to the new one, so they name the same files; absolute paths stay as they are.
    void moveTo(const std::string &newPath);

    map::Problem problem() const;
    /// Evaluations of `kind` as samples: failed ones as rows of NaN (fits skip them).
    map::Samples samples(const std::string &kind = "sample") const;
    /// A successful evaluation of exactly these coefficients with this cache key, if any.
    const EvaluationEntry *cached(const std::vector<double> &coefficients,
                                  const std::string &cacheKey) const;
    /// Appends an evaluation stamped with the current time.
    void record(const eval::Evaluation &result, const std::string &kind,
                const std::string &cacheKey);

private:
    nlohmann::json m_document = nlohmann::json::object(); ///< as read: unknown keys live here
};

/// The cache key of a merge setting: method, its parameters, filters, the checkpoints'
/// fingerprints (hex), and `evaluation` (what the tasks are evaluated with: a changed command,
/// module or data must not be served old results). Coefficients are compared separately.
std::string cacheKey(const MergeOptions &options, const std::vector<std::string> &fingerprints,
                     const std::string &evaluation = "");

/// Now, UTC, ISO 8601 ("2026-11-26T21:00:00Z").
std::string utcNow();

} // namespace mf::project
