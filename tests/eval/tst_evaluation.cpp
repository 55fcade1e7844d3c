// SPDX-License-Identifier: GPL-3.0-or-later
// The command evaluator on real merged checkpoints and its failure modes, and the job
// runner's progress, per-evaluation callback and cancellation.
#include "testing.h"

#include "fixtures.h"

#include "eval/command_evaluator.h"
#include "eval/job_runner.h"
#include "eval/process.h"

#include <chrono>
#include <filesystem>
#include <cmath>
#include <stdexcept>
#include <thread>

using mftest::TempDir;
using namespace mf::eval;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// base w = [1, 1, 1, 1]; task a adds 1 to every entry, task b adds 3.
struct Models {
    TempDir dir;
    Models()
    {
        mftest::writeCheckpoint(dir.file("base.safetensors"),
                                {{"w", mf::DType::F32, {4}, {1, 1, 1, 1}}});
        mftest::writeCheckpoint(dir.file("a.safetensors"),
                                {{"w", mf::DType::F32, {4}, {2, 2, 2, 2}}});
        mftest::writeCheckpoint(dir.file("b.pt"), {{"w", mf::DType::F32, {4}, {4, 4, 4, 4}}});
    }
    CommandEvaluatorOptions options(const std::string &command, double timeout = 60) const
    {
        CommandEvaluatorOptions o;
        o.base = dir.file("base.safetensors");
        o.models = {dir.file("a.safetensors"), dir.file("b.pt")};
        o.tasks = {{"a", command, "mean", timeout}, {"b", command, "mean", timeout}};
        o.workDir = dir.file("work");
        return o;
    }
};

/// An evaluator that takes `delay` per evaluation and returns the coefficients' sum.
class SlowEvaluator : public Evaluator {
public:
    explicit SlowEvaluator(double delay)
        : m_delay(delay)
    {
    }
    Evaluation evaluate(const std::vector<double> &c, const CancelFlag &cancel) override
    {
        Evaluation e;
        e.coefficients = c;
        const auto start = std::chrono::steady_clock::now();
        while (secondsSince(start) < m_delay) {
            if (cancel) {
                e.failed = true;
                e.error = "cancelled";
                return e;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        e.metrics["sum"] = c[0] + c[1];
        e.failed = c[0] < 0; // negative coefficients "fail"
        return e;
    }
    bool concurrentSafe() const override { return true; }

private:
    double m_delay;
};

/// An evaluator that throws on negative coefficients (a bug in someone's evaluator).
class ThrowingEvaluator : public Evaluator {
public:
    Evaluation evaluate(const std::vector<double> &c, const CancelFlag &) override
    {
        if (c[0] < 0)
            throw std::runtime_error("CUDA error: an illegal memory access was encountered");
        Evaluation e;
        e.coefficients = c;
        e.metrics["sum"] = c[0] + c[1];
        return e;
    }
    bool concurrentSafe() const override { return true; }
};

} // namespace

class TestEvaluation : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void commandEvaluatorMeasuresTheMerge();
    void commandFailuresAreRecorded();
    void runnerReportsEveryEvaluation();
    void runnerCancels();
    void throwingEvaluatorsFailTheirEvaluation();
    void aTokenSetBeforeTheRunStopsIt();
    void sharedOutputHoldsEveryTasksMetric();
};

void TestEvaluation::commandEvaluatorMeasuresTheMerge()
{
    Models models;
    const std::string command = std::string("'") + MERGEFRONT_METRIC_TOOL + "' mean {checkpoint} w";
    {
        CommandEvaluator evaluator(models.options(command));
        const Evaluation e = evaluator.evaluate({0.5, 0.25}, CancelFlag{false});
        QVERIFY2(!e.failed, e.error.c_str());
        // 1 + 0.5 * 1 + 0.25 * 3 = 2.25 for every entry.
        QCOMPARE(e.metrics.at("a"), 2.25);
        QCOMPARE(e.metrics.at("b"), 2.25);
        QCOMPARE(e.device, std::string("command"));
        // The worker's scratch folder is reused: one merge on the disk, not one per evaluation.
        const Evaluation again = evaluator.evaluate({1, 0}, CancelFlag{false});
        QVERIFY2(!again.failed, again.error.c_str());
        QCOMPARE(again.metrics.at("a"), 2.0);
        std::size_t folders = 0, files = 0;
        for (const auto &entry :
             std::filesystem::recursive_directory_iterator(models.dir.file("work")))
            (entry.is_directory() ? folders : files) += 1;
        QCOMPARE(folders, std::size_t(1));
        QCOMPARE(files, std::size_t(1));
    }
    QVERIFY(std::filesystem::is_empty(models.dir.file("work"))); // gone with the evaluator
}

