// SPDX-License-Identifier: GPL-3.0-or-later
// Hostile input: every malformed file gets one clear mf::Error naming the file and the
// tensor or key at fault; no crash, no huge allocation, no read outside the file.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "io/pickle.h"
#include "io/zip.h"

#include <fcntl.h>
#include <random>
#include <unistd.h>

using mftest::TempDir;

namespace {

std::string le64(std::uint64_t value)
{
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

/// A safetensors file from a header text and a data section; the length prefix can lie.
std::string safetensorsBytes(const std::string &header, const std::string &data,
                             std::int64_t lengthOverride = -1)
{
    const std::uint64_t length =
        lengthOverride >= 0 ? static_cast<std::uint64_t>(lengthOverride) : header.size();
    return le64(length) + header + data;
}

std::string openError(const TempDir &dir, const std::string &name, const std::string &bytes)
{
    const std::string path = dir.file(name);
    mftest::writeFile(path, bytes);
    return mftest::errorOf([&] { mf::Checkpoint::open(path); });
}

/// A .pt archive holding `pickle` as data.pkl and one storage record of `storageBytes`.
std::string ptBytes(const std::string &pickle, std::size_t storageBytes)
{
    mf::ZipLayout layout;
    layout.add("archive/data.pkl", pickle.size(), 64);
    layout.add("archive/data/0", storageBytes, 64);
    const std::string directory = layout.centralDirectory();
    std::string bytes(layout.centralDirectoryOffset(), '\0');
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string local = layout.localHeader(i);
        bytes.replace(layout.members()[i].headerOffset, local.size(), local);
    }
    bytes.replace(layout.members()[0].dataOffset, pickle.size(), pickle);
    return bytes + directory;
}

} // namespace

class TestHostile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void refusesMalformedSafetensors();
    void refusesEveryTruncation();
    void survivesByteFlips();
    void refusesMalformedStateDicts();
    void refusesMalformedPickles();
};

void TestHostile::refusesMalformedSafetensors()
{
    TempDir dir;
    const std::string f32x2 = R"("dtype":"F32","shape":[2])";
    const std::string eight(8, '\1');
    struct Case {
        const char *label;
        std::string bytes;
        const char *expected;
    };
    const std::vector<Case> cases = {
        {"empty file", "", "shorter than the 8-byte header length"},
        {"header longer than the file", safetensorsBytes("{}", "", 4000),
         "extends past the end of the file"},
        {"absurd header length", safetensorsBytes("{}", "", 1LL << 60), "exceeds the 100 MB limit"},
        {"invalid JSON", safetensorsBytes(R"({"w": {)", ""), "invalid JSON"},
        {"not an object", safetensorsBytes(R"([1,2])", ""), "does not start with '{'"},
        {"offsets past the data",
         safetensorsBytes("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]}})", "1234"),
         "past the end of the data"},
        {"overlapping tensors",
         safetensorsBytes("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 +
                              R"(,"data_offsets":[4,12]}})",
                          eight + "1234"),
         "overlaps the tensor before it"},
        {"gap between tensors",
         safetensorsBytes("{\"a\":{" + f32x2 + R"(,"data_offsets":[4,12]}})", eight + "1234"),
         "leaves a gap before it"},
        {"data not covered to the end",
         safetensorsBytes("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]}})", eight + "12345678"),
         "tensors cover 8 bytes of data but the file holds 16"},
        {"byte size is not dtype x shape",
         safetensorsBytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
         "holds 8 bytes but its dtype and shape need 12"},
        {"shape product overflows",
         safetensorsBytes(
             R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
             eight),
         "shape whose size overflows"},
        {"negative dimension",
         safetensorsBytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
         "not a non-negative integer"},
        {"unknown dtype",
         safetensorsBytes(R"({"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}})", eight),
         "unknown dtype 'F12' of tensor 'w'"},
        {"fp8 dtype",
         safetensorsBytes(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight),
         "dtype F8_E4M3 of tensor 'w'"},
        {"duplicate names",
         safetensorsBytes("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]},"w":{)" + f32x2 +
                              R"(,"data_offsets":[8,16]}})",
                          eight + eight),
         "duplicate key 'w'"},
        {"metadata not strings", safetensorsBytes(R"({"__metadata__":{"a":1}})", ""),
         "__metadata__ key 'a'"},
        {"offsets not integers",
         safetensorsBytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}})", eight),
         "data_offsets of tensor 'w'"},
        {"missing dtype", safetensorsBytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", eight),
         "has no dtype"},
        {"deep nesting",
         safetensorsBytes("{\"w\":" + std::string(100000, '[') + std::string(100000, ']') + "}",
                          ""),
         "is not described by a JSON object"},
    };
    for (const Case &c : cases) {
        const std::string message = openError(dir, "bad.safetensors", c.bytes);
        const std::string context = std::string(c.label) + ": " + message;
        QVERIFY2(message.find(c.expected) != std::string::npos, context.c_str());
        QVERIFY2(message.find("bad.safetensors") != std::string::npos, context.c_str());
    }
}

