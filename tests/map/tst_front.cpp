// SPDX-License-Identifier: GPL-3.0-or-later
// Fronts on the surrogates against analytic fronts, and preference selection against the
// analytic optimum, including a non-convex front where the weighted sum misses points.
#include "testing.h"

#include "analytic.h"
#include "fixtures.h"

#include "map/design.h"
#include "map/explore.h"
#include "map/front.h"
#include "map/quality.h"
#include "map/selection.h"
#include "map/trust.h"

#include <cmath>
#include <limits>

using namespace mf::map;

namespace {

/// The analytic front of twoPeaks: the images of the segment between the optima.
Eigen::MatrixXd twoPeaksTruth(int points)
{
    Eigen::MatrixXd c(points, 2);
    for (int k = 0; k < points; ++k) {
        const double t = static_cast<double>(k) / (points - 1);
        c.row(k) << 0.8 - 0.6 * t, 0.2 + 0.6 * t;
    }
    return mftest::twoPeaks(c);
}

std::vector<Surrogate> fitTwoPeaks(const Problem &problem)
{
    Samples samples;
    samples.c = initialDesign(problem, 12, 3);
    samples.y = mftest::twoPeaks(samples.c);
    return fitSurrogates(problem, samples);
}

/// A one-coefficient problem whose front (c, (1 - c)²) is non-convex for maximization.
Problem nonConvexProblem(std::vector<Surrogate> &surrogates)
{
    Problem problem = mftest::unitProblem(1, 2, Link::Identity);
    Samples samples;
    samples.c = Eigen::VectorXd::LinSpaced(7, 0, 1);
    samples.y.resize(7, 2);
    for (int i = 0; i < 7; ++i)
        samples.y.row(i) << samples.c(i, 0), std::pow(1 - samples.c(i, 0), 2);
    surrogates = fitSurrogates(problem, samples);
    return problem;
}

} // namespace

class TestFront : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void filtersDominatedPoints();
    void matchesTheAnalyticFront();
    void staysInsideTheTrustRegion();
    void weightedSumMissesNonConvexPoints();
    void chebyshevFindsTheAnalyticOptimum();
    void honoursFloorsAndReferencePoints();
    void rejectsBadPreferences();
    void selectsOnTheSurrogatesSmoothly();
    void selectionOnSurrogatesHonoursFloors();
    void floorsOnThePessimisticEnd();
    void marksProvisionalFronts();
    void frontCarriesIntervals();
    void marksExtrapolatedEnds();
    void sharedPredictionMatchesEachSurrogate();
    void patternSearchesMatchOneAtATime();
};

void TestFront::filtersDominatedPoints()
{
    Eigen::MatrixXd o(6, 2);
    o << 1, 0, 0, 1, 0.5, 0.5, 0.4, 0.4, 0.5, 0.5, 1, -1;
    // (0.4,0.4) is dominated by (0.5,0.5); the duplicate keeps its first; (1,-1) by (1,0).
    QCOMPARE(nonDominated(o), (std::vector<int>{0, 2, 1}));
}

void TestFront::matchesTheAnalyticFront()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const auto surrogates = fitTwoPeaks(problem);
    const Front front = computeFront(problem, surrogates);
    QVERIFY(front.size() > 50);
    // Every point non-dominated.
    for (int i = 0; i < front.size(); ++i)
        for (int j = 0; j < front.size(); ++j)
            QVERIFY(!(front.metrics.row(j).array() >= front.metrics.row(i).array()).all() ||
                    i == j || front.metrics.row(j) == front.metrics.row(i));
    const auto quality = frontQuality(front.metrics, twoPeaksTruth(2001));
    QVERIFY2(quality.igd < 0.01, std::to_string(quality.igd).c_str());
    QVERIFY2(quality.gd < 0.01, std::to_string(quality.gd).c_str());
    // The Pareto set is the segment between the optima.
    for (int i = 0; i < front.size(); ++i) {
        const double distance =
            std::fabs(front.coefficients(i, 0) + front.coefficients(i, 1) - 1) / std::sqrt(2.0);
        QVERIFY2(distance < 0.02, std::to_string(distance).c_str());
    }
    QVERIFY(front.spacing >= 0 && front.spacing < 0.02);
    QVERIFY((front.stddev.array() >= 0).all());
}

