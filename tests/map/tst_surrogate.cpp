// SPDX-License-Identifier: GPL-3.0-or-later
// Quadratic surrogates against the quadratics that generated the data, the hat-matrix
// leave-one-out against brute force, the reduced model, links, and the Bayesian variance.
#include "testing.h"

#include "analytic.h"
#include "fixtures.h"

#include "map/design.h"
#include "map/surrogate.h"

#include <cmath>

using namespace mf::map;

namespace {

struct Quadratic {
    double e;
    Eigen::Vector3d b;
    Eigen::Matrix3d a;
    double operator()(const Eigen::VectorXd &c) const { return e + b.dot(c) + 0.5 * c.dot(a * c); }
};

Quadratic generator()
{
    Quadratic q;
    q.e = 0.3;
    q.b << 1.5, -0.7, 0.4;
    q.a << -2.0, 0.6, -0.3, 0.6, -1.2, 0.2, -0.3, 0.2, -0.8;
    return q;
}

Eigen::MatrixXd design(int count)
{
    return latinHypercube(mftest::unitProblem(3, 1), count, 11);
}

double relativeError(double actual, double expected)
{
    return std::fabs(actual - expected) / std::max(1.0, std::fabs(expected));
}

} // namespace

class TestSurrogate : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void recoversTheGeneratingQuadratic();
    void leaveOneOutMatchesBruteForce();
    void fallsBackToTheReducedModel();
    void resolvesAndChecksLinks();
    void predictiveStdGrowsAwayFromData();
    void gradientMatchesFiniteDifferences();
};

void TestSurrogate::recoversTheGeneratingQuadratic()
{
    const Quadratic q = generator();
    const Eigen::MatrixXd c = design(20); // 2P for N = 3
    for (Link link : {Link::Identity, Link::Logit, Link::Log}) {
        Eigen::VectorXd y(c.rows());
        for (Eigen::Index i = 0; i < c.rows(); ++i)
            y[i] = applyInverseLink(link, q(c.row(i).transpose()));
        SurrogateOptions options;
        options.link = link;
        options.ridge = 0;
        const auto s = QuadraticSurrogate::fit(c, y, "m", options);
        const std::string label = linkName(link);
        QVERIFY2(s.diagnostics().link == link, label.c_str());
        QVERIFY2(relativeError(s.constantTerm(), q.e) < 1e-6, label.c_str());
        for (int i = 0; i < 3; ++i) {
            QVERIFY2(relativeError(s.linearTerm()[i], q.b[i]) < 1e-6, label.c_str());
            for (int j = 0; j < 3; ++j)
                QVERIFY2(relativeError(s.hessian()(i, j), q.a(i, j)) < 1e-6, label.c_str());
        }
        QVERIFY2(s.diagnostics().r2 > 1 - 1e-10, label.c_str());
        QCOMPARE(s.diagnostics().parameters, 10);
        QVERIFY(s.diagnostics().kind == ModelKind::Full);
    }
}

