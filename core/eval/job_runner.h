// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mf::eval {

/// Set from any thread to stop work; evaluators poll it (a command is killed within ~50 ms).
using CancelFlag = std::atomic<bool>;

/// One stop request for a whole job, shared from where it is asked (the GUI's Cancel, the
/// CLI's Ctrl-C) down to every evaluation in flight: set once, from any thread, and seen by
/// everyone who holds it, whenever they look. Never reset: a new job gets a new token.
using CancelToken = std::shared_ptr<CancelFlag>;
inline CancelToken makeCancelToken()
{
    return std::make_shared<CancelFlag>(false);
}

/// The result of evaluating one merge on every task.
struct Evaluation {
    std::vector<double> coefficients;
    std::map<std::string, double> metrics; ///< task name -> metric value
    bool failed = false;
    std::string error;  ///< why it failed (the command's stderr, ...)
    double seconds = 0; ///< wall time of merge + evaluations
    std::string device; ///< "cpu", "cuda:0", "command", ...
};

/// Evaluates merges. One evaluator may be used by several job-runner workers at once only
/// when concurrentSafe() says so (a command evaluator is; an in-process model is not).
class Evaluator {
public:
    virtual ~Evaluator() = default;
    /// Never throws for a bad evaluation: returns it with failed = true and the reason.
    virtual Evaluation evaluate(const std::vector<double> &coefficients,
                                const CancelFlag &cancel) = 0;
    virtual bool concurrentSafe() const { return false; }
};

struct JobProgress {
    int done = 0; ///< evaluations finished (failed included)
    int failed = 0;
    int total = 0;
    double rate = 0;       ///< evaluations per second so far
    double etaSeconds = 0; ///< at that rate
    // A cluster run's jobs in flight (a local run leaves them empty).
    int queued = 0;                ///< waiting in the cluster's queue
    int running = 0;               ///< running on a node
    std::vector<std::string> jobs; ///< their ids
};

/// Runs a queue of evaluations on worker threads. `onResult` is called once per finished
/// evaluation, one call at a time (e.g. to save the project after every evaluation);
/// `onProgress` after each. Cancellation (the token set, cancel(), or a false from
/// onProgress, which sets the token) lets running evaluations stop at their next poll and
/// starts no new ones, also when it came before run(); run() then returns what finished. An
/// evaluator that throws gives a failed evaluation with the message, never an ended process.
/// An exception thrown by onResult stops the run and is rethrown.
class JobRunner {
public:
    using ResultCallback = std::function<void(const Evaluation &)>;
    using ProgressCallback = std::function<bool(const JobProgress &)>;

    explicit JobRunner(CancelToken token = makeCancelToken())
        : m_token(std::move(token))
    {
    }

    std::vector<Evaluation> run(const std::vector<std::vector<double>> &queue, Evaluator &evaluator,
                                int workers, const ResultCallback &onResult = {},
                                const ProgressCallback &onProgress = {});
    void cancel() { *m_token = true; }
    bool cancelled() const { return *m_token; }
    const CancelFlag &cancelFlag() const { return *m_token; }

private:
    CancelToken m_token;
};

} // namespace mf::eval
