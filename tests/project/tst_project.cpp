// SPDX-License-Identifier: GPL-3.0-or-later
// The project file: round trip, relative paths, unknown keys kept, every evaluation saved
// atomically as it arrives, the evaluation cache, and clear errors for bad files.
#include "testing.h"

#include "fixtures.h"

#include <filesystem>

#include "eval/job_runner.h"
#include "project/project.h"
#include "project/session.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

using mf::project::Project;
using mftest::TempDir;

namespace {

const char *kMinimal = R"({
  "format": "mergefront-project", "version": 1,
  "base": "models/base.safetensors",
  "tasks": [
    {"name": "mnist", "checkpoint": "models/mnist.safetensors", "metric": "accuracy",
     "evaluator": {"kind": "command", "command": "eval {checkpoint}"}},
    {"name": "loss", "checkpoint": "/abs/loss.pt", "direction": "minimize", "lower": -0.5, "upper": 1.5}
  ],
  "merge": {"method": "ties", "density": 0.3},
  "map": {"mode": "plain", "budget": 20, "seed": 4}
})";

class Echo : public mf::eval::Evaluator {
public:
    mf::eval::Evaluation evaluate(const std::vector<double> &c,
                                  const mf::eval::CancelFlag &) override
    {
        mf::eval::Evaluation e;
        e.coefficients = c;
        e.metrics = {{"mnist", c[0]}, {"loss", c[1]}};
        e.failed = c[0] < 0;
        e.error = e.failed ? "negative" : "";
        e.device = "test";
        return e;
    }
};

} // namespace

class TestProject : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsTheSchema();
    void roundTripsAndKeepsUnknownKeys();
    void savesEveryEvaluationAsItArrives();
    void aBrokenEvaluatorCostsTwoTries();
    void cachesByCoefficientsAndSettings();
    void refusesBadFiles();
    void sessionCancelsFromAnotherThread();
    void movesKeepingPathsToTheSameFiles();
    void savesANewProjectOnlyOnce();
};

void TestProject::readsTheSchema()
{
    TempDir dir;
    mftest::writeFile(dir.file("p.json"), kMinimal);
    const Project p = Project::load(dir.file("p.json"));
    QCOMPARE(p.tasks.size(), std::size_t(2));
    QCOMPARE(p.resolve(p.base), dir.path() + "/models/base.safetensors");
    QCOMPARE(p.resolve(p.tasks[1].checkpoint), std::string("/abs/loss.pt"));
    QCOMPARE(p.relativize(dir.path() + "/models/x.pt"), std::string("models/x.pt"));
    QVERIFY(p.tasks[1].direction == mf::map::Direction::Minimize);
    QVERIFY(p.merge.method == mf::MergeMethod::Ties);
    QCOMPARE(p.merge.density, 0.3);
    QCOMPARE(p.map.budget, 20);
    const auto problem = p.problem();
    QCOMPARE(problem.lower[1], -0.5);
    QCOMPARE(problem.upper[1], 1.5);
    QCOMPARE(p.tasks[0].evaluator["kind"].get<std::string>(), std::string("command"));
}

