// SPDX-License-Identifier: GPL-3.0-or-later
// A project explored end to end from the command line with command evaluators: explore
// (resuming from the cache), status, front, select, evaluate, grid, export.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <csignal>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using mftest::TempDir;

namespace {

/// base w = (0, 0); task a moves w to (1, 0), task b to (0, 1): the merge's w is (c_a, c_b),
/// and the peaks command scores it like the analytic two-peaks problem.
void makeProject(const TempDir &dir, const std::string &command)
{
    mftest::writeCommandProject(dir, command);
}

std::string peaksCommand()
{
    return std::string("'") + MERGEFRONT_METRIC_TOOL + "' peaks {checkpoint} {task}";
}

double peaks(double x, double y, double px, double py)
{
    return 1 / (1 + std::exp(-(2 - 4 * (std::pow(x - px, 2) + std::pow(y - py, 2)))));
}

nlohmann::json projectFile(const TempDir &dir)
{
    return nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
}

} // namespace

class TestCliProject : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void exploresAndResumes();
    void reportsSelectsAndEvaluates();
    void gridAndQualityPipeline();
    void marksProvisionalFronts();
    void gridPointsServeAsSamples();
    void exportsTheChosenMerge();
    void recordsFailedEvaluations();
    void exploresNested();
    void exploresBlockwiseAndReplaysItsRecipe();
    void evaluatesInProcessWithTorchScript();
    void survivesInterruptAndKill();
    void oneProjectCommandPerMerge();
    void changedSettingsLeaveOldEvaluationsOutOfTheFits();
};

void TestCliProject::exploresAndResumes()
{
    TempDir dir;
    makeProject(dir, peaksCommand());
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["evaluations"].get<int>(), 12);
    QVERIFY(json["surrogates"][0]["r2"].get<double>() > 0.999999);
    QVERIFY(json["front_points"].get<int>() > 20);
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(12));
    const auto &first = file["evaluations"][0]; // the one-hot of task a: w = (1, 0)
    QCOMPARE(first["coefficients"].get<std::vector<double>>(), (std::vector<double>{1, 0}));
    QVERIFY(std::fabs(first["metrics"]["a"].get<double>() - peaks(1, 0, 0.8, 0.2)) < 1e-6);
    QVERIFY(std::fabs(first["metrics"]["b"].get<double>() - peaks(1, 0, 0.2, 0.8)) < 1e-6);
    QCOMPARE(first["device"].get<std::string>(), std::string("command"));
    QVERIFY(!first["when"].get<std::string>().empty());

    // Again: everything is served from the project's cache; no evaluation is repeated.
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(12));

    // Bayesian rounds on top, with a larger budget: only the new points are evaluated.
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--mode", "bayesian",
                               "--budget", "16", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(nlohmann::json::parse(run.out)["evaluations"].get<int>(), 16);
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(16));
    QCOMPARE(projectFile(dir)["map"]["mode"].get<std::string>(), std::string("bayesian"));
}

