// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"
#include "map/surrogate.h"

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <vector>

namespace mf::map {

/// Indices of the rows of `objectives` (all maximized) that no other row dominates.
/// Exact duplicates keep the first. Sorted by decreasing first objective.
std::vector<int> nonDominated(const Eigen::MatrixXd &objectives);

struct FrontOptions {
    Eigen::VectorXd lower, upper; ///< trust region; empty: the problem's box
    int candidates = 0;           ///< quasi-random candidates; 0: chosen by N and M
    int refineStarts = 0;         ///< scalarizations refined locally; 0: chosen by M
    int maxPoints = 2000;         ///< the front is thinned evenly to at most this many points
    std::uint64_t seed = 1;
};

/// The predicted Pareto front on the surrogates (METHOD.md section 5).
struct Front {
    Eigen::MatrixXd coefficients; ///< k x N, inside the trust region
    Eigen::MatrixXd metrics;      ///< k x M predicted metrics (metric space, original directions)
    Eigen::MatrixXd stddev;       ///< k x M predictive standard deviations, model error included
    Eigen::MatrixXd lower, upper; ///< k x M central intervals at `level` (NaN: not estimable)
    double level = 0.9;
    double spacing = 0; ///< Schott's spacing, objectives normalized to the front's range
    int evaluated = 0;  ///< surrogate evaluations spent
    /// k x M, 1 where the point's predicted metric is better than every measured value of that
    /// metric: the surrogate extrapolates beyond what was measured (markExtrapolation; empty
    /// until marked).
    Eigen::MatrixXi extrapolated;
    int size() const { return static_cast<int>(coefficients.rows()); }
    /// Whether any metric of point i is extrapolated.
    bool isExtrapolated(int i) const
    {
        return extrapolated.rows() > i && (extrapolated.row(i).array() != 0).any();
    }
};

/// Marks each front point's metrics that are better (in their direction) than every measured
/// value of that metric in `measured` (rows with a missing value skip that metric): an end of
/// the front predicted beyond everything measured (METHOD.md section 11). A metric nothing
/// measured marks nothing.
void markExtrapolation(const Problem &problem, const Samples &measured, Front &front);

/// Dense Latin-hypercube candidates plus the box's corners, non-dominated filtering, then
/// local refinement of achievement-scalarizing problems for evenly spread preference
/// directions (pattern search inside the trust region), then filtering again.
Front computeFront(const Problem &problem, const std::vector<Surrogate> &surrogates,
                   const FrontOptions &options = {});

/// Pattern search inside [lower, upper]: all 2N neighbours of x (steps of `step` × `width`
/// per coordinate, clamped to the box) scored at once by `scores` (rows in, one value per row,
/// lower is better); x moves to the best that beats `best` by more than `margin`, else the step
/// halves, until it is not above `finalStep`. Returns x; `best` ends as its value.
Eigen::VectorXd
patternSearch(Eigen::VectorXd x, double &best, const Eigen::VectorXd &lower,
              const Eigen::VectorXd &upper, const Eigen::VectorXd &width, double step,
              double finalStep, double margin,
              const std::function<Eigen::VectorXd(const Eigen::MatrixXd &)> &scores);

/// patternSearch from each row of x at once, each search on its own (the same steps and
/// result as one at a time), every round's neighbours of all searches still running scored in
/// one call: `scores` gets the rows and, per row, the search (row of x) it belongs to. `best`:
/// one value per row of x, the start's, updated.
Eigen::MatrixXd patternSearches(
    Eigen::MatrixXd x, Eigen::VectorXd &best, const Eigen::VectorXd &lower,
    const Eigen::VectorXd &upper, const Eigen::VectorXd &width, double step, double finalStep,
    double margin,
    const std::function<Eigen::VectorXd(const Eigen::MatrixXd &, const std::vector<Eigen::Index> &)>
        &scores);

/// Predicted metrics (rows) of coefficient vectors (rows) on the surrogates.
Eigen::MatrixXd predictMetrics(const std::vector<Surrogate> &surrogates,
                               const Eigen::MatrixXd &coefficients);

/// predictMetrics with what the surrogates share worked out once (one feature matrix for all
/// metrics; the distances to the samples once for the residual processes fitted on the same
/// samples, the kernel once for those that also share a length scale), for the many calls of
/// a front or a selection. Holds a reference: the surrogates must outlive it.
class MetricPredictor {
public:
    explicit MetricPredictor(const std::vector<Surrogate> &surrogates);
    Eigen::MatrixXd operator()(const Eigen::MatrixXd &coefficients) const;

private:
    Eigen::MatrixXd predictBlock(const Eigen::MatrixXd &coefficients) const;
    struct Group {
        std::size_t first = 0;     ///< its first surrogate, whose kernel serves them all
        bool newDistances = false; ///< samples other than the previous group's
        std::vector<std::size_t> members;
        Eigen::MatrixXd weights; ///< their residual weights side by side
    };
    const std::vector<Surrogate> &m_surrogates;
    bool m_shared = false;   ///< one feature matrix for every metric
    Eigen::MatrixXd m_trend; ///< the trends' weights side by side
    std::vector<Group> m_groups;
};

/// Schott's spacing of a front (objective rows), normalized by its range per objective.
double spacing(const Eigen::MatrixXd &objectives);

} // namespace mf::map
