// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/session.h"

#include "io/adapter.h"
#include "io/checkpoint.h"
#include "map/nested.h"
#include "map/trust.h"
#include "merge/merge_inputs.h"
#include "project/evaluator_backend.h"
#include "project/slurm_runner.h"
#include "util/error.h"
#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <set>

namespace mf::project {

struct Session::State {
    SessionOptions options; ///< options.cancel: the one stop request, down to the evaluators
    std::unique_ptr<eval::Evaluator> evaluator;
    std::vector<std::string> checkpoints; ///< resolved: base, then the tasks
};

Session::Session(Project &project, SessionOptions options)
    : m_project(project)
    , m_state(std::make_unique<State>())
{
    State &s = *m_state;
    s.options = std::move(options);
    if (!s.options.cancel)
        s.options.cancel = eval::makeCancelToken();
    s.checkpoints.push_back(project.resolve(project.base));
    for (const TaskEntry &task : project.tasks)
        s.checkpoints.push_back(project.resolve(task.checkpoint));
    const EvaluatorBackend &backend = projectBackend(project); // checks the kinds
    m_cacheKey = currentCacheKey(project);
    if (project.runner.slurm()) {
        m_device = "slurm"; // evaluated on the nodes: nothing is loaded here
        return;
    }
    BackendInput input{project,
                       s.checkpoints.front(),
                       std::vector<std::string>(s.checkpoints.begin() + 1, s.checkpoints.end()),
                       s.options.threads,
                       s.options.workDir,
                       s.options.log};
    s.evaluator = backend.create(input, m_device);
}

Session::~Session() = default;

bool sameFailure(const std::string &a, const std::string &b)
{
    // The same error but for numbers (a temporary folder's name, a line, a status).
    const auto skeleton = [](const std::string &text) {
        std::string out;
        for (char ch : text)
            if (ch < '0' || ch > '9')
                out += ch;
        return out;
    };
    return skeleton(a) == skeleton(b);
}

std::vector<eval::Evaluation> Session::evaluate(const std::vector<std::vector<double>> &queue,
                                                const std::string &kind,
                                                const eval::JobRunner::ProgressCallback &progress)
{
    std::vector<eval::Evaluation> results(queue.size());
    std::vector<std::vector<double>> missing;
    std::vector<std::size_t> where;
    auto sampled = [&](const std::vector<double> &c) {
        for (const EvaluationEntry &e : m_project.evaluations)
            if (e.kind == "sample" && e.cacheKey == m_cacheKey && e.result.coefficients == c)
                return true;
        return false;
    };
    bool servedAsSamples = false;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        if (queue[i].size() != m_project.dimension())
            throw Error("expected " + std::to_string(m_project.dimension()) +
                        " coefficients, got " + std::to_string(queue[i].size()));
        if (const EvaluationEntry *hit = m_project.cached(queue[i], m_cacheKey)) {
            results[i] = hit->result;
            // MAP asked for a merge the grid (or a point) measured already: it is one of MAP's
            // samples now, so the fits (and the front's trust) count it as the run did.
            if (kind == "sample" && !sampled(queue[i])) {
                m_project.record(results[i], "sample", m_cacheKey);
                servedAsSamples = true;
            }
            continue;
        }
        missing.push_back(queue[i]);
        where.push_back(i);
    }
    if (servedAsSamples)
        m_project.save();
    State &s = *m_state;
    std::size_t finished = 0;
    auto collect = [&](const eval::Evaluation &e) {
        for (std::size_t k = 0; k < missing.size(); ++k)
            if (missing[k] == e.coefficients && results[where[k]].coefficients.empty()) {
                results[where[k]] = e;
                ++finished;
                break;
            }
    };
    if (m_project.runner.slurm()) {
        // Jobs recorded by an earlier run are collected too (and not submitted again).
        SlurmRunner runner(m_project, m_cacheKey, s.options.cancel, s.options.detach);
        runner.run(missing, kind, collect, progress);
        // A merge asked for twice ran as one job: the other asks get its evaluation too.
        for (std::size_t k = 0; k < missing.size(); ++k) {
            if (!results[where[k]].coefficients.empty())
                continue;
            for (auto e = m_project.evaluations.rbegin(); e != m_project.evaluations.rend(); ++e)
                if (e->cacheKey == m_cacheKey && e->result.coefficients == missing[k]) {
                    results[where[k]] = e->result;
                    ++finished;
                    break;
                }
        }
        if (finished < missing.size())
            throw Cancelled();
        return results;
    }
    // The runner polls the session's token itself: a cancel at any moment, before this call
    // or during it, is seen without a hand-over that could miss it.
    eval::JobRunner runner(s.options.cancel);
    if (runner.cancelled())
        throw Cancelled();
    const auto record = [&](const eval::Evaluation &e) {
        m_project.record(e, kind, m_cacheKey);
        m_project.save(); // after every evaluation: a crash loses at most the one in flight
        collect(e);
    };
    // Until the evaluator has worked once for these inputs, evaluations run one at a time: an
    // evaluator that cannot work as set up (a missing program, a wrong metric key) costs two
    // tries, not a batch. The second failure in a row with the same error stops the run with
    // that error as its message.
    bool proven = std::any_of(
        m_project.evaluations.begin(), m_project.evaluations.end(),
        [&](const EvaluationEntry &e) { return e.cacheKey == m_cacheKey && !e.result.failed; });
    std::size_t next = 0;
    int failedSoFar = 0;
    std::string firstError, lastError;
    // Each runner call's progress, as a part of the whole run's.
    const auto ofAll = [&](const eval::JobProgress &p) {
        eval::JobProgress all = p;
        all.done = static_cast<int>(next) + p.done;
        all.failed = failedSoFar + p.failed;
        all.total = static_cast<int>(missing.size());
        all.etaSeconds = p.rate > 0 ? (all.total - all.done) / p.rate : 0;
        return !progress || progress(all);
    };
    while (!proven && next < missing.size()) {
        const std::size_t before = finished;
        runner.run({missing[next]}, *m_state->evaluator, 1, record, ofAll);
        if (finished == before)
            throw Cancelled();
        const eval::Evaluation &e = results[where[next]];
        ++next;
        if (!e.failed) {
            proven = true;
            break;
        }
        ++failedSoFar;
        if (firstError.empty())
            firstError = e.error;
        if (!lastError.empty() && sameFailure(lastError, e.error))
            throw Error("the first " + std::to_string(failedSoFar) +
                        " evaluations failed the same way, so the run stopped (" +
                        std::to_string(missing.size() - next) +
                        " not started; failed ones are kept in the project): " + e.error);
        lastError = e.error;
    }
    if (next < missing.size()) {
        const std::vector<std::vector<double>> rest(
            missing.begin() + static_cast<std::ptrdiff_t>(next), missing.end());
        runner.run(rest, *m_state->evaluator, m_state->options.workers, record, ofAll);
    }
    if (finished < missing.size())
        throw Cancelled();
    if (!proven && !missing.empty()) // every one failed, each its own way
        throw Error(missing.size() == 1
                        ? "the evaluation failed (kept in the project): " + firstError
                        : "all " + std::to_string(missing.size()) +
                              " evaluations failed (kept in the project); the "
                              "first: " +
                              firstError);
    return results;
}

