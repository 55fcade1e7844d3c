// SPDX-License-Identifier: GPL-3.0-or-later
// The merge engine against hand-computed merges (task arithmetic, TIES, DARE, DARE-TIES),
// mismatch handling, and the streaming kernel's independence from threads and blocks.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "merge/kernel.h"
#include "merge/merge_job.h"
#include "merge/merger.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <random>

using mftest::TempDir;
using mftest::TestTensor;

namespace {

/// Writes base and tasks (one tensor "w" each unless given), merges, returns the output.
struct MergeCase {
    TempDir dir;
    std::vector<std::string> models;

    MergeCase(const std::vector<TestTensor> &base,
              const std::vector<std::vector<TestTensor>> &tasks)
    {
        mftest::writeCheckpoint(dir.file("base.safetensors"), base);
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            models.push_back(dir.file("task" + std::to_string(t) + ".safetensors"));
            mftest::writeCheckpoint(models.back(), tasks[t]);
        }
    }

    mf::Checkpoint merge(const std::vector<double> &coefficients, const mf::MergeOptions &options,
                         int threads = 2, const std::string &out = "out.safetensors")
    {
        mf::MergeRequest request;
        request.basePath = dir.file("base.safetensors");
        request.modelPaths = models;
        request.coefficients = coefficients;
        request.options = options;
        request.outPath = dir.file(out);
        request.threads = threads;
        request.sync = false;
        mf::runMerge(request, [](const std::string &) {});
        return mf::Checkpoint::open(dir.file(out));
    }
};

TestTensor w(std::vector<double> values, mf::DType dtype = mf::DType::F32)
{
    return {"w", dtype, {static_cast<std::int64_t>(values.size())}, std::move(values)};
}

std::vector<double> randomValues(std::size_t n, std::mt19937 &random, double scale = 1)
{
    std::normal_distribution<double> normal(0, scale);
    std::vector<double> values(n);
    for (double &v : values)
        v = static_cast<float>(normal(random)); // exactly representable in F32
    return values;
}

/// An independent TIES (+ optional DARE) on float vectors, written from METHOD.md section 2
/// with std::nth_element: the reference the streaming kernel must match.
std::vector<float> referenceTies(const std::vector<double> &base,
                                 const std::vector<std::vector<double>> &tasks,
                                 const std::vector<double> &c, double density, bool disjoint,
                                 const std::vector<std::uint64_t> &dareKeys = {}, double drop = 0)
{
    const std::size_t n = base.size();
    const std::uint64_t dropBelow = drop > 0 ? static_cast<std::uint64_t>(std::ldexp(drop, 64)) : 0;
    std::vector<std::vector<float>> trimmed;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        std::vector<float> tau(n);
        for (std::size_t i = 0; i < n; ++i) {
            tau[i] = static_cast<float>(tasks[t][i]) - static_cast<float>(base[i]);
            if (!dareKeys.empty())
                tau[i] = mf::dareKeeps(dareKeys[t], i, dropBelow)
                             ? tau[i] * static_cast<float>(1.0 / (1.0 - drop))
                             : 0.0f;
        }
        std::vector<float> magnitudes(n);
        for (std::size_t i = 0; i < n; ++i)
            magnitudes[i] = std::fabs(tau[i]);
        const auto keep = static_cast<std::size_t>(std::ceil(density * static_cast<double>(n)));
        if (keep < n) {
            std::nth_element(magnitudes.begin(),
                             magnitudes.begin() + static_cast<std::ptrdiff_t>(n - keep),
                             magnitudes.end());
            const float threshold = magnitudes[n - keep];
            if (threshold > 0)
                for (float &v : tau)
                    if (std::fabs(v) < threshold)
                        v = 0;
        }
        trimmed.push_back(tau);
    }
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        float sum = 0;
        for (const auto &tau : trimmed)
            sum += tau[i];
        float acc = 0;
        int agree = 0;
        for (std::size_t t = 0; t < trimmed.size(); ++t) {
            const float v = trimmed[t][i];
            if ((v > 0 && sum > 0) || (v < 0 && sum < 0)) {
                acc += static_cast<float>(c[t]) * v;
                ++agree;
            }
        }
        if (disjoint && agree > 1)
            acc /= static_cast<float>(agree);
        out[i] = static_cast<float>(base[i]) + acc;
    }
    return out;
}

} // namespace

