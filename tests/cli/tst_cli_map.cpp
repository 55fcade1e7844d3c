// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-cli fit and quality (CLI.md): the JSON contract, the front CSV feeding quality,
// and hostile sample files refused with one clear line naming the file and column.
#include "testing.h"

#include "fixtures.h"

#include "../map/analytic.h"

#include "map/design.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

using mftest::TempDir;

namespace {

/// A samples CSV of the two-peaks problem (coefficients c:a, c:b; metrics a, b).
std::string twoPeaksCsv(int count)
{
    const auto problem = mftest::unitProblem(2, 2);
    const Eigen::MatrixXd c = mf::map::initialDesign(problem, count, 5);
    const Eigen::MatrixXd y = mftest::twoPeaks(c);
    std::string text = "c:a,c:b,a,b\n";
    char line[160];
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
        std::snprintf(line, sizeof line, "%.17g,%.17g,%.17g,%.17g\n", c(i, 0), c(i, 1), y(i, 0),
                      y(i, 1));
        text += line;
    }
    return text;
}

} // namespace

class TestCliMap : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void fitPrintsSurrogatesAndFront();
    void qualityScoresTheFitFront();
    void fitRefusesHostileSamples();
    void qualityRefusesMismatchedFiles();
};

void TestCliMap::fitPrintsSurrogatesAndFront()
{
    TempDir dir;
    mftest::writeFile(dir.file("s.csv"), twoPeaksCsv(12));
    const auto run = mftest::runCli(
        dir, {"fit", "--samples", dir.file("s.csv"), "--json", "--csv", dir.file("front.csv")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["surrogates"].size(), std::size_t(2));
    const auto &a = json["surrogates"][0];
    QCOMPARE(a["metric"].get<std::string>(), std::string("a"));
    QCOMPARE(a["link"].get<std::string>(), std::string("logit"));
    QCOMPARE(a["parameters"].get<int>(), 6);
    QVERIFY(a["r2"].get<double>() > 0.999999);
    QVERIFY(a["loo_rmse"].get<double>() < 1e-3);
    QVERIFY(json["front"].size() > 50);
    const auto &point = json["front"][0];
    QCOMPARE(point["coefficients"].size(), std::size_t(2));
    QVERIFY(point["predicted"].contains("a") && point["predicted"].contains("b"));
    QCOMPARE(a["model"].get<std::string>().rfind("quadratic", 0), std::size_t(0));
    QCOMPARE(json["interval_level"].get<double>(), 0.9);
    for (const auto &p : json["front"]) // every prediction says how sure it is
        for (const char *m : {"a", "b"}) {
            const double v = p["predicted"][m].get<double>(), sd = p["std"][m].get<double>();
            const auto interval = p["interval"][m].get<std::vector<double>>();
            QVERIFY(sd >= 0 && interval.size() == 2);
            QVERIFY(interval[0] <= v && v <= interval[1] && interval[1] <= 1);
        }
    const std::string csv = mftest::readFile(dir.file("front.csv"));
    QCOMPARE(csv.substr(0, csv.find('\n')),
             std::string("c:a,c:b,a,b,std:a,std:b,lower:a,lower:b,upper:a,upper:b,"
                         "extrapolated:a,extrapolated:b"));
    // A point is flagged for a metric exactly when its prediction is beyond every sample's: so
    // every flagged point predicts more than every unflagged one.
    for (const char *m : {"a", "b"}) {
        double lowestFlagged = 2, highestUnflagged = -1;
        for (const auto &p : json["front"]) {
            const auto beyond = p["extrapolated_metrics"].get<std::vector<std::string>>();
            QCOMPARE(p["extrapolated"].get<bool>(), !beyond.empty());
            const double v = p["predicted"][m].get<double>();
            if (std::find(beyond.begin(), beyond.end(), m) != beyond.end())
                lowestFlagged = std::min(lowestFlagged, v);
            else
                highestUnflagged = std::max(highestUnflagged, v);
        }
        QVERIFY2(lowestFlagged > highestUnflagged, m);
    }

    // --minimize flips a metric: its front then prefers low values.
    const auto minimized =
        mftest::runCli(dir, {"fit", "--samples", dir.file("s.csv"), "--minimize", "b", "--json"});
    QVERIFY2(minimized.code == 0, minimized.err.c_str());
    const auto flipped = nlohmann::json::parse(minimized.out);
    double lowest = 1;
    for (const auto &p : flipped["front"])
        lowest = std::min(lowest, p["predicted"]["b"].get<double>());
    QVERIFY(lowest < 0.2); // far below b's maximum of sigmoid(2) ~ 0.88
}

void TestCliMap::qualityScoresTheFitFront()
{
    TempDir dir;
    mftest::writeFile(dir.file("s.csv"), twoPeaksCsv(12));
    QCOMPARE(
        mftest::runCli(dir, {"fit", "--samples", dir.file("s.csv"), "--csv", dir.file("front.csv")})
            .code,
        0);
    // The analytic truth: the segment between the optima.
    std::string truth = "a,b\n";
    char line[80];
    for (int k = 0; k <= 400; ++k) {
        const double t = k / 400.0;
        Eigen::MatrixXd c(1, 2);
        c << 0.8 - 0.6 * t, 0.2 + 0.6 * t;
        const Eigen::MatrixXd y = mftest::twoPeaks(c);
        std::snprintf(line, sizeof line, "%.17g,%.17g\n", y(0, 0), y(0, 1));
        truth += line;
    }
    mftest::writeFile(dir.file("truth.csv"), truth);
    const auto run = mftest::runCli(dir, {"quality", "--front", dir.file("front.csv"), "--truth",
                                          dir.file("truth.csv"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto json = nlohmann::json::parse(run.out);
    for (const char *key : {"gd", "igd", "igd_plus", "hypervolume", "hypervolume_truth"})
        QVERIFY2(json.contains(key), key);
    QVERIFY(json["igd"].get<double>() < 0.01);
    QVERIFY(std::fabs(json["hypervolume"].get<double>() - json["hypervolume_truth"].get<double>()) <
            0.01);
}

void TestCliMap::fitRefusesHostileSamples()
{
    TempDir dir;
    struct Case {
        const char *label;
        std::string csv;
        std::vector<std::string> extra;
        const char *expected;
    };
    const std::string good = twoPeaksCsv(12);
    const std::vector<Case> cases = {
        {"empty", "", {}, "is empty"},
        {"header only", "c:a,c:b,a,b\n", {}, "has a header but no samples"},
        {"nan",
         "c:a,a\n0,0.5\n1,nan\n0.5,0.6\n",
         {},
         "column 'a', sample 2 is not a finite number"},
        {"inf", "c:a,a\n0,0.5\n1,inf\n0.5,0.6\n", {}, "not a finite number"},
        {"text", "c:a,a\n0,0.5\n1,high\n", {}, "line 3, column 'a': 'high' is not a number"},
        {"wrong columns", "c:a,a\n0,0.5\n1,0.6,7\n", {}, "line 3 has 3 fields, the header has 2"},
        {"constant metric",
         "c:a,a\n0,0.5\n0.5,0.5\n1,0.5\n",
         {},
         "column 'a' has the same value in every sample"},
        {"constant coefficient",
         "c:a,c:b,a\n0,1,0.1\n0.5,1,0.2\n1,1,0.3\n0.2,1,0.4\n0.7,1,0.5\n",
         {},
         "column 'c:b' has the same value in every sample"},
        {"too few samples",
         "c:a,c:b,c:c,a\n0,0,1,0.1\n1,0,0,0.2\n0,1,0,0.3\n0.5,0.5,0.5,0.4\n",
         {},
         "metric 'a': 4 samples cannot fit a quadratic in 3 coefficients"},
        {"outside the link",
         "c:a,a\n0,0.5\n0.5,1.5\n1,0.2\n0.3,0.1\n",
         {"--link", "logit"},
         "outside [0, 1]"},
        {"no coefficient", "a,b\n1,2\n", {}, "no coefficient column"},
        {"duplicate column", "c:a,a,a\n1,2,3\n", {}, "column 'a' appears twice"},
        {"unknown minimize", good, {"--minimize", "zzz"}, "--minimize zzz"},
    };
    for (const Case &c : cases) {
        mftest::writeFile(dir.file("bad.csv"), c.csv);
        std::vector<std::string> args = {"fit", "--samples", dir.file("bad.csv"), "--json"};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const auto run = mftest::runCli(dir, args);
        const std::string context = std::string(c.label) + ": " + run.err;
        QVERIFY2(run.code == 1, context.c_str());
        QVERIFY2(run.out.empty(), context.c_str());
        QVERIFY2(run.err.find(c.expected) != std::string::npos, context.c_str());
        QVERIFY2(std::count(run.err.begin(), run.err.end(), '\n') == 1, context.c_str());
    }
    const auto usage =
        mftest::runCli(dir, {"fit", "--samples", dir.file("bad.csv"), "--link", "cubic"});
    QCOMPARE(usage.code, 1);
    QVERIFY(usage.err.find("unknown link 'cubic'") != std::string::npos);
    QCOMPARE(mftest::runCli(dir, {"fit"}).code, 2);
}

void TestCliMap::qualityRefusesMismatchedFiles()
{
    TempDir dir;
    mftest::writeFile(dir.file("f.csv"), "a,b\n1,0\n0,1\n");
    mftest::writeFile(dir.file("t.csv"), "a,c\n1,0\n0,1\n");
    auto run = mftest::runCli(
        dir, {"quality", "--front", dir.file("f.csv"), "--truth", dir.file("t.csv")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("has the metric column 'b'") != std::string::npos, run.err.c_str());
    mftest::writeFile(dir.file("t.csv"), "a,b\n");
    run = mftest::runCli(dir,
                         {"quality", "--front", dir.file("f.csv"), "--truth", dir.file("t.csv")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("has no rows") != std::string::npos, run.err.c_str());
    mftest::writeFile(dir.file("t.csv"), "a,b\n2,0\n0,2\n");
    run = mftest::runCli(dir, {"quality", "--front", dir.file("f.csv"), "--truth",
                               dir.file("t.csv"), "--minimize", "a", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(nlohmann::json::parse(run.out)["gd"].get<double>() >= 0);
}

MF_TEST_MAIN(TestCliMap, fitPrintsSurrogatesAndFront, qualityScoresTheFitFront,
             fitRefusesHostileSamples, qualityRefusesMismatchedFiles)
#ifdef MERGEFRONT_QT_TEST
#include "tst_cli_map.moc"
#endif