void TestFront::staysInsideTheTrustRegion()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const auto surrogates = fitTwoPeaks(problem);
    FrontOptions options;
    options.lower = Eigen::Vector2d(0.3, 0.3);
    options.upper = Eigen::Vector2d(0.5, 0.6);
    const Front front = computeFront(problem, surrogates, options);
    QVERIFY(front.size() > 0);
    QVERIFY((front.coefficients.col(0).array() >= 0.3).all() &&
            (front.coefficients.col(0).array() <= 0.5).all());
    QVERIFY((front.coefficients.col(1).array() >= 0.3).all() &&
            (front.coefficients.col(1).array() <= 0.6).all());
}

void TestFront::weightedSumMissesNonConvexPoints()
{
    std::vector<Surrogate> surrogates;
    const Problem problem = nonConvexProblem(surrogates);
    const Front front = computeFront(problem, surrogates);
    QVERIFY(front.size() > 20);
    for (double w : {0.3, 0.5, 0.7}) {
        Preference preference;
        preference.rule = Rule::WeightedSum;
        preference.weights = Eigen::Vector2d(w, 1 - w);
        const double c = front.coefficients(selectPoint(problem, front, preference).index, 0);
        QVERIFY2(c < 0.01 || c > 0.99, std::to_string(c).c_str()); // only the ends
    }
}

void TestFront::chebyshevFindsTheAnalyticOptimum()
{
    // Non-convex front, equal weights: max(1 - c, 1 - (1 - c)²) is smallest where
    // c = (1 - c)², c = (3 - √5) / 2.
    std::vector<Surrogate> surrogates;
    const Problem problem = nonConvexProblem(surrogates);
    const Front front = computeFront(problem, surrogates);
    Preference preference;
    preference.rule = Rule::Chebyshev;
    preference.weights = Eigen::Vector2d(0.5, 0.5);
    const Selection selection = selectPoint(problem, front, preference);
    const double c = front.coefficients(selection.index, 0);
    QVERIFY2(std::fabs(c - (3 - std::sqrt(5.0)) / 2) < 0.01, std::to_string(c).c_str());
    QCOMPARE(selectPoint(problem, front, preference).index, selection.index); // deterministic

    // Two peaks: brute force of the Chebyshev problem along the analytic Pareto set.
    const Problem peaks = mftest::unitProblem(2, 2);
    const Front peaksFront = computeFront(peaks, fitTwoPeaks(peaks));
    const Eigen::MatrixXd truth = twoPeaksTruth(20001);
    const Eigen::VectorXd ideal = truth.colwise().maxCoeff(), nadir = truth.colwise().minCoeff();
    for (double w : {0.2, 0.5, 0.8}) {
        preference.weights = Eigen::Vector2d(w, 1 - w);
        Eigen::Index best = 0;
        double bestValue = 1e300;
        for (Eigen::Index k = 0; k < truth.rows(); ++k) {
            const double value =
                std::max(w * (ideal[0] - truth(k, 0)) / (ideal[0] - nadir[0]),
                         (1 - w) * (ideal[1] - truth(k, 1)) / (ideal[1] - nadir[1]));
            if (value < bestValue) {
                bestValue = value;
                best = k;
            }
        }
        const Selection chosen = selectPoint(peaks, peaksFront, preference);
        const double error = (peaksFront.metrics.row(chosen.index) - truth.row(best)).norm();
        QVERIFY2(error < 0.01, (std::to_string(w) + ": " + std::to_string(error)).c_str());
    }
}

void TestFront::honoursFloorsAndReferencePoints()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const Front front = computeFront(problem, fitTwoPeaks(problem));
    Preference preference;
    preference.weights = Eigen::Vector2d(0, 1);    // all for metric 1 ...
    preference.floors = Eigen::Vector2d(0.8, NAN); // ... but metric 0 at least 0.8
    Selection selection = selectPoint(problem, front, preference);
    QVERIFY(selection.feasible);
    QVERIFY(front.metrics(selection.index, 0) >= 0.8);
    // The best metric 1 under that floor: no feasible point does better on metric 1.
    for (int i = 0; i < front.size(); ++i)
        if (front.metrics(i, 0) >= 0.8)
            QVERIFY(front.metrics(i, 1) <= front.metrics(selection.index, 1) + 1e-12);

    preference.floors = Eigen::Vector2d(0.99, 0.99);
    selection = selectPoint(problem, front, preference);
    QVERIFY(!selection.feasible);
    QVERIFY(!selection.note.empty());

    preference.floors.resize(0);
    preference.rule = Rule::ReferencePoint;
    preference.weights = Eigen::Vector2d(1, 1);
    preference.reference = Eigen::Vector2d(0.7, 0.7);
    selection = selectPoint(problem, front, preference);
    QVERIFY2(std::fabs(front.metrics(selection.index, 0) - front.metrics(selection.index, 1)) <
                 0.01,
             "a symmetric reference picks the symmetric point");
}