class TestMerge : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void taskArithmeticByHand();
    void tiesByHand();
    void tiesMatchesAnIndependentImplementation();
    void dareKeepsAndRescales();
    void dareIsSeededPerTaskAndTensor();
    void dareTiesComposes();
    void halfPrecisionAccumulatesInFloat();
    void streamingIgnoresThreadsAndBlocks();
    void mergeTensorMatchesTheFile();
    void reportsMismatchesByName();
    void convertsTheOutputDType();
    void filtersByRegex();
    void rejectsBadOptions();
};

void TestMerge::taskArithmeticByHand()
{
    MergeCase m({w({1, 2, 3, 4})}, {{w({2, 2, 5, 4})}, {w({1, 0, 3, 8})}});
    const auto out = m.merge({0.5, 0.25}, {});
    QCOMPARE(mftest::valuesOf(*out.find("w")), (std::vector<double>{1.5, 1.5, 4, 5}));
    // Provenance travels with the file.
    QCOMPARE(out.metadata().at("mergefront.method"), std::string("task_arithmetic"));
    QCOMPARE(out.metadata().at("mergefront.coefficients"), std::string("[0.5,0.25]"));
    QCOMPARE(out.metadata().at("format"), std::string("pt"));
}

void TestMerge::tiesByHand()
{
    // τ1 = [3,-1,.5,-4,.25], τ2 = [-2,5,.125,1,-.375], τ3 = [1,2,-6,.5,.5]; density 0.4 keeps 2
    // each: τ̂1 = [3,0,0,-4,0], τ̂2 = [-2,5,0,0,0], τ̂3 = [0,2,-6,0,0]; elected sign [+,+,-,-,0].
    // c = (1, .5, 2): base + [3, .5*5 + 2*2, 2*-6, -4, 0]. With the disjoint mean, element 1
    // has two agreeing tasks: (2.5 + 4) / 2.
    MergeCase m({w({10, 10, 10, 10, 10})}, {{w({13, 9, 10.5, 6, 10.25})},
                                            {w({8, 15, 10.125, 11, 9.625})},
                                            {w({11, 12, 4, 10.5, 10.5})}});
    mf::MergeOptions options;
    options.method = mf::MergeMethod::Ties;
    options.density = 0.4;
    const auto out = m.merge({1, 0.5, 2}, options, 2, "ties.safetensors");
    QCOMPARE(mftest::valuesOf(*out.find("w")), (std::vector<double>{13, 16.5, -2, 6, 10}));
    QCOMPARE(out.metadata().at("mergefront.density"), std::string("0.4"));
    QCOMPARE(out.metadata().at("mergefront.disjoint_mean"), std::string("false"));

    options.disjointMean = true;
    const auto mean = m.merge({1, 0.5, 2}, options, 2, "ties_mean.safetensors");
    QCOMPARE(mftest::valuesOf(*mean.find("w")), (std::vector<double>{13, 13.25, -2, 6, 10}));
    QCOMPARE(mean.metadata().at("mergefront.disjoint_mean"), std::string("true"));
}

