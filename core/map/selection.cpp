// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/selection.h"

#include "util/error.h"

#include <algorithm>
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

namespace {

/// The rule's value of objective vectors, normalized as selectPoint does (lower is better).
class Scorer {
public:
    Scorer(const Problem &problem, const Front &front, const Preference &preference)
        : m_problem(problem)
        , m_preference(preference)
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
        m_w = preference.weights / preference.weights.sum();
        const Eigen::MatrixXd objectives = toObjectives(problem, front.metrics);
        m_ideal = objectives.colwise().maxCoeff();
        m_nadir = objectives.colwise().minCoeff();
        m_range = (m_ideal - m_nadir).unaryExpr([](double r) { return r > 1e-12 ? r : 1.0; });
        m_reference = preference.rule == Rule::ReferencePoint
                          ? toObjectives(problem, preference.reference)
                          : m_ideal;
    }

    /// Total normalized shortfall below the floors (0 when every floor is met).
    double shortfall(const Eigen::VectorXd &o) const
    {
        double total = 0;
        const Eigen::Index m = o.size();
        if (m_preference.floors.size() != m)
            return total;
        for (Eigen::Index j = 0; j < m; ++j) {
            const double floor = m_preference.floors[j];
            if (std::isnan(floor))
                continue;
            const double minimum =
                m_problem.metrics[static_cast<std::size_t>(j)].direction == Direction::Minimize
                    ? -floor
                    : floor;
            total += std::max(0.0, minimum - o[j]) / m_range[j];
        }
        return total;
    }

    double rule(const Eigen::VectorXd &o) const
    {
        if (m_preference.rule == Rule::WeightedSum)
            return -((o - m_nadir).cwiseQuotient(m_range)).dot(m_w);
        double worst = -std::numeric_limits<double>::infinity(), sum = 0;
        for (Eigen::Index j = 0; j < o.size(); ++j) {
            const double term = m_w[j] * (m_reference[j] - o[j]) / m_range[j];
            worst = std::max(worst, term);
            sum += term;
        }
        return worst + 1e-6 * sum; // augmented: never a weakly dominated point
    }

    /// With a feasible target, points that miss a floor are out (infinite); without one, the
    /// smallest shortfall wins. `floorSide`: the objectives the floors are checked on (the
    /// means `o`, or the intervals' pessimistic ends).
    double score(const Eigen::VectorXd &o, const Eigen::VectorXd &floorSide, bool feasible) const
    {
        const double missing = shortfall(floorSide);
        if (!feasible)
            return missing;
        return missing > 0 ? std::numeric_limits<double>::infinity() : rule(o);
    }

private:
    const Problem &m_problem;
    const Preference &m_preference;
    Eigen::VectorXd m_w, m_ideal, m_nadir, m_range, m_reference;
};

/// The metrics the floors are checked on: the means, or each interval's pessimistic end (the
/// lower bound of a maximized metric, the upper of a minimized one; the mean where the bound
/// is not estimable). Rows are points, columns metrics.
Eigen::MatrixXd floorSide(const Problem &problem, const Preference &preference,
                          const Eigen::MatrixXd &mean, const Eigen::MatrixXd &lower,
                          const Eigen::MatrixXd &upper)
{
    if (!preference.floorsOnPessimisticEnd)
        return mean;
    Eigen::MatrixXd out = mean;
    for (Eigen::Index j = 0; j < mean.cols(); ++j) {
        const bool minimize =
            problem.metrics[static_cast<std::size_t>(j)].direction == Direction::Minimize;
        for (Eigen::Index i = 0; i < mean.rows(); ++i) {
            const double bound = minimize ? upper(i, j) : lower(i, j);
            if (std::isfinite(bound))
                out(i, j) = bound;
        }
    }
    return out;
}

} // namespace