void TestCliProject::reportsSelectsAndEvaluates()
{
    TempDir dir;
    makeProject(dir, peaksCommand());
    QCOMPARE(mftest::runCli(dir, {"explore", dir.file("project.json")}).code, 0);

    auto run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["tasks"].get<std::vector<std::string>>(), (std::vector<std::string>{"a", "b"}));
    QCOMPARE(json["evaluations"].get<int>(), 12);
    QCOMPARE(json["failed"].get<int>(), 0);
    QCOMPARE(json["grid_evaluations"].get<int>(), 0);
    QCOMPARE(json["surrogates"].size(), std::size_t(2));
    QCOMPARE(json["device"].get<std::string>(), std::string("command"));
    QCOMPARE(json["provisional"].get<bool>(), false); // 12 = 2P evaluations of exact peaks
    QVERIFY(!json["surrogates"][0]["model"].get<std::string>().empty());
    // Each task's leave-one-out check of its 90% interval: all 12 samples held out in turn.
    for (const auto &s : json["surrogates"]) {
        QCOMPARE(s["loo_count"].get<int>(), 12);
        QVERIFY(s["loo_inside"].get<int>() >= 0 && s["loo_inside"].get<int>() <= 12);
        QVERIFY(s["interval"].get<std::string>().find("Student-t") != std::string::npos);
    }
    run = mftest::runCli(dir, {"status", dir.file("project.json")});
    QVERIFY2(run.out.find("inside its 90% interval") != std::string::npos, run.out.c_str());

    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    json = nlohmann::json::parse(run.out);
    QVERIFY(json["front"].size() > 20);
    QCOMPARE(json["provisional"].get<bool>(), false);
    // The measured best of a: a point predicted beyond it is flagged as extrapolated in a.
    double bestA = 0;
    const nlohmann::json saved = projectFile(dir);
    for (const auto &e : saved["evaluations"])
        if (e["metrics"].contains("a") && e["metrics"]["a"].is_number())
            bestA = std::max(bestA, e["metrics"]["a"].get<double>());
    int flagged = 0;
    for (const auto &point : json["front"]) {
        const double v = point["predicted"]["a"].get<double>();
        const auto interval = point["interval"]["a"].get<std::vector<double>>();
        QVERIFY(point["std"]["a"].get<double>() >= 0);
        QVERIFY(interval[0] <= v && v <= interval[1]);
        const auto beyond = point["extrapolated_tasks"].get<std::vector<std::string>>();
        QCOMPARE(point["extrapolated"].get<bool>(), !beyond.empty());
        const bool inA = std::find(beyond.begin(), beyond.end(), "a") != beyond.end();
        QVERIFY2(inA == (v > bestA), (std::to_string(v) + " vs the measured best " +
                                      std::to_string(bestA) + ": " + point.dump())
                                         .c_str());
        flagged += inA;
    }
    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--csv"});
    QCOMPARE(run.out.substr(0, run.out.find('\n')),
             std::string("c:a,c:b,a,b,measured:a,measured:b,std:a,std:b,lower:a,lower:b,upper:"
                         "a,upper:b,extrapolated:a,extrapolated:b"));
    // The CSV flags the same points: a 0/1 column per task, last.
    std::istringstream lines(run.out);
    std::string row;
    std::getline(lines, row); // the header
    int flaggedCsv = 0;
    while (std::getline(lines, row)) {
        const std::size_t last = row.rfind(','), before = row.rfind(',', last - 1);
        flaggedCsv += row.substr(before + 1, last - before - 1) == "1";
    }
    QCOMPARE(flaggedCsv, flagged);

    // Equal weights on a symmetric problem: the symmetric merge.
    run = mftest::runCli(dir, {"select", dir.file("project.json"), "--weights", "1,1", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    json = nlohmann::json::parse(run.out);
    const auto c = json["coefficients"].get<std::vector<double>>();
    QVERIFY2(std::fabs(c[0] - c[1]) < 0.05 && std::fabs(c[0] + c[1] - 1) < 0.05,
             (std::to_string(c[0]) + ", " + std::to_string(c[1])).c_str());
    QVERIFY(std::fabs(json["predicted"]["a"].get<double>() - json["predicted"]["b"].get<double>()) <
            0.01);
    QVERIFY(json["std"]["a"].get<double>() >= 0);
    QCOMPARE(json["interval"]["b"].size(), std::size_t(2));
    QCOMPARE(json["provisional"].get<bool>(), false);

    // A real evaluation, then the same one from the cache.
    run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.3,0.6", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    json = nlohmann::json::parse(run.out);
    QVERIFY(std::fabs(json["metrics"]["a"].get<double>() - peaks(0.3, 0.6, 0.8, 0.2)) < 1e-6);
    QCOMPARE(json["cached"].get<bool>(), false);
    run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.3,0.6", "--json"});
    QCOMPARE(nlohmann::json::parse(run.out)["cached"].get<bool>(), true);
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(13));
    QCOMPARE(mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.3"}).code, 2);

    // Many points from a CSV (the known one served from the cache), written as CSV.
    mftest::writeFile(dir.file("points.csv"), "c:b,c:a,note\n0.6,0.3,1\n0.1,0.9,2\n");
    run = mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--points",
                               dir.file("points.csv"), "--csv", dir.file("measured.csv")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const std::string measured = mftest::readFile(dir.file("measured.csv"));
    QCOMPARE(measured.substr(0, measured.find('\n')), std::string("c:a,c:b,a,b"));
    QVERIFY2(measured.find("\n0.90000000000000002,0.10000000000000001,") != std::string::npos,
             measured.c_str());
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(14));
    mftest::writeFile(dir.file("bad.csv"), "c:a,x\n0.1,0.2\n");
    run = mftest::runCli(dir,
                         {"evaluate", dir.file("project.json"), "--points", dir.file("bad.csv")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("no column 'c:b'") != std::string::npos, run.err.c_str());
}

void TestCliProject::marksProvisionalFronts()
{
    // 7 evaluations (P + 1) of two tasks: status, front, select and the export sidecar all say
    // the front is provisional, why, and about how many more evaluations would fix it.
    TempDir dir;
    makeProject(dir, peaksCommand());
    QCOMPARE(mftest::runCli(
                 dir, {"explore", dir.file("project.json"), "--mode", "plain", "--budget", "7"})
                 .code,
             0);
    auto run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["provisional"].get<bool>(), true);
    QCOMPARE(json["more_evaluations"].get<int>(), 5);
    QVERIFY2(json["provisional_reasons"][0].get<std::string>().find("needs 12") !=
                 std::string::npos,
             run.out.c_str());
    run = mftest::runCli(dir, {"status", dir.file("project.json")});
    QVERIFY2(run.out.find("front provisional: ") != std::string::npos, run.out.c_str());
    QVERIFY2(run.out.find("about 5 more evaluations would fix it") != std::string::npos,
             run.out.c_str());
    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--json"});
    QCOMPARE(nlohmann::json::parse(run.out)["provisional"].get<bool>(), true);
    run = mftest::runCli(dir, {"select", dir.file("project.json"), "--weights", "1,1", "--json"});
    QCOMPARE(nlohmann::json::parse(run.out)["provisional"].get<bool>(), true);
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--weights", "1,1", "--out",
                               dir.file("m.safetensors")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto sidecar = nlohmann::json::parse(mftest::readFile(dir.file("m.safetensors.json")));
    QCOMPARE(sidecar["provisional"].get<bool>(), true);
    QVERIFY(sidecar["provisional_reason"].get<std::string>().find("more evaluations") !=
            std::string::npos);
}

