// SPDX-License-Identifier: GPL-3.0-or-later
// safetensors: round trips through our writer, the reference layout rules, a file written
// by an independent implementation (Python, from the specification), sharding.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>

using mftest::TempDir;
using mftest::TestTensor;

namespace {

std::vector<TestTensor> mixedTensors()
{
    return {
        {"layer.weight", mf::DType::F32, {2, 3}, {1, -2, 3.5, 4, 5, -6}},
        {"layer.bias", mf::DType::F16, {3}, {0.5, -1, 2}},
        {"norm", mf::DType::BF16, {2}, {3, -7.5}},
        {"precise", mf::DType::F64, {2}, {1e-300, 0.1}},
        {"ids", mf::DType::I64, {3}, {1, -2, 3}},
        {"mask", mf::DType::Bool, {2}, {1, 0}},
        {"bytes", mf::DType::U8, {2}, {250, 1}},
        {"scalar", mf::DType::F32, {}, {2.5}},
        {"empty", mf::DType::F32, {0, 4}, {}},
    };
}

void expectSame(const mf::Checkpoint &checkpoint, const std::vector<TestTensor> &tensors, bool &ok)
{
    ok = checkpoint.tensors().size() == tensors.size();
    for (const TestTensor &t : tensors) {
        const mf::TensorRef *loaded = checkpoint.find(t.name);
        if (!loaded || loaded->dtype != t.dtype || loaded->shape != t.shape ||
            mftest::valuesOf(*loaded) != t.values)
            ok = false;
    }
}

std::uint64_t le64(const std::string &bytes)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    return value;
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripsEveryDType();
    void writesTheReferenceLayout();
    void readsAFileWrittenByAnotherImplementation();
    void writesAndReadsShards();
    void opensAFolder();
    void leavesNoTemporaries();
    void refusesABadIndex();
    void readsShardedStateDicts();
};

void TestSafetensors::roundTripsEveryDType()
{
    TempDir dir;
    const auto tensors = mixedTensors();
    mftest::writeCheckpoint(dir.file("m.safetensors"), tensors, {{"format", "pt"}, {"note", "é"}});
    const auto checkpoint = mf::Checkpoint::open(dir.file("m.safetensors"));
    bool ok = false;
    expectSame(checkpoint, tensors, ok);
    QVERIFY(ok);
    QCOMPARE(checkpoint.format(), std::string("safetensors"));
    QCOMPARE(checkpoint.metadata().at("note"), std::string("é"));
    QCOMPARE(checkpoint.parameterCount(), std::uint64_t(6 + 3 + 2 + 2 + 3 + 2 + 2 + 1));
}

void TestSafetensors::writesTheReferenceLayout()
{
    TempDir dir;
    mftest::writeCheckpoint(dir.file("m.safetensors"), mixedTensors(), {{"format", "pt"}});
    const std::string bytes = mftest::readFile(dir.file("m.safetensors"));
    const std::uint64_t n = le64(bytes);
    QCOMPARE((8 + n) % 8, std::uint64_t(0));
    const std::string header = bytes.substr(8, n);
    QVERIFY(header.front() == '{');
    const std::size_t close = header.find_last_of('}');
    QVERIFY(header.find_first_not_of(' ', close + 1) == std::string::npos); // padded with spaces

    const auto parsed = mf::parseSafetensorsHeader(
        reinterpret_cast<const std::byte *>(bytes.data()), bytes.size(), "m.safetensors");
    // Larger elements first, then by name; each tensor aligned to its element size.
    std::vector<std::string> order;
    for (const auto &entry : parsed.tensors) {
        order.push_back(entry.name);
        QCOMPARE(entry.begin % mf::dtypeSize(entry.dtype), std::uint64_t(0));
    }
    const std::vector<std::string> expected = {
        "ids", "precise", "empty", "layer.weight", "scalar", "layer.bias", "norm", "bytes", "mask"};
    QCOMPARE(order, expected);
    QCOMPARE(parsed.tensors.back().end + 8 + n, std::uint64_t(bytes.size()));
}

void TestSafetensors::readsAFileWrittenByAnotherImplementation()
{
    const auto expected =
        nlohmann::json::parse(mftest::readFile(mftest::dataPath("expected.json")));
    const auto &tensors = expected.at("python_written.safetensors");
    const auto checkpoint = mf::Checkpoint::open(mftest::dataPath("python_written.safetensors"));
    QCOMPARE(checkpoint.tensors().size(), tensors.size());
    QCOMPARE(checkpoint.metadata().at("writer"), std::string("python"));
    for (const auto &[name, want] : tensors.items()) {
        const mf::TensorRef *tensor = checkpoint.find(name);
        QVERIFY2(tensor, name.c_str());
        QCOMPARE(std::string(mf::dtypeName(tensor->dtype)), want.at("dtype").get<std::string>());
        QCOMPARE(tensor->shape, want.at("shape").get<mf::Shape>());
        QCOMPARE(mftest::valuesOf(*tensor), want.at("values").get<std::vector<double>>());
    }
}

