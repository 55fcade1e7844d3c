// SPDX-License-Identifier: GPL-3.0-or-later
// Front-quality measures against hand-computed values, and exact hypervolume in 2, 3 and 4
// objectives against inclusion-exclusion and Monte Carlo.
#include "testing.h"

#include "fixtures.h"

#include "map/front.h"
#include "map/quality.h"

#include <cmath>
#include <random>

using namespace mf::map;

namespace {

bool near(double actual, double expected, double tolerance = 1e-12)
{
    return std::fabs(actual - expected) <= tolerance;
}

} // namespace

class TestQuality : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void handComputedTwoObjectives();
    void identicalFrontsScorePerfectly();
    void hypervolumeByInclusionExclusion();
    void hypervolumeAgainstMonteCarlo();
    void refusesMismatchedInput();
    void improvementIsTheHypervolumeAdded();
};

void TestQuality::handComputedTwoObjectives()
{
    // Truth {(0,1), (1,0)} already spans [0,1]; the front is the single point (0.5, 0.5).
    Eigen::MatrixXd truth(2, 2), front(1, 2);
    truth << 0, 1, 1, 0;
    front << 0.5, 0.5;
    const FrontQuality q = frontQuality(front, truth);
    QVERIFY(near(q.gd, std::sqrt(0.5)));
    QVERIFY(near(q.igd, std::sqrt(0.5)));
    QVERIFY(near(q.igdPlus, 0.5)); // only the worse coordinate of each truth point counts
    QVERIFY(near(q.hypervolume, 0.6 * 0.6));
    QVERIFY(near(q.hypervolumeTruth, 0.11 + 0.11 - 0.01));
    QVERIFY(near(q.winRate, 0));

    // Scaled copies: normalization by the truth's range gives the same numbers.
    const FrontQuality scaled = frontQuality(front * 10 + Eigen::MatrixXd::Constant(1, 2, 3),
                                             truth * 10 + Eigen::MatrixXd::Constant(2, 2, 3));
    QVERIFY(near(scaled.igd, q.igd) && near(scaled.hypervolume, q.hypervolume));

    // A front that dominates one truth point: wins it, IGD+ zero there.
    Eigen::MatrixXd better(1, 2);
    better << 1, 0.2;
    const FrontQuality b = frontQuality(better, truth);
    QVERIFY(near(b.winRate, 0.5));
    // (0,1): the front point is worse only in objective 1, by 0.8; (1,0): nowhere worse.
    QVERIFY(near(b.igdPlus, (0.8 + 0.0) / 2));
}

void TestQuality::identicalFrontsScorePerfectly()
{
    Eigen::MatrixXd front(3, 3);
    front << 1, 0, 0.5, 0, 1, 0.2, 0.5, 0.5, 1;
    const FrontQuality q = frontQuality(front, front);
    QVERIFY(near(q.gd, 0) && near(q.igd, 0) && near(q.igdPlus, 0));
    QVERIFY(near(q.hypervolume, q.hypervolumeTruth));
    QVERIFY(near(q.winRate, 1));
}

void TestQuality::hypervolumeByInclusionExclusion()
{
    // Unit vectors against reference -1: each box has volume 2, any intersection volume 1.
    // 3-D: 3*2 - 3*1 + 1 = 4;  4-D: 4*2 - 6 + 4 - 1 = 5.
    QVERIFY(
        near(hypervolume(Eigen::MatrixXd::Identity(3, 3), Eigen::VectorXd::Constant(3, -1)), 4));
    QVERIFY(
        near(hypervolume(Eigen::MatrixXd::Identity(4, 4), Eigen::VectorXd::Constant(4, -1)), 5));
    Eigen::MatrixXd twoD(3, 2);
    twoD << 3, 1, 2, 2, 1, 3;
    QVERIFY(near(hypervolume(twoD, Eigen::Vector2d(0, 0)), 3 + 2 + 1));
    // Dominated and out-of-reference points add nothing.
    Eigen::MatrixXd extra(5, 2);
    extra << 3, 1, 2, 2, 1, 3, 1, 1, -5, 10;
    QVERIFY(near(hypervolume(extra, Eigen::Vector2d(0, 0)), 6));
}

