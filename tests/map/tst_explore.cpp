// SPDX-License-Identifier: GPL-3.0-or-later
// Plain, Bayesian and nested MAP on analytic problems plugged in as the batch evaluator.
#include "testing.h"

#include "analytic.h"
#include "fixtures.h"

#include "map/design.h"
#include "map/explore.h"
#include "map/nested.h"
#include "map/quality.h"

#include <cmath>

using namespace mf::map;

namespace {

Eigen::MatrixXd gridTruth(const Problem &problem, int levels)
{
    const Eigen::MatrixXd y = mftest::mergeLike(gridDesign(problem, levels));
    const auto kept = nonDominated(y);
    Eigen::MatrixXd out(static_cast<Eigen::Index>(kept.size()), y.cols());
    for (std::size_t i = 0; i < kept.size(); ++i)
        out.row(static_cast<Eigen::Index>(i)) = y.row(kept[i]);
    return out;
}

/// Fewest evaluations (among `budgets`) at which the front, re-evaluated for real, reaches
/// IGD <= target; -1 when none does.
template<typename Run>
int evaluationsToReach(const std::vector<int> &budgets, double target, const Eigen::MatrixXd &truth,
                       Run run)
{
    for (int budget : budgets) {
        const MapResult result = run(budget);
        if (frontQuality(mftest::mergeLike(result.front.coefficients), truth).igd <= target)
            return result.samples.count();
    }
    return -1;
}

} // namespace

class TestExplore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void plainMapFindsTheAnalyticFront();
    void bayesianNeedsFewerEvaluations();
    void bayesianResumesAndHandlesAnyN();
    void failedEvaluationsAreKeptOutOfFits();
    void roundsCanBeCancelled();
    void nestedMapPairsBySimilarity();
};

void TestExplore::plainMapFindsTheAnalyticFront()
{
    const Problem problem = mftest::unitProblem(2, 2);
    const MapResult result = plainMap(problem, 12, mftest::twoPeaks);
    QCOMPARE(result.samples.count(), 12);
    QVERIFY(result.surrogates[0].diagnostics().r2 > 0.999999);
    // The one-hots and the diagonal come first (METHOD.md section 3).
    QCOMPARE(result.samples.c.row(0), Eigen::RowVector2d(1, 0));
    QCOMPARE(result.samples.c.row(1), Eigen::RowVector2d(0, 1));
    QCOMPARE(result.samples.c.row(2), Eigen::RowVector2d(0.5, 0.5));
}

void TestExplore::bayesianNeedsFewerEvaluations()
{
    // The merging-like problem (non-quadratic, collapsing): a 41-level grid is the truth.
    const Problem problem = mftest::unitProblem(3, 3);
    const Eigen::MatrixXd truth = gridTruth(problem, 41);
    const std::vector<int> budgets = {11, 16, 21, 26, 31, 36};
    const double target = 0.05;
    const int plain = evaluationsToReach(budgets, target, truth, [&](int budget) {
        return plainMap(problem, budget, mftest::mergeLike, 1);
    });
    // Both acquisitions: expected hypervolume improvement (the default) and uncertainty.
    for (Acquisition acquisition : {Acquisition::Ehvi, Acquisition::Uncertainty}) {
        const int bayesian = evaluationsToReach(budgets, target, truth, [&](int budget) {
            BayesianOptions options;
            options.budget = budget;
            options.tolerance = 0;
            options.seed = 1;
            options.acquisition = acquisition;
            return bayesianMap(problem, Samples{}, mftest::mergeLike, options);
        });
        const std::string counts = "plain " + std::to_string(plain) + ", Bayesian (" +
                                   acquisitionName(acquisition) + ") " + std::to_string(bayesian);
        qInfo("%s", counts.c_str());
        QVERIFY2(bayesian > 0, counts.c_str());
        QVERIFY2(plain < 0 || bayesian < plain, counts.c_str());
    }
    QVERIFY(parseAcquisition("ehvi") == Acquisition::Ehvi);
    QVERIFY(mftest::errorOf([] { parseAcquisition("ei"); }).find("expected ehvi or uncertainty") !=
            std::string::npos);
}