void TestSafetensors::writesAndReadsShards()
{
    TempDir dir;
    std::vector<TestTensor> tensors;
    for (int i = 0; i < 5; ++i)
        tensors.push_back({"block" + std::to_string(i) + ".weight",
                           mf::DType::F32,
                           {10, 10},
                           std::vector<double>(100, i + 0.5)});
    mftest::writeCheckpoint(dir.file("model.safetensors"), tensors, {{"format", "pt"}}, 900);
    const std::vector<std::string> files = {
        "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors", "model.safetensors.index.json"};
    QCOMPARE(dir.entries(), files);
    const auto index =
        nlohmann::json::parse(mftest::readFile(dir.file("model.safetensors.index.json")));
    QCOMPARE(index.at("metadata").at("total_size").get<std::uint64_t>(), std::uint64_t(2000));
    QCOMPARE(index.at("weight_map").at("block4.weight").get<std::string>(),
             std::string("model-00003-of-00003.safetensors"));

    const auto checkpoint = mf::Checkpoint::open(dir.file("model.safetensors.index.json"));
    bool ok = false;
    expectSame(checkpoint, tensors, ok);
    QVERIFY(ok);
    QCOMPARE(checkpoint.files().size(), std::size_t(3));
    QVERIFY(checkpoint.format().find("sharded") != std::string::npos);
    QCOMPARE(checkpoint.metadata().at("format"), std::string("pt"));
}

void TestSafetensors::opensAFolder()
{
    TempDir dir;
    mftest::writeCheckpoint(dir.file("only.safetensors"), mixedTensors());
    QCOMPARE(mf::Checkpoint::open(dir.path()).tensors().size(), mixedTensors().size());
    mftest::writeCheckpoint(dir.file("second.safetensors"), mixedTensors());
    const std::string message = mftest::errorOf([&] { mf::Checkpoint::open(dir.path()); });
    QVERIFY2(message.find("several .safetensors files") != std::string::npos, message.c_str());
}

void TestSafetensors::leavesNoTemporaries()
{
    TempDir dir;
    {
        mf::CheckpointWriter writer(dir.file("never.safetensors"), {{"w", mf::DType::F32, {4}}}, {},
                                    {});
        const float half[2] = {1, 2};
        writer.write(0, 0, half, sizeof half);          // half written, then abandoned
        QCOMPARE(dir.entries().size(), std::size_t(1)); // the temporary, hidden
    }
    QVERIFY(dir.entries().empty());

    mf::CheckpointWriter incomplete(dir.file("short.safetensors"), {{"w", mf::DType::F32, {4}}}, {},
                                    {});
    const float one = 1;
    incomplete.write(0, 0, &one, sizeof one);
    const std::string message = mftest::errorOf([&] { incomplete.commit(); });
    QVERIFY2(message.find("not written completely") != std::string::npos, message.c_str());
    QVERIFY(dir.entries().empty());

    mftest::writeCheckpoint(dir.file("done.safetensors"), mixedTensors());
    QCOMPARE(dir.entries(), std::vector<std::string>{"done.safetensors"});
}

void TestSafetensors::refusesABadIndex()
{
    TempDir dir;
    mftest::writeCheckpoint(dir.file("a.safetensors"), {{"x", mf::DType::F32, {1}, {1}}});
    mftest::writeFile(dir.file("m.safetensors.index.json"),
                      R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}})");
    std::string message =
        mftest::errorOf([&] { mf::Checkpoint::open(dir.file("m.safetensors.index.json")); });
    QVERIFY2(message.find("'y'") != std::string::npos, message.c_str());
    mftest::writeFile(dir.file("m.safetensors.index.json"),
                      R"({"weight_map": {"x": "../a.safetensors"}})");
    message = mftest::errorOf([&] { mf::Checkpoint::open(dir.file("m.safetensors.index.json")); });
    QVERIFY2(message.find("not a plain file name") != std::string::npos, message.c_str());
    mftest::writeFile(dir.file("m.safetensors.index.json"), R"({"metadata": {}})");
    message = mftest::errorOf([&] { mf::Checkpoint::open(dir.file("m.safetensors.index.json")); });
    QVERIFY2(message.find("weight_map") != std::string::npos, message.c_str());
}

void TestSafetensors::readsShardedStateDicts()
{
    // Hugging Face's pytorch_model.bin.index.json: torch.save shards behind a weight map.
    TempDir dir;
    mftest::writeCheckpoint(dir.file("pytorch_model-00001-of-00002.bin"),
                            {{"a", mf::DType::F32, {2}, {1, 2}}, {"b", mf::DType::F16, {1}, {3}}});
    mftest::writeCheckpoint(dir.file("pytorch_model-00002-of-00002.bin"),
                            {{"c", mf::DType::I64, {1}, {4}}});
    mftest::writeFile(dir.file("pytorch_model.bin.index.json"),
                      R"({"metadata": {"total_size": 18}, "weight_map": {
                          "a": "pytorch_model-00001-of-00002.bin",
                          "b": "pytorch_model-00001-of-00002.bin",
                          "c": "pytorch_model-00002-of-00002.bin"}})");
    const auto checkpoint = mf::Checkpoint::open(dir.path()); // the folder finds the index
    QCOMPARE(checkpoint.format(), std::string("pytorch (sharded, 2 files)"));
    QCOMPARE(mftest::valuesOf(*checkpoint.find("a")), (std::vector<double>{1, 2}));
    QCOMPARE(mftest::valuesOf(*checkpoint.find("b")), std::vector<double>{3});
    QCOMPARE(mftest::valuesOf(*checkpoint.find("c")), std::vector<double>{4});
    QCOMPARE(checkpoint.metadata().at("index.total_size"), std::string("18"));
}

MF_TEST_MAIN(TestSafetensors, roundTripsEveryDType, writesTheReferenceLayout,
             readsAFileWrittenByAnotherImplementation, writesAndReadsShards, opensAFolder,
             leavesNoTemporaries, refusesABadIndex, readsShardedStateDicts)
#ifdef MERGEFRONT_QT_TEST
#include "tst_safetensors.moc"
#endif