void TestSurrogate::leaveOneOutMatchesBruteForce()
{
    // Identity link: the hat-matrix formula is exact for the ridge fit.
    const Quadratic q = generator();
    const Eigen::MatrixXd c = design(16);
    Eigen::VectorXd y(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        y[i] = q(c.row(i).transpose()) + 0.05 * std::sin(7.0 * static_cast<double>(i)); // noise
    SurrogateOptions options;
    options.link = Link::Identity;
    const auto s = QuadraticSurrogate::fit(c, y, "m", options);
    double sum = 0;
    for (Eigen::Index k = 0; k < c.rows(); ++k) {
        Eigen::MatrixXd cc(c.rows() - 1, 3);
        Eigen::VectorXd yy(c.rows() - 1);
        for (Eigen::Index i = 0, r = 0; i < c.rows(); ++i)
            if (i != k) {
                cc.row(r) = c.row(i);
                yy[r++] = y[i];
            }
        // Same scaling as the full fit is not guaranteed, so compare predictions, not weights.
        const auto without = QuadraticSurrogate::fit(cc, yy, "m", options);
        sum += std::pow(y[k] - without.predict(Eigen::VectorXd(c.row(k).transpose())), 2);
    }
    const double brute = std::sqrt(sum / static_cast<double>(c.rows()));
    QVERIFY2(std::fabs(s.diagnostics().looRmse - brute) < 1e-3 * brute,
             (std::to_string(s.diagnostics().looRmse) + " vs " + std::to_string(brute)).c_str());
    QVERIFY(s.diagnostics().conditionNumber > 1 && std::isfinite(s.diagnostics().conditionNumber));
}

void TestSurrogate::fallsBackToTheReducedModel()
{
    const Quadratic q = generator();
    const Eigen::MatrixXd c = design(8); // P = 10 > 8 >= 2N + 1 = 7
    Eigen::VectorXd y(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        y[i] = q(c.row(i).transpose());
    const auto s = QuadraticSurrogate::fit(c, y, "acc");
    QVERIFY(s.diagnostics().kind == ModelKind::Reduced);
    QCOMPARE(s.diagnostics().parameters, 7);
    QVERIFY2(s.diagnostics().note.find("no cross terms") != std::string::npos,
             s.diagnostics().note.c_str());

    const std::string message =
        mftest::errorOf([&] { QuadraticSurrogate::fit(c.topRows(5), y.head(5), "acc"); });
    QVERIFY2(message.find("metric 'acc': 5 samples cannot fit a quadratic in 3 coefficients") !=
                 std::string::npos,
             message.c_str());
    SurrogateOptions strict;
    strict.allowReduced = false;
    const std::string refused =
        mftest::errorOf([&] { QuadraticSurrogate::fit(c, y, "acc", strict); });
    QVERIFY2(refused.find("10 needed for the full model") != std::string::npos, refused.c_str());
}

void TestSurrogate::resolvesAndChecksLinks()
{
    QVERIFY(resolveLink(Link::Auto, Eigen::Vector3d(0.2, 0.5, 0.9), "a") == Link::Logit);
    QVERIFY(resolveLink(Link::Auto, Eigen::Vector3d(0.2, 1.5, 3.0), "a") == Link::Log);
    QVERIFY(resolveLink(Link::Auto, Eigen::Vector3d(-0.2, 1.5, 3.0), "a") == Link::Identity);
    std::string message =
        mftest::errorOf([] { resolveLink(Link::Logit, Eigen::Vector3d(0.2, 1.5, 0.3), "acc"); });
    QVERIFY2(message.find("metric 'acc' has values in [0.2, 1.5], outside [0, 1]") !=
                 std::string::npos,
             message.c_str());
    message =
        mftest::errorOf([] { resolveLink(Link::Log, Eigen::Vector3d(0.2, -1, 0.3), "loss"); });
    QVERIFY2(message.find("metric 'loss' has the value -1, not positive") != std::string::npos,
             message.c_str());
    message =
        mftest::errorOf([] { resolveLink(Link::Auto, Eigen::Vector3d(0.2, NAN, 0.3), "acc"); });
    QVERIFY2(message.find("not a finite number (sample 2)") != std::string::npos, message.c_str());
}

void TestSurrogate::predictiveStdGrowsAwayFromData()
{
    // Samples in the lower half of the box only; noisy values so the noise is estimated.
    const Quadratic q = generator();
    Eigen::MatrixXd c = design(30) * 0.5;
    Eigen::VectorXd y(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        y[i] = mftest::sigmoid(q(c.row(i).transpose())) +
               0.01 * std::cos(3.0 * static_cast<double>(i));
    const auto s = QuadraticSurrogate::fit(c, y, "acc");
    const double inside = s.predictiveStd(Eigen::Vector3d(0.25, 0.25, 0.25));
    const double outside = s.predictiveStd(Eigen::Vector3d(1.0, 1.0, 1.0));
    QVERIFY2(outside > 3 * inside,
             (std::to_string(inside) + " vs " + std::to_string(outside)).c_str());
    QVERIFY(s.noiseStd() > 0.001 && s.noiseStd() < 0.05);
    // More data, less uncertainty.
    Eigen::MatrixXd more = design(120) * 0.5;
    Eigen::VectorXd moreY(more.rows());
    for (Eigen::Index i = 0; i < more.rows(); ++i)
        moreY[i] = mftest::sigmoid(q(more.row(i).transpose())) +
                   0.01 * std::cos(3.0 * static_cast<double>(i));
    const auto better = QuadraticSurrogate::fit(more, moreY, "acc");
    QVERIFY(better.predictiveStd(Eigen::Vector3d(0.25, 0.25, 0.25)) < inside);
}

void TestSurrogate::gradientMatchesFiniteDifferences()
{
    const Quadratic q = generator();
    const Eigen::MatrixXd c = design(20);
    Eigen::VectorXd y(c.rows());
    for (Eigen::Index i = 0; i < c.rows(); ++i)
        y[i] = mftest::sigmoid(q(c.row(i).transpose()));
    const auto s = QuadraticSurrogate::fit(c, y, "acc");
    const Eigen::VectorXd x = Eigen::Vector3d(0.3, 0.6, 0.1);
    Eigen::VectorXd gradient;
    const double value = s.predict(x, gradient);
    QVERIFY(std::fabs(value - s.predict(x)) < 1e-15);
    for (int i = 0; i < 3; ++i) {
        Eigen::VectorXd up = x, down = x;
        up[i] += 1e-6;
        down[i] -= 1e-6;
        const double numeric = (s.predict(up) - s.predict(down)) / 2e-6;
        QVERIFY(std::fabs(numeric - gradient[i]) < 1e-6);
    }
}

MF_TEST_MAIN(TestSurrogate, recoversTheGeneratingQuadratic, leaveOneOutMatchesBruteForce,
             fallsBackToTheReducedModel, resolvesAndChecksLinks, predictiveStdGrowsAwayFromData,
             gradientMatchesFiniteDifferences)
#ifdef MERGEFRONT_QT_TEST
#include "tst_surrogate.moc"
#endif
