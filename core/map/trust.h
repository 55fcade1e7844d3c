// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "map/problem.h"
#include "map/surrogate.h"

#include <string>
#include <vector>

namespace mf::map {

/// Whether a predicted front rests on surrogates good enough to act on (METHOD.md section 11).
struct Trust {
    bool provisional = false;
    std::vector<std::string> reasons; ///< one line each, naming the metric
    int moreEvaluations = 0;          ///< about how many more evaluations would fix it
    std::string summary() const;      ///< "provisional: ...; about K more evaluations" or ""
};

struct TrustOptions {
    double maxRelativeLooError = 0.10; ///< leave-one-out RMSE / the metric's measured range
    double samplesPerParameter = 2.0;  ///< the reference code's 2P for the full quadratic
};

/// A front is provisional while any metric's surrogate: has fewer samples than
/// samplesPerParameter × P of the full quadratic; has no leave-one-out error (it interpolates);
/// or has a leave-one-out error above maxRelativeLooError of its measured range. `samples`
/// is the count of evaluations that the fits used.
Trust assessTrust(const Problem &problem, const std::vector<Surrogate> &surrogates,
                  const Samples &samples, const TrustOptions &options = {});

/// Evaluations the surrogates need before a front can be trusted: 2P for the full quadratic.
int trustedSampleCount(int dimension, const TrustOptions &options = {});

} // namespace mf::map
