// SPDX-License-Identifier: GPL-3.0-or-later
// PEFT LoRA adapters bound to their base, on hand-computed answers: ΔW = B A · alpha / r (or
// / sqrt r), the patterns' first match, a transposed Conv1D-style weight, embedding LoRA, DoRA,
// untouched tensors as the base's own, and the fingerprint that follows the factors. The
// comparison against PEFT's formulas at model size is tests/interop/check_adapters.py.
#include "testing.h"

#include "fixtures.h"

#include "io/adapter.h"
#include "merge/merge_inputs.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

using mftest::TempDir;
using mftest::TestTensor;
using json = nlohmann::ordered_json; // the patterns' order is the file's

class TestAdapters : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void deltaIsScaledProduct();
    void patternsFirstMatchWins();
    void transposedAndEmbedding();
    void doraRescalesRows();
    void untouchedTensorsAreTheBase();
    void refusalsNameAdapterAndModule();
    void fingerprintFollowsFactors();
};

namespace {

const std::string kPrefix = "base_model.model.";

/// A base: lin [2, 3], conv [3, 2] (stored [in, out]), emb [4, 2], norm [2].
void writeBase(const std::string &folder)
{
    std::filesystem::create_directories(folder);
    mftest::writeFile(folder + "/config.json",
                      R"({"model_type": "toy", "_name_or_path": "toy/base"})");
    mftest::writeCheckpoint(folder + "/model.safetensors",
                            {{"lin.weight", mf::DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}},
                             {"conv.weight", mf::DType::F32, {3, 2}, {1, 0, 0, 1, 1, 1}},
                             {"emb.weight", mf::DType::F32, {4, 2}, {1, 1, 2, 2, 3, 3, 4, 4}},
                             {"norm.weight", mf::DType::F32, {2}, {1, 1}}});
}

void writeAdapter(const std::string &folder, const json &config, std::vector<TestTensor> tensors)
{
    std::filesystem::create_directories(folder);
    json full = {{"peft_type", "LORA"}, {"r", 1}, {"lora_alpha", 1}};
    full.update(config);
    mftest::writeFile(folder + "/adapter_config.json", full.dump());
    for (TestTensor &t : tensors)
        t.name = kPrefix + t.name;
    mftest::writeCheckpoint(folder + "/adapter_model.safetensors", tensors);
}

std::vector<double> valuesOf(const mf::Checkpoint &checkpoint, const std::string &name)
{
    const mf::TensorRef *tensor = checkpoint.find(name);
    if (!tensor)
        return {};
    std::vector<double> out(static_cast<std::size_t>(tensor->numel()));
    mf::readValues(*tensor, 0, out.size(), out.data());
    return out;
}

bool near(const std::vector<double> &a, const std::vector<double> &b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::fabs(a[i] - b[i]) > 1e-6)
            return false;
    return true;
}

} // namespace

void TestAdapters::deltaIsScaledProduct()
{
    TempDir dir;
    writeBase(dir.file("base"));
    // B [2, 1] = (1, -1), A [1, 3] = (1, 2, 3), alpha 2, r 1: ΔW = 2 · B A.
    writeAdapter(dir.file("a"), {{"lora_alpha", 2}, {"target_modules", {"lin"}}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}});
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const mf::Checkpoint bound = mf::bindAdapter(dir.file("a"), base);
    QCOMPARE(bound.format(), std::string("peft-lora"));
    QVERIFY(near(valuesOf(bound, "lin.weight"), {1 + 2, 2 + 4, 3 + 6, 4 - 2, 5 - 4, 6 - 6}));
    // rsLoRA: alpha / sqrt(r); r 4 with alpha 4 scales by 2. A's rows e1, B's columns 1.
    writeAdapter(
        dir.file("rs"),
        {{"r", 4}, {"lora_alpha", 4}, {"use_rslora", true}, {"target_modules", {"lin"}}},
        {{"lin.lora_A.weight", mf::DType::BF16, {4, 3}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
         {"lin.lora_B.weight", mf::DType::BF16, {2, 4}, {1, 0, 0, 0, 0, 0, 0, 0}}});
    const mf::Checkpoint rs = mf::bindAdapter(dir.file("rs"), base);
    QVERIFY(near(valuesOf(rs, "lin.weight"), {1 + 2, 2, 3, 4, 5, 6}));
    // The merge: base + c ΔW, for c = -0.5.
    mf::MergeInputs inputs(dir.file("base"), {dir.file("a")}, {"a"}, {});
    inputs.merger().prepare(1);
    std::size_t lin = 0;
    while (inputs.merger().plan().tensors.at(lin).name != "lin.weight")
        ++lin;
    std::vector<float> merged(6);
    inputs.merger().mergeTensor(lin, {-0.5}, merged.data());
    QVERIFY(near(std::vector<double>(merged.begin(), merged.end()), {0, 0, 0, 5, 7, 9}));
}