void TestProject::roundTripsAndKeepsUnknownKeys()
{
    TempDir dir;
    auto document = nlohmann::json::parse(kMinimal);
    document["version"] = 3; // written by a newer Mergefront
    document["future_top"] = {{"x", 1}};
    document["tasks"][0]["future_task_key"] = "kept";
    document["merge"]["future_merge_key"] = true;
    document["evaluations"] = {{{"coefficients", {0.5, 0.5}},
                                {"metrics", {{"mnist", 0.9}, {"loss", 0.2}}},
                                {"future_evaluation_key", 7}}};
    mftest::writeFile(dir.file("p.json"), document.dump());
    Project p = Project::load(dir.file("p.json"));
    QCOMPARE(p.version, 3);
    p.tasks[0].metric = "top1";
    p.record({{0.1, 0.2}, {{"mnist", 0.7}, {"loss", 0.4}}, false, "", 1.5, "cpu"}, "sample", "k");
    p.save();
    const auto saved = nlohmann::json::parse(mftest::readFile(dir.file("p.json")));
    QCOMPARE(saved["version"].get<int>(), 3);
    QCOMPARE(saved["future_top"]["x"].get<int>(), 1);
    QCOMPARE(saved["tasks"][0]["future_task_key"].get<std::string>(), std::string("kept"));
    QCOMPARE(saved["merge"]["future_merge_key"].get<bool>(), true);
    QCOMPARE(saved["evaluations"][0]["future_evaluation_key"].get<int>(), 7);
    const Project again = Project::load(dir.file("p.json"));
    QCOMPARE(again.tasks[0].metric, std::string("top1"));
    QCOMPARE(again.evaluations.size(), std::size_t(2));
    QCOMPARE(again.evaluations[1].result.metrics.at("loss"), 0.4);
    QCOMPARE(again.evaluations[1].result.seconds, 1.5);
    QVERIFY(again.evaluations[1].when.size() == 20 && again.evaluations[1].when.back() == 'Z');
    QCOMPARE(dir.entries(), std::vector<std::string>{"p.json"}); // no temporaries left

    // The runner and the cluster jobs in flight survive save and load, with unknown keys.
    Project cluster = Project::load(dir.file("p.json"));
    cluster.runner.kind = "slurm";
    cluster.runner.sbatch = {"--partition=gpu", "--gres=gpu:1"};
    cluster.runner.maxJobs = 8;
    cluster.runner.setup = "module load cuda";
    mf::project::JobRecord job;
    job.id = "4242";
    job.coefficients = {0.25, 0.75};
    job.kind = "grid";
    job.cacheKey = "k";
    job.submittedAt = "2026-12-01T10:00:00Z";
    job.attempt = 2;
    job.result = "/shared/r.json";
    job.history = {"4241 ended NODE_FAIL"};
    cluster.jobs.push_back(job);
    cluster.save();
    auto raw = nlohmann::json::parse(mftest::readFile(dir.file("p.json")));
    raw["runner"]["future_runner_key"] = "kept";
    mftest::writeFile(dir.file("p.json"), raw.dump());
    Project reread = Project::load(dir.file("p.json"));
    QCOMPARE(reread.runner.kind, std::string("slurm"));
    QCOMPARE(reread.runner.sbatch, cluster.runner.sbatch);
    QCOMPARE(reread.runner.maxJobs, 8);
    QCOMPARE(reread.runner.setup, std::string("module load cuda"));
    QCOMPARE(reread.runner.cli, std::string("mergefront-cli"));
    QCOMPARE(reread.jobs.size(), std::size_t(1));
    QCOMPARE(reread.jobs[0].id, std::string("4242"));
    QVERIFY(reread.jobs[0].coefficients == job.coefficients);
    QCOMPARE(reread.jobs[0].kind, std::string("grid"));
    QCOMPARE(reread.jobs[0].attempt, 2);
    QCOMPARE(reread.jobs[0].result, job.result);
    QCOMPARE(reread.jobs[0].history.front(), job.history.front());
    reread.save();
    QCOMPARE(
        nlohmann::json::parse(mftest::readFile(dir.file("p.json")))["runner"]["future_runner_key"]
            .get<std::string>(),
        std::string("kept"));
    QCOMPARE(reread.runnerWorkdir(), dir.file("p.slurm"));
}

void TestProject::savesEveryEvaluationAsItArrives()
{
    TempDir dir;
    mftest::writeFile(dir.file("p.json"), kMinimal);
    Project p = Project::load(dir.file("p.json"));
    Echo evaluator;
    mf::eval::JobRunner runner;
    int savedCounts = 0;
    runner.run({{0.1, 0.2}, {-1, 0}, {0.3, 0.4}}, evaluator, 1, [&](const mf::eval::Evaluation &e) {
        p.record(e, "sample", "key");
        p.save();
        // What is on disk after each save: every evaluation so far.
        savedCounts += static_cast<int>(Project::load(dir.file("p.json")).evaluations.size());
    });
    QCOMPARE(savedCounts, 1 + 2 + 3);
    const Project reopened = Project::load(dir.file("p.json"));
    QCOMPARE(reopened.evaluations.size(), std::size_t(3));
    QVERIFY(reopened.evaluations[1].result.failed);
    QCOMPARE(reopened.evaluations[1].result.error, std::string("negative"));
    const auto samples = reopened.samples();
    QCOMPARE(samples.count(), 3);
    QVERIFY(std::isnan(samples.y(1, 0))); // the failed one: kept, but no metrics
    QCOMPARE(samples.y(2, 1), 0.4);
}