eval::Evaluation Session::evaluateHere(const std::vector<double> &coefficients)
{
    State &s = *m_state;
    if (!s.evaluator)
        throw Error("this session evaluates on the cluster, not here");
    if (coefficients.size() != m_project.dimension())
        throw Error("expected " + std::to_string(m_project.dimension()) + " coefficients, got " +
                    std::to_string(coefficients.size()));
    eval::JobRunner runner(s.options.cancel);
    std::vector<eval::Evaluation> done = runner.run({coefficients}, *s.evaluator, 1);
    if (done.empty())
        throw Cancelled();
    return done.front();
}

void Session::cancel()
{
    *m_state->options.cancel = true;
}

std::vector<double> Session::similarity() const
{
    const State &s = *m_state;
    const std::vector<std::string> names = m_project.taskNames();
    MergeOptions options = m_project.merge;
    options.method = MergeMethod::TaskArithmetic; // raw task vectors
    const MergeInputs inputs(
        s.checkpoints.front(),
        std::vector<std::string>(s.checkpoints.begin() + 1, s.checkpoints.end()), names, options);
    const int threads = s.options.threads > 0 ? s.options.threads : defaultThreadCount();
    std::vector<double> gram = inputs.merger().taskVectorGram(threads);
    const std::size_t n = names.size();
    std::vector<double> cosine(n * n);
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b) {
            const double norm = std::sqrt(gram[a * n + a] * gram[b * n + b]);
            cosine[a * n + b] = norm > 0 ? gram[a * n + b] / norm : (a == b ? 1.0 : 0.0);
        }
    return cosine;
}

