// SPDX-License-Identifier: GPL-3.0-or-later
#include "map/trust.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mf::map {

namespace {

std::string percent(double share)
{
    std::ostringstream out;
    out.precision(share < 0.1 ? 1 : 0);
    out << std::fixed << 100 * share << "%";
    return out.str();
}

std::string number(double value)
{
    std::ostringstream out;
    out.precision(3);
    out << value;
    return out.str();
}

} // namespace

std::string Trust::summary() const
{
    if (!provisional)
        return {};
    std::string out = "provisional: ";
    for (std::size_t i = 0; i < reasons.size(); ++i)
        out += (i ? "; " : "") + reasons[i];
    if (moreEvaluations > 0)
        out += "; about " + std::to_string(moreEvaluations) + " more evaluation" +
               (moreEvaluations == 1 ? "" : "s") + " would fix it";
    return out;
}

int trustedSampleCount(int dimension, const TrustOptions &options)
{
    return static_cast<int>(
        std::ceil(options.samplesPerParameter * Surrogate::fullParameterCount(dimension)));
}

Trust assessTrust(const Problem &problem, const std::vector<Surrogate> &surrogates,
                  const Samples &samples, const TrustOptions &options)
{
    Trust trust;
    const int n = problem.dimension();
    const int needed = trustedSampleCount(n, options);
    int used = 0;
    for (int i = 0; i < samples.count(); ++i)
        used += samples.y.row(i).allFinite() ? 1 : 0;
    if (surrogates.empty()) {
        trust.provisional = true;
        trust.reasons.push_back("no surrogate is fitted yet");
        trust.moreEvaluations = std::max(0, needed - used);
        return trust;
    }
    if (used < needed) {
        trust.reasons.push_back(std::to_string(used) + " evaluations, the full quadratic in " +
                                std::to_string(n) + " coefficients needs " +
                                std::to_string(needed) + " to be checked");
        trust.moreEvaluations = needed - used;
    }
    bool looTooLarge = false;
    for (std::size_t m = 0; m < surrogates.size(); ++m) {
        const SurrogateDiagnostics &d = surrogates[m].diagnostics();
        const std::string &name = surrogates[m].metric();
        if (!std::isfinite(d.looRmse)) {
            trust.reasons.push_back(name + ": the " + modelName(d) +
                                    " interpolates its samples, its error is unknown");
            continue;
        }
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < samples.count(); ++i)
            if (samples.y.row(i).allFinite()) {
                lo = std::min(lo, samples.y(i, static_cast<Eigen::Index>(m)));
                hi = std::max(hi, samples.y(i, static_cast<Eigen::Index>(m)));
            }
        const double range = hi - lo;
        if (range > 0 && d.looRmse > options.maxRelativeLooError * range) {
            trust.reasons.push_back(name + ": leave-one-out error " + number(d.looRmse) + " is " +
                                    percent(d.looRmse / range) + " of its measured range (" +
                                    percent(options.maxRelativeLooError) + " or less needed)");
            looTooLarge = true;
        }
    }
    if (looTooLarge && trust.moreEvaluations == 0) // Bayesian rounds near the front
        trust.moreEvaluations = std::max(2, n);
    trust.provisional = !trust.reasons.empty();
    if (trust.provisional && trust.moreEvaluations == 0)
        trust.moreEvaluations = std::max(2, n);
    return trust;
}

} // namespace mf::map