void TestEvaluation::commandFailuresAreRecorded()
{
    Models models;
    struct Case {
        const char *command;
        double timeout;
        const char *expected;
    };
    const Case cases[] = {
        {"sleep 5", 0.3, "timed out"},
        {"echo oops >&2; exit 3", 60, "exited with status 3; stderr: oops"},
        {"echo hello", 60, "no line of the output is a JSON object of metrics; it printed: hello"},
        {"true", 60, "the command printed nothing on stdout"},
        {"echo '{\"mean\": null}'", 60, "is not a number"},
        {"echo '{\"other\": 1, \"more\": 2}'", 60, "has no 'mean'"},
        {"sleep 3 >/dev/null 2>&1 & exec >&- 2>&-; sleep 5", 0.3, "timed out"},
    };
    for (const Case &c : cases) {
        CommandEvaluator evaluator(models.options(c.command, c.timeout));
        const Evaluation e = evaluator.evaluate({1, 1}, CancelFlag{false});
        QVERIFY2(e.failed, c.command);
        QVERIFY2(e.error.find("task 'a'") != std::string::npos, e.error.c_str());
        QVERIFY2(e.error.find(c.expected) != std::string::npos, e.error.c_str());
        QVERIFY(e.metrics.empty());
    }
    const std::string bad = mftest::errorOf([&] {
        CommandEvaluatorOptions o = models.options("true");
        o.base = models.dir.file("missing.safetensors");
        CommandEvaluator evaluator(o);
    });
    QVERIFY2(bad.find("missing.safetensors") != std::string::npos, bad.c_str());
}

void TestEvaluation::runnerReportsEveryEvaluation()
{
    SlowEvaluator evaluator(0.01);
    JobRunner runner;
    std::vector<std::vector<double>> queue = {{1, 2}, {-1, 0}, {3, 4}, {0.5, 0.5}};
    int results = 0;
    JobProgress last;
    const auto done = runner.run(
        queue, evaluator, 2, [&](const Evaluation &) { ++results; },
        [&](const JobProgress &p) {
            last = p;
            return true;
        });
    QCOMPARE(static_cast<int>(done.size()), 4);
    QCOMPARE(results, 4);
    QCOMPARE(last.done, 4);
    QCOMPARE(last.total, 4);
    QCOMPARE(last.failed, 1);
    QVERIFY(last.rate > 0);
    QCOMPARE(last.etaSeconds, 0.0);
}

void TestEvaluation::runnerCancels()
{
    // No wall-clock limits here: an evaluation that was not cancelled would finish (after 30 or
    // 60 s) and be returned; a cancelled one is not.
    // In-process evaluator: cancel from another thread while the first evaluation runs.
    SlowEvaluator slow(30);
    JobRunner runner;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        runner.cancel();
    });
    auto done = runner.run({{1, 1}, {2, 2}}, slow, 1);
    canceller.join();
    QVERIFY(done.empty());
    QVERIFY(runner.cancelled());

    // A command that would run for a minute: killed at the cancel.
    Models models;
    CommandEvaluator command(models.options("sleep 60"));
    JobRunner second;
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        second.cancel();
    });
    done = second.run({{1, 1}, {0, 1}, {1, 0}}, command, 2);
    stopper.join();
    QVERIFY(done.empty());

    // Stop from the progress callback after the first result.
    SlowEvaluator quick(0.05);
    JobRunner third;
    done = third.run({{1, 1}, {2, 2}, {3, 3}}, quick, 1, {},
                     [](const JobProgress &) { return false; });
    QCOMPARE(static_cast<int>(done.size()), 1);
}