map::MapResult Session::explore(const eval::JobRunner::ProgressCallback &progress)
{
    const map::Problem problem = m_project.problem();
    const int n = problem.metricCount(); // tasks; the coefficients are problem.dimension()
    const int p = map::Surrogate::fullParameterCount(problem.dimension());
    const int budget = m_project.map.budget > 0 ? m_project.map.budget : 3 * p;
    const map::BatchEvaluator batch = [&](const Eigen::MatrixXd &c) {
        std::vector<std::vector<double>> queue;
        for (Eigen::Index r = 0; r < c.rows(); ++r)
            queue.push_back(std::vector<double>(c.row(r).begin(), c.row(r).end()));
        const auto results = evaluate(queue, "sample", progress);
        Eigen::MatrixXd y(c.rows(), n);
        for (Eigen::Index r = 0; r < c.rows(); ++r)
            for (int t = 0; t < n; ++t) {
                const auto &e = results[static_cast<std::size_t>(r)];
                const auto it = e.metrics.find(m_project.tasks[static_cast<std::size_t>(t)].name);
                y(r, t) = e.failed || it == e.metrics.end() ? NAN : it->second;
            }
        return y;
    };
    if (m_project.map.mode == "plain")
        return map::plainMap(problem, budget, batch, m_project.map.seed);
    if (m_project.map.mode == "nested") {
        map::NestedOptions options;
        const std::vector<double> cosine = similarity();
        options.similarity = Eigen::Map<const Eigen::MatrixXd>(cosine.data(), n, n);
        options.seed = m_project.map.seed;
        const map::NestedResult nested = map::nestedMap(problem, batch, options);
        map::MapResult result;
        result.samples = nested.samples;
        result.surrogates = map::fitSurrogates(problem, m_project.samples("sample", m_cacheKey));
        result.front = map::computeFront(problem, result.surrogates);
        map::markExtrapolation(problem, result.samples, result.front);
        result.rounds = static_cast<int>(nested.steps.size());
        result.stopReason = "nested";
        return result;
    }
    map::BayesianOptions options;
    options.budget = budget;
    if (m_project.runner.slurm()) // one round keeps every job slot busy
        options.batch = std::max(m_project.runner.maxJobs, 2);
    options.seed = m_project.map.seed;
    options.acquisition = map::parseAcquisition(m_project.map.acquisition);
    return map::bayesianMap(problem, m_project.samples("sample", m_cacheKey), batch, options);
}

std::string budgetSummary(const Project &project)
{
    const int d = static_cast<int>(project.dimension());
    const int p = map::Surrogate::fullParameterCount(d);
    const std::size_t columns = project.columns().size();
    const int budget = project.map.budget > 0 ? project.map.budget : 3 * p;
    std::string line = std::to_string(d) + " coefficient(s)";
    if (columns > 1)
        line += " (" + std::to_string(project.tasks.size()) + " tasks x " +
                std::to_string(columns) + " group columns)";
    line += ": a full quadratic per task has " + std::to_string(p) +
            " parameters; it is fitted from " + std::to_string(p + 1) +
            " evaluations and trusted from " + std::to_string(map::trustedSampleCount(d)) +
            "; this run's budget is " + std::to_string(budget) +
            (project.map.mode == "nested" ? " (nested MAP spends its own per pair)" : "");
    if (budget < map::trustedSampleCount(d))
        line += " (below what the front needs to be trusted)";
    return line;
}