void TestFront::selectsOnTheSurrogatesSmoothly()
{
    // Two peaks, a front thinned to 8 points: selectPoint can only hop between them; the
    // continuous selection lands on the analytic Chebyshev optimum for every weight and moves
    // in small steps as the weight moves.
    const Problem peaks = mftest::unitProblem(2, 2);
    const auto surrogates = fitTwoPeaks(peaks);
    FrontOptions sparse;
    sparse.maxPoints = 8;
    const Front front = computeFront(peaks, surrogates, sparse);
    const Eigen::VectorXd ideal = toObjectives(peaks, front.metrics).colwise().maxCoeff();
    const Eigen::VectorXd nadir = toObjectives(peaks, front.metrics).colwise().minCoeff();
    Preference preference;
    Eigen::VectorXd previous;
    double largestStep = 0, largestHop = 0;
    Eigen::Index previousIndex = -1;
    for (int k = 0; k <= 100; ++k) {
        const double w = 0.3 + 0.4 * k / 100.0;
        preference.weights = Eigen::Vector2d(w, 1 - w);
        const SurrogateSelection chosen = selectOnSurrogates(peaks, surrogates, front, preference);
        QCOMPARE(chosen.coefficients.size(), 2);
        // Never worse than the front point it started from.
        const Eigen::VectorXd start = toObjectives(
            peaks, Eigen::VectorXd(front.metrics.row(chosen.selection.index).transpose()));
        const Eigen::VectorXd got = toObjectives(peaks, chosen.metrics);
        auto value = [&](const Eigen::VectorXd &o) {
            return std::max(w * (ideal[0] - o[0]) / (ideal[0] - nadir[0]),
                            (1 - w) * (ideal[1] - o[1]) / (ideal[1] - nadir[1]));
        };
        QVERIFY(value(got) <= value(start) + 1e-9);
        // At the optimum both weighted gaps are equal (the front is continuous there).
        QVERIFY2(std::fabs(w * (ideal[0] - got[0]) / (ideal[0] - nadir[0]) -
                           (1 - w) * (ideal[1] - got[1]) / (ideal[1] - nadir[1])) < 2e-3,
                 std::to_string(w).c_str());
        QVERIFY(chosen.stddev.allFinite() &&
                (chosen.lower.array() <= chosen.metrics.array()).all());
        if (previous.size())
            largestStep = std::max(largestStep, (chosen.coefficients - previous).norm());
        if (previousIndex >= 0)
            largestHop = std::max(largestHop, (front.coefficients.row(chosen.selection.index) -
                                               front.coefficients.row(previousIndex))
                                                  .norm());
        previous = chosen.coefficients;
        previousIndex = chosen.selection.index;
    }
    QVERIFY2(largestStep < 0.02, std::to_string(largestStep).c_str());
    QVERIFY2(largestHop > 3 * largestStep,
             (std::to_string(largestHop) + " vs " + std::to_string(largestStep)).c_str());
}

void TestFront::selectionOnSurrogatesHonoursFloors()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const auto surrogates = fitTwoPeaks(problem);
    const Front front = computeFront(problem, surrogates);
    Preference preference;
    preference.weights = Eigen::Vector2d(0, 1);
    preference.floors = Eigen::Vector2d(0.8, NAN);
    const SurrogateSelection chosen = selectOnSurrogates(problem, surrogates, front, preference);
    QVERIFY(chosen.selection.feasible);
    QVERIFY(chosen.metrics[0] >= 0.8 - 1e-12);
    // Pushed to the floor: metric 0 within a hair of 0.8, metric 1 at least the front's best.
    QVERIFY2(chosen.metrics[0] < 0.8 + 2e-3, std::to_string(chosen.metrics[0]).c_str());
    const Selection discrete = selectPoint(problem, front, preference);
    QVERIFY(chosen.metrics[1] >= front.metrics(discrete.index, 1) - 1e-12);
}

