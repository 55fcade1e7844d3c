// SPDX-License-Identifier: GPL-3.0-or-later
// GGUF output: the format (layout, alignment, Q8_0 as ggml's reference quantizer, a reader that
// checks what gguf.cpp checks), the converter's tensor mapping (Q/K permutation, F32 norms, the
// Q8_0 -> F16 fallback), refusals that name what is wrong and leave nothing behind, and the
// real thing: llama.cpp loading, tokenizing and scoring the files of every family
// (tests/interop/check_gguf.py, with node-llama-cpp and @huggingface/gguf).
#include "fixtures.h"
#include "lm_fixtures.h"
#include "testing.h"

#include "../text/reference.h"

#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "io/gguf.h"
#include "merge/gguf_output.h"
#include "merge/merge_job.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

using mftest::TempDir;
using nlohmann::json;

namespace {

/// Writes a GGUF file through the library's layout and the atomic writer.
void writeGguf(const std::string &path, const mf::GgufMetadata &metadata,
               const std::vector<mf::GgufTensor> &tensors, const std::vector<std::string> &data)
{
    const mf::GgufLayout layout = mf::layoutGguf(metadata, tensors);
    std::vector<mf::OutputTensor> sizes;
    for (const mf::GgufTensor &t : tensors)
        sizes.push_back({t.name, mf::DType::U8, {static_cast<std::int64_t>(t.byteSize())}});
    mf::WriterOptions options;
    options.sync = false;
    mf::CheckpointWriter writer(path, sizes, layout.header, layout.offsets, layout.fileSize,
                                options);
    for (std::size_t i = 0; i < tensors.size(); ++i)
        writer.write(i, 0, data[i].data(), data[i].size());
    writer.commit();
}

std::string tensorBytes(const mf::GgufFile &file, const std::string &name)
{
    const std::string bytes = mftest::readFile(file.path);
    for (const mf::GgufTensor &t : file.tensors)
        if (t.name == name)
            return bytes.substr(file.dataOffset + t.offset, t.byteSize());
    return "";
}

} // namespace

class TestGguf : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void q8_0IsGgmlsReferenceQuantizer();
    void layoutAndReaderAgree();
    void readerRefusesBrokenFiles();
    void mapsTensorsAsTheConverter();
    void refusesWhatHasNoMapping();
    void cancelLeavesNothing();
    void llamaCppLoadsTokenizesAndScoresEveryFamily();
};