eval::Evaluation testOnBase(const Project &project, const eval::CancelToken &cancel,
                            const std::function<void(const std::string &)> &log)
{
    const std::vector<double> base(project.dimension(), 0.0);
    eval::Evaluation result;
    result.coefficients = base;
    try {
        std::vector<std::string> checkpoints;
        for (const TaskEntry &task : project.tasks)
            checkpoints.push_back(project.resolve(task.checkpoint));
        BackendInput input{project,
                           project.resolve(project.base),
                           checkpoints,
                           0,
                           "",
                           log ? log : [](const std::string &) {
                           }};
        std::string device;
        const auto evaluator = projectBackend(project).create(input, device);
        result = evaluator->evaluate(base, *cancel);
    } catch (const std::exception &e) {
        result.failed = true;
        result.error = e.what();
        result.metrics.clear();
    }
    return result;
}

std::string currentCacheKey(const Project &project)
{
    std::vector<std::string> fingerprints{
        Checkpoint::open(project.resolve(project.base)).fingerprint()};
    for (const TaskEntry &task : project.tasks)
        fingerprints.push_back(openStored(project.resolve(task.checkpoint)).fingerprint());
    const EvaluatorBackend &backend = projectBackend(project); // checks the kinds
    nlohmann::json evaluation = nlohmann::json::array();
    for (const TaskEntry &task : project.tasks)
        evaluation.push_back({task.name, task.metric, task.evaluator});
    if (!project.evaluator.is_null()) // a changed shared command must not be served old results
        evaluation.push_back(project.evaluator);
    if (backend.inputsFingerprint)
        evaluation.push_back(backend.inputsFingerprint(project));
    return cacheKey(project.merge, fingerprints, evaluation.dump());
}

std::string currentCacheKeyOrEmpty(const Project &project)
{
    try {
        return currentCacheKey(project);
    } catch (const std::exception &) {
        return ""; // an unreadable checkpoint: the fits take every evaluation, as before
    }
}

FrontResult fitFront(const Project &project)
{
    const map::Problem problem = project.problem();
    FrontResult result;
    // Evaluations made under other settings (a changed merge method, evaluator or checkpoint)
    // stay in the file and out of the fit.
    const map::Samples samples = project.samples("sample", currentCacheKeyOrEmpty(project));
    result.surrogates = map::fitSurrogates(problem, samples);
    result.front = map::computeFront(problem, result.surrogates);
    map::markExtrapolation(problem, samples, result.front);
    result.trust = map::assessTrust(problem, result.surrogates, samples);
    return result;
}

PointPrediction predictAt(const FrontResult &fitted, const std::vector<double> &coefficients)
{
    const auto m = static_cast<Eigen::Index>(fitted.surrogates.size());
    PointPrediction out;
    out.mean.resize(m);
    out.std.resize(m);
    out.lower.resize(m);
    out.upper.resize(m);
    const Eigen::RowVectorXd row = Eigen::Map<const Eigen::RowVectorXd>(
        coefficients.data(), static_cast<Eigen::Index>(coefficients.size()));
    for (Eigen::Index k = 0; k < m; ++k) {
        const map::Prediction p =
            fitted.surrogates[static_cast<std::size_t>(k)].predictWithUncertainty(
                row, fitted.front.level);
        out.mean[k] = p.mean[0];
        out.std[k] = p.std[0];
        out.lower[k] = p.lower[0];
        out.upper[k] = p.upper[0];
        out.surrogates.push_back(fitted.surrogates[static_cast<std::size_t>(k)].diagnostics());
    }
    return out;
}

} // namespace mf::project
