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
    // Block-wise: C coefficient columns per task (problem.dimension() = N x C, task by task);
    // a node is then a composition per column, and each pair's MAP has 2 C coefficients.
    const int n = problem.metricCount();
    const int columns = n > 0 ? problem.dimension() / n : 0;
    if (n == 0 || columns * n != problem.dimension())
        throw Error("nested MAP needs one metric per task and the same coefficient columns for "
                    "every task");
    const int d = n * columns;
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
    std::vector<Eigen::VectorXd> nodes; // over the D coefficients
    for (int t = 0; t < n; ++t) {
        Eigen::VectorXd node = Eigen::VectorXd::Zero(d);
        node.segment(t * columns, columns).setOnes();
        nodes.push_back(node);
    }
    // A node's weight on each task (its mean over the task's columns): the similarity's input.
    auto perTask = [&](const Eigen::VectorXd &node) {
        Eigen::VectorXd w(n);
        for (int t = 0; t < n; ++t)
            w[t] = node.segment(t * columns, columns).mean();
        return w;
    };
    std::vector<int> alive(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t)
        alive[static_cast<std::size_t>(t)] = t;

    NestedResult result;
    result.samples.c.resize(0, d);
    result.samples.y.resize(0, n);
    // Group metric of a node: preference-weighted mean of its tasks' metrics, in the
    // direction of maximization.
    auto groupWeights = [&](const Eigen::VectorXd &composition) {
        Eigen::VectorXd w(n);
        for (int t = 0; t < n; ++t)
            w[t] =
                composition.segment(t * columns, columns).cwiseAbs().sum() != 0 ? preference[t] : 0;
        const double sum = w.sum();
        return sum > 0 ? Eigen::VectorXd(w / sum) : Eigen::VectorXd(Eigen::VectorXd::Zero(n));
    };

    while (alive.size() > 1) {
        double best = -std::numeric_limits<double>::infinity();
        std::size_t bi = 0, bj = 1;
        for (std::size_t i = 0; i < alive.size(); ++i)
            for (std::size_t j = i + 1; j < alive.size(); ++j) {
                const Eigen::VectorXd u = perTask(nodes[static_cast<std::size_t>(alive[i])]);
                const Eigen::VectorXd v = perTask(nodes[static_cast<std::size_t>(alive[j])]);
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

        // The pair's 2-task problem: coefficients (a, b) per column, metrics = the two group
        // metrics.
        Problem pair;
        for (const char *side : {"left", "right"})
            for (int g = 0; g < columns; ++g)
                pair.coefficients.push_back(
                    columns == 1 ? std::string(side) : side + std::string("/") + std::to_string(g));
        pair.lower = Eigen::VectorXd::Constant(2 * columns, options.lower);
        pair.upper = Eigen::VectorXd::Constant(2 * columns, options.upper);
        // a_g u + b_g v in every column g.
        auto combine = [&](const Eigen::RowVectorXd &ab) {
            Eigen::VectorXd node(d);
            for (int t = 0; t < n; ++t)
                for (int g = 0; g < columns; ++g)
                    node[t * columns + g] =
                        ab[g] * u[t * columns + g] + ab[columns + g] * v[t * columns + g];
            return node;
        };
        pair.metrics = {{"left group", Direction::Maximize, Link::Identity},
                        {"right group", Direction::Maximize, Link::Identity}};
        int evaluations = 0;
        const BatchEvaluator pairEvaluate = [&](const Eigen::MatrixXd &ab) {
            Eigen::MatrixXd full(ab.rows(), d);
            for (Eigen::Index r = 0; r < ab.rows(); ++r)
                full.row(r) = combine(ab.row(r)).transpose();
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
        const int samples =
            columns == 1 ? options.samplesPerPair : 2 * Surrogate::fullParameterCount(2 * columns);
        const MapResult map =
            plainMap(pair, samples, pairEvaluate, options.seed + nodes.size(), options.surrogate);
        Preference choice;
        choice.rule = options.rule;
        choice.weights =
            (Eigen::VectorXd(2) << (wu.array() > 0).select(preference.array(), 0.0).sum(),
             (wv.array() > 0).select(preference.array(), 0.0).sum())
                .finished();
        const Selection selection = selectPoint(pair, map.front, choice);
        const Eigen::RowVectorXd ab = map.front.coefficients.row(selection.index);
        const double a = ab[0], b = ab[columns];

        NestedStep step;
        step.left = alive[bi];
        step.right = alive[bj];
        step.a = a;
        step.b = b;
        step.similarity = best;
        step.composition = combine(ab);
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
