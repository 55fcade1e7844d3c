// SPDX-License-Identifier: GPL-3.0-or-later
// The in-process TorchScript evaluator against metrics computed by Python PyTorch for the same
// merges (tests/data/make_torch_fixtures.py), and its refusals of bad input.
#include "testing.h"

#include "fixtures.h"

#include "eval/torchscript_evaluator.h"

#include <nlohmann/json.hpp>

#include <cmath>

using mftest::TempDir;
using namespace mf::eval;

namespace {

std::string fixture(const std::string &name)
{
    return mftest::dataPath("torch/" + name);
}

TorchEvaluatorOptions options(const std::string &metric)
{
    TorchEvaluatorOptions o;
    o.base = fixture("base.pt");
    o.models = {fixture("a.pt"), fixture("b.pt")};
    o.tasks = {{"a", fixture("a.module.pt"), fixture("a.data.safetensors"), metric, {}, 128},
               {"b", fixture("b.module.pt"), fixture("b.data.safetensors"), metric, {}, 1000}};
    o.device = "auto";
    o.threads = 2;
    return o;
}

bool close(double actual, double expected, double tolerance)
{
    return std::fabs(actual - expected) <= tolerance * std::max(1.0, std::fabs(expected));
}

} // namespace

class TestTorchScript : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesPythonOnKnownMerges();
    void refusesBadInput();
};

void TestTorchScript::matchesPythonOnKnownMerges()
{
    const auto expected = nlohmann::json::parse(mftest::readFile(fixture("expected.json")));
    for (const char *metric : {"accuracy", "cross_entropy", "evaluate"}) {
        TorchScriptEvaluator evaluator(options(metric));
        QCOMPARE(evaluator.device(), std::string("cpu"));
        // Out of order and repeated: the modules' parameters are rewritten, never accumulated.
        for (const char *key : {"0.5,0.5", "1.0,0.0", "0.0,1.0", "0.0,0.0", "1.0,0.0"}) {
            const std::string text = key;
            const std::vector<double> c = {std::stod(text.substr(0, text.find(','))),
                                           std::stod(text.substr(text.find(',') + 1))};
            const Evaluation e = evaluator.evaluate(c, CancelFlag{false});
            QVERIFY2(!e.failed, e.error.c_str());
            for (const char *task : {"a", "b"}) {
                const double want = expected[key][task][metric].get<double>();
                const std::string label = std::string(metric) + " " + key + " " + task + ": " +
                                          std::to_string(e.metrics.at(task)) + " vs " +
                                          std::to_string(want);
                QVERIFY2(close(e.metrics.at(task), want, 1e-5), label.c_str());
            }
        }
    }
}

void TestTorchScript::refusesBadInput()
{
    TempDir dir;
    auto o = options("accuracy");
    o.tasks[0].module = dir.file("missing.module.pt");
    std::string message = mftest::errorOf([&] { TorchScriptEvaluator e(o); });
    QVERIFY2(message.find("task 'a': cannot load the TorchScript module") != std::string::npos &&
                 message.find("missing.module.pt") != std::string::npos,
             message.c_str());

    mftest::writeCheckpoint(dir.file("inputs_only.safetensors"),
                            {{"inputs", mf::DType::F32, {2, 6}, std::vector<double>(12, 0)}});
    o = options("accuracy");
    o.tasks[1].data = dir.file("inputs_only.safetensors");
    message = mftest::errorOf([&] { TorchScriptEvaluator e(o); });
    QVERIFY2(message.find("task 'b': ") != std::string::npos &&
                 message.find("has no \"targets\" tensor") != std::string::npos,
             message.c_str());

    // Checkpoint names that the module does not use: refused, then accepted with a name map.
    mftest::writeCheckpoint(dir.file("renamed_base.safetensors"),
                            {{"backbone.w", mf::DType::F32, {16, 6}, std::vector<double>(96, 0.1)},
                             {"backbone.b", mf::DType::F32, {16}, std::vector<double>(16, 0)}});
    o = options("accuracy");
    o.base = o.models[0] = o.models[1] = dir.file("renamed_base.safetensors");
    message = mftest::errorOf([&] { TorchScriptEvaluator e(o); });
    QVERIFY2(message.find("none of the parameters of") != std::string::npos &&
                 message.find("name map") != std::string::npos,
             message.c_str());
    for (auto &task : o.tasks)
        task.names = {{"backbone.w", "body.weight"}, {"backbone.b", "body.bias"}};
    TorchScriptEvaluator mapped(o);
    QVERIFY(!mapped.evaluate({0.5, 0.5}, CancelFlag{false}).failed);

    // Inputs of the wrong width: that evaluation fails, naming the task and the data file.
    mftest::writeCheckpoint(dir.file("narrow.safetensors"),
                            {{"inputs", mf::DType::F32, {2, 5}, std::vector<double>(10, 0)},
                             {"targets", mf::DType::I64, {2}, {0, 1}}});
    o = options("accuracy");
    o.tasks[0].data = dir.file("narrow.safetensors");
    TorchScriptEvaluator narrow(o);
    const Evaluation e = narrow.evaluate({1, 0}, CancelFlag{false});
    QVERIFY(e.failed);
    QVERIFY2(e.error.find("task 'a': the module failed on") != std::string::npos &&
                 e.error.find("narrow.safetensors") != std::string::npos,
             e.error.c_str());

    o = options("top5");
    message = mftest::errorOf([&] { TorchScriptEvaluator e2(o); });
    QVERIFY2(message.find("metric 'top5'") != std::string::npos, message.c_str());
    o = options("accuracy");
    o.device = "cuda:0";
    message = mftest::errorOf([&] { TorchScriptEvaluator e3(o); });
    QVERIFY2(message.find("no CUDA device") != std::string::npos || message.empty(),
             message.c_str());
}

MF_TEST_MAIN(TestTorchScript, matchesPythonOnKnownMerges, refusesBadInput)
#ifdef MERGEFRONT_QT_TEST
#include "tst_torchscript.moc"
#endif
