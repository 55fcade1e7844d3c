// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"

#include <Eigen/Core>

#include <cstdint>

namespace mf::map {

/// The N one-hot vectors (each task alone at its upper bound, the others at their lower bound).
Eigen::MatrixXd oneHotDesign(const Problem &problem);

/// `count` points on the diagonal c_1 = ... = c_N, evenly inside the box (the midpoint for 1).
Eigen::MatrixXd diagonalDesign(const Problem &problem, int count);

/// A Latin hypercube of `count` points in the box: the best of several seeded random
/// hypercubes by their smallest pairwise distance (maximin). Reproducible in `seed`.
Eigen::MatrixXd latinHypercube(const Problem &problem, int count, std::uint64_t seed);

/// A k-level grid over the box: k^N points, levels evenly spaced including both bounds.
/// Throws mf::Error when k^N exceeds `limit`.
Eigen::MatrixXd gridDesign(const Problem &problem, int levels, std::int64_t limit = 10'000'000);

/// MAP's initial design (METHOD.md section 3): the one-hot vectors, the diagonal midpoint,
/// then a Latin hypercube up to `budget` points (truncated when the budget is smaller).
Eigen::MatrixXd initialDesign(const Problem &problem, int budget, std::uint64_t seed);

/// Stacks row blocks.
Eigen::MatrixXd stackRows(const Eigen::MatrixXd &top, const Eigen::MatrixXd &bottom);

} // namespace mf::map
