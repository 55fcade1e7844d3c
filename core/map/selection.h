// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/front.h"
#include "map/problem.h"

#include <Eigen/Core>

#include <string>

namespace mf::map {

enum class Rule {
    WeightedSum,    ///< maximize Σ w_m ô_m; misses points on non-convex parts of a front
    Chebyshev,      ///< minimize max_m w_m (ideal_m - o_m) / range_m: reaches every Pareto point
    ReferencePoint, ///< achievement scalarizing function against a reference ("about these scores")
};

const char *ruleName(Rule rule); ///< "weighted", "chebyshev", "reference"
Rule parseRule(const std::string &name);

/// A user's preference (METHOD.md section 6). Metric values are in metric space, in the
/// metrics' own directions (e.g. a loss floor is an upper bound).
struct Preference {
    Eigen::VectorXd weights; ///< one per metric, >= 0, not all 0; normalized to sum 1
    Rule rule = Rule::Chebyshev;
    Eigen::VectorXd reference; ///< ReferencePoint: the aspired metrics
    Eigen::VectorXd floors;    ///< per metric; NaN = none ("task A at least 0.90")
    /// What a floor (or a minimized metric's ceiling) holds for: the predicted mean, or the
    /// pessimistic end of its interval (a maximized metric's lower bound, a minimized one's
    /// upper), so that the merge meets it with the interval's confidence. Where a point's
    /// interval is not estimable, its mean stands in.
    bool floorsOnPessimisticEnd = false;
};

struct Selection {
    int index = -1;       ///< row of the front
    bool feasible = true; ///< false when no front point meets every floor
    double score = 0;     ///< the rule's value at the chosen point (lower is better)
    std::string note;
};

/// Picks one front point for a preference; deterministic (ties go to the lowest index).
/// Objectives are normalized by the front's own range. Throws mf::Error on bad weights.
Selection selectPoint(const Problem &problem, const Front &front, const Preference &preference);

/// A merge chosen on the surrogates themselves, with its predictions.
struct SurrogateSelection {
    Selection selection;                           ///< index: the front point it started from
    Eigen::VectorXd coefficients;                  ///< N
    Eigen::VectorXd metrics, stddev, lower, upper; ///< M each (the front's interval level)
    int evaluations = 0;                           ///< surrogate predictions spent
};

/// The point a preference picks, optimized continuously: the rule's scalarization (the same
/// as selectPoint's, normalized by the front's ideal and range; floors as constraints) is
/// minimized by pattern search inside [lower, upper] (empty: the problem's box), warm-started
/// from the front point selectPoint picks; never worse than that point. Deterministic.
SurrogateSelection selectOnSurrogates(const Problem &problem,
                                      const std::vector<Surrogate> &surrogates, const Front &front,
                                      const Preference &preference,
                                      const Eigen::VectorXd &lower = {},
                                      const Eigen::VectorXd &upper = {});

} // namespace mf::map