Selection selectPoint(const Problem &problem, const Front &front, const Preference &preference)
{
    const Scorer scorer(problem, front, preference);
    const Eigen::MatrixXd objectives = toObjectives(problem, front.metrics);
    const bool bounds =
        front.lower.rows() == front.metrics.rows() && front.lower.cols() == front.metrics.cols() &&
        front.upper.rows() == front.metrics.rows() && front.upper.cols() == front.metrics.cols();
    const Eigen::MatrixXd floorObjectives =
        bounds ? toObjectives(problem, floorSide(problem, preference, front.metrics, front.lower,
                                                 front.upper))
               : objectives;
    bool anyFeasible = false;
    for (Eigen::Index i = 0; i < objectives.rows() && !anyFeasible; ++i)
        anyFeasible = scorer.shortfall(floorObjectives.row(i).transpose()) == 0;

    Selection selection;
    selection.feasible = anyFeasible;
    double best = std::numeric_limits<double>::infinity();
    for (Eigen::Index i = 0; i < objectives.rows(); ++i) {
        const double score = scorer.score(objectives.row(i).transpose(),
                                          floorObjectives.row(i).transpose(), anyFeasible);
        if (score < best) {
            best = score;
            selection.index = static_cast<int>(i);
        }
    }
    selection.score = best;
    if (!anyFeasible)
        selection.note = preference.floorsOnPessimisticEnd
                             ? "no front point meets every floor with its interval's pessimistic "
                               "end; chose the one closest to them"
                             : "no front point meets every floor; chose the one closest to them";
    return selection;
}

SurrogateSelection selectOnSurrogates(const Problem &problem,
                                      const std::vector<Surrogate> &surrogates, const Front &front,
                                      const Preference &preference, const Eigen::VectorXd &lower,
                                      const Eigen::VectorXd &upper)
{
    const int n = problem.dimension(), m = problem.metricCount();
    if (static_cast<int>(surrogates.size()) != m)
        throw Error("one surrogate per metric expected");
    const Scorer scorer(problem, front, preference);
    SurrogateSelection out;
    out.selection = selectPoint(problem, front, preference);
    const Eigen::VectorXd lo = lower.size() == n ? lower : problem.lower;
    const Eigen::VectorXd hi = upper.size() == n ? upper : problem.upper;
    const Eigen::VectorXd width = (hi - lo).cwiseMax(1e-12);
    const bool feasible = out.selection.feasible;
    Eigen::VectorXd x = front.coefficients.row(out.selection.index).transpose();
    x = x.cwiseMax(lo).cwiseMin(hi);
    const MetricPredictor predict(surrogates);
    // The rule's value of each row: on the means, floors on the means or on the intervals'
    // pessimistic ends (then each trial's interval is predicted too).
    const bool pessimistic = preference.floorsOnPessimisticEnd && preference.floors.size() == m &&
                             !preference.floors.array().isNaN().all();
    auto scores = [&](const Eigen::MatrixXd &rows) {
        out.evaluations += static_cast<int>(rows.rows());
        const Eigen::MatrixXd mean = predict(rows);
        const Eigen::MatrixXd o = toObjectives(problem, mean);
        Eigen::MatrixXd floorObjectives = o;
        if (pessimistic) {
            Eigen::MatrixXd low(rows.rows(), m), high(rows.rows(), m);
            for (int j = 0; j < m; ++j) {
                const Prediction p = surrogates[static_cast<std::size_t>(j)].predictWithUncertainty(
                    rows, front.level);
                low.col(j) = p.lower;
                high.col(j) = p.upper;
            }
            floorObjectives =
                toObjectives(problem, floorSide(problem, preference, mean, low, high));
        }
        Eigen::VectorXd values(rows.rows());
        for (Eigen::Index t = 0; t < rows.rows(); ++t)
            values[t] =
                scorer.score(o.row(t).transpose(), floorObjectives.row(t).transpose(), feasible);
        return values;
    };
    double best = scores(x.transpose())[0];
    x = patternSearch(x, best, lo, hi, width, 0.02, 1e-4, 1e-15, scores);
    out.coefficients = x;
    out.selection.score = best;
    out.metrics.resize(m);
    out.stddev.resize(m);
    out.lower.resize(m);
    out.upper.resize(m);
    const Eigen::MatrixXd row = x.transpose();
    for (int j = 0; j < m; ++j) {
        const Prediction p =
            surrogates[static_cast<std::size_t>(j)].predictWithUncertainty(row, front.level);
        out.metrics[j] = p.mean[0];
        out.stddev[j] = p.std[0];
        out.lower[j] = p.lower[0];
        out.upper[j] = p.upper[0];
    }
    return out;
}

} // namespace mf::map
