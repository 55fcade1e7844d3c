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

} // namespace

std::vector<QuadraticSurrogate> fitSurrogates(const Problem &problem, const Samples &samples,
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
    std::vector<QuadraticSurrogate> surrogates;
    for (int m = 0; m < problem.metricCount(); ++m) {
        SurrogateOptions metricOptions = options;
        const Link declared = problem.metrics[static_cast<std::size_t>(m)].link;
        if (declared != Link::Auto)
            metricOptions.link = declared;
        surrogates.push_back(QuadraticSurrogate::fit(
            c, y.col(m), problem.metrics[static_cast<std::size_t>(m)].name, metricOptions));
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
    result.rounds = 1;
    result.stopReason = "budget";
    return result;
}

MapResult bayesianMap(const Problem &problem, const Samples &initial,
                      const BatchEvaluator &evaluate, const BayesianOptions &options)
{
    problem.validate();
    const int n = problem.dimension(), m = problem.metricCount();
    const int p = QuadraticSurrogate::fullParameterCount(n);
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
        Eigen::MatrixXd candidates = front.coefficients;
        std::normal_distribution<double> normal(0.0, 0.04);
        Eigen::MatrixXd jittered(front.coefficients.rows() * 2, n);
        for (Eigen::Index i = 0; i < jittered.rows(); ++i)
            for (int j = 0; j < n; ++j)
                jittered(i, j) = std::clamp(front.coefficients(i % front.coefficients.rows(), j) +
                                                normal(random) * width[j],
                                            problem.lower[j], problem.upper[j]);
        candidates = stackRows(candidates, jittered);
        Eigen::VectorXd score = Eigen::VectorXd::Zero(candidates.rows());
        const Eigen::MatrixXd predicted = predictMetrics(result.surrogates, candidates);
        for (int k = 0; k < m; ++k) {
            const double range =
                std::max(predicted.col(k).maxCoeff() - predicted.col(k).minCoeff(), 1e-9);
            score += result.surrogates[static_cast<std::size_t>(k)].predictiveStdRows(candidates) /
                     range;
        }

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
        }
        if (chosen.rows() == 0) {
            result.stopReason = "converged";
            return result;
        }
        appendEvaluations(problem, result.samples, chosen, evaluate);
    }
}

} // namespace mf::map