void TestMerge::tiesMatchesAnIndependentImplementation()
{
    std::mt19937 random(3);
    const std::size_t n = 50000; // several kernel blocks
    const auto base = randomValues(n, random);
    std::vector<std::vector<double>> tasks;
    std::vector<std::vector<TestTensor>> files;
    for (int t = 0; t < 3; ++t) {
        auto delta = randomValues(n, random, 0.1);
        for (std::size_t i = 0; i < n; ++i)
            delta[i] = static_cast<float>(base[i] + delta[i]);
        tasks.push_back(delta);
        files.push_back({w(delta)});
    }
    MergeCase m({w(base)}, files);
    for (double density : {0.05, 0.2, 0.7, 1.0}) {
        mf::MergeOptions options;
        options.method = mf::MergeMethod::Ties;
        options.density = density;
        const std::vector<double> c = {0.7, 1.1, 0.4};
        const auto out = m.merge(c, options);
        const auto expected = referenceTies(base, tasks, c, density, false);
        QVERIFY2(mftest::valuesOf(*out.find("w")) ==
                     std::vector<double>(expected.begin(), expected.end()),
                 std::to_string(density).c_str());
    }
}

void TestMerge::dareKeepsAndRescales()
{
    std::mt19937 random(5);
    const std::size_t n = 100000;
    const auto base = randomValues(n, random);
    auto task = base;
    for (double &v : task)
        v = static_cast<float>(v + 0.5);
    MergeCase m({w(base)}, {{w(task)}});
    mf::MergeOptions options;
    options.method = mf::MergeMethod::Dare;
    options.dropRate = 0.3;
    options.seed = 11;
    const auto values = mftest::valuesOf(*m.merge({1.0}, options).find("w"));
    // Each entry is either the base (dropped) or base + τ / (1 - p), by the documented mask.
    const std::uint64_t key = mf::dareKey(11, 0, "w");
    const std::uint64_t dropBelow = static_cast<std::uint64_t>(std::ldexp(0.3, 64));
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float tau = static_cast<float>(task[i]) - static_cast<float>(base[i]);
        const bool keep = mf::dareKeeps(key, i, dropBelow);
        kept += keep;
        const float expected = static_cast<float>(base[i]) +
                               (keep ? 1.0f * (tau * static_cast<float>(1 / 0.7)) : 0.0f);
        QVERIFY2(values[i] == static_cast<double>(expected), std::to_string(i).c_str());
    }
    const double fraction = static_cast<double>(kept) / n;
    QVERIFY2(std::fabs(fraction - 0.7) < 0.01, std::to_string(fraction).c_str());
}

void TestMerge::dareIsSeededPerTaskAndTensor()
{
    QVERIFY(mf::dareKey(1, 0, "a") == mf::dareKey(1, 0, "a"));
    QVERIFY(mf::dareKey(1, 0, "a") != mf::dareKey(2, 0, "a"));
    QVERIFY(mf::dareKey(1, 0, "a") != mf::dareKey(1, 1, "a"));
    QVERIFY(mf::dareKey(1, 0, "a") != mf::dareKey(1, 0, "b"));

    std::mt19937 random(9);
    const auto base = randomValues(40000, random);
    auto task = base;
    for (double &v : task)
        v = static_cast<float>(v + 1);
    MergeCase m({w(base), {"other", mf::DType::F32, {40000}, base}},
                {{w(task), {"other", mf::DType::F32, {40000}, task}}});
    mf::MergeOptions options;
    options.method = mf::MergeMethod::Dare;
    options.dropRate = 0.5;
    options.seed = 1;
    const auto a = m.merge({1.0}, options, 1, "a.safetensors");
    const auto b = m.merge({1.0}, options, 2, "b.safetensors");
    QVERIFY(mftest::valuesOf(*a.find("w")) == mftest::valuesOf(*b.find("w")));
    // Same values, different tensor name: a different mask.
    QVERIFY(mftest::valuesOf(*a.find("w")) != mftest::valuesOf(*a.find("other")));
    options.seed = 2;
    const auto c = m.merge({1.0}, options, 2, "c.safetensors");
    QVERIFY(mftest::valuesOf(*a.find("w")) != mftest::valuesOf(*c.find("w")));
}

