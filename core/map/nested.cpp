// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/nested.h"

#include "map/design.h"
#include "util/error.h"

#include <cmath>

namespace mf::map {

NestedResult nestedMap(const Problem &problem, const BatchEvaluator &evaluate,
                       const NestedOptions &options)
{
    problem.validate();
    const int n = problem.dimension();
    if (problem.metricCount() != n)
        throw Error("nested MAP needs one metric per task");
    if (options.similarity.rows() != n || options.similarity.cols() != n ||
        !options.similarity.allFinite())
        throw Error("nested MAP needs an N x N task-vector similarity matrix");
    Eigen::VectorXd preference =
        options.preference.size() == n ? options.preference : Eigen::VectorXd::Ones(n);
    if (preference.minCoeff() < 0 || preference.sum() <= 0)
        throw Error("task preferences must be non-negative, not all zero");
    preference /= preference.sum();

    // Nodes: compositions over the tasks; similarity of two nodes u, v from the Gram
    // matrix G of unit task vectors: uᵀGv / sqrt(uᵀGu · vᵀGv).
    const Eigen::MatrixXd &gram = options.similarity;
    std::vector<Eigen::VectorXd> nodes;
    for (int t = 0; t < n; ++t)
        nodes.push_back(Eigen::VectorXd::Unit(n, t));
    std::vector<int> alive(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t)
        alive[static_cast<std::size_t>(t)] = t;

    NestedResult result;
    result.samples.c.resize(0, n);
    result.samples.y.resize(0, n);
    // Group metric of a node: preference-weighted mean of its tasks' metrics, in the
    // direction of maximization.
    auto groupWeights = [&](const Eigen::VectorXd &composition) {
        Eigen::VectorXd w(n);
        for (int t = 0; t < n; ++t)
            w[t] = composition[t] != 0 ? preference[t] : 0;
        const double sum = w.sum();
        return sum > 0 ? Eigen::VectorXd(w / sum) : Eigen::VectorXd(Eigen::VectorXd::Zero(n));
    };

    while (alive.size() > 1) {
        double best = -std::numeric_limits<double>::infinity();
        std::size_t bi = 0, bj = 1;
        for (std::size_t i = 0; i < alive.size(); ++i)
            for (std::size_t j = i + 1; j < alive.size(); ++j) {
                const Eigen::VectorXd &u = nodes[static_cast<std::size_t>(alive[i])];
                const Eigen::VectorXd &v = nodes[static_cast<std::size_t>(alive[j])];
                const double denominator =
                    std::sqrt(std::max(u.dot(gram * u) * v.dot(gram * v), 1e-300));
                const double similarity = u.dot(gram * v) / denominator;
                if (similarity > best) {
                    best = similarity;
                    bi = i;
                    bj = j;
                }
            }
        const Eigen::VectorXd u = nodes[static_cast<std::size_t>(alive[bi])];
        const Eigen::VectorXd v = nodes[static_cast<std::size_t>(alive[bj])];
        const Eigen::VectorXd wu = groupWeights(u), wv = groupWeights(v);
        const Eigen::VectorXd direction =
            toObjectives(problem, Eigen::VectorXd(Eigen::VectorXd::Ones(n)));

        // The pair's 2-task problem: coefficients (a, b), metrics = the two group metrics.
        Problem pair;
        pair.coefficients = {"left", "right"};
        pair.lower = Eigen::VectorXd::Constant(2, options.lower);
        pair.upper = Eigen::VectorXd::Constant(2, options.upper);
        pair.metrics = {{"left group", Direction::Maximize, Link::Identity},
                        {"right group", Direction::Maximize, Link::Identity}};
        int evaluations = 0;
        const BatchEvaluator pairEvaluate = [&](const Eigen::MatrixXd &ab) {
            Eigen::MatrixXd full(ab.rows(), n);
            for (Eigen::Index r = 0; r < ab.rows(); ++r)
                full.row(r) = (ab(r, 0) * u + ab(r, 1) * v).transpose();
            const Eigen::MatrixXd metrics = evaluate(full);
            result.samples.c = stackRows(result.samples.c, full);
            result.samples.y = stackRows(result.samples.y, metrics);
            evaluations += static_cast<int>(ab.rows());
            Eigen::MatrixXd groups(ab.rows(), 2);
            for (Eigen::Index r = 0; r < ab.rows(); ++r) {
                const Eigen::VectorXd objective =
                    metrics.row(r).transpose().cwiseProduct(direction);
                groups(r, 0) = objective.dot(wu);
                groups(r, 1) = objective.dot(wv);
            }
            return groups;
        };
        const MapResult map = plainMap(pair, options.samplesPerPair, pairEvaluate,
                                       options.seed + nodes.size(), options.surrogate);
        Preference choice;
        choice.rule = options.rule;
        choice.weights =
            (Eigen::VectorXd(2) << (wu.array() > 0).select(preference.array(), 0.0).sum(),
             (wv.array() > 0).select(preference.array(), 0.0).sum())
                .finished();
        const Selection selection = selectPoint(pair, map.front, choice);
        const double a = map.front.coefficients(selection.index, 0);
        const double b = map.front.coefficients(selection.index, 1);

        NestedStep step;
        step.left = alive[bi];
        step.right = alive[bj];
        step.a = a;
        step.b = b;
        step.similarity = best;
        step.composition = a * u + b * v;
        step.evaluations = evaluations;
        nodes.push_back(step.composition);
        result.steps.push_back(step);
        alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(bj));
        alive[bi] = static_cast<int>(nodes.size()) - 1;
    }
    result.coefficients = nodes[static_cast<std::size_t>(alive.front())];
    return result;
}

} // namespace mf::map