void TestFront::floorsOnThePessimisticEnd()
{
    // Two peaks measured with noise (sd about 0.01): intervals of some width. A floor on the
    // pessimistic end holds for the interval's lower bound, so the mean sits above the floor by
    // about the interval's half width, and the choice gives up some of metric 1 for it.
    const Problem problem = mftest::unitProblem(2, 2);
    Samples samples;
    samples.c = initialDesign(problem, 16, 3);
    samples.y = mftest::twoPeaks(samples.c);
    for (Eigen::Index i = 0; i < samples.y.rows(); ++i)
        for (Eigen::Index j = 0; j < 2; ++j)
            samples.y(i, j) += 0.012 * std::sin(37.0 * static_cast<double>(i) + 11.0 * j);
    const auto surrogates = fitSurrogates(problem, samples);
    const Front front = computeFront(problem, surrogates);
    Preference preference;
    preference.weights = Eigen::Vector2d(0, 1);
    preference.floors = Eigen::Vector2d(0.8, NAN);
    const SurrogateSelection onMean = selectOnSurrogates(problem, surrogates, front, preference);
    preference.floorsOnPessimisticEnd = true;
    const SurrogateSelection onBound = selectOnSurrogates(problem, surrogates, front, preference);
    QVERIFY(onMean.selection.feasible && onBound.selection.feasible);
    const double halfWidth = onBound.metrics[0] - onBound.lower[0];
    QVERIFY2(halfWidth > 0.005, std::to_string(halfWidth).c_str()); // a real interval
    QVERIFY2(onBound.lower[0] >= 0.8 - 1e-9, std::to_string(onBound.lower[0]).c_str());
    QVERIFY2(onBound.lower[0] < 0.8 + 2e-3, std::to_string(onBound.lower[0]).c_str()); // at it
    QVERIFY(onBound.metrics[0] > onMean.metrics[0] + 0.5 * halfWidth);
    QVERIFY(onBound.metrics[1] < onMean.metrics[1]); // the price of the confidence
    // The discrete choice checks the front's own bounds the same way.
    const Selection discrete = selectPoint(problem, front, preference);
    QVERIFY(discrete.feasible);
    QVERIFY(front.lower(discrete.index, 0) >= 0.8);
    for (int i = 0; i < front.size(); ++i)
        if (front.lower(i, 0) >= 0.8)
            QVERIFY(front.metrics(i, 1) <= front.metrics(discrete.index, 1) + 1e-12);
    // Out of reach with the interval: said so, in words that name the pessimistic end.
    preference.floors = Eigen::Vector2d(front.metrics.col(0).maxCoeff(), NAN);
    const Selection unreachable = selectPoint(problem, front, preference);
    QVERIFY(!unreachable.feasible);
    QVERIFY2(unreachable.note.find("pessimistic") != std::string::npos, unreachable.note.c_str());
}

void TestFront::marksProvisionalFronts()
{
    // Two peaks: 7 samples (P + 1) are provisional and say how many more; 12 (2P) of an
    // exactly fitting model are not.
    const Problem problem = mftest::unitProblem(2, 2);
    Samples few;
    few.c = initialDesign(problem, 7, 3);
    few.y = mftest::twoPeaks(few.c);
    Trust trust = assessTrust(problem, fitSurrogates(problem, few), few);
    QVERIFY(trust.provisional);
    QCOMPARE(trust.moreEvaluations, 5);
    QVERIFY2(trust.summary().find("7 evaluations, the full quadratic in 2 coefficients needs 12") !=
                 std::string::npos,
             trust.summary().c_str());
    QVERIFY2(trust.summary().find("about 5 more evaluations") != std::string::npos,
             trust.summary().c_str());

    Samples enough;
    enough.c = initialDesign(problem, 12, 3);
    enough.y = mftest::twoPeaks(enough.c);
    trust = assessTrust(problem, fitSurrogates(problem, enough), enough);
    QVERIFY2(!trust.provisional, trust.summary().c_str());
    QVERIFY(trust.summary().empty());

    // A misspecified metric with a large leave-one-out error names the metric and its share.
    Samples bad = enough;
    for (int i = 0; i < bad.count(); ++i)
        bad.y(i, 1) = 0.5 + 0.4 * std::sin(40.0 * bad.c(i, 0)) * std::cos(31.0 * bad.c(i, 1));
    trust = assessTrust(problem, fitSurrogates(problem, bad), bad);
    QVERIFY(trust.provisional);
    QVERIFY2(trust.summary().find("m1: leave-one-out error") != std::string::npos,
             trust.summary().c_str());
    QVERIFY(trust.moreEvaluations >= 2);
}

