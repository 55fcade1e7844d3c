// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/explore.h"

#include "map/design.h"
#include "map/quality.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace mf::map {

namespace {

void appendEvaluations(const Problem &problem, Samples &samples, const Eigen::MatrixXd &c,
                       const BatchEvaluator &evaluate)
{
    if (c.rows() == 0)
        return;
    const Eigen::MatrixXd y = evaluate(c);
    if (y.rows() != c.rows() || y.cols() != problem.metricCount())
        throw Error("the evaluator returned " + std::to_string(y.rows()) + " x " +
                    std::to_string(y.cols()) + " metrics for " + std::to_string(c.rows()) +
                    " merges");
    samples.c = stackRows(samples.c, c);
    samples.y = stackRows(samples.y, y);
}

/// Expected hypervolume improvement of each candidate over `measured` (objectives, rows),
/// everything normalized to about [0, 1], reference point -0.1. Monte Carlo with the same
/// standard normals for every candidate (common random numbers).
Eigen::VectorXd expectedImprovement(const Eigen::MatrixXd &measured, const Eigen::MatrixXd &mean,
                                    const Eigen::MatrixXd &sd, const Eigen::MatrixXd &normals)
{
    const Eigen::Index m = mean.cols();
    const Eigen::VectorXd reference = Eigen::VectorXd::Constant(m, -0.1);
    Eigen::MatrixXd base(0, m);
    if (measured.rows() > 0) {
        const std::vector<int> kept = nonDominated(measured);
        base.resize(static_cast<Eigen::Index>(kept.size()), m);
        for (std::size_t i = 0; i < kept.size(); ++i)
            base.row(static_cast<Eigen::Index>(i)) = measured.row(kept[i]);
    }
    Eigen::VectorXd out = Eigen::VectorXd::Zero(mean.rows());
    for (Eigen::Index i = 0; i < mean.rows(); ++i) {
        double sum = 0;
        for (Eigen::Index s = 0; s < normals.rows(); ++s)
            sum += hypervolumeImprovement(
                base, mean.row(i) + sd.row(i).cwiseProduct(normals.row(s)), reference);
        out[i] = sum / static_cast<double>(normals.rows());
    }
    return out;
}

} // namespace

const char *acquisitionName(Acquisition acquisition)
{
    return acquisition == Acquisition::Ehvi ? "ehvi" : "uncertainty";
}

Acquisition parseAcquisition(const std::string &name)
{
    for (Acquisition a : {Acquisition::Ehvi, Acquisition::Uncertainty})
        if (name == acquisitionName(a))
            return a;
    throw Error("unknown acquisition '" + name + "' (expected ehvi or uncertainty)");
}

std::vector<Surrogate> fitSurrogates(const Problem &problem, const Samples &samples,
                                     const SurrogateOptions &options)
{
    std::vector<int> rows;
    for (int i = 0; i < samples.count(); ++i)
        if (samples.y.row(i).allFinite())
            rows.push_back(i);
    Eigen::MatrixXd c(static_cast<Eigen::Index>(rows.size()), problem.dimension());
    Eigen::MatrixXd y(static_cast<Eigen::Index>(rows.size()), problem.metricCount());
    for (std::size_t k = 0; k < rows.size(); ++k) {
        c.row(static_cast<Eigen::Index>(k)) = samples.c.row(rows[k]);
        y.row(static_cast<Eigen::Index>(k)) = samples.y.row(rows[k]);
    }
    std::vector<Surrogate> surrogates;
    KrigingCache shared; // the metrics share where the samples lie
    for (int m = 0; m < problem.metricCount(); ++m) {
        SurrogateOptions metricOptions = options;
        const Link declared = problem.metrics[static_cast<std::size_t>(m)].link;
        if (declared != Link::Auto)
            metricOptions.link = declared;
        surrogates.push_back(Surrogate::fit(c, y.col(m),
                                            problem.metrics[static_cast<std::size_t>(m)].name,
                                            metricOptions, &shared));
    }
    return surrogates;
}

