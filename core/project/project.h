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
    std::string acquisition = "ehvi"; ///< Bayesian: "ehvi" or "uncertainty"
};

/// Where evaluations run (docs/PROJECT.md, "runner"): here, or as Slurm jobs.
struct RunnerSettings {
    std::string kind = "local";      ///< "local" or "slurm"
    std::vector<std::string> sbatch; ///< slurm: sbatch options, one per element
    int maxJobs = 4;                 ///< slurm: jobs in flight at most (and Bayesian MAP's batch)
    std::string workdir;             ///< slurm: a folder every node sees ("" : PROJECT.slurm/)
    std::string setup;               ///< slurm: shell lines run on the node before the CLI
    std::string cli = "mergefront-cli"; ///< slurm: the headless CLI as the nodes call it
    int retries = 2;                    ///< slurm: resubmissions of a job that ended badly
    double pollSeconds = 5;             ///< slurm: the longest wait between two looks
    bool slurm() const { return kind == "slurm"; }
};

/// A Slurm job submitted for one merge and not collected yet (docs/PROJECT.md, "jobs"): saved
/// before it can finish, so a controller that dies loses nothing and a new one re-attaches.
struct JobRecord {
    std::string id; ///< Slurm's job id
    std::vector<double> coefficients;
    std::string kind;     ///< what the evaluation is recorded as ("sample", "grid", "point")
    std::string cacheKey; ///< the project's merge and evaluation settings it was submitted with
    std::string submittedAt;
    int attempt = 1;                  ///< 1, then each resubmission
    std::string result;               ///< the result file the job writes (absolute)
    std::vector<std::string> history; ///< earlier attempts: "JOBID STATE"
};

/// A merge the user marked to come back to (the window's plot menu; docs/PROJECT.md,
/// "bookmarks"): a name, its coefficients, when it was marked. Neither an evaluation nor part
/// of the cache key.
struct Bookmark {
    std::string name;
    std::vector<double> coefficients;
    std::string when; ///< UTC, ISO 8601
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
    /// The project-level evaluator ({"kind": "command", "command", "timeout"}), or null: it
    /// serves every task without an `evaluator` of its own, with one run per merge whose
    /// output holds all their metrics (docs/PROJECT.md).
    nlohmann::json evaluator = nullptr;
    std::vector<EvaluationEntry> evaluations;
    nlohmann::json chosen = nlohmann::json::array(); ///< the user's chosen points, as given
    /// The GUI's last preference ({"weights", "rule", "floors"}), null when never saved.
    nlohmann::json preference = nullptr;
    RunnerSettings runner;
    std::vector<JobRecord> jobs;     ///< cluster jobs in flight
    std::vector<Bookmark> bookmarks; ///< in the order they were made

    /// Writes the project (atomically) to `path`.
    void save() const;
    /// Writes a new project to `path`: refused when a file is there (its evaluations would be
    /// lost); the file is then read back with the checks of load() and removed if they fail.
    /// The one way a project file comes into being (File > New, the example zoo).
    void saveNew() const;

    /// The runner's work folder (runner.workdir resolved, or PROJECT.slurm/ beside the file).
    std::string runnerWorkdir() const;

    /// A path from the file, resolved against the project file's folder.
    std::string resolve(const std::string &relative) const;
    /// `absolute` made relative to the project file's folder (for writing into the file).
    std::string relativize(const std::string &absolute) const;
    /// Moves the project to `newPath` (nothing is written): the paths it holds relative to the
    /// old folder (base, checkpoints, a TorchScript evaluator's module and data) are rewritten
    /// relative to the new one, so they name the same files; absolute paths stay as they are.
    void moveTo(const std::string &newPath);

    /// The evaluator kind task `task` is evaluated with: its own `evaluator`'s, else the
    /// project-level one's ("" when neither says).
    std::string evaluatorKind(const TaskEntry &task) const;
    /// True when `task` is served by the project-level evaluator (it has none of its own).
    bool sharedEvaluator(const TaskEntry &task) const;

    /// The tasks' names, in the project's order.
    std::vector<std::string> taskNames() const;

    /// The coefficient matrix's columns (groupColumns(merge.groups): {""} without groups).
    std::vector<std::string> columns() const;
    /// Coefficients a merge of this project takes: tasks x columns (task by task).
    std::size_t dimension() const;
    /// The MAP problem: one coefficient per task and group column ("task/column" with groups),
    /// each in its task's box; one metric per task.
    map::Problem problem() const;
    /// Evaluations of `kind` as samples: failed ones as rows of NaN (fits skip them). With a
    /// `cacheKey` (the project's current one: currentCacheKey), evaluations recorded under
    /// another key (other merge or evaluator settings, changed checkpoints) are left out:
    /// they stay in the file, out of the fits. Evaluations without a key are kept.
    map::Samples samples(const std::string &kind = "sample",
                         const std::string &cacheKey = "") const;
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