void TestAdapters::patternsFirstMatchWins()
{
    TempDir dir;
    writeBase(dir.file("base"));
    // Both keys match "lin"; the first in the file's order wins (alpha 8, not 4).
    writeAdapter(dir.file("a"),
                 {{"r", 2},
                  {"rank_pattern", {{"lin", 1}}},
                  {"alpha_pattern", json::parse(R"({"lin": 8, "l.n": 4})")},
                  {"target_modules", {"lin"}}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 0, 0}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, 0}}});
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const mf::Checkpoint bound = mf::bindAdapter(dir.file("a"), base);
    QVERIFY(near(valuesOf(bound, "lin.weight"), {1 + 8, 2, 3, 4, 5, 6}));
    const mf::Checkpoint weights = mf::openAdapterWeights(dir.file("a"));
    const mf::AdapterSummary summary =
        mf::summarizeAdapter(weights, mf::readAdapterConfig(dir.file("a")), "a");
    QCOMPARE(summary.modules.size(), std::size_t(1));
    QCOMPARE(summary.modules[0].rank, 1);
    QCOMPARE(summary.modules[0].scale, 8.0);
}

void TestAdapters::transposedAndEmbedding()
{
    TempDir dir;
    writeBase(dir.file("base"));
    // conv is stored [in 3, out 2]: B [2, 1] A [1, 3] applies transposed with fan_in_fan_out.
    // emb [4, 2]: lora_embedding_A [1, 4], lora_embedding_B [2, 1], ΔW = (B A)ᵀ.
    writeAdapter(dir.file("a"), {{"fan_in_fan_out", true}, {"target_modules", {"conv", "emb"}}},
                 {{"conv.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                  {"conv.lora_B.weight", mf::DType::F32, {2, 1}, {1, 10}},
                  {"emb.lora_embedding_A", mf::DType::F32, {1, 4}, {1, 0, 0, 2}},
                  {"emb.lora_embedding_B", mf::DType::F32, {2, 1}, {1, -1}}});
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const mf::Checkpoint bound = mf::bindAdapter(dir.file("a"), base);
    // (B A)ᵀ [3, 2]: row i = A[i] · (B0, B1).
    QVERIFY(near(valuesOf(bound, "conv.weight"), {1 + 1, 0 + 10, 0 + 2, 1 + 20, 1 + 3, 1 + 30}));
    QVERIFY(near(valuesOf(bound, "emb.weight"), {1 + 1, 1 - 1, 2, 2, 3, 3, 4 + 2, 4 - 2}));
}

void TestAdapters::doraRescalesRows()
{
    TempDir dir;
    writeBase(dir.file("base"));
    // lin's rows (1, 2, 3) and (4, 5, 6) plus ΔW = B A with B = (0, 1), A = (0, 0, 1):
    // (1, 2, 3) and (4, 5, 7), norms sqrt(14) and sqrt(90); magnitudes 1 and 3.
    writeAdapter(dir.file("a"), {{"use_dora", true}, {"target_modules", {"lin"}}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {0, 0, 1}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {0, 1}},
                  {"lin.lora_magnitude_vector", mf::DType::F32, {2}, {1, 3}}});
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const mf::Checkpoint bound = mf::bindAdapter(dir.file("a"), base);
    const double a = 1 / std::sqrt(14.0), b = 3 / std::sqrt(90.0);
    QVERIFY(near(valuesOf(bound, "lin.weight"), {a, 2 * a, 3 * a, 4 * b, 5 * b, 7 * b}));
}