void TestFront::frontCarriesIntervals()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const Front front = computeFront(problem, fitTwoPeaks(problem));
    QCOMPARE(front.lower.rows(), static_cast<Eigen::Index>(front.size()));
    QCOMPARE(front.upper.cols(), 2);
    QCOMPARE(front.level, 0.9);
    QVERIFY(front.stddev.allFinite() && front.lower.allFinite() && front.upper.allFinite());
    QVERIFY((front.lower.array() <= front.metrics.array()).all());
    QVERIFY((front.metrics.array() <= front.upper.array()).all());
    QVERIFY(front.upper.maxCoeff() <= 1 && front.lower.minCoeff() >= 0);
}

void TestFront::marksExtrapolatedEnds()
{
    // Hand-made: m0 maximized (measured best 0.8; the NaN row of a failed metric skipped), m1
    // minimized (measured best 0.1), m2 never measured (nothing to compare: never flagged).
    Problem problem = mftest::unitProblem(1, 3, Link::Identity);
    problem.metrics[1].direction = Direction::Minimize;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Samples samples;
    samples.c = Eigen::Vector3d(0, 0.5, 1);
    samples.y.resize(3, 3);
    samples.y << 0.8, 0.3, nan, //
        nan, 0.1, nan,          //
        0.4, 0.2, nan;
    Front front;
    front.coefficients = Eigen::Vector4d(0, 0.3, 0.6, 1);
    front.metrics.resize(4, 3);
    front.metrics << 0.85, 0.30, 1, //  beyond in m0
        0.80, 0.10, 1,              //  equal to the best: not beyond
        0.50, 0.05, 1,              //  beyond in m1 (lower is better)
        0.90, 0.02, 1;              //  beyond in both
    markExtrapolation(problem, samples, front);
    Eigen::MatrixXi expected(4, 3);
    expected << 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0;
    QCOMPARE(front.extrapolated, expected);
    QVERIFY(front.isExtrapolated(0) && !front.isExtrapolated(1) && front.isExtrapolated(3));

    // On a fitted front: a point is flagged exactly when its prediction passes every sample.
    const Problem unit = mftest::unitProblem(2, 2);
    Samples measured;
    measured.c = initialDesign(unit, 12, 3);
    measured.y = mftest::twoPeaks(measured.c);
    Front fitted = computeFront(unit, fitSurrogates(unit, measured));
    QCOMPARE(fitted.extrapolated.rows(), Eigen::Index(0)); // not marked yet
    markExtrapolation(unit, measured, fitted);
    int flagged = 0;
    for (int i = 0; i < fitted.size(); ++i)
        for (int k = 0; k < 2; ++k) {
            QCOMPARE(fitted.extrapolated(i, k) == 1,
                     fitted.metrics(i, k) > measured.y.col(k).maxCoeff());
            flagged += fitted.extrapolated(i, k);
        }
    QVERIFY(flagged > 0); // the peaks' tops lie between the samples
}