void TestCliProject::gridPointsServeAsSamples()
{
    // A 3-level grid first measures the one-hots and the midpoint; MAP's initial design asks
    // for them again: served from the cache (not re-run), and counted as MAP's samples, so
    // status, the fits and the front's trust see the 12 samples the run used.
    TempDir dir;
    makeProject(dir, peaksCommand());
    QCOMPARE(mftest::runCli(dir, {"grid", dir.file("project.json"), "--levels", "3"}).code, 0);
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(nlohmann::json::parse(run.out)["evaluations"].get<int>(), 12);
    QCOMPARE(nlohmann::json::parse(run.out)["provisional"].get<bool>(), false);
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    const auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["evaluations"].get<int>(), 12);
    QCOMPARE(json["grid_evaluations"].get<int>(), 9);
    QCOMPARE(json["surrogates"][0]["samples"].get<int>(), 12);
    QCOMPARE(json["provisional"].get<bool>(), false);
    // Not measured twice: 9 grid entries, 9 new merges, and the 3 the grid served, recorded
    // again as samples (the same result).
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(21));
}

void TestCliProject::gridAndQualityPipeline()
{
    TempDir dir;
    makeProject(dir, peaksCommand());
    auto run = mftest::runCli(
        dir, {"grid", dir.file("project.json"), "--levels", "3", "--csv", dir.file("grid.csv")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const std::string csv = mftest::readFile(dir.file("grid.csv"));
    QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 10L); // header + 9 merges
    QCOMPARE(mftest::runCli(dir, {"status", dir.file("project.json"), "--json"})
                     .out.find("\"grid_evaluations\": 9") != std::string::npos,
             true);
    QCOMPARE(mftest::runCli(dir, {"explore", dir.file("project.json")}).code, 0);
    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--csv"});
    mftest::writeFile(dir.file("front.csv"), run.out);
    run = mftest::runCli(dir, {"quality", "--front", dir.file("front.csv"), "--truth",
                               dir.file("grid.csv"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(nlohmann::json::parse(run.out)["hypervolume"].get<double>() > 0);
}

void TestCliProject::exportsTheChosenMerge()
{
    TempDir dir;
    makeProject(dir, peaksCommand());
    QCOMPARE(mftest::runCli(dir, {"explore", dir.file("project.json")}).code, 0);
    auto run = mftest::runCli(dir, {"export", dir.file("project.json"), "--coef", "1,0", "--out",
                                    dir.file("merged.safetensors")});
    QVERIFY2(run.code == 0, run.err.c_str());
    // The exported merge is task a alone: w = (1, 0); the integer buffer comes from the base.
    run = mftest::runCli(dir, {"inspect", dir.file("merged.safetensors"), "--json"});
    QCOMPARE(run.code, 0);
    const auto sidecar =
        nlohmann::json::parse(mftest::readFile(dir.file("merged.safetensors.json")));
    QCOMPARE(sidecar["coefficients"].get<std::vector<double>>(), (std::vector<double>{1, 0}));
    QCOMPARE(sidecar["method"].get<std::string>(), std::string("task_arithmetic"));
    QVERIFY(sidecar["fingerprints"].contains("base") && sidecar["fingerprints"].contains("b"));
    QVERIFY(std::fabs(sidecar["measured"]["a"].get<double>() - peaks(1, 0, 0.8, 0.2)) <
            1e-6); // a one-hot sample
    QVERIFY(sidecar["predicted"].contains("a"));
    // Predictions with their uncertainty; the measured one-hot inside its own interval.
    const auto interval = sidecar["interval"]["a"].get<std::vector<double>>();
    QVERIFY(interval[0] <= sidecar["predicted"]["a"].get<double>() &&
            sidecar["predicted"]["a"].get<double>() <= interval[1]);
    QVERIFY(sidecar["std"]["a"].get<double>() >= 0);
    QCOMPARE(sidecar["interval_level"].get<double>(), 0.9);
    // How each task's interval was made, with its leave-one-out check.
    for (const char *task : {"a", "b"}) {
        const auto &method = sidecar["interval_method"][task];
        QVERIFY(!method["model"].get<std::string>().empty());
        QVERIFY(method["interval"].get<std::string>().find("Student-t") != std::string::npos);
        QCOMPARE(method["loo_count"].get<int>(), 12);
    }
    QCOMPARE(sidecar["provisional"].get<bool>(), false);

    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--weights", "3,1", "--out",
                               dir.file("pref.pt")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto file = projectFile(dir);
    QCOMPARE(file["chosen"].size(), std::size_t(2));
    QCOMPARE(file["chosen"][1]["exported"].get<std::string>(), std::string("pref.pt"));
    // A model folder, converted to f16: its card has the predicted and measured metrics of the
    // point and says how it was made; the sidecar lies beside the folder.
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--coef", "1,0", "--out",
                               dir.file("chosen/"), "--dtype", "f16"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const mf::Checkpoint folder = mf::Checkpoint::open(dir.file("chosen"));
    QVERIFY(folder.find("w")->dtype == mf::DType::F16);
    QCOMPARE(mftest::valuesOf(*folder.find("w")), (std::vector<double>{1, 0}));
    const std::string card = mftest::readFile(dir.file("chosen/README.md"));
    // Measured values rounded as the predictions are (4 significant digits), and no claim of
    // a tokenizer: these are single files, no folder with tokenizer files.
    char measured[64];
    std::snprintf(measured, sizeof measured, " | %.4g |", peaks(1, 0, 0.8, 0.2));
    for (const std::string &word :
         {std::string("| a | accuracy | maximize | "), std::string("mergefront-cli export"),
          std::string(" ± "), std::string("(90%: "), std::string("--dtype f16"),
          std::string(measured),
          std::string("- tokenizer: none (the base's source has no tokenizer files")})
        QVERIFY2(card.find(word) != std::string::npos, (word + "\n" + card).c_str());
    QVERIFY(nlohmann::json::parse(mftest::readFile(dir.file("chosen.json")))["dtype"] == "F16");
    // Never over a source checkpoint.
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--coef", "1,0", "--out",
                               dir.file("a.safetensors")});
    QCOMPARE(run.code, 1);
    QVERIFY(run.err.find("would overwrite the input") != std::string::npos);
}

void TestCliProject::recordsFailedEvaluations()
{
    TempDir dir;
    makeProject(dir, "echo broken >&2; exit 3");
    auto run = mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.5,0.5"});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("exited with status 3; stderr: broken") != std::string::npos,
             run.err.c_str());
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(1));
    QCOMPARE(file["evaluations"][0]["failed"].get<bool>(), true);
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    QCOMPARE(nlohmann::json::parse(run.out)["failed"].get<int>(), 1);
    // A run of MAP with it: two tries, then exit 1 with the command's own error.
    run = mftest::runCli(dir, {"explore", dir.file("project.json")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("the first 2 evaluations failed the same way") != std::string::npos &&
                 run.err.find("exited with status 3; stderr: broken") != std::string::npos,
             run.err.c_str());
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(3));
}