void TestMerge::dareTiesComposes()
{
    std::mt19937 random(21);
    const std::size_t n = 30000;
    const auto base = randomValues(n, random);
    std::vector<std::vector<double>> tasks;
    std::vector<std::vector<TestTensor>> files;
    for (int t = 0; t < 2; ++t) {
        auto values = randomValues(n, random, 0.2);
        for (std::size_t i = 0; i < n; ++i)
            values[i] = static_cast<float>(base[i] + values[i]);
        tasks.push_back(values);
        files.push_back({w(values)});
    }
    MergeCase m({w(base)}, files);
    mf::MergeOptions options;
    options.method = mf::MergeMethod::DareTies;
    options.dropRate = 0.5;
    options.density = 0.3;
    options.seed = 4;
    const std::vector<double> c = {0.8, 0.6};
    const auto out = m.merge(c, options);
    const auto expected = referenceTies(base, tasks, c, 0.3, false,
                                        {mf::dareKey(4, 0, "w"), mf::dareKey(4, 1, "w")}, 0.5);
    QVERIFY(mftest::valuesOf(*out.find("w")) ==
            std::vector<double>(expected.begin(), expected.end()));
}

void TestMerge::halfPrecisionAccumulatesInFloat()
{
    // 2048 + 1 + 1 in F16 steps would round to 2048 twice; in float it is 2050 (exact in F16).
    MergeCase m({w({2048}, mf::DType::F16)},
                {{w({2049}, mf::DType::F32)}, {w({2049}, mf::DType::F32)}});
    const auto out = m.merge({1, 1}, {});
    QVERIFY(out.find("w")->dtype == mf::DType::F16); // output dtype = base dtype
    QCOMPARE(mftest::valuesOf(*out.find("w")), std::vector<double>{2050});
}

void TestMerge::streamingIgnoresThreadsAndBlocks()
{
    std::mt19937 random(1);
    const std::size_t n = 3 * mf::kMergeBlock + 17;
    const auto base = randomValues(n, random);
    const auto t1 = randomValues(n, random);
    const auto t2 = randomValues(n, random);
    MergeCase m({{"w", mf::DType::BF16, {static_cast<std::int64_t>(n)}, base}},
                {{{"w", mf::DType::F16, {static_cast<std::int64_t>(n)}, t1}}, {w(t2)}});
    mf::MergeOptions options;
    const auto one = m.merge({0.3, 0.9}, options, 1, "one.safetensors");
    const auto three = m.merge({0.3, 0.9}, options, 3, "three.safetensors");
    QVERIFY(mftest::valuesOf(*one.find("w")) == mftest::valuesOf(*three.find("w")));
    // Each element: float math on the converted inputs, rounded once to BF16.
    const auto values = mftest::valuesOf(*one.find("w"));
    for (std::size_t i = 0; i < n; i += 997) {
        const float b = mf::bf16ToFloat(mf::floatToBf16(static_cast<float>(base[i])));
        const float x1 = mf::halfToFloat(mf::floatToHalf(static_cast<float>(t1[i])));
        const float x2 = static_cast<float>(t2[i]);
        const float acc = 0.3f * (x1 - b) + 0.9f * (x2 - b);
        QCOMPARE(values[i], static_cast<double>(mf::bf16ToFloat(mf::floatToBf16(b + acc))));
    }
}

void TestMerge::mergeTensorMatchesTheFile()
{
    std::mt19937 random(2);
    const std::size_t n = 2 * mf::kMergeBlock + 5;
    const auto base = randomValues(n, random);
    const auto t1 = randomValues(n, random);
    MergeCase m({w(base)}, {{w(t1)}});
    mf::MergeOptions options;
    options.method = mf::MergeMethod::Ties;
    options.density = 0.5;
    const auto file = m.merge({0.6}, options);
    const auto baseCheckpoint = mf::Checkpoint::open(m.dir.file("base.safetensors"));
    const auto task = mf::Checkpoint::open(m.models[0]);
    mf::Merger merger(baseCheckpoint, {&task}, {"t"}, options);
    merger.prepare(2);
    std::vector<float> direct(n);
    merger.mergeTensor(0, {0.6}, direct.data());
    QVERIFY(mftest::valuesOf(*file.find("w")) == std::vector<double>(direct.begin(), direct.end()));
}