void TestQuality::hypervolumeAgainstMonteCarlo()
{
    std::mt19937_64 random(5);
    std::uniform_real_distribution<double> uniform(0, 1);
    for (int dims : {3, 4}) {
        Eigen::MatrixXd points(12, dims);
        for (Eigen::Index i = 0; i < points.rows(); ++i) {
            Eigen::VectorXd p(dims);
            for (int j = 0; j < dims; ++j)
                p[j] = uniform(random);
            points.row(i) = (p / p.norm()).transpose(); // on the sphere: mostly non-dominated
        }
        const Eigen::VectorXd reference = Eigen::VectorXd::Zero(dims);
        const double exact = hypervolume(points, reference);
        const int draws = 400000;
        int inside = 0;
        for (int k = 0; k < draws; ++k) {
            Eigen::VectorXd x(dims);
            for (int j = 0; j < dims; ++j)
                x[j] = uniform(random);
            for (Eigen::Index i = 0; i < points.rows(); ++i)
                if ((points.row(i).transpose().array() >= x.array()).all()) {
                    ++inside;
                    break;
                }
        }
        const double estimate = static_cast<double>(inside) / draws;
        const double sigma = std::sqrt(estimate * (1 - estimate) / draws);
        QVERIFY2(std::fabs(exact - estimate) < 5 * sigma,
                 (std::to_string(dims) + "-D: " + std::to_string(exact) + " vs " +
                  std::to_string(estimate))
                     .c_str());
    }
}

void TestQuality::improvementIsTheHypervolumeAdded()
{
    // Random non-dominated sets in 2 to 5 objectives and random points: the limited-box
    // improvement equals HV(base ∪ {p}) - HV(base) computed directly.
    std::mt19937_64 random(11);
    std::uniform_real_distribution<double> uniform(0, 1);
    for (int m = 2; m <= 5; ++m) {
        const Eigen::VectorXd reference = Eigen::VectorXd::Constant(m, -0.1);
        Eigen::MatrixXd cloud(40, m);
        for (Eigen::Index i = 0; i < cloud.rows(); ++i)
            for (int k = 0; k < m; ++k)
                cloud(i, k) = uniform(random);
        const std::vector<int> kept = mf::map::nonDominated(cloud);
        Eigen::MatrixXd base(static_cast<Eigen::Index>(kept.size()), m);
        for (std::size_t i = 0; i < kept.size(); ++i)
            base.row(static_cast<Eigen::Index>(i)) = cloud.row(kept[i]);
        const double before = hypervolume(base, reference);
        for (int trial = 0; trial < 20; ++trial) {
            Eigen::RowVectorXd point(m);
            for (int k = 0; k < m; ++k)
                point[k] = 1.2 * uniform(random) - 0.15;
            Eigen::MatrixXd with(base.rows() + 1, m);
            with << base, point;
            const double expected = hypervolume(with, reference) - before;
            const double got = hypervolumeImprovement(base, point, reference);
            QVERIFY2(
                std::fabs(got - expected) < 1e-12 * std::max(1.0, before),
                (std::to_string(m) + ": " + std::to_string(got) + " vs " + std::to_string(expected))
                    .c_str());
        }
    }
}

void TestQuality::refusesMismatchedInput()
{
    Eigen::MatrixXd a(1, 2), b(1, 3);
    a << 1, 2;
    b << 1, 2, 3;
    QVERIFY(mftest::errorOf([&] { frontQuality(a, b); }).find("2 objectives, the truth 3") !=
            std::string::npos);
    QVERIFY(mftest::errorOf([&] { frontQuality(Eigen::MatrixXd(0, 2), a); }).find("non-empty") !=
            std::string::npos);
    Eigen::MatrixXd bad = a;
    bad(0, 1) = NAN;
    QVERIFY(mftest::errorOf([&] { frontQuality(bad, a); }).find("not a finite number") !=
            std::string::npos);
}

MF_TEST_MAIN(TestQuality, handComputedTwoObjectives, identicalFrontsScorePerfectly,
             hypervolumeByInclusionExclusion, hypervolumeAgainstMonteCarlo, refusesMismatchedInput,
             improvementIsTheHypervolumeAdded)
#ifdef MERGEFRONT_QT_TEST
#include "tst_quality.moc"
#endif
