// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-bench-map: the MAP engine's speed (fits, fronts, selection for N = 2, 4, 8) and
// its sample efficiency (plain vs Bayesian MAP on analytic problems against a brute-force
// truth front). Prints JSON lines; bench/run_map_benchmarks.sh turns them into tables.
//
// usage: mergefront-bench-map speed | efficiency
#include "map/design.h"
#include "map/explore.h"
#include "map/front.h"
#include "map/quality.h"
#include "map/selection.h"

#include "analytic.h" // tests/map: the analytic problems the tests use
#include "timing.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

using namespace mf::map;

namespace {

double milliseconds(const std::function<void()> &work, int repeat)
{
    return 1000 * mfbench::bestSeconds(work, repeat);
}

Problem makeProblem(int n)
{
    return mftest::unitProblem(n, n);
}

void speed()
{
    for (int n : {2, 4, 8}) {
        const Problem problem = makeProblem(n);
        const int p = (n + 1) * (n + 2) / 2;
        Samples samples;
        samples.c = initialDesign(problem, 2 * p, 7);
        samples.y = mftest::peaks(samples.c);
        std::vector<Surrogate> surrogates;
        const double fit = milliseconds([&] { surrogates = fitSurrogates(problem, samples); }, 5);
        Front front;
        const double frontTime =
            milliseconds([&] { front = computeFront(problem, surrogates); }, 3);
        Preference preference;
        preference.weights = Eigen::VectorXd::Ones(n);
        preference.rule = Rule::Chebyshev;
        Selection selection;
        int k = 0;
        const double select = milliseconds(
            [&] {
                preference.weights[0] = 1 + 0.01 * (k++ % 10);
                selection = selectPoint(problem, front, preference);
            },
            50);
        // A slider move: the continuous selection on the surrogates (what the GUI does).
        SurrogateSelection refined;
        const double selectSurrogates = milliseconds(
            [&] {
                preference.weights[0] = 1 + 0.01 * (k++ % 10);
                refined = selectOnSurrogates(problem, surrogates, front, preference);
            },
            20);
        std::string models;
        for (const auto &s : surrogates)
            models += (models.empty() ? "" : ",") + modelName(s.diagnostics());
        std::printf("{\"kind\": \"speed\", \"n\": %d, \"samples\": %d, \"fit_ms\": %.3f, "
                    "\"front_ms\": %.3f, "
                    "\"front_points\": %d, \"select_ms\": %.4f, \"select_surrogates_ms\": %.4f, "
                    "\"refit_plus_front_ms\": %.3f, \"models\": \"%s\"}\n",
                    n, 2 * p, fit, frontTime, front.size(), select, selectSurrogates,
                    fit + frontTime, models.c_str());
    }
}

/// The truth front: the non-dominated set of a fine grid of true evaluations.
Eigen::MatrixXd truthFront(const Problem &problem, int levels)
{
    const Eigen::MatrixXd grid = gridDesign(problem, levels);
    const Eigen::MatrixXd y = mftest::mergeLike(grid);
    const auto kept = nonDominated(y);
    Eigen::MatrixXd out(static_cast<Eigen::Index>(kept.size()), y.cols());
    for (std::size_t i = 0; i < kept.size(); ++i)
        out.row(static_cast<Eigen::Index>(i)) = y.row(kept[i]);
    return out;
}

void efficiency()
{
    for (int n : {2, 3}) {
        const Problem problem = makeProblem(n);
        const Eigen::MatrixXd truth = truthFront(problem, n == 2 ? 201 : 41);
        const int p = (n + 1) * (n + 2) / 2;
        for (std::uint64_t seed : {1, 2, 3}) {
            for (int budget = p + 1; budget <= 4 * p; budget += std::max(2, p / 2)) {
                // Both fronts re-evaluated for real ("MAP, real"), as the paper does.
                const MapResult plain = plainMap(problem, budget, mftest::mergeLike, seed);
                const auto plainQuality =
                    frontQuality(mftest::mergeLike(plain.front.coefficients), truth);
                BayesianOptions options;
                options.budget = budget;
                options.seed = seed;
                options.tolerance = 0; // spend the whole budget
                const MapResult bayes = bayesianMap(problem, Samples{}, mftest::mergeLike, options);
                const auto bayesQuality =
                    frontQuality(mftest::mergeLike(bayes.front.coefficients), truth);
                std::printf(
                    "{\"kind\": \"efficiency\", \"n\": %d, \"seed\": %llu, \"budget\": %d, "
                    "\"plain_evaluations\": %d, \"plain_igd\": %.5f, \"bayes_evaluations\": %d, "
                    "\"bayes_igd\": %.5f, \"grid_evaluations\": %lld}\n",
                    n, static_cast<unsigned long long>(seed), budget, plain.samples.count(),
                    plainQuality.igd, bayes.samples.count(), bayesQuality.igd,
                    static_cast<long long>(std::pow(n == 2 ? 201 : 41, n)));
            }
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    const std::string mode = argc > 1 ? argv[1] : "speed";
    if (mode == "speed")
        speed();
    else if (mode == "efficiency")
        efficiency();
    else {
        std::fprintf(stderr, "usage: mergefront-bench-map speed|efficiency\n");
        return 2;
    }
    return 0;
}