void TestMerge::reportsMismatchesByName()
{
    MergeCase m({w({1, 2}),
                 {"head", mf::DType::F32, {2}, {1, 1}},
                 {"vocab", mf::DType::F32, {3}, {0, 0, 0}},
                 {"steps", mf::DType::I64, {1}, {7}}},
                {{w({2, 2}),
                  {"head", mf::DType::F32, {2}, {5, 5}},
                  {"vocab", mf::DType::F32, {4}, {1, 1, 1, 1}},
                  {"steps", mf::DType::I64, {1}, {9}},
                  {"extra", mf::DType::F32, {1}, {1}},
                  {"twice", mf::DType::F32, {1}, {3}}},
                 {w({1, 4}),
                  {"vocab", mf::DType::F32, {3}, {1, 1, 1}},
                  {"steps", mf::DType::I64, {1}, {9}},
                  {"twice", mf::DType::F32, {1}, {2}}}});
    const auto base = mf::Checkpoint::open(m.dir.file("base.safetensors"));
    const auto a = mf::Checkpoint::open(m.models[0]);
    const auto b = mf::Checkpoint::open(m.models[1]);
    const mf::MergePlan plan = mf::planMerge(base, {&a, &b}, {"a", "b"}, {});
    QCOMPARE(plan.mergedTensors, std::uint64_t(1));
    QCOMPARE(plan.copiedTensors, std::uint64_t(3));
    auto reason = [&plan](const std::string &name) {
        for (const mf::TensorPlan &tensor : plan.tensors)
            if (tensor.base->name == name)
                return tensor.merged ? std::string("merged") : tensor.reason;
        return std::string("absent");
    };
    QCOMPARE(reason("w"), std::string("merged"));
    QCOMPARE(reason("head"), std::string("missing in task 'b'"));
    QCOMPARE(reason("vocab"), std::string("shape [4] in task 'a' but [3] in the base"));
    QCOMPARE(reason("steps"), std::string("not floating point (I64)"));
    // In one task only (its own head): carried unchanged. In two without the base: left out.
    QCOMPARE(reason("extra"), std::string("only in task 'a', not in the base"));
    QCOMPARE(plan.taskOnlyTensors, std::uint64_t(1));
    QCOMPARE(plan.ignoredTensors,
             std::vector<std::string>{
                 "twice (in tasks 'a', 'b' but not in the base: left out, not one of them)"});
    const std::vector<std::string> lines = mf::describePlan(plan);
    const auto said = [&lines](const std::string &text) {
        for (const std::string &line : lines)
            if (line.find(text) != std::string::npos)
                return true;
        return false;
    };
    QVERIFY(said("carried unchanged: extra"));
    QVERIFY(said("--exclude '^(vocab)$'")); // the fix for a resized vocabulary, in words

    const auto out = m.merge({1, 1}, {});
    QCOMPARE(mftest::valuesOf(*out.find("w")), (std::vector<double>{2, 4}));
    QCOMPARE(mftest::valuesOf(*out.find("head")), (std::vector<double>{1, 1}));     // from the base
    QCOMPARE(mftest::valuesOf(*out.find("vocab")), (std::vector<double>{0, 0, 0})); // from the base
    QCOMPARE(mftest::valuesOf(*out.find("steps")), std::vector<double>{7});
    QCOMPARE(mftest::valuesOf(*out.find("extra")), std::vector<double>{1}); // task a's, as it is
    QVERIFY(out.find("twice") == nullptr);

    mf::MergeOptions drop;
    drop.keepTaskOnly = false;
    const auto dropped = m.merge({1, 1}, drop, 2, "dropped.safetensors");
    QVERIFY(dropped.find("extra") == nullptr);
    QCOMPARE(dropped.tensors().size(), std::size_t(4));
}