void TestFront::sharedPredictionMatchesEachSurrogate()
{
    // Four metrics on the same samples, Gaussian-process residuals with two length scales (two
    // share one) and one quadratic alone: the shared prediction (kernels once per length scale,
    // in blocks of rows) equals each surrogate's own, over more rows than one block.
    const Problem problem = mftest::unitProblem(3, 4);
    Samples samples;
    samples.c = initialDesign(problem, 40, 5);
    Eigen::MatrixXd y = mftest::mergeLike(samples.c);
    samples.y.resize(samples.c.rows(), 4);
    samples.y << y.col(0), y.col(1), y.col(2), y.col(0).cwiseProduct(y.col(1));
    std::vector<Surrogate> surrogates;
    const double scales[] = {0.5, 1.2, 0.5, 0};
    for (int k = 0; k < 4; ++k) {
        SurrogateOptions options;
        options.residual =
            scales[k] > 0 ? SurrogateOptions::Residual::Always : SurrogateOptions::Residual::Off;
        options.lengthScale = scales[k];
        surrogates.push_back(Surrogate::fit(samples.c, samples.y.col(k), "m", options));
    }
    QVERIFY(surrogates[0].hasResidual() && surrogates[1].hasResidual() &&
            !surrogates[3].hasResidual());
    const Eigen::MatrixXd rows = initialDesign(problem, 250, 9);
    const Eigen::MatrixXd shared = MetricPredictor(surrogates)(rows);
    QCOMPARE(predictMetrics(surrogates, rows), shared);
    for (int k = 0; k < 4; ++k) {
        const double gap =
            (shared.col(k) - surrogates[static_cast<std::size_t>(k)].predictRows(rows))
                .cwiseAbs()
                .maxCoeff();
        QVERIFY2(gap < 1e-12, std::to_string(gap).c_str());
    }
}

void TestFront::patternSearchesMatchOneAtATime()
{
    // Searches run in step give each search the steps and the result it has on its own.
    const Eigen::Vector2d lower(0, 0), upper(1, 1), width(1, 1);
    const Eigen::Vector2d targets[] = {{0.3, 0.7}, {0.9, 0.1}, {0.5, 0.5}};
    const auto score = [](const Eigen::RowVectorXd &x, const Eigen::Vector2d &target) {
        return (x.transpose() - target).squaredNorm() + 0.1 * std::abs(x[0] - x[1]);
    };
    Eigen::MatrixXd starts(3, 2);
    starts << 0.1, 0.1, 0.2, 0.9, 0.95, 0.95;
    Eigen::VectorXd bests(3);
    for (int i = 0; i < 3; ++i)
        bests[i] = score(starts.row(i), targets[i]);
    const Eigen::VectorXd firstBests = bests;
    const Eigen::MatrixXd together = patternSearches(
        starts, bests, lower, upper, width, 0.05, 1e-4, 0,
        [&](const Eigen::MatrixXd &trials, const std::vector<Eigen::Index> &owner) {
            Eigen::VectorXd values(trials.rows());
            for (Eigen::Index t = 0; t < trials.rows(); ++t)
                values[t] = score(trials.row(t), targets[owner[static_cast<std::size_t>(t)]]);
            return values;
        });
    for (int i = 0; i < 3; ++i) {
        double best = firstBests[i];
        const Eigen::VectorXd alone =
            patternSearch(starts.row(i).transpose(), best, lower, upper, width, 0.05, 1e-4, 0,
                          [&](const Eigen::MatrixXd &trials) {
                              Eigen::VectorXd values(trials.rows());
                              for (Eigen::Index t = 0; t < trials.rows(); ++t)
                                  values[t] = score(trials.row(t), targets[i]);
                              return values;
                          });
        QCOMPARE(Eigen::VectorXd(together.row(i).transpose()), alone);
        QCOMPARE(bests[i], best);
        QVERIFY(best < firstBests[i]);
    }
}

void TestFront::rejectsBadPreferences()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const Front front = computeFront(problem, fitTwoPeaks(problem));
    Preference preference;
    preference.weights = Eigen::Vector2d(0, 0);
    QVERIFY(mftest::errorOf([&] {
                selectPoint(problem, front, preference);
            }).find("not all zero") != std::string::npos);
    preference.weights = Eigen::Vector3d(1, 1, 1);
    QVERIFY(mftest::errorOf([&] {
                selectPoint(problem, front, preference);
            }).find("expected 2 weights") != std::string::npos);
}

MF_TEST_MAIN(TestFront, filtersDominatedPoints, matchesTheAnalyticFront, staysInsideTheTrustRegion,
             weightedSumMissesNonConvexPoints, chebyshevFindsTheAnalyticOptimum,
             honoursFloorsAndReferencePoints, rejectsBadPreferences, selectsOnTheSurrogatesSmoothly,
             selectionOnSurrogatesHonoursFloors, floorsOnThePessimisticEnd, marksProvisionalFronts,
             frontCarriesIntervals, marksExtrapolatedEnds, sharedPredictionMatchesEachSurrogate,
             patternSearchesMatchOneAtATime)
#ifdef MERGEFRONT_QT_TEST
#include "tst_front.moc"
#endif
