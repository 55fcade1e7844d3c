// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/selection.h"

#include "util/error.h"

#include <cmath>
#include <limits>

namespace mf::map {

const char *ruleName(Rule rule)
{
    switch (rule) {
    case Rule::WeightedSum:
        return "weighted";
    case Rule::Chebyshev:
        return "chebyshev";
    case Rule::ReferencePoint:
        return "reference";
    }
    return "?";
}

Rule parseRule(const std::string &name)
{
    for (Rule rule : {Rule::WeightedSum, Rule::Chebyshev, Rule::ReferencePoint})
        if (name == ruleName(rule))
            return rule;
    throw Error("unknown selection rule '" + name +
                "' (expected weighted, chebyshev or reference)");
}

Selection selectPoint(const Problem &problem, const Front &front, const Preference &preference)
{
    const int m = problem.metricCount();
    if (front.size() == 0)
        throw Error("the front is empty: nothing to select");
    if (preference.weights.size() != m)
        throw Error("expected " + std::to_string(m) + " weights (one per metric), got " +
                    std::to_string(preference.weights.size()));
    if (!preference.weights.allFinite() || preference.weights.minCoeff() < 0 ||
        preference.weights.sum() <= 0)
        throw Error("weights must be non-negative numbers, not all zero");
    if (preference.rule == Rule::ReferencePoint && preference.reference.size() != m)
        throw Error("the reference rule needs a reference value per metric");
    const Eigen::VectorXd w = preference.weights / preference.weights.sum();

    const Eigen::MatrixXd objectives = toObjectives(problem, front.metrics);
    const Eigen::VectorXd ideal = objectives.colwise().maxCoeff();
    const Eigen::VectorXd nadir = objectives.colwise().minCoeff();
    const Eigen::VectorXd range =
        (ideal - nadir).unaryExpr([](double r) { return r > 1e-12 ? r : 1.0; });
    const Eigen::VectorXd reference = preference.rule == Rule::ReferencePoint
                                          ? toObjectives(problem, preference.reference)
                                          : ideal;

    // Floors: total normalized shortfall of a point (0 when it meets every floor).
    auto shortfall = [&](Eigen::Index i) {
        double total = 0;
        if (preference.floors.size() != m)
            return total;
        for (int j = 0; j < m; ++j) {
            const double floor = preference.floors[j];
            if (std::isnan(floor))
                continue;
            const double minimum =
                problem.metrics[static_cast<std::size_t>(j)].direction == Direction::Minimize
                    ? -floor
                    : floor;
            total += std::max(0.0, minimum - objectives(i, j)) / range[j];
        }
        return total;
    };
    bool anyFeasible = false;
    for (Eigen::Index i = 0; i < objectives.rows() && !anyFeasible; ++i)
        anyFeasible = shortfall(i) == 0;

    Selection selection;
    selection.feasible = anyFeasible;
    double best = std::numeric_limits<double>::infinity();
    for (Eigen::Index i = 0; i < objectives.rows(); ++i) {
        double score = 0;
        if (!anyFeasible) {
            score = shortfall(i); // closest to meeting the floors
        } else if (shortfall(i) > 0) {
            continue;
        } else if (preference.rule == Rule::WeightedSum) {
            score = -((objectives.row(i).transpose() - nadir).cwiseQuotient(range)).dot(w);
        } else {
            double worst = -std::numeric_limits<double>::infinity(), sum = 0;
            for (int j = 0; j < m; ++j) {
                const double term = w[j] * (reference[j] - objectives(i, j)) / range[j];
                worst = std::max(worst, term);
                sum += term;
            }
            score = worst + 1e-6 * sum; // augmented: never a weakly dominated point
        }
        if (score < best) {
            best = score;
            selection.index = static_cast<int>(i);
        }
    }
    selection.score = best;
    if (!anyFeasible)
        selection.note = "no front point meets every floor; chose the one closest to them";
    return selection;
}

} // namespace mf::map