void TestMerge::convertsTheOutputDType()
{
    // f32 inputs, bf16 output: merged and copied floating tensors converted, integers kept.
    MergeCase m(
        {w({1, 2}), {"steps", mf::DType::I64, {1}, {7}}, {"b", mf::DType::F32, {1}, {0.1}}},
        {{w({2, 4}), {"steps", mf::DType::I64, {1}, {9}}, {"b", mf::DType::F32, {2}, {5, 5}}}});
    mf::MergeRequest request;
    request.basePath = m.dir.file("base.safetensors");
    request.modelPaths = m.models;
    request.coefficients = {0.5};
    request.outPath = m.dir.file("bf16.safetensors");
    request.dtype = mf::DType::BF16;
    request.sync = false;
    mf::runMerge(request, [](const std::string &) {});
    const auto out = mf::Checkpoint::open(request.outPath);
    QVERIFY(out.find("w")->dtype == mf::DType::BF16);
    QCOMPARE(mftest::valuesOf(*out.find("w")), (std::vector<double>{1.5, 3})); // exact in bf16
    QVERIFY(out.find("steps")->dtype == mf::DType::I64);
    QCOMPARE(mftest::valuesOf(*out.find("steps")), std::vector<double>{7});
    QVERIFY(out.find("b")->dtype == mf::DType::BF16); // copied (shape differs), converted
    // 0.1 rounded to bf16: 0.10009765625 (the nearest of 8 mantissa bits).
    QCOMPARE(mftest::valuesOf(*out.find("b")), std::vector<double>{0.10009765625});
}

void TestMerge::filtersByRegex()
{
    MergeCase m({{"enc.w", mf::DType::F32, {1}, {0}},
                 {"dec.w", mf::DType::F32, {1}, {0}},
                 {"dec.b", mf::DType::F32, {1}, {0}}},
                {{{"enc.w", mf::DType::F32, {1}, {1}},
                  {"dec.w", mf::DType::F32, {1}, {1}},
                  {"dec.b", mf::DType::F32, {1}, {1}}}});
    mf::MergeOptions options;
    options.include = "^dec\\.";
    options.exclude = "\\.b$";
    const auto out = m.merge({1}, options);
    QCOMPARE(mftest::valuesOf(*out.find("enc.w")), std::vector<double>{0});
    QCOMPARE(mftest::valuesOf(*out.find("dec.w")), std::vector<double>{1});
    QCOMPARE(mftest::valuesOf(*out.find("dec.b")), std::vector<double>{0});
}

void TestMerge::rejectsBadOptions()
{
    MergeCase m({w({1})}, {{w({2})}});
    struct Case {
        mf::MergeOptions options;
        const char *expected;
    };
    mf::MergeOptions density, drop, regex;
    density.density = 0;
    drop.dropRate = 1;
    regex.include = "([";
    for (const Case &c :
         {Case{density, "density must be in (0, 1]"}, Case{drop, "drop rate must be in [0, 1)"},
          Case{regex, "invalid --include regex '(['"}}) {
        const std::string message = mftest::errorOf([&] { m.merge({1}, c.options); });
        QVERIFY2(message.find(c.expected) != std::string::npos, message.c_str());
    }
    const std::string message = mftest::errorOf([&] { m.merge({1, 2}, {}); });
    QVERIFY2(message.find("2 coefficients for 1 models") != std::string::npos, message.c_str());
    QCOMPARE(m.dir.entries().size(), std::size_t(2)); // base + task: nothing written
}

MF_TEST_MAIN(TestMerge, taskArithmeticByHand, tiesByHand, tiesMatchesAnIndependentImplementation,
             dareKeepsAndRescales, dareIsSeededPerTaskAndTensor, dareTiesComposes,
             halfPrecisionAccumulatesInFloat, streamingIgnoresThreadsAndBlocks,
             mergeTensorMatchesTheFile, reportsMismatchesByName, convertsTheOutputDType,
             filtersByRegex, rejectsBadOptions)
#ifdef MERGEFRONT_QT_TEST
#include "tst_merge.moc"
#endif