void TestExplore::bayesianResumesAndHandlesAnyN()
{
    // N = 7: beyond the reference code's 6-task limit.
    const Problem problem = mftest::unitProblem(7, 7);
    Samples start;
    start.c = initialDesign(problem, 40, 3);
    start.y = mftest::mergeLike(start.c);
    BayesianOptions options;
    options.budget = 50;
    options.batch = 5;
    const MapResult result = bayesianMap(problem, start, mftest::mergeLike, options);
    QVERIFY(result.samples.count() <= 50 && result.samples.count() > 40);
    QVERIFY(result.samples.c.topRows(40) == start.c); // what was done is kept
    QVERIFY(result.front.size() > 0);
    QCOMPARE(static_cast<int>(result.surrogates.size()), 7);
    QVERIFY(result.stopReason == "budget" || result.stopReason == "converged");
}

void TestExplore::failedEvaluationsAreKeptOutOfFits()
{
    const Problem problem = mftest::unitProblem(2, 2);
    int calls = 0;
    const BatchEvaluator flaky = [&](const Eigen::MatrixXd &c) {
        Eigen::MatrixXd y = mftest::twoPeaks(c);
        for (Eigen::Index r = 0; r < y.rows(); ++r)
            if (++calls % 5 == 0)
                y.row(r).setConstant(NAN); // a failed evaluation
        return y;
    };
    const MapResult result = plainMap(problem, 15, flaky);
    QCOMPARE(result.samples.count(), 15);
    QCOMPARE(result.surrogates[0].diagnostics().samples, 12);
    QVERIFY(result.surrogates[0].diagnostics().r2 > 0.999999);
}

void TestExplore::roundsCanBeCancelled()
{
    const Problem problem = mftest::unitProblem(2, 2);
    BayesianOptions options;
    options.budget = 40;
    options.tolerance = 0;
    int rounds = 0;
    options.onRound = [&](const MapResult &) {
        return ++rounds < 2;
    };
    const MapResult result = bayesianMap(problem, Samples{}, mftest::mergeLike, options);
    QCOMPARE(result.stopReason, std::string("cancelled"));
    QCOMPARE(result.rounds, 2);
    QVERIFY(result.samples.count() < 40);
}

void TestExplore::nestedMapPairsBySimilarity()
{
    // Tasks 0 and 2 are alike, and 1 and 3: those pairs merge first.
    const Problem problem = mftest::unitProblem(4, 4);
    NestedOptions options;
    options.similarity = Eigen::MatrixXd::Identity(4, 4);
    options.similarity(0, 2) = options.similarity(2, 0) = 0.9;
    options.similarity(1, 3) = options.similarity(3, 1) = 0.8;
    options.similarity(0, 1) = options.similarity(1, 0) = 0.1;
    int evaluations = 0;
    const BatchEvaluator evaluate = [&](const Eigen::MatrixXd &c) {
        evaluations += static_cast<int>(c.rows());
        return mftest::mergeLike(c);
    };
    const NestedResult result = nestedMap(problem, evaluate, options);
    QCOMPARE(static_cast<int>(result.steps.size()), 3);
    QCOMPARE(result.steps[0].left, 0);
    QCOMPARE(result.steps[0].right, 2);
    QCOMPARE(result.steps[1].left, 1);
    QCOMPARE(result.steps[1].right, 3);
    QCOMPARE(result.steps[2].left, 4);
    QCOMPARE(result.steps[2].right, 5);
    // The final merge is one vector over the tasks: products of coefficients along each path.
    const auto &s = result.steps;
    const Eigen::Vector4d expected(s[2].a * s[0].a, s[2].b * s[1].a, s[2].a * s[0].b,
                                   s[2].b * s[1].b);
    QVERIFY((result.coefficients - expected).norm() < 1e-12);
    QCOMPARE(evaluations, 3 * options.samplesPerPair);
    QCOMPARE(result.samples.count(), evaluations);
    QVERIFY(result.coefficients.minCoeff() >= 0 && result.coefficients.maxCoeff() <= 1);
}

MF_TEST_MAIN(TestExplore, plainMapFindsTheAnalyticFront, bayesianNeedsFewerEvaluations,
             bayesianResumesAndHandlesAnyN, failedEvaluationsAreKeptOutOfFits, roundsCanBeCancelled,
             nestedMapPairsBySimilarity)
#ifdef MERGEFRONT_QT_TEST
#include "tst_explore.moc"
#endif