void TestProject::cachesByCoefficientsAndSettings()
{
    TempDir dir;
    mftest::writeFile(dir.file("p.json"), kMinimal);
    Project p = Project::load(dir.file("p.json"));
    mf::MergeOptions ties;
    ties.method = mf::MergeMethod::Ties;
    const std::string key = mf::project::cacheKey(ties, {"aa", "bb", "cc"});
    p.record({{0.5, 0.5}, {{"mnist", 0.9}, {"loss", 0.2}}, false, "", 1, "cpu"}, "sample", key);
    p.record({{0.7, 0.5}, {}, true, "boom", 1, "cpu"}, "sample", key);
    QVERIFY(p.cached({0.5, 0.5}, key) != nullptr);
    QVERIFY(p.cached({0.5, 0.5000001}, key) == nullptr);
    QVERIFY(p.cached({0.7, 0.5}, key) == nullptr); // failures are retried
    ties.density = 0.5;
    QVERIFY(p.cached({0.5, 0.5}, mf::project::cacheKey(ties, {"aa", "bb", "cc"})) == nullptr);
    QVERIFY(p.cached({0.5, 0.5}, mf::project::cacheKey(ties, {"aa", "bb", "cd"})) == nullptr);
    ties.density = 0.2;
    QVERIFY(p.cached({0.5, 0.5}, mf::project::cacheKey(ties, {"aa", "bb", "cc"},
                                                       "another command")) == nullptr);
}

void TestProject::refusesBadFiles()
{
    TempDir dir;
    struct Case {
        std::string text;
        const char *expected;
    };
    auto with = [](const std::function<void(nlohmann::json &)> &edit) {
        auto d = nlohmann::json::parse(kMinimal);
        edit(d);
        return d.dump();
    };
    const std::vector<Case> cases = {
        {"{not json", "invalid JSON"},
        {"{}", "not a Mergefront project"},
        {with([](auto &d) { d.erase("base"); }), "the project has no \"base\""},
        {with([](auto &d) { d["tasks"] = nlohmann::json::array(); }),
         "\"tasks\" is missing or empty"},
        {with([](auto &d) { d["tasks"][1]["name"] = "mnist"; }), "two tasks are named 'mnist'"},
        {with([](auto &d) { d["tasks"][0].erase("checkpoint"); }),
         "task 'mnist' has no \"checkpoint\""},
        {with([](auto &d) { d["tasks"][0]["direction"] = "up"; }), "direction 'up'"},
        {with([](auto &d) { d["tasks"][0]["upper"] = -1; }), "the box [lower, upper] is empty"},
        {with([](auto &d) { d["merge"]["method"] = "slerp"; }),
         "merge: unknown merge method 'slerp'"},
        {with([](auto &d) { d["merge"]["density"] = 0; }), "merge: density must be in (0, 1]"},
        {with([](auto &d) {
             d["evaluations"] = {{{"coefficients", {1, 2, 3}}}};
         }),
         "evaluation 1 has 3 coefficients for 2 tasks"},
        {with([](auto &d) {
             d["runner"] = {{"kind", "pbs"}};
         }),
         "runner: kind 'pbs' (expected local or slurm)"},
        {with([](auto &d) {
             d["runner"] = {{"kind", "slurm"}, {"max_jobs", 0}};
         }),
         "runner: max_jobs must be at least 1"},
        {with([](auto &d) {
             d["runner"] = {{"kind", "slurm"}, {"sbatch", "--partition=gpu"}};
         }),
         "runner: \"sbatch\" is not a list of options"},
        {with([](auto &d) {
             d["jobs"] = {{{"id", "17"}, {"coefficients", {1}}}};
         }),
         "job 1 (Slurm job 17) has 1 coefficients for 2 tasks"},
        {with([](auto &d) {
             d["jobs"] = {{{"coefficients", {1, 2}}}};
         }),
         "job 1 needs a string \"id\""},
    };
    for (const Case &c : cases) {
        mftest::writeFile(dir.file("bad.json"), c.text);
        const std::string message = mftest::errorOf([&] { Project::load(dir.file("bad.json")); });
        QVERIFY2(message.find(c.expected) != std::string::npos,
                 (std::string(c.expected) + " / " + message).c_str());
        QVERIFY2(message.find("bad.json") != std::string::npos, message.c_str());
    }
}