void TestCliProject::oneProjectCommandPerMerge()
{
    // A project-level command serves both tasks: `explore`, `evaluate` and `grid` start it once
    // per merge (each run appends a line to runs.txt), and its one JSON object holds both
    // metrics ({"a": {"accuracy": ...}, "b": {...}}).
    TempDir dir;
    const std::string counted = "echo run >> '" + dir.file("runs.txt") + "'; '" +
                                MERGEFRONT_METRIC_TOOL + "' peaks-all {checkpoint} {tasks}";
    mftest::writeSharedCommandProject(dir, counted);
    const auto runs = [&] {
        const std::string text = std::filesystem::exists(dir.file("runs.txt"))
                                     ? mftest::readFile(dir.file("runs.txt"))
                                     : std::string();
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    };
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--budget", "7"});
    QVERIFY2(run.code == 0, run.err.c_str());
    auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(7));
    QCOMPARE(runs(), std::size_t(7));           // one command per merge, not one per task
    const auto &first = file["evaluations"][0]; // w = (1, 0)
    QVERIFY(std::fabs(first["metrics"]["a"].get<double>() - peaks(1, 0, 0.8, 0.2)) < 1e-6);
    QVERIFY(std::fabs(first["metrics"]["b"].get<double>() - peaks(1, 0, 0.2, 0.8)) < 1e-6);
    // Saved as it was written: the evaluator at the top, none in the tasks.
    QCOMPARE(file["evaluator"]["command"].get<std::string>(), counted);
    QVERIFY(!file["tasks"][0].contains("evaluator"));
    run = mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.3,0.6"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(runs(), std::size_t(8));
    run = mftest::runCli(dir, {"grid", dir.file("project.json"), "--levels", "3"});
    QVERIFY2(run.code == 0, run.err.c_str());
    // Grid points measured already are served from the project; each new one ran once.
    const std::size_t recorded = projectFile(dir)["evaluations"].size();
    QVERIFY(recorded > 8 && recorded <= 8 + 9);
    QCOMPARE(runs(), recorded);
    run = mftest::runCli(dir, {"status", dir.file("project.json")});
    QVERIFY2(run.code == 0, run.err.c_str());

    // Output without task b's metric: the evaluation fails naming the command and the task.
    TempDir broken;
    mftest::writeSharedCommandProject(
        broken, "echo 'scoring' >&2; echo '{\"a\": {\"accuracy\": 0.5}, \"c\": {}}'");
    run = mftest::runCli(broken, {"evaluate", broken.file("project.json"), "--coef", "0.5,0.5"});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("the project's command: the output's JSON object has no 'accuracy' of "
                          "task 'b'") != std::string::npos &&
                 run.err.find("stderr: scoring") != std::string::npos,
             run.err.c_str());

    // A project-level evaluator that is not a command, or has none, is refused on load.
    auto project = nlohmann::json::parse(mftest::readFile(broken.file("project.json")));
    project["evaluator"] = {{"kind", "torchscript"}, {"module", "m.pt"}};
    mftest::writeFile(broken.file("project.json"), project.dump());
    run = mftest::runCli(broken, {"status", broken.file("project.json")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("evaluator: the project-level evaluator runs a command") !=
                 std::string::npos,
             run.err.c_str());
    project["evaluator"] = {{"kind", "command"}, {"command", " "}};
    mftest::writeFile(broken.file("project.json"), project.dump());
    run = mftest::runCli(broken, {"status", broken.file("project.json")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("evaluator: \"command\" is missing or empty") != std::string::npos,
             run.err.c_str());
}

void TestCliProject::changedSettingsLeaveOldEvaluationsOutOfTheFits()
{
    TempDir dir;
    makeProject(dir, peaksCommand());
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--budget", "12"});
    QVERIFY2(run.code == 0, run.err.c_str());
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    auto status = nlohmann::json::parse(run.out);
    QCOMPARE(status["other_settings"].get<int>(), 0);
    QCOMPARE(status["surrogates"].size(), std::size_t(2));
    // Another merge method: the 12 evaluations describe other merges. They stay in the file,
    // out of the fits (too few current samples to fit now), and are not served as cache hits.
    auto project = projectFile(dir);
    project["merge"]["method"] = "ties";
    project["merge"]["density"] = 0.5;
    mftest::writeFile(dir.file("project.json"), project.dump(2));
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    status = nlohmann::json::parse(run.out);
    QCOMPARE(status["other_settings"].get<int>(), 12);
    QCOMPARE(status["evaluations"].get<int>(), 12);
    QVERIFY(status["surrogates"].empty());
    run = mftest::runCli(dir, {"status", dir.file("project.json")});
    QVERIFY2(run.out.find("12 evaluations were made under other settings") != std::string::npos,
             run.out.c_str());
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--budget", "12", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(24));
    run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
    status = nlohmann::json::parse(run.out);
    QCOMPARE(status["other_settings"].get<int>(), 12);
    QCOMPARE(status["surrogates"].size(), std::size_t(2)); // fitted on the 12 current ones
}

void TestCliProject::exploresNested()
{
    // Two tasks: one pair, merged by a 2-task MAP of 12 evaluations.
    TempDir dir;
    makeProject(dir, peaksCommand());
    const auto run =
        mftest::runCli(dir, {"explore", dir.file("project.json"), "--mode", "nested", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto json = nlohmann::json::parse(run.out);
    QCOMPARE(json["stop"].get<std::string>(), std::string("nested"));
    QCOMPARE(json["evaluations"].get<int>(), 12);
    QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(12));
}

void TestCliProject::exploresBlockwiseAndReplaysItsRecipe()
{
    // Two layers, two tasks, a group per layer: D = 4 coefficients; task a moves both layers'
    // w to (1, 0), task b to (0, 1), so a merge's layers.g.w = (C[a][g], C[b][g]).
    TempDir dir;
    mftest::writeBlockwiseProject(dir, std::string("'") + MERGEFRONT_METRIC_TOOL +
                                           "' blocks {checkpoint} {task}");
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(projectFile(dir)["evaluations"][0]["coefficients"].size(), std::size_t(4));
    QVERIFY2(run.err.find("4 coefficient(s) (2 tasks x 2 group columns): a full quadratic per "
                          "task has 15 parameters") != std::string::npos,
             run.err.c_str());
    // Nested MAP block-wise: the one pair's MAP runs over its 2 x 2 coefficients (2P = 30).
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--mode", "nested", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(nlohmann::json::parse(run.out)["evaluations"].get<int>(), 30);
    // The front's coefficients are the tasks x groups matrix.
    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto front = nlohmann::json::parse(run.out);
    QCOMPARE(front["columns"], nlohmann::json({"lower", "upper"}));
    QCOMPARE(front["front"][0]["coefficients"].size(), std::size_t(2));
    QCOMPARE(front["front"][0]["coefficients"][0].size(), std::size_t(2));
    run = mftest::runCli(dir, {"front", dir.file("project.json"), "--csv"});
    QVERIFY2(run.out.rfind("c:a/lower,c:a/upper,c:b/lower,c:b/upper,a,b,", 0) == 0,
             run.out.c_str());
    // Measured where each task wants it per layer: a at (0.8,0.2),(0.5,0.1) is its peak.
    run = mftest::runCli(
        dir, {"evaluate", dir.file("project.json"), "--coef", "0.8,0.5,0.2,0.1", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(std::fabs(nlohmann::json::parse(run.out)["metrics"]["a"].get<double>() -
                      1 / (1 + std::exp(-2.0))) < 1e-9);
    run = mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "0.8,0.2"});
    QCOMPARE(run.code, 2);
    QVERIFY2(run.err.find("give 4, task by task: a/lower, a/upper, b/lower, b/upper") !=
                 std::string::npos,
             run.err.c_str());
    // Export a preference's point; its sidecar is a recipe that replays bit for bit.
    run = mftest::runCli(dir, {"export", dir.file("project.json"), "--weights", "1,1", "--out",
                               dir.file("chosen.safetensors")});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto sidecar =
        nlohmann::json::parse(mftest::readFile(dir.file("chosen.safetensors.json")));
    QCOMPARE(sidecar["recipe"].get<int>(), 1);
    QCOMPARE(sidecar["groups"][1]["name"].get<std::string>(), std::string("upper"));
    QCOMPARE(sidecar["coefficients"].size(), std::size_t(2));
    const mf::Checkpoint chosen = mf::Checkpoint::open(dir.file("chosen.safetensors"));
    const std::vector<double> lower = mftest::valuesOf(*chosen.find("layers.0.w"));
    QVERIFY(std::fabs(lower[0] - sidecar["coefficients"][0][0].get<double>()) < 1e-6);
    QVERIFY(std::fabs(lower[1] - sidecar["coefficients"][1][0].get<double>()) < 1e-6);
    run = mftest::runCli(dir, {"merge", "--recipe", dir.file("chosen.safetensors.json"), "--out",
                               dir.file("replayed.safetensors"), "--quiet"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QVERIFY(mftest::readFile(dir.file("replayed.safetensors")) ==
            mftest::readFile(dir.file("chosen.safetensors")));
    // The recipe fixes everything but where to write.
    run = mftest::runCli(dir, {"merge", "--recipe", dir.file("chosen.safetensors.json"), "--coef",
                               "1,1,1,1", "--out", dir.file("other.safetensors")});
    QCOMPARE(run.code, 2);
    QVERIFY2(run.err.find("--coef cannot change it") != std::string::npos, run.err.c_str());
    // A task retrained since: refused, named, nothing written.
    mftest::writeCheckpoint(
        dir.file("b.safetensors"),
        {{"layers.0.w", mf::DType::F32, {2}, {0, 2}}, {"layers.1.w", mf::DType::F32, {2}, {0, 1}}});
    run = mftest::runCli(dir, {"merge", "--recipe", dir.file("chosen.safetensors.json"), "--out",
                               dir.file("stale.safetensors")});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.find("changed since the recipe was written: task 'b'") != std::string::npos,
             run.err.c_str());
    QVERIFY(!std::filesystem::exists(dir.file("stale.safetensors")));
}

void TestCliProject::evaluatesInProcessWithTorchScript()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF)");
#else
    TempDir dir;
    const std::string data = mftest::dataPath("torch/");
    const nlohmann::json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", data + "base.pt"},
        {"tasks", {mftest::torchScriptTask("a"), mftest::torchScriptTask("b")}},
        {"map", {{"mode", "plain"}, {"budget", 8}}},
        {"device", "cpu"}};
    mftest::writeFile(dir.file("project.json"), project.dump());
    auto run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "1,0", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto expected =
        nlohmann::json::parse(mftest::readFile(mftest::dataPath("torch/expected.json")));
    auto json = nlohmann::json::parse(run.out);
    QVERIFY(std::fabs(json["metrics"]["a"].get<double>() -
                      expected["1.0,0.0"]["a"]["accuracy"].get<double>()) < 1e-6);
    QVERIFY(std::fabs(json["metrics"]["b"].get<double>() -
                      expected["1.0,0.0"]["b"]["accuracy"].get<double>()) < 1e-6);
    QCOMPARE(json["device"].get<std::string>(), std::string("cpu"));
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(nlohmann::json::parse(run.out)["evaluations"].get<int>(), 8);
#endif
}

