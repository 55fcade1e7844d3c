// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "map/explore.h"
#include "map/front.h"
#include "map/trust.h"
#include "project/project.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mf::project {

/// Whether two evaluation errors are the same but for their numbers (a temporary folder's
/// name, a line number, an exit status): the evaluator fails the same way.
bool sameFailure(const std::string &a, const std::string &b);

struct SessionOptions {
    int threads = 0;     ///< merge threads (0 = all cores)
    int workers = 1;     ///< concurrent evaluations, when the evaluator allows it
    std::string workDir; ///< temporary merged checkpoints (default: the system's temp folder)
    /// The job's stop request (the caller may hold it too and set it from any thread).
    eval::CancelToken cancel = eval::makeCancelToken();
    /// A cluster run only: stop watching, leave the jobs running and recorded (collected by the
    /// next run). Set from any thread; evaluate() then throws mf::Cancelled.
    eval::CancelToken detach = eval::makeCancelToken();
    /// Lines the evaluator says once when it is built (a model's memory plan, ...); empty: stderr.
    std::function<void(const std::string &)> log;
};

/// The fitted surrogates and the predicted front of a project's samples, and whether the
/// front is provisional (map::assessTrust).
struct FrontResult {
    std::vector<map::Surrogate> surrogates;
    map::Front front;
    map::Trust trust;
};

/// The surrogates' predictions at one merge (metric order = task order), with their std and
/// the front's interval level.
struct PointPrediction {
    Eigen::VectorXd mean, std, lower, upper;
    /// The surrogates' diagnostics (how each interval was made, its leave-one-out check).
    std::vector<map::SurrogateDiagnostics> surrogates;
};
PointPrediction predictAt(const FrontResult &fitted, const std::vector<double> &coefficients);

/// Drives a project: opens its checkpoints once, builds its evaluator, evaluates merges
/// (serving repeats from the project's cache) here or, with the runner "slurm", as cluster jobs
/// (SlurmRunner; no evaluator is built here then), records and saves the project after every
/// new evaluation, and runs MAP on it. Used by the CLI and the GUI alike.
class Session {
public:
    Session(Project &project, SessionOptions options = {});
    ~Session();

    const std::string &cacheKey() const { return m_cacheKey; }
    const std::string &device() const { return m_device; }

    /// Evaluates every row (cached ones are not recomputed). `progress` returning false stops
    /// the run: what finished is saved, then mf::Cancelled is thrown. Until an evaluation of
    /// these inputs has succeeded, evaluations run one at a time on this machine; the second
    /// failure in a row with the same error (sameFailure) stops the run with mf::Error naming
    /// it, and a run whose every evaluation failed ends with mf::Error naming the first. The
    /// failed evaluations are recorded either way.
    std::vector<eval::Evaluation> evaluate(const std::vector<std::vector<double>> &queue,
                                           const std::string &kind,
                                           const eval::JobRunner::ProgressCallback &progress = {});

    /// Evaluates one merge here, with the project's evaluators, and records nothing (what a
    /// cluster job runs on its node). Never throws for a bad evaluation (failed = true).
    eval::Evaluation evaluateHere(const std::vector<double> &coefficients);

    /// MAP over the project (mode and budget from the project unless given), resuming from
    /// the samples it already holds.
    map::MapResult explore(const eval::JobRunner::ProgressCallback &progress = {});

    /// Asks a running evaluate() / explore() (on another thread) to stop: evaluations in flight
    /// stop at their next poll (a command is killed), what finished is saved, and the call
    /// throws mf::Cancelled. Later calls throw mf::Cancelled at once. Thread-safe; the same as
    /// setting options.cancel.
    void cancel();

    /// Cosine similarity of the task vectors (row-major N x N), for nested MAP.
    std::vector<double> similarity() const;

private:
    struct State;
    Project &m_project;
    std::unique_ptr<State> m_state;
    std::string m_cacheKey;
    std::string m_device;
};

/// What MAP over this project's coefficients costs, said before it starts: "4 coefficients
/// (2 tasks x 2 group columns): a full quadratic per task has 15 parameters; it is fitted from
/// 16 evaluations and trusted from 30; this run's budget is 45". One line.
std::string budgetSummary(const Project &project);

/// Fits the project's samples and computes the predicted front (no evaluation).
FrontResult fitFront(const Project &project);

/// One evaluation of the base alone (every coefficient 0) with the project's evaluator, here
/// (never on a cluster), recorded nowhere: "does the evaluator work?" before a run (File > New
/// and Project > Settings, "Test on the base"). A failure is returned in the Evaluation (an
/// evaluator that cannot be built included), not thrown.
eval::Evaluation testOnBase(const Project &project, const eval::CancelToken &cancel,
                            const std::function<void(const std::string &)> &log = {});

/// The cache key evaluations of the project are recorded under now: its merge settings, the
/// checkpoints' fingerprints, the tasks' metrics and evaluators (the project-level one
/// included) and what they read. Opens the checkpoints' headers; throws mf::Error when one
/// cannot be read.
std::string currentCacheKey(const Project &project);
/// The same, or "" when a checkpoint cannot be read (then nothing is left out by key).
std::string currentCacheKeyOrEmpty(const Project &project);

} // namespace mf::project