void TestGguf::q8_0IsGgmlsReferenceQuantizer()
{
    // Block 1: amax 127, so d = 1 and q = round(x): halves go away from zero.
    // Block 2: zeros (d = 0). Block 3: amax 254, d = 2: q = round(x / 2).
    std::vector<float> x(96, 0.0f);
    const float first[] = {0.5f, -0.5f, 1.5f, -2.5f, 126.4f, 127.0f, -126.6f, 0.49f};
    std::copy(std::begin(first), std::end(first), x.begin());
    const float third[] = {254.0f, 3.0f, -5.0f, 1.0f, -0.9f};
    std::copy(std::begin(third), std::end(third), x.begin() + 64);
    std::string bytes(mf::ggmlRowBytes(mf::GgmlType::Q8_0, 96), '\0');
    QCOMPARE(bytes.size(), std::size_t(3 * 34));
    mf::encodeGgmlRow(mf::GgmlType::Q8_0, x.data(), x.size(), bytes.data());
    auto scale = [&](int block) {
        std::uint16_t h;
        std::memcpy(&h, bytes.data() + 34 * block, 2);
        return h;
    };
    auto q = [&](int block, int j) {
        return static_cast<int>(static_cast<std::int8_t>(bytes[34 * block + 2 + j]));
    };
    QCOMPARE(scale(0), std::uint16_t(0x3c00)); // 1.0 in f16
    const int expected[] = {1, -1, 2, -3, 126, 127, -127, 0};
    for (int j = 0; j < 8; ++j)
        QCOMPARE(q(0, j), expected[j]);
    QCOMPARE(scale(1), std::uint16_t(0));
    for (int j = 0; j < 32; ++j)
        QCOMPARE(q(1, j), 0);
    QCOMPARE(scale(2), std::uint16_t(0x4000));  // 2.0
    const int expected3[] = {127, 2, -3, 1, 0}; // 1.5 -> 2, -2.5 -> -3, 0.5 -> 1, -0.45 -> 0
    for (int j = 0; j < 5; ++j)
        QCOMPARE(q(2, j), expected3[j]);
    // Random blocks against the quantizer written out as ggml's reference reads: d = amax / 127,
    // id = 1 / d, q = roundf(x * id).
    std::mt19937 random(7);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> many(32 * 2000);
    for (float &v : many)
        v = normal(random);
    std::string encoded(mf::ggmlRowBytes(mf::GgmlType::Q8_0, many.size()), '\0');
    mf::encodeGgmlRow(mf::GgmlType::Q8_0, many.data(), many.size(), encoded.data());
    for (std::size_t b = 0; b < many.size() / 32; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j)
            amax = std::max(amax, std::fabs(many[b * 32 + j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; ++j)
            QCOMPARE(static_cast<int>(static_cast<std::int8_t>(encoded[34 * b + 2 + j])),
                     static_cast<int>(std::round(many[b * 32 + j] * id)));
    }
    std::vector<float> back(96);
    mf::decodeGgmlRow(mf::GgmlType::Q8_0, bytes.data(), 96, back.data());
    QCOMPARE(back[3], -3.0f);
    QCOMPARE(back[66], -6.0f);
    // F16 and BF16 rows round to nearest even, as gguf-py and ggml do.
    const float half[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048};
    std::uint16_t f16[2];
    mf::encodeGgmlRow(mf::GgmlType::F16, half, 2, f16);
    QCOMPARE(f16[0], std::uint16_t(0x3c00)); // a tie: down to even
    QCOMPARE(f16[1], std::uint16_t(0x3c02)); // a tie: up to even
    QVERIFY(!mftest::errorOf([&] {
                 mf::encodeGgmlRow(mf::GgmlType::Q8_0, x.data(), 40, bytes.data());
             }).empty());
    QVERIFY(mf::parseGgufWeightType("Q8_0") == mf::GgmlType::Q8_0);
    QVERIFY(mftest::errorOf([] {
                mf::parseGgufWeightType("q4_0");
            }).find("f32, f16, bf16 and q8_0") != std::string::npos);
}

void TestGguf::layoutAndReaderAgree()
{
    TempDir dir;
    const mf::GgufMetadata metadata = {
        {"general.architecture", mf::GgufValue::string("llama")},
        {"general.alignment", mf::GgufValue::u32(32)},
        {"x.scores", mf::GgufValue::floats({0.5f, -1.0f})},
        {"x.flag", mf::GgufValue::boolean(true)},
        {"x.tokens", mf::GgufValue::strings({"a", "", "ü"})},
    };
    const std::vector<mf::GgufTensor> tensors = {
        {"norm.weight", {5}, mf::GgmlType::F32, 0},
        {"w.weight", {32, 3}, mf::GgmlType::Q8_0, 0},
        {"h.weight", {7, 2}, mf::GgmlType::F16, 0},
    };
    const mf::GgufLayout layout = mf::layoutGguf(metadata, tensors);
    QCOMPARE(layout.header.size() % 32, std::size_t(0));
    QCOMPARE(layout.offsets[0], layout.header.size());
    QCOMPARE(layout.offsets[1], layout.header.size() + 32);       // 20 bytes, padded to 32
    QCOMPARE(layout.offsets[2], layout.header.size() + 32 + 128); // 102 bytes, padded to 128
    QCOMPARE(layout.fileSize, layout.header.size() + 32 + 128 + 32);
    std::vector<std::string> data = {std::string(20, 'a'), std::string(102, 'b'),
                                     std::string(28, 'c')};
    writeGguf(dir.file("x.gguf"), metadata, tensors, data);
    QVERIFY(dir.entries() == std::vector<std::string>({"x.gguf"}));
    QVERIFY(mf::isGgufFile(dir.file("x.gguf")));
    const mf::GgufFile file = mf::readGguf(dir.file("x.gguf"));
    QCOMPARE(file.version, 3u);
    QCOMPARE(file.metadata.size(), metadata.size());
    QCOMPARE(file.find("x.tokens")->items[2].text, std::string("ü"));
    QCOMPARE(file.find("x.scores")->items[1].real, -1.0);
    QCOMPARE(file.find("x.flag")->integer, std::int64_t(1));
    QCOMPARE(file.tensors.size(), std::size_t(3));
    QVERIFY(file.tensors[1].dims == std::vector<std::uint64_t>({32, 3}));
    QCOMPARE(file.tensors[2].offset, std::uint64_t(160));
    QCOMPARE(file.dataOffset, std::uint64_t(layout.header.size()));
    QCOMPARE(tensorBytes(file, "h.weight"), data[2]);
    const json described = json::parse(mf::describeGgufJson(file));
    QCOMPARE(described["tensors"][1]["type"].get<std::string>(), std::string("Q8_0"));
    QCOMPARE(described["metadata"]["x.tokens"].size(), std::size_t(3));
    // Duplicate keys and tensor names are refused before anything is written.
    QVERIFY(!mftest::errorOf([] {
                 mf::layoutGguf({{"a", mf::GgufValue::u32(1)}, {"a", mf::GgufValue::u32(2)}}, {});
             }).empty());
    QVERIFY(!mftest::errorOf([&] { mf::layoutGguf({}, {tensors[0], tensors[0]}); }).empty());
}

void TestGguf::readerRefusesBrokenFiles()
{
    TempDir dir;
    const std::vector<mf::GgufTensor> tensors = {{"a.weight", {64, 2}, mf::GgmlType::F32, 0}};
    writeGguf(dir.file("ok.gguf"), {{"general.architecture", mf::GgufValue::string("llama")}},
              tensors, {std::string(512, 'x')});
    const std::string good = mftest::readFile(dir.file("ok.gguf"));
    struct Case {
        std::string name, bytes, expected;
    };
    std::string badMagic = good;
    badMagic[0] = 'X';
    std::string badVersion = good;
    badVersion[4] = 9;
    std::string badOffset = good;
    badOffset[good.find("a.weight") + 8 + 4 + 16 + 4] = 32; // the tensor's data offset
    const std::vector<Case> cases = {
        {"truncated.gguf", good.substr(0, good.size() - 100), "ends past the end of the file"},
        {"header.gguf", good.substr(0, 30), "ends inside"},
        {"magic.gguf", badMagic, "\"GGUF\""},
        {"version.gguf", badVersion, "version 9"},
        {"offset.gguf", badOffset, "expected 0"},
    };
    for (const Case &c : cases) {
        mftest::writeFile(dir.file(c.name), c.bytes);
        const std::string error = mftest::errorOf([&] { mf::readGguf(dir.file(c.name)); });
        QVERIFY2(error.find(c.name) != std::string::npos &&
                     error.find(c.expected) != std::string::npos,
                 (c.name + ": " + error).c_str());
    }
}

void TestGguf::mapsTensorsAsTheConverter()
{
    TempDir dir;
    mftest::writeLlama(dir.file("base"), 1, mf::DType::F32);
    mftest::writeLlama(dir.file("task"), 2, mf::DType::F32, json::object(), 0.05);
    auto run = mftest::runCli(dir, {"merge", "--base", dir.file("base"), "--model",
                                    dir.file("task"), "--coef", "0", "--out", dir.file("m.gguf"),
                                    "--gguf-type", "q8_0", "--no-sync"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    QVERIFY(run.err.find("writes") != std::string::npos); // the size is said before writing
    const mf::GgufFile file = mf::readGguf(dir.file("m.gguf"));
    auto type = [&](const std::string &name) {
        for (const mf::GgufTensor &t : file.tensors)
            if (t.name == name)
                return mf::ggmlTypeName(static_cast<std::uint32_t>(t.type));
        return std::string("missing");
    };
    QCOMPARE(type("blk.0.attn_norm.weight"), std::string("F32"));
    QCOMPARE(type("blk.0.attn_q.weight"), std::string("Q8_0"));
    QCOMPARE(type("blk.1.ffn_down.weight"), std::string("F16")); // rows of 48: no Q8_0 blocks
    QCOMPARE(type("output.weight"), std::string("Q8_0"));        // the head is not tied
    QVERIFY(run.err.find("blk.0.ffn_down.weight: rows of 48 are not whole Q8_0 blocks") !=
            std::string::npos);
    QCOMPARE(file.find("general.file_type")->integer, std::int64_t(7));
    QCOMPARE(file.find("llama.attention.head_count_kv")->integer, std::int64_t(2));
    QCOMPARE(file.find("tokenizer.ggml.model")->text, std::string("gpt2"));
    QCOMPARE(file.find("tokenizer.ggml.pre")->text, std::string("gpt-2"));
    QVERIFY(file.find("mergefront.method") != nullptr);

    // The permutation, at coefficient 0 (the base's values) in f32: within each of the 2 kv heads
    // of 8 rows, GGUF row 2j + k is HF row k * 4 + j.
    run = mftest::runCli(dir, {"merge", "--base", dir.file("base"), "--model", dir.file("task"),
                               "--coef", "0", "--out", dir.file("f.gguf"), "--gguf-type", "f32",
                               "--no-sync"});
    QVERIFY2(run.code == 0, mftest::failureOf(run).c_str());
    const mf::GgufFile f32 = mf::readGguf(dir.file("f.gguf"));
    const std::string k = tensorBytes(f32, "blk.0.attn_k.weight");
    const mf::Checkpoint base = mf::Checkpoint::open(dir.file("base"));
    const std::vector<double> hf =
        mftest::valuesOf(*base.find("model.layers.0.self_attn.k_proj.weight"));
    QCOMPARE(k.size(), hf.size() * 4);
    for (int head = 0; head < 2; ++head)
        for (int j = 0; j < 4; ++j)
            for (int kk = 0; kk < 2; ++kk)
                for (int col = 0; col < 32; ++col) {
                    float value;
                    std::memcpy(&value, k.data() + 4 * ((head * 8 + 2 * j + kk) * 32 + col), 4);
                    QCOMPARE(static_cast<double>(value),
                             hf[static_cast<std::size_t>((head * 8 + kk * 4 + j) * 32 + col)]);
                }
    // v is not permuted.
    const std::string v = tensorBytes(f32, "blk.0.attn_v.weight");
    const std::vector<double> hv =
        mftest::valuesOf(*base.find("model.layers.0.self_attn.v_proj.weight"));
    float first;
    std::memcpy(&first, v.data() + 4 * 32, 4);
    QCOMPARE(static_cast<double>(first), hv[32]);
    // inspect reads it back: metadata and the tensor table.
    run = mftest::runCli(dir, {"inspect", dir.file("m.gguf")});
    QVERIFY2(run.code == 0 && run.out.find("format: GGUF version 3") != std::string::npos &&
                 run.out.find("blk.1.ffn_down.weight  F16  [48, 32]") != std::string::npos &&
                 run.out.find("tokenizer.ggml.tokens = [257 string") != std::string::npos,
             run.out.c_str());
}

void TestGguf::refusesWhatHasNoMapping()
{
    TempDir dir;
    mftest::writeLlama(dir.file("task"), 2, mf::DType::F32, json::object(), 0.05);
    struct Case {
        std::string name;
        std::function<void(const std::string &)> spoil;
        std::string expected;
        std::vector<std::string> extra;
    };
    const std::vector<Case> cases = {
        {"pre-tokenizer",
         [](const std::string &folder) {
             json t = json::parse(mftest::readFile(folder + "/tokenizer.json"));
             t["pre_tokenizer"] = {{"type", "Whitespace"}};
             mftest::writeFile(folder + "/tokenizer.json", t.dump());
         },
         "pre_tokenizer {\"type\":\"Whitespace\"} is not one llama.cpp knows by name",
         {}},
        {"vocabulary",
         [](const std::string &folder) {
             json t = json::parse(mftest::readFile(folder + "/tokenizer.json"));
             t["added_tokens"].push_back({{"id", 400}, {"content", "<extra>"}, {"special", true}});
             mftest::writeFile(folder + "/tokenizer.json", t.dump());
         },
         "the vocabulary has 401 tokens and the embedding only 257 rows",
         {}},
        {"model-type",
         [](const std::string &folder) {
             json c = json::parse(mftest::readFile(folder + "/config.json"));
             c["model_type"] = "phi3";
             mftest::writeFile(folder + "/config.json", c.dump());
         },
         "model_type",
         {}},
        {"no-tokenizer",
         [](const std::string &folder) { std::filesystem::remove(folder + "/tokenizer.json"); },
         "needs the tokenizer as tokenizer.json",
         {}},
        {"type",
         [](const std::string &) {},
         "--gguf-type: unknown GGUF weight type 'q4_k'",
         {"--gguf-type", "q4_k"}},
        {"shards",
         [](const std::string &) {},
         "--shard-size does not apply to a .gguf output",
         {"--shard-size", "1MB"}},
    };
    for (const Case &c : cases) {
        const std::string base = dir.file("base-" + c.name);
        mftest::writeLlama(base, 1, mf::DType::F32);
        c.spoil(base);
        const std::vector<std::string> before = dir.entries();
        std::vector<std::string> args = {"merge",   "--base",         base,
                                         "--model", dir.file("task"), "--coef",
                                         "0.5",     "--out",          dir.file("out.gguf")};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const auto run = mftest::runCli(dir, args);
        const int code = c.name == "type" ? 2 : 1; // a usage error, else bad input
        QVERIFY2(run.code == code && run.err.find(c.expected) != std::string::npos,
                 (c.name + ": " + mftest::failureOf(run)).c_str());
        QVERIFY2(dir.entries() == before, c.name.c_str()); // nothing left behind
    }
    // A tensor the mapping does not know is named, and so is a base that is a single file.
    mftest::writeLlama(dir.file("base-x"), 1, mf::DType::F32);
    mftest::writeLlama(dir.file("task-x"), 2, mf::DType::F32, json::object(), 0.05);
    for (const char *folder : {"base-x", "task-x"}) {
        const mf::Checkpoint original = mf::Checkpoint::open(dir.file(folder));
        std::vector<mftest::TestTensor> tensors;
        for (const mf::TensorRef &t : original.tensors())
            tensors.push_back({t.name, t.dtype, t.shape, mftest::valuesOf(t)});
        tensors.push_back({"model.layers.0.mlp.mystery.weight",
                           mf::DType::F32,
                           {32, 32},
                           std::vector<double>(32 * 32, 0.1)});
        std::filesystem::remove(dir.file(folder) + "/model.safetensors");
        mftest::writeCheckpoint(dir.file(folder) + "/model.safetensors", tensors);
    }
    auto run =
        mftest::runCli(dir, {"merge", "--base", dir.file("base-x"), "--model", dir.file("task-x"),
                             "--coef", "0.5", "--out", dir.file("out.gguf")});
    QVERIFY2(run.code == 1 && run.err.find("tensor 'model.layers.0.mlp.mystery.weight' has no "
                                           "GGUF name in the llama mapping") != std::string::npos,
             mftest::failureOf(run).c_str());
    run = mftest::runCli(dir, {"merge", "--base", dir.file("base-x") + "/model.safetensors",
                               "--model", dir.file("task-x") + "/model.safetensors", "--coef",
                               "0.5", "--out", dir.file("out.gguf")});
    QVERIFY2(run.code == 1 && run.err.find("needs the base as a model folder with config.json") !=
                                  std::string::npos,
             mftest::failureOf(run).c_str());
    QVERIFY(!std::filesystem::exists(dir.file("out.gguf")));
}

void TestGguf::cancelLeavesNothing()
{
    TempDir dir;
    mftest::writeLlama(dir.file("base"), 1, mf::DType::F32);
    mftest::writeLlama(dir.file("task"), 2, mf::DType::F32, json::object(), 0.05);
    const std::vector<std::string> before = dir.entries();
    mf::MergeRequest request;
    request.basePath = dir.file("base");
    request.modelPaths = {dir.file("task")};
    request.coefficients = {0.5};
    request.outPath = dir.file("out.gguf");
    request.ggufType = mf::GgmlType::Q8_0;
    request.threads = 2;
    bool cancelled = false;
    try { // Cancel once merged bytes are written (at the latest when the merge reports its end)
        mf::runMerge(
            request, [](const std::string &) {},
            [](const mf::Progress &p) {
                return !(std::string(p.stage) == "merging" && p.done > 0);
            });
    } catch (const mf::Cancelled &) {
        cancelled = true;
    }
    QVERIFY(cancelled);
    QVERIFY(dir.entries() == before); // no file, no temporary beside it
}

void TestGguf::llamaCppLoadsTokenizesAndScoresEveryFamily()
{
#ifndef MERGEFRONT_HAVE_TORCH
    QSKIP("built without LibTorch: no in-process forward to compare llama.cpp with");
#endif
    if (!mftest::havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
#ifdef __SANITIZE_ADDRESS__
    // llama.cpp (node, not instrumented) reading every family's GGUF is the release build's
    // check; under AddressSanitizer it takes a quarter of an hour and checks none of
    // Mergefront's memory that the other functions here and tst_causal_lm do not.
    QSKIP("the llama.cpp round trip runs in the release build (./run.sh test runs it there)");
#endif
    if (!std::filesystem::exists(mftest::tokenizerReferenceDir() +
                                 "/tokenizers/dist/tokenizers.mjs") ||
        !std::filesystem::exists(mftest::llamaCppReferenceDir() +
                                 "/node_modules/@node-llama-cpp/linux-x64") ||
        std::system("node --version >/dev/null 2>&1") != 0)
        QSKIP("the tokenizer and llama.cpp references are not installed (./run.sh data)");
    TempDir dir;
    QCOMPARE(
        mftest::runBuildAndCheck("check_gguf.py", dir.path(), {mftest::llamaCppReferenceDir()}), 0);
}

MF_TEST_MAIN(TestGguf, q8_0IsGgmlsReferenceQuantizer, layoutAndReaderAgree,
             readerRefusesBrokenFiles, mapsTensorsAsTheConverter, refusesWhatHasNoMapping,
             cancelLeavesNothing, llamaCppLoadsTokenizesAndScoresEveryFamily)
#ifdef MERGEFRONT_QT_TEST
#include "tst_gguf.moc"
#endif
