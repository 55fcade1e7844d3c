// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/front.h"
#include "map/problem.h"
#include "map/surrogate.h"

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mf::map {

/// Evaluates a batch of merges: rows of coefficient vectors in, rows of M metrics out. A row
/// of NaN marks a failed evaluation (kept out of the fits). The evaluation issue plugs real
/// models in here; tests plug analytic functions.
using BatchEvaluator = std::function<Eigen::MatrixXd(const Eigen::MatrixXd &coefficients)>;

/// Fits one surrogate per metric on the rows of `samples` that evaluated (finite metrics).
std::vector<Surrogate> fitSurrogates(const Problem &problem, const Samples &samples,
                                     const SurrogateOptions &options = {});

/// Plain MAP: the initial design up to `budget`, evaluated, fitted, front computed.
struct MapResult {
    Samples samples; ///< every evaluation, in order
    std::vector<Surrogate> surrogates;
    Front front;
    int rounds = 0;
    std::string stopReason;       ///< "budget", "converged", "cancelled"
    std::vector<double> movement; ///< front movement (IGD, normalized) per round
};

/// Where Bayesian MAP samples next.
enum class Acquisition {
    Uncertainty, ///< the largest summed predictive standard deviation on and near the front
    Ehvi,        ///< the largest expected hypervolume improvement over the measured front
};
const char *acquisitionName(Acquisition acquisition);  ///< "uncertainty", "ehvi"
Acquisition parseAcquisition(const std::string &name); ///< throws mf::Error

struct BayesianOptions {
    Acquisition acquisition = Acquisition::Ehvi;
    int budget = 0;           ///< evaluations in all; 0: 3P
    int initial = 0;          ///< initial design size; 0: P + 1 (at least the one-hots + diagonal)
    int batch = 0;            ///< evaluations per round; 0: max(2, N)
    double tolerance = 0.003; ///< stop when the predicted front moves less (IGD, normalized) ...
    int patience = 2;         ///< ... this many rounds in a row
    std::uint64_t seed = 1;
    SurrogateOptions surrogate;
    FrontOptions front;
    /// Called after each round; return false to stop (the result so far is returned).
    std::function<bool(const MapResult &)> onRound;
};

MapResult plainMap(const Problem &problem, int budget, const BatchEvaluator &evaluate,
                   std::uint64_t seed = 1, const SurrogateOptions &surrogate = {},
                   const FrontOptions &front = {});

/// Bayesian MAP (METHOD.md section 7), any N: each round refits, then evaluates a batch of
/// points on or near the predicted front: by default those of the largest expected
/// hypervolume improvement over the measured non-dominated set (Monte Carlo over the
/// predictive distributions, common random numbers, the batch filled greedily with each chosen
/// point believed at its mean), or where the surrogates are least certain (summed predictive
/// standard deviation, normalized per metric); spread by a max-min distance rule against each
/// other and every sample so far. `initial` samples (possibly empty) are kept:
/// a half-done run resumes.
MapResult bayesianMap(const Problem &problem, const Samples &initial,
                      const BatchEvaluator &evaluate, const BayesianOptions &options = {});

/// How far a front moved: IGD of `current` against `previous` (objectives, normalized by
/// `previous`'s range).
double frontMovement(const Eigen::MatrixXd &previousObjectives,
                     const Eigen::MatrixXd &currentObjectives);

} // namespace mf::map