void TestEvaluation::throwingEvaluatorsFailTheirEvaluation()
{
    ThrowingEvaluator evaluator;
    JobRunner runner;
    const auto done = runner.run({{1, 2}, {-1, 0}, {3, 4}}, evaluator, 2);
    QCOMPARE(done.size(), std::size_t(3)); // the process goes on, every evaluation reported
    int failed = 0;
    for (const Evaluation &e : done)
        if (e.failed) {
            ++failed;
            QCOMPARE(e.coefficients, (std::vector<double>{-1, 0}));
            QVERIFY2(e.error.find("the evaluator failed: CUDA error: an illegal memory access") ==
                         0,
                     e.error.c_str());
        }
    QCOMPARE(failed, 1);
}

void TestEvaluation::aTokenSetBeforeTheRunStopsIt()
{
    // The one token of a job: a cancel that comes before run() is not lost (no evaluation of
    // 30 s starts), and the runner's own cancel() is seen by whoever holds the token.
    const mf::eval::CancelToken token = mf::eval::makeCancelToken();
    *token = true;
    SlowEvaluator slow(30);
    JobRunner runner(token);
    QVERIFY(runner.run({{1, 1}, {2, 2}}, slow, 2).empty());
    const mf::eval::CancelToken other = mf::eval::makeCancelToken();
    JobRunner second(other);
    second.cancel();
    QVERIFY(other->load());
}

void TestEvaluation::sharedOutputHoldsEveryTasksMetric()
{
    using mf::eval::CommandTask;
    const std::vector<CommandTask> tasks = {{"hellaswag", "", "acc", 0, true},
                                            {"wikitext", "", "word_perplexity", 0, true}};
    // Nested by task (as lm-eval's results are), after the command's own log lines.
    auto metrics = mf::eval::metricsFromSharedOutput(
        "loading\n{\"hellaswag\": {\"acc\": 0.5}, \"wikitext\": {\"word_perplexity\": 20.5}}\n",
        tasks);
    QCOMPARE(metrics.at("hellaswag"), 0.5);
    QCOMPARE(metrics.at("wikitext"), 20.5);
    // Flat, when the metric names tell the tasks apart.
    metrics = mf::eval::metricsFromSharedOutput("{\"acc\": 0.25, \"word_perplexity\": 9}", tasks);
    QCOMPARE(metrics.at("hellaswag"), 0.25);
    QCOMPARE(metrics.at("wikitext"), 9.0);
    // Two tasks reading the same metric name: each from its own nested object.
    const std::vector<CommandTask> same = {{"arc", "", "acc", 0, true},
                                           {"hellaswag", "", "acc", 0, true}};
    metrics = mf::eval::metricsFromSharedOutput(
        "{\"arc\": {\"acc\": 0.1}, \"hellaswag\": {\"acc\": 0.2}}", same);
    QCOMPARE(metrics.at("arc"), 0.1);
    QCOMPARE(metrics.at("hellaswag"), 0.2);
    // What is missing or not a number is named with its task.
    const auto error = [&](const std::string &out) {
        try {
            mf::eval::metricsFromSharedOutput(out, same);
        } catch (const std::exception &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    QVERIFY(error("{\"arc\": {\"acc\": 0.1}, \"hellaswag\": {\"f1\": 1}}")
                .find("no 'acc' of task 'hellaswag'") != std::string::npos);
    QVERIFY(
        error("{\"arc\": {\"acc\": null}}").find("metric 'acc' of task 'arc' is not a number") !=
        std::string::npos);
    QVERIFY(error("Traceback: boom").find("it printed: Traceback: boom") != std::string::npos);
}

MF_TEST_MAIN(TestEvaluation, commandEvaluatorMeasuresTheMerge, commandFailuresAreRecorded,
             runnerReportsEveryEvaluation, runnerCancels, throwingEvaluatorsFailTheirEvaluation,
             aTokenSetBeforeTheRunStopsIt, sharedOutputHoldsEveryTasksMetric)
#ifdef MERGEFRONT_QT_TEST
#include "tst_evaluation.moc"
#endif
