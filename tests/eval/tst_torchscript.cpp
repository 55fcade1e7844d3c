// SPDX-License-Identifier: GPL-3.0-or-later
// The in-process TorchScript evaluator against metrics computed by Python PyTorch for the same
// merges (tests/data/make_torch_fixtures.py), its refusals of bad input, and LoRA adapters as
// tasks scoring as the full checkpoints they stand for.
#include "testing.h"

#include "fixtures.h"

#include "eval/torchscript_evaluator.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <random>

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
    void adaptersEvaluateAsTheirFullCheckpoints();
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

void TestTorchScript::adaptersEvaluateAsTheirFullCheckpoints()
{
    // Two LoRA adapters of the base's body (rank 2, one with lora_bias): the in-process
    // evaluator over the adapters scores as over full checkpoints holding base + ΔW, written
    // here from the factors by hand (ΔW = B A · alpha / r; bias + lora_B.bias · alpha / r).
    TempDir dir;
    const mf::Checkpoint base = mf::Checkpoint::open(fixture("base.pt"));
    std::mt19937 random(5);
    std::normal_distribution<double> normal(0, 0.3);
    auto values = [&](std::size_t n) {
        std::vector<double> v(n);
        for (double &x : v)
            x = normal(random);
        return v;
    };
    std::vector<std::string> adapters, fulls;
    for (int t = 0; t < 2; ++t) {
        const std::string folder = dir.file("adapter" + std::to_string(t));
        std::filesystem::create_directories(folder);
        const bool bias = t == 1;
        mftest::writeFile(folder + "/adapter_config.json",
                          nlohmann::json{{"peft_type", "LORA"},
                                         {"r", 2},
                                         {"lora_alpha", 3},
                                         {"lora_bias", bias},
                                         {"target_modules", {"body"}}}
                              .dump());
        const std::vector<double> a = values(2 * 6), b = values(16 * 2), biasB = values(16);
        std::vector<mftest::TestTensor> tensors = {
            {"base_model.model.body.lora_A.weight", mf::DType::F32, {2, 6}, a},
            {"base_model.model.body.lora_B.weight", mf::DType::F32, {16, 2}, b}};
        if (bias)
            tensors.push_back({"base_model.model.body.lora_B.bias", mf::DType::F32, {16}, biasB});
        mftest::writeCheckpoint(folder + "/adapter_model.safetensors", tensors);
        std::vector<mftest::TestTensor> full;
        for (const mf::TensorRef &tensor : base.tensors())
            full.push_back({tensor.name, tensor.dtype, tensor.shape, mftest::valuesOf(tensor)});
        for (std::size_t i = 0; i < 16; ++i)
            for (std::size_t j = 0; j < 6; ++j)
                full[0].values[i * 6 + j] += 1.5 * (b[i * 2] * a[j] + b[i * 2 + 1] * a[6 + j]);
        if (bias)
            for (std::size_t i = 0; i < 16; ++i)
                full[1].values[i] += 1.5 * biasB[i];
        mftest::writeCheckpoint(dir.file("full" + std::to_string(t) + ".safetensors"), full);
        adapters.push_back(folder);
        fulls.push_back(dir.file("full" + std::to_string(t) + ".safetensors"));
    }
    auto o = options("cross_entropy");
    o.models = adapters;
    TorchScriptEvaluator overAdapters(o);
    o.models = fulls;
    TorchScriptEvaluator overFull(o);
    for (const std::vector<double> &c : {std::vector<double>{0.5, 0.5}, {1.0, -0.4}, {0.0, 1.2}}) {
        const Evaluation x = overAdapters.evaluate(c, CancelFlag{false});
        const Evaluation y = overFull.evaluate(c, CancelFlag{false});
        QVERIFY2(!x.failed && !y.failed, (x.error + y.error).c_str());
        for (const char *task : {"a", "b"})
            QVERIFY2(close(x.metrics.at(task), y.metrics.at(task), 1e-5),
                     (std::to_string(x.metrics.at(task)) + " over adapters, " +
                      std::to_string(y.metrics.at(task)) + " over full checkpoints")
                         .c_str());
    }
    // Not the base's numbers: the adapters reached the modules.
    const Evaluation atBase = overAdapters.evaluate({0, 0}, CancelFlag{false});
    const Evaluation moved = overAdapters.evaluate({1, 1}, CancelFlag{false});
    QVERIFY(std::fabs(atBase.metrics.at("a") - moved.metrics.at("a")) > 1e-4);
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

MF_TEST_MAIN(TestTorchScript, matchesPythonOnKnownMerges, refusesBadInput,
             adaptersEvaluateAsTheirFullCheckpoints)
#ifdef MERGEFRONT_QT_TEST
#include "tst_torchscript.moc"
#endif