double frontMovement(const Eigen::MatrixXd &previous, const Eigen::MatrixXd &current)
{
    if (previous.rows() == 0 || current.rows() == 0)
        return std::numeric_limits<double>::infinity();
    return frontQuality(current, previous).igd;
}

MapResult plainMap(const Problem &problem, int budget, const BatchEvaluator &evaluate,
                   std::uint64_t seed, const SurrogateOptions &surrogate, const FrontOptions &front)
{
    problem.validate();
    MapResult result;
    result.samples.c.resize(0, problem.dimension());
    result.samples.y.resize(0, problem.metricCount());
    appendEvaluations(problem, result.samples, initialDesign(problem, budget, seed), evaluate);
    result.surrogates = fitSurrogates(problem, result.samples, surrogate);
    result.front = computeFront(problem, result.surrogates, front);
    markExtrapolation(problem, result.samples, result.front);
    result.rounds = 1;
    result.stopReason = "budget";
    return result;
}

MapResult bayesianMap(const Problem &problem, const Samples &initial,
                      const BatchEvaluator &evaluate, const BayesianOptions &options)
{
    problem.validate();
    const int n = problem.dimension(), m = problem.metricCount();
    const int p = Surrogate::fullParameterCount(n);
    const int budget = options.budget > 0 ? options.budget : 3 * p;
    const int initialSize =
        std::min(budget, options.initial > 0 ? options.initial : std::max(p + 1, n + 1));
    const int batch = options.batch > 0 ? options.batch : std::max(2, n);

    MapResult result;
    result.samples = initial;
    if (result.samples.c.rows() == 0) {
        result.samples.c.resize(0, n);
        result.samples.y.resize(0, m);
    }
    if (result.samples.count() < initialSize)
        appendEvaluations(problem, result.samples,
                          initialDesign(problem, initialSize, options.seed)
                              .bottomRows(initialSize - result.samples.count()),
                          evaluate);

    std::mt19937_64 random(options.seed ^ 0x5bd1e995ULL);
    const Eigen::VectorXd width = problem.upper - problem.lower;
    Eigen::MatrixXd previous;
    int calm = 0;
    while (true) {
        result.surrogates = fitSurrogates(problem, result.samples, options.surrogate);
        FrontOptions frontOptions = options.front;
        frontOptions.seed = options.seed + static_cast<std::uint64_t>(result.rounds);
        result.front = computeFront(problem, result.surrogates, frontOptions);
        markExtrapolation(problem, result.samples, result.front);
        ++result.rounds;
        const Eigen::MatrixXd objectives = toObjectives(problem, result.front.metrics);
        const double moved = frontMovement(previous, objectives);
        result.movement.push_back(moved);
        previous = objectives;
        calm = moved < options.tolerance ? calm + 1 : 0;
        if (options.onRound && !options.onRound(result)) {
            result.stopReason = "cancelled";
            return result;
        }
        const int remaining = budget - result.samples.count();
        if (remaining <= 0) {
            result.stopReason = "budget";
            return result;
        }
        if (calm >= options.patience) {
            result.stopReason = "converged";
            return result;
        }

        // Candidates: the front and jittered copies of it, scored by normalized uncertainty.
        const Front &front = result.front;
        // At most 150 front points (60 with four metrics or more, where each hypervolume is
        // dearer) evenly along it, each with two jittered copies.
        const Eigen::Index most = m <= 3 ? 150 : 60;
        const Eigen::Index stride = std::max<Eigen::Index>(1, (front.size() + most - 1) / most);
        Eigen::MatrixXd candidates((front.size() + stride - 1) / stride, n);
        for (Eigen::Index i = 0; i < candidates.rows(); ++i)
            candidates.row(i) = front.coefficients.row(i * stride);
        const Eigen::MatrixXd base = candidates;
        std::normal_distribution<double> normal(0.0, 0.04);
        Eigen::MatrixXd jittered(base.rows() * 2, n);
        for (Eigen::Index i = 0; i < jittered.rows(); ++i)
            for (int j = 0; j < n; ++j)
                jittered(i, j) = std::clamp(base(i % base.rows(), j) + normal(random) * width[j],
                                            problem.lower[j], problem.upper[j]);
        candidates = stackRows(candidates, jittered);
        const Eigen::MatrixXd predicted = predictMetrics(result.surrogates, candidates);
        Eigen::MatrixXd uncertainty(candidates.rows(), m);
        for (int k = 0; k < m; ++k)
            uncertainty.col(k) =
                result.surrogates[static_cast<std::size_t>(k)].uncertaintyRows(candidates);
        // Normalization per metric over what is predicted and measured: objectives in [0, 1].
        Eigen::MatrixXd measured(0, m);
        for (int i = 0; i < result.samples.count(); ++i)
            if (result.samples.y.row(i).allFinite())
                measured = stackRows(measured, result.samples.y.row(i));
        const Eigen::MatrixXd predictedObjectives = toObjectives(problem, predicted);
        Eigen::MatrixXd measuredObjectives = toObjectives(problem, measured);
        const Eigen::MatrixXd all = stackRows(predictedObjectives, measuredObjectives);
        const Eigen::RowVectorXd lo = all.colwise().minCoeff();
        const Eigen::RowVectorXd range =
            (all.colwise().maxCoeff() - lo).unaryExpr([](double r) { return r > 1e-12 ? r : 1.0; });
        Eigen::MatrixXd mean =
            (predictedObjectives.rowwise() - lo).array().rowwise() / range.array();
        const Eigen::MatrixXd sd = uncertainty.array().rowwise() / range.array();
        measuredObjectives = (measuredObjectives.rowwise() - lo).array().rowwise() / range.array();
        Eigen::MatrixXd normals(m <= 3 ? 32 : 16, m);
        std::normal_distribution<double> standard(0.0, 1.0);
        for (Eigen::Index r = 0; r < normals.rows(); ++r)
            for (int k = 0; k < m; ++k)
                normals(r, k) = standard(random);
        Eigen::VectorXd score = options.acquisition == Acquisition::Ehvi
                                    ? expectedImprovement(measuredObjectives, mean, sd, normals)
                                    : Eigen::VectorXd(sd.rowwise().sum());
        if (options.acquisition == Acquisition::Ehvi && score.maxCoeff() <= 0)
            score = sd.rowwise().sum(); // nothing can improve: fall back to uncertainty

        // Greedy max-min: the most uncertain candidate far enough from every chosen point and
        // sample; the radius shrinks when nothing qualifies.
        Eigen::MatrixXd chosen(0, n);
        double radius = 0.15 * std::sqrt(static_cast<double>(n));
        const int take = std::min(batch, remaining);
        auto distanceToSet = [&](const Eigen::VectorXd &x, const Eigen::MatrixXd &set) {
            double best = std::numeric_limits<double>::infinity();
            for (Eigen::Index r = 0; r < set.rows(); ++r)
                best = std::min(best, (x - set.row(r).transpose()).cwiseQuotient(width).norm());
            return best;
        };
        while (chosen.rows() < take && radius > 1e-4) {
            Eigen::Index best = -1;
            for (Eigen::Index i = 0; i < candidates.rows(); ++i) {
                const Eigen::VectorXd x = candidates.row(i).transpose();
                if (distanceToSet(x, result.samples.c) < radius ||
                    distanceToSet(x, chosen) < radius)
                    continue;
                if (best < 0 || score[i] > score[best])
                    best = i;
            }
            if (best < 0) {
                radius /= 2;
                continue;
            }
            chosen = stackRows(chosen, candidates.row(best));
            if (options.acquisition == Acquisition::Ehvi && chosen.rows() < take && m <= 3) {
                // Kriging believer: the chosen point counts as measured at its mean (with four
                // metrics or more the distance rule alone spreads the batch: cheaper).
                measuredObjectives = stackRows(measuredObjectives, mean.row(best));
                const Eigen::VectorXd rescored =
                    expectedImprovement(measuredObjectives, mean, sd, normals);
                if (rescored.maxCoeff() > 0)
                    score = rescored;
            }
        }
        if (chosen.rows() == 0) {
            result.stopReason = "converged";
            return result;
        }
        appendEvaluations(problem, result.samples, chosen, evaluate);
    }
}

} // namespace mf::map