void TestCliProject::survivesInterruptAndKill()
{
    // Slow evaluations (0.2 s per task): stop explore once two are saved, by Ctrl-C and by
    // kill -9. Either way the project file is whole and keeps every finished evaluation.
    for (int signal : {SIGINT, SIGKILL}) {
        TempDir dir;
        makeProject(dir, "sleep 0.2; " + peaksCommand());
        const pid_t pid = ::fork();
        if (pid == 0) {
            std::freopen("/dev/null", "w", stdout);
            std::freopen("/dev/null", "w", stderr);
            ::execl(MERGEFRONT_CLI, MERGEFRONT_CLI, "explore", dir.file("project.json").c_str(),
                    static_cast<char *>(nullptr));
            std::_Exit(127);
        }
        QVERIFY(pid > 0);
        std::size_t saved = 0;
        for (int i = 0; i < 3000 && saved < 2; ++i) {
            ::usleep(10000);
            const auto file =
                nlohmann::json::parse(mftest::readFile(dir.file("project.json")), nullptr, false);
            QVERIFY2(!file.is_discarded(), "the project file is always whole");
            saved = file.contains("evaluations") ? file["evaluations"].size() : 0;
        }
        ::kill(pid, signal);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (signal == SIGINT) {
            QVERIFY(WIFEXITED(status));
            QCOMPARE(WEXITSTATUS(status), 130);
        } else {
            QVERIFY(WIFSIGNALED(status));
        }
        const auto file = nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
        QVERIFY(file["evaluations"].size() >= 2 && file["evaluations"].size() < 12);
        for (const auto &e : file["evaluations"])
            QVERIFY(!e["failed"].get<bool>());
        // Resuming finishes the budget without redoing what was saved.
        const auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
        QVERIFY2(run.code == 0, run.err.c_str());
        QCOMPARE(projectFile(dir)["evaluations"].size(), std::size_t(12));
    }
}

MF_TEST_MAIN(TestCliProject, exploresAndResumes, reportsSelectsAndEvaluates, gridAndQualityPipeline,
             exportsTheChosenMerge, recordsFailedEvaluations, exploresNested,
             exploresBlockwiseAndReplaysItsRecipe, evaluatesInProcessWithTorchScript,
             survivesInterruptAndKill, marksProvisionalFronts, gridPointsServeAsSamples,
             oneProjectCommandPerMerge, changedSettingsLeaveOldEvaluationsOutOfTheFits)
#ifdef MERGEFRONT_QT_TEST
#include "tst_cli_project.moc"
#endif