void TestAdapters::untouchedTensorsAreTheBase()
{
    TempDir dir;
    writeBase(dir.file("base"));
    writeAdapter(dir.file("a"), {{"target_modules", {"lin"}}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}},
                  {"norm.weight", mf::DType::F32, {2}, {5, 7}}}); // modules_to_save, whole
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const mf::Checkpoint bound = mf::bindAdapter(dir.file("a"), base);
    QCOMPARE(bound.tensors().size(), base.tensors().size());
    QVERIFY(bound.find("conv.weight")->data == base.find("conv.weight")->data);
    QVERIFY(bound.find("emb.weight")->data == base.find("emb.weight")->data);
    QVERIFY(bound.find("lin.weight")->delta != nullptr);
    QVERIFY(near(valuesOf(bound, "norm.weight"), {5, 7}));
    // The memory estimate reads no base page twice for an adapter.
    mf::MergeInputs inputs(dir.file("base"), {dir.file("a")}, {"a"}, {});
    QCOMPARE(inputs.merger().estimate(1).inputBytes, base.byteSize() + 2 * 4);
}

void TestAdapters::refusalsNameAdapterAndModule()
{
    TempDir dir;
    writeBase(dir.file("base"));
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    struct Case {
        json config;
        std::vector<TestTensor> tensors;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {{{"target_modules", {"lin"}}},
         {{"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}},
         "module 'lin' has lora_B but no lora_A"},
        {{{"target_modules", {"missing"}}},
         {{"missing.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
          {"missing.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}},
         "module 'missing' is not in the base"},
        {{{"target_modules", {"lin"}}},
         {{"lin.lora_A.weight", mf::DType::F32, {1, 4}, {1, 2, 3, 4}},
          {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}},
         "does not fit the base's lin.weight [2, 3]"},
        {{{"target_modules", {"lin"}}, {"use_dora", true}},
         {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
          {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}},
         "use_dora is set but the adapter has no lora_magnitude_vector"},
        {{{"peft_type", "IA3"}}, {}, "peft_type 'IA3' is not supported"},
        {{{"r", "eight"}}, {}, "'r' is not a number"},
        {{{"target_modules", "(lin"}},
         {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
          {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}},
         "target_modules '(lin' is not a regular expression"},
    };
    for (std::size_t k = 0; k < cases.size(); ++k) {
        const std::string folder = dir.file("bad" + std::to_string(k));
        writeAdapter(folder, cases[k].config, cases[k].tensors);
        const std::string error = mftest::errorOf([&] { mf::bindAdapter(folder, base); });
        QVERIFY2(error.find(cases[k].needle) != std::string::npos, error.c_str());
        QVERIFY2(error.find(folder) != std::string::npos, error.c_str());
    }
    // An adapter is no whole model: as the base it is refused, saying what to do.
    writeAdapter(dir.file("good"), {{"target_modules", {"lin"}}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1}}});
    const std::string error = mftest::errorOf(
        [&] { mf::MergeInputs(dir.file("good"), {dir.file("good")}, {"good"}, {}); });
    QVERIFY2(error.find("is a PEFT adapter (adapter_config.json), not a whole model: give it as "
                        "a task") != std::string::npos,
             error.c_str());
}

void TestAdapters::fingerprintFollowsFactors()
{
    TempDir dir;
    writeBase(dir.file("base"));
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    std::string prints[2];
    for (int k = 0; k < 2; ++k) {
        writeAdapter(dir.file("a" + std::to_string(k)), {{"target_modules", {"lin"}}},
                     {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                      {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, k ? -2.0 : -1.0}}});
        prints[k] = mf::bindAdapter(dir.file("a" + std::to_string(k)), base).fingerprint();
    }
    QVERIFY(prints[0] != prints[1]);
    // As stored (a project's cache key): the factors and the config count.
    const std::string stored = mf::openStored(dir.file("a0")).fingerprint();
    QVERIFY(stored != mf::openStored(dir.file("a1")).fingerprint());
    writeAdapter(dir.file("a0"), {{"target_modules", {"lin"}}, {"lora_alpha", 3}},
                 {{"lin.lora_A.weight", mf::DType::F32, {1, 3}, {1, 2, 3}},
                  {"lin.lora_B.weight", mf::DType::F32, {2, 1}, {1, -1.0}}});
    QVERIFY(mf::openStored(dir.file("a0")).fingerprint() != stored);
}

MF_TEST_MAIN(TestAdapters, deltaIsScaledProduct, patternsFirstMatchWins, transposedAndEmbedding,
             doraRescalesRows, untouchedTensorsAreTheBase, refusalsNameAdapterAndModule,
             fingerprintFollowsFactors)
#ifdef MERGEFRONT_QT_TEST
#include "tst_adapters.moc"
#endif