void TestProject::sessionCancelsFromAnotherThread()
{
    // What the GUI's Cancel does: a run on a worker thread, evaluating with a command that
    // would take ten minutes, is stopped from another thread; the command is killed.
    TempDir dir;
    mftest::writeCheckpoint(dir.file("base.safetensors"), {{"w", mf::DType::F32, {2}, {0, 0}}});
    mftest::writeCheckpoint(dir.file("a.safetensors"), {{"w", mf::DType::F32, {2}, {1, 0}}});
    const nlohmann::json evaluator = {
        {"kind", "command"}, {"command", "sleep 600; echo '{\"a\": 1}'"}, {"timeout", 900}};
    mftest::writeFile(
        dir.file("p.json"),
        nlohmann::json{
            {"format", "mergefront-project"},
            {"version", 1},
            {"base", "base.safetensors"},
            {"tasks", {{{"name", "a"}, {"checkpoint", "a.safetensors"}, {"evaluator", evaluator}}}}}
            .dump());
    Project p = Project::load(dir.file("p.json"));
    mf::project::Session session(p);
    std::atomic<bool> started{false}, cancelled{false};
    std::thread worker([&] {
        started = true;
        try {
            session.evaluate({{0.5}, {0.7}}, "point");
        } catch (const mf::Cancelled &) {
            cancelled = true;
        }
    });
    while (!started)
        std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the command is running
    session.cancel();
    worker.join(); // hangs for ten minutes (a ctest timeout) if the command was not killed
    QVERIFY(cancelled);
    QCOMPARE(Project::load(dir.file("p.json")).evaluations.size(), std::size_t(0));
    bool again = false;
    try {
        session.evaluate({{0.1}}, "point");
    } catch (const mf::Cancelled &) {
        again = true;
    }
    QVERIFY(again);

    // The caller's token, set before the session runs anything (a Cancel that arrives while the
    // checkpoints are still being opened): no ten-minute command starts.
    mf::project::SessionOptions options;
    options.cancel = mf::eval::makeCancelToken();
    mf::project::Session early(p, options);
    *options.cancel = true;
    bool stopped = false;
    try {
        early.evaluate({{0.3}}, "point");
    } catch (const mf::Cancelled &) {
        stopped = true;
    }
    QVERIFY(stopped);
}

