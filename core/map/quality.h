// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <Eigen/Core>

namespace mf::map {

/// Front quality against a reference ("truth") front (METHOD.md section 9). Both are
/// objective matrices (rows = points), every objective maximized. Each objective is first
/// normalized to [0, 1] over the truth's range (best = 1). GD, IGD and IGD+ as pymoo
/// defines them (mean Euclidean distances, no power).
struct FrontQuality {
    double gd = 0;               ///< mean over F of the distance to the nearest truth point
    double igd = 0;              ///< mean over T of the distance to the nearest front point
    double igdPlus = 0;          ///< IGD counting only where the front point is worse
    double hypervolume = 0;      ///< of F, reference point -0.1 in every objective
    double hypervolumeTruth = 0; ///< of T, same reference
    double winRate = 0;          ///< share of truth points weakly dominated by some front point
};

FrontQuality frontQuality(const Eigen::MatrixXd &front, const Eigen::MatrixXd &truth);

/// Exact hypervolume dominated by `points` (maximized) above `reference`: sweeps in 2 and 3
/// objectives, the WFG algorithm (While, Bradstreet, Barone 2012) above. Points not
/// strictly better than the reference in every objective add nothing.
double hypervolume(const Eigen::MatrixXd &points, const Eigen::VectorXd &reference);

/// What `point` adds to the hypervolume of the non-dominated set `base` above `reference`:
/// the box [reference, point] less the hypervolume of base's points limited to that box
/// (min(s, point)), a smaller problem than the hypervolume of base plus the point. 0 when a
/// point of base dominates it or it is not above the reference.
double hypervolumeImprovement(const Eigen::MatrixXd &base, const Eigen::RowVectorXd &point,
                              const Eigen::VectorXd &reference);

} // namespace mf::map
