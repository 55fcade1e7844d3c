// SPDX-License-Identifier: GPL-3.0-or-later
// PyTorch state dicts: files written by Python's torch.save (1.13) read with our restricted
// unpickler, foreign pickles refused, our own .pt writer round-tripped, zip64 layout.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "io/mapped_file.h"
#include "io/pt_archive.h"
#include "io/zip.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

using mftest::TempDir;
using mftest::TestTensor;

class TestPyTorch : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsFilesWrittenByTorchSave();
    void refusesWhatIsNotAStateDict();
    void roundTripsOurOwnArchive();
    void alignsStoredRecords();
    void readsAndWritesZip64();
};

void TestPyTorch::readsFilesWrittenByTorchSave()
{
    const auto expected =
        nlohmann::json::parse(mftest::readFile(mftest::dataPath("expected.json")));
    for (const char *file : {"state_dict.pt", "one_entry.pt", "views.pt", "parameters.pt",
                             "wrapped.pt", "dtypes.pt"}) {
        const auto checkpoint = mf::Checkpoint::open(mftest::dataPath(file));
        QCOMPARE(checkpoint.format(), std::string("pytorch"));
        const auto &tensors = expected.at(file);
        QVERIFY2(checkpoint.tensors().size() == tensors.size(), file);
        for (const auto &[name, want] : tensors.items()) {
            const mf::TensorRef *tensor = checkpoint.find(name);
            const std::string what = std::string(file) + ": " + name;
            QVERIFY2(tensor, what.c_str());
            QVERIFY2(mf::dtypeName(tensor->dtype) == want.at("dtype").get<std::string>(),
                     what.c_str());
            QVERIFY2(tensor->shape == want.at("shape").get<mf::Shape>(), what.c_str());
            QVERIFY2(mftest::valuesOf(*tensor) == want.at("values").get<std::vector<double>>(),
                     what.c_str());
        }
    }
}

void TestPyTorch::refusesWhatIsNotAStateDict()
{
    struct Case {
        const char *file;
        const char *expected;
    };
    const Case cases[] = {
        {"malicious.pt", "'posix.system', which a state dict never needs"},
        {"legacy.pt", "legacy (pre-1.6, non-zip) torch.save format"},
        {"torchscript.pt", "is a TorchScript module"},
    };
    for (const Case &c : cases) {
        const std::string message =
            mftest::errorOf([&] { mf::Checkpoint::open(mftest::dataPath(c.file)); });
        QVERIFY2(message.find(c.expected) != std::string::npos, message.c_str());
        QVERIFY2(message.find(c.file) != std::string::npos, message.c_str());
    }
}

void TestPyTorch::roundTripsOurOwnArchive()
{
    TempDir dir;
    const std::vector<TestTensor> tensors = {
        {"w", mf::DType::F32, {2, 2}, {1, 2, 3, 4}},
        {"h", mf::DType::F16, {3}, {0.5, 1, -2}},
        {"b", mf::DType::BF16, {1}, {-3}},
        {"d", mf::DType::F64, {1}, {1e-200}},
        {"n", mf::DType::I64, {}, {12345678901}},
        {"m", mf::DType::Bool, {2}, {0, 1}},
        {"e", mf::DType::F32, {0}, {}},
    };
    mftest::writeCheckpoint(dir.file("out.pt"), tensors, {{"mergefront.method", "ties"}});
    const auto checkpoint = mf::Checkpoint::open(dir.file("out.pt"));
    QCOMPARE(checkpoint.tensors().size(), tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const mf::TensorRef &t = checkpoint.tensors()[i]; // file order = insertion order
        QCOMPARE(t.name, tensors[i].name);
        QVERIFY(t.dtype == tensors[i].dtype);
        QCOMPARE(t.shape, tensors[i].shape);
        QCOMPARE(mftest::valuesOf(t), tensors[i].values);
    }
    QCOMPARE(checkpoint.metadata().at("mergefront.method"), std::string("ties"));
}

void TestPyTorch::alignsStoredRecords()
{
    TempDir dir;
    mftest::writeCheckpoint(dir.file("out.pt"), {{"a", mf::DType::F16, {3}, {1, 2, 3}},
                                                 {"b", mf::DType::F32, {5}, {1, 2, 3, 4, 5}}});
    const mf::MappedFile file(dir.file("out.pt"));
    const auto entries = mf::readZipEntries(file.data(), file.size(), file.path());
    int records = 0;
    for (const auto &entry : entries) {
        QCOMPARE(entry.dataOffset % 64, std::uint64_t(0));
        QCOMPARE(entry.method, std::uint16_t(0));
        records += entry.name.rfind("archive/data/", 0) == 0;
    }
    QCOMPARE(records, 2);
    QCOMPARE(entries.front().name, std::string("archive/data.pkl"));
}

void TestPyTorch::readsAndWritesZip64()
{
    // A member past 4 GiB, in a sparse file: offsets and sizes need the zip64 records.
    TempDir dir;
    mf::ZipLayout layout;
    layout.add("archive/small", 10, 64);
    const std::size_t big = layout.add("archive/data/0", (5ULL << 30), 64);
    layout.add("archive/after", 3, 64);
    const std::string path = dir.file("big.zip");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    QVERIFY(fd >= 0);
    const std::string directory = layout.centralDirectory();
    QVERIFY(::ftruncate(
                fd, static_cast<off_t>(layout.centralDirectoryOffset() + directory.size())) == 0);
    for (std::size_t i = 0; i < layout.members().size(); ++i) {
        const std::string local = layout.localHeader(i);
        QVERIFY(::pwrite(fd, local.data(), local.size(),
                         static_cast<off_t>(layout.members()[i].headerOffset)) ==
                static_cast<ssize_t>(local.size()));
    }
    QVERIFY(::pwrite(fd, directory.data(), directory.size(),
                     static_cast<off_t>(layout.centralDirectoryOffset())) ==
            static_cast<ssize_t>(directory.size()));
    ::close(fd);

    const mf::MappedFile file(path);
    const auto entries = mf::readZipEntries(file.data(), file.size(), path);
    QCOMPARE(entries.size(), std::size_t(3));
    QCOMPARE(entries[1].size, std::uint64_t(5ULL << 30));
    QCOMPARE(entries[1].dataOffset, layout.members()[big].dataOffset);
    QCOMPARE(entries[2].dataOffset, layout.members()[2].dataOffset);
    QVERIFY(entries[2].dataOffset > (5ULL << 30));
    QCOMPARE(entries[2].size, std::uint64_t(3));
}

MF_TEST_MAIN(TestPyTorch, readsFilesWrittenByTorchSave, refusesWhatIsNotAStateDict,
             roundTripsOurOwnArchive, alignsStoredRecords, readsAndWritesZip64)
#ifdef MERGEFRONT_QT_TEST
#include "tst_pytorch.moc"
#endif