void TestProject::aBrokenEvaluatorCostsTwoTries()
{
    // A command that cannot run: the first two evaluations fail the same way, one at a time,
    // and the run stops with that error (not "0 samples cannot fit ..." after a batch).
    TempDir dir;
    mftest::writeCommandProject(dir, "no_such_program_mf {checkpoint}");
    Project p = Project::load(dir.file("project.json"));
    {
        mf::project::Session session(p);
        const std::string message = mftest::errorOf([&] { session.explore(); });
        QVERIFY2(message.find("the first 2 evaluations failed the same way, so the run stopped") !=
                         std::string::npos &&
                     message.find("no_such_program_mf") != std::string::npos &&
                     message.find("not found") != std::string::npos,
                 message.c_str());
    }
    QCOMPARE(p.evaluations.size(), std::size_t(2));
    QCOMPARE(Project::load(dir.file("project.json")).evaluations.size(), std::size_t(2));
    for (const auto &e : p.evaluations)
        QVERIFY(e.result.failed);

    // Failing each its own way (random letters on stderr): every one is tried, one at a time,
    // and the message names the first.
    TempDir other;
    mftest::writeCommandProject(
        other, "head -c 64 /dev/urandom | tr -dc a-z | head -c 12 >&2; echo >&2; exit 1");
    Project q = Project::load(other.file("project.json"));
    {
        mf::project::Session session(q);
        const std::string message = mftest::errorOf([&] {
            session.evaluate({{0.1, 0.2}, {0.3, 0.4}, {0.5, 0.6}}, "point");
        });
        QVERIFY2(message.rfind("all 3 evaluations failed (kept in the project); the first: ", 0) ==
                     0,
                 message.c_str());
    }
    QCOMPARE(q.evaluations.size(), std::size_t(3));

    QVERIFY(mf::project::sameFailure("task 'a': /tmp/mf-123/x: exit 3",
                                     "task 'a': /tmp/mf-987/x: exit 3"));
    QVERIFY(!mf::project::sameFailure("task 'a': not found", "task 'b': not found"));
}

void TestProject::movesKeepingPathsToTheSameFiles()
{
    TempDir dir;
    mftest::writeFile(dir.file("p.json"), kMinimal);
    Project p = Project::load(dir.file("p.json"));
    p.tasks[0].evaluator = {{"kind", "torchscript"},
                            {"module", "m/a.module.pt"},
                            {"data", "m/a.data.safetensors"},
                            {"batch_size", 8}};
    const std::string base = p.resolve(p.base), module = p.resolve("m/a.module.pt");
    p.moveTo(dir.file("elsewhere/deeper/q.json"));
    QCOMPARE(p.base, std::string("../../models/base.safetensors"));
    QCOMPARE(p.resolve(p.base), base);
    QCOMPARE(p.resolve(p.tasks[0].checkpoint), dir.file("models/mnist.safetensors"));
    QCOMPARE(p.resolve(p.tasks[0].evaluator["module"].get<std::string>()), module);
    QCOMPARE(p.tasks[0].evaluator["batch_size"].get<int>(), 8);
    QCOMPARE(p.tasks[1].checkpoint, std::string("/abs/loss.pt")); // absolute stays absolute
}

void TestProject::savesANewProjectOnlyOnce()
{
    TempDir dir;
    Project p;
    p.path = dir.file("new.json");
    p.base = "base.safetensors";
    mf::project::TaskEntry task;
    task.name = "a";
    task.checkpoint = "a.safetensors";
    task.evaluator = {{"kind", "command"}, {"command", "true"}};
    p.tasks.push_back(task);
    p.saveNew();
    const Project read = Project::load(p.path);
    QCOMPARE(read.tasks.size(), std::size_t(1));
    QCOMPARE(read.tasks[0].evaluator["command"].get<std::string>(), std::string("true"));
    // Never over a project that exists (its evaluations would be lost).
    QVERIFY(mftest::errorOf([&] { p.saveNew(); }).find("already exists") != std::string::npos);
    // A project that would not load is not left behind.
    Project twice = p;
    twice.path = dir.file("twice.json");
    twice.tasks.push_back(task); // the same name twice
    QVERIFY(!mftest::errorOf([&] { twice.saveNew(); }).empty());
    QVERIFY(!std::filesystem::exists(twice.path));
}

MF_TEST_MAIN(TestProject, readsTheSchema, roundTripsAndKeepsUnknownKeys,
             savesEveryEvaluationAsItArrives, aBrokenEvaluatorCostsTwoTries,
             cachesByCoefficientsAndSettings, refusesBadFiles, sessionCancelsFromAnotherThread,
             movesKeepingPathsToTheSameFiles, savesANewProjectOnlyOnce)
#ifdef MERGEFRONT_QT_TEST
#include "tst_project.moc"
#endif