void TestHostile::refusesEveryTruncation()
{
    TempDir dir;
    mftest::writeCheckpoint(dir.file("good.safetensors"),
                            {{"w", mf::DType::F32, {3, 3}, std::vector<double>(9, 1.5)},
                             {"b", mf::DType::F16, {3}, {1, 2, 3}}});
    for (const char *source : {"good.safetensors", "state_dict.pt"}) {
        const std::string path =
            std::string(source) == "state_dict.pt" ? mftest::dataPath(source) : dir.file(source);
        const std::string bytes = mftest::readFile(path);
        QVERIFY(mf::Checkpoint::open(path).tensors().size() > 0);
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            const std::string name = std::string("cut-") + source;
            const std::string message = openError(dir, name, bytes.substr(0, length));
            const std::string context = std::string(source) + " cut at " + std::to_string(length);
            QVERIFY2(!message.empty(), context.c_str());
        }
    }
}

void TestHostile::survivesByteFlips()
{
    // Random corruption of real files: each must load or be refused, never crash.
    TempDir dir;
    std::mt19937 random(42);
    int refused = 0;
    for (const char *source : {"state_dict.pt", "python_written.safetensors", "views.pt"}) {
        const std::string original = mftest::readFile(mftest::dataPath(source));
        const std::string suffix =
            std::string(source).find(".pt") != std::string::npos ? ".pt" : ".safetensors";
        for (int round = 0; round < 400; ++round) {
            std::string bytes = original;
            const int flips = 1 + static_cast<int>(random() % 4);
            for (int k = 0; k < flips; ++k)
                bytes[random() % bytes.size()] = static_cast<char>(random() & 0xff);
            refused += !openError(dir, "flipped" + suffix, bytes).empty();
        }
    }
    QVERIFY(refused > 0);
}

void TestHostile::refusesMalformedStateDicts()
{
    TempDir dir;
    mf::PickledTensor tensor;
    tensor.name = "w";
    tensor.storageKey = "0";
    tensor.storageNumel = 100; // the record below holds 4 elements
    tensor.shape = {4};
    tensor.stride = {1};
    std::string message = openError(dir, "big.pt", ptBytes(mf::writeStateDictPickle({tensor}), 16));
    QVERIFY2(message.find("tensor 'w' in") != std::string::npos &&
                 message.find("claims 100 elements") != std::string::npos,
             message.c_str());

    tensor.storageNumel = 4;
    tensor.offset = 2; // elements 2..5 of a 4-element storage
    message = openError(dir, "view.pt", ptBytes(mf::writeStateDictPickle({tensor}), 16));
    QVERIFY2(message.find("reaches element 5 of a storage of 4") != std::string::npos,
             message.c_str());

    tensor.offset = 0;
    tensor.storageKey = "7";
    message = openError(dir, "missing.pt", ptBytes(mf::writeStateDictPickle({tensor}), 16));
    QVERIFY2(message.find("data/7 is missing") != std::string::npos, message.c_str());

    tensor.storageKey = "0";
    tensor.shape = {1LL << 40, 1LL << 40};
    tensor.stride = {1LL << 40, 1};
    message = openError(dir, "overflow.pt", ptBytes(mf::writeStateDictPickle({tensor}), 16));
    QVERIFY2(message.find("overflows") != std::string::npos, message.c_str());

    message = openError(dir, "notzip.pt", "PK\x03\x04 but nothing else");
    QVERIFY2(message.find("damaged zip archive") != std::string::npos, message.c_str());
}

void TestHostile::refusesMalformedPickles()
{
    TempDir dir;
    struct Case {
        const char *label;
        std::string pickle;
        const char *expected;
    };
    const std::vector<Case> cases = {
        {"builtins.eval",
         "\x80\x02"
         "cbuiltins\neval\n.",
         "'builtins.eval'"},
        {"stack underflow", "\x80\x02R.", "stack underflow"},
        {"unknown opcode", "\x80\x02\xff.", "opcode 0xff is not allowed"},
        {"memo before set", "\x80\x02h\x05.", "memo key 5 used before it was set"},
        {"runs off the end",
         std::string("\x80\x02X\xff\xff\x00\x00"
                     "ab",
                     9),
         "string longer than the pickle"},
        {"not a dict", "\x80\x02K\x01.", "does not hold a dict of tensors"},
        {"value not a tensor",
         std::string("\x80\x02}X\x01\x00\x00\x00"
                     "aK\x01s.",
                     13),
         "entry 'a' is not a tensor"},
        {"huge list", "\x80\x02(" + std::string(200000, 'N') + "l.", "opcode 0x6c is not allowed"},
        {"deep nesting", "\x80\x02" + std::string(300000, ']') + std::string(299999, 'a') + ".",
         "does not hold a dict of tensors"},
    };
    for (const Case &c : cases) {
        const std::string message = openError(dir, "p.pt", ptBytes(c.pickle, 0));
        const std::string context = std::string(c.label) + ": " + message;
        QVERIFY2(message.find(c.expected) != std::string::npos, context.c_str());
        QVERIFY2(message.find("p.pt") != std::string::npos, context.c_str());
    }
}

MF_TEST_MAIN(TestHostile, refusesMalformedSafetensors, refusesEveryTruncation, survivesByteFlips,
             refusesMalformedStateDicts, refusesMalformedPickles)
#ifdef MERGEFRONT_QT_TEST
#include "tst_hostile.moc"
#endif
