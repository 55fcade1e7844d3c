// SPDX-License-Identifier: GPL-3.0-or-later
// Merging at the size of the machine's memory: the inputs stream through a read-ahead window
// and leave the process once merged (its resident size stays small however large the
// merge), what is read and written leaves the page cache when asked, and a merge stays
// within the memory its estimate announces. Measured on the process's own /proc/self/status
// and with mincore(2): sizes, never times.
#include "testing.h"

#include "fixtures.h"

#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "io/mapped_file.h"
#include "io/read_ahead.h"
#include "merge/merge_job.h"
#include "util/error.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

using mftest::TempDir;

namespace {

constexpr std::uint64_t kMB = 1u << 20;

/// The process's resident bytes: file-backed (mapped files) and anonymous (heap).
struct Resident {
    std::uint64_t file = 0, anon = 0;
};

Resident resident()
{
    Resident r;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("RssFile:", 0) == 0)
            r.file = std::stoull(line.substr(8)) * 1024;
        else if (line.rfind("RssAnon:", 0) == 0)
            r.anon = std::stoull(line.substr(8)) * 1024;
    }
    return r;
}

/// A file of `bytes` whose every 8-byte word holds its own index (checkable after a release).
void writeCountingFile(const std::string &path, std::uint64_t bytes)
{
    std::ofstream out(path, std::ios::binary);
    std::vector<std::uint64_t> words(kMB / 8);
    for (std::uint64_t at = 0; at < bytes; at += kMB) {
        for (std::size_t i = 0; i < words.size(); ++i)
            words[i] = at / 8 + i;
        out.write(reinterpret_cast<const char *>(words.data()), static_cast<std::streamsize>(kMB));
    }
}

/// The fraction of a file's pages in the page cache (mincore on a mapping of our own, which
/// maps nothing in).
double cachedFraction(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const off_t size = ::lseek(fd, 0, SEEK_END);
    void *map = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    const long page = ::sysconf(_SC_PAGESIZE);
    std::vector<unsigned char> pages(static_cast<std::size_t>((size + page - 1) / page));
    ::mincore(map, static_cast<std::size_t>(size), pages.data());
    ::munmap(map, static_cast<std::size_t>(size));
    ::close(fd);
    const auto cached =
        std::count_if(pages.begin(), pages.end(), [](unsigned char p) { return p & 1; });
    return static_cast<double>(cached) / static_cast<double>(pages.size());
}

/// Samples the process's resident size on a thread while it lives: the peak, over `before`.
class PeakSampler {
public:
    PeakSampler()
        : m_before(resident())
        , m_thread([this] {
            while (!m_stop) {
                const Resident now = resident();
                m_file = std::max(m_file.load(), now.file);
                m_total = std::max(m_total.load(), now.file + now.anon);
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        })
    {
    }
    ~PeakSampler() { stop(); }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    std::uint64_t fileGrowth() const { return m_file > m_before.file ? m_file - m_before.file : 0; }
    std::uint64_t totalGrowth() const
    {
        const std::uint64_t before = m_before.file + m_before.anon;
        return m_total > before ? m_total - before : 0;
    }

private:
    Resident m_before;
    std::atomic<bool> m_stop{false};
    std::atomic<std::uint64_t> m_file{0}, m_total{0};
    std::thread m_thread;
};

/// Reads the whole file item by item (a word per 4 kB page, checked), through a ReadAhead
/// when `options` is given; returns the peak growth of RssFile.
std::uint64_t readThrough(const mf::MappedFile &file, std::uint64_t itemBytes,
                          const mf::ReadAhead::Options *options, bool &correct)
{
    const std::size_t items = static_cast<std::size_t>(file.size() / itemBytes);
    std::unique_ptr<mf::ReadAhead> stream;
    if (options)
        stream = std::make_unique<mf::ReadAhead>(
            items,
            [&](std::size_t i, std::vector<mf::ReadAhead::Span> &spans) {
                mf::ReadAhead::addSpan(file.data() + i * itemBytes, itemBytes, spans);
            },
            *options);
    const Resident before = resident();
    std::uint64_t peak = 0;
    correct = true;
    const auto *words = reinterpret_cast<const std::uint64_t *>(file.data());
    for (std::size_t i = 0; i < items; ++i) {
        for (std::uint64_t w = i * itemBytes / 8; w < (i + 1) * itemBytes / 8; w += 512)
            correct = correct && words[w] == w;
        if (stream)
            stream->done(i);
        peak = std::max(peak, resident().file);
    }
    stream.reset();
    return peak > before.file ? peak - before.file : 0;
}

} // namespace

class TestStreaming : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readAheadKeepsTheMappingSmall()
    {
        TempDir dir;
        const std::string path = dir.file("input.bin");
        writeCountingFile(path, 256 * kMB);
        mf::ReadAhead::Options options;
        options.readAhead = 64 * kMB;
        options.mapAhead = 8 * kMB;
        bool correct = false;
        std::uint64_t streamed = 0, plain = 0;
        {
            const mf::MappedFile file(path);
            streamed = readThrough(file, 2 * kMB, &options, correct);
            QVERIFY2(correct, "a word read through the read-ahead differs from the file");
            // Released pages read again come back from the file, the same bytes.
            bool again = false;
            readThrough(file, 2 * kMB, nullptr, again);
            QVERIFY(again);
        }
        {
            const mf::MappedFile file(path); // the control: no stream, every page stays mapped
            plain = readThrough(file, 2 * kMB, nullptr, correct);
            QVERIFY(correct);
        }
        qInfo("256 MB read: RssFile grew by %llu MB with the read-ahead, %llu MB without",
              static_cast<unsigned long long>(streamed / kMB),
              static_cast<unsigned long long>(plain / kMB));
        QVERIFY2(plain > 200 * kMB, "the control should map the whole file");
        // The window (8 MB), the item in flight, the release step (16 MB) and page slack.
        QVERIFY2(streamed < 48 * kMB, std::to_string(streamed / kMB).c_str());
        const std::uint64_t bound = mf::ReadAhead::residentBytes(options, 1, 2 * kMB);
        QVERIFY2(streamed <= bound, std::to_string(bound / kMB).c_str());
    }

    void readAheadCanEvictWhatItRead()
    {
        TempDir dir;
        const std::string kept = dir.file("kept.bin"), dropped = dir.file("dropped.bin");
        writeCountingFile(kept, 64 * kMB);
        writeCountingFile(dropped, 64 * kMB);
        ::sync(); // written back, so that the pages can be evicted
        for (const std::string &path : {kept, dropped}) {
            mf::ReadAhead::Options options;
            options.dropCache = path == dropped;
            const mf::MappedFile file(path);
            bool correct = false;
            readThrough(file, 1 * kMB, &options, correct);
            QVERIFY(correct);
        }
        const double keptFraction = cachedFraction(kept), droppedFraction = cachedFraction(dropped);
        qInfo("in the page cache after reading: %.2f kept, %.2f evicted", keptFraction,
              droppedFraction);
        QVERIFY2(keptFraction > 0.5, std::to_string(keptFraction).c_str());
        QVERIFY2(droppedFraction < 0.1, std::to_string(droppedFraction).c_str());
    }

    void writerCanEvictWhatItWrote()
    {
        TempDir dir;
        const std::string path = dir.file("out.safetensors");
        mf::WriterOptions options;
        options.dropWritten = true;
        {
            mf::CheckpointWriter writer(path, {{"w", mf::DType::U8, {512 * std::int64_t(kMB)}}}, {},
                                        options);
            std::vector<std::uint8_t> block(4 * kMB, 7);
            for (std::uint64_t at = 0; at < 512 * kMB; at += block.size())
                writer.write(0, at, block.data(), block.size());
            writer.commit();
        }
        const double fraction = cachedFraction(path);
        qInfo("in the page cache after writing 512 MB: %.2f", fraction);
        QVERIFY2(fraction < 0.1, std::to_string(fraction).c_str());
        const mf::Checkpoint out = mf::Checkpoint::open(path);
        QCOMPARE(static_cast<int>(out.tensors().front().data[123456789]), 7);
    }

    void mergeStaysWithinItsEstimate()
    {
        // Base + 2 tasks of 3 x 64M f32 values (768 MB of inputs), merged on 2 threads: the
        // process's resident size must stay within what the estimate says, far below the
        // inputs.
        TempDir dir;
        const std::int64_t rows = 4096, cols = 16384;
        const mf::Shape shape{rows, cols};
        std::vector<std::string> paths;
        for (int model = 0; model < 3; ++model) {
            paths.push_back(dir.file("model" + std::to_string(model) + ".safetensors"));
            mf::WriterOptions options;
            options.sync = false;
            mf::CheckpointWriter writer(
                paths.back(), {{"big", mf::DType::F32, shape}, {"norm", mf::DType::F32, {cols}}},
                {}, options);
            std::vector<float> row(static_cast<std::size_t>(cols));
            for (std::int64_t r = 0; r < rows; ++r) {
                for (std::int64_t c = 0; c < cols; ++c)
                    row[static_cast<std::size_t>(c)] =
                        static_cast<float>((r * 7 + c) % 1000) * 0.001f + static_cast<float>(model);
                writer.write(0, static_cast<std::uint64_t>(r * cols) * 4, row.data(),
                             row.size() * 4);
            }
            writer.write(1, 0, row.data(), row.size() * 4);
            writer.commit();
        }
        mf::MergeRequest request;
        request.basePath = paths[0];
        request.modelPaths = {paths[1], paths[2]};
        request.coefficients = {0.25, 0.5};
        request.outPath = dir.file("merged.safetensors");
        request.threads = 2;
        ::setenv("MERGEFRONT_STREAM_INPUTS", "always", 1); // 768 MB: under an eighth here
        mf::MergeReport report;
        std::uint64_t fileGrowth = 0, totalGrowth = 0;
        {
            PeakSampler sampler;
            report = mf::runMerge(request, [](const std::string &) {});
            sampler.stop();
            fileGrowth = sampler.fileGrowth();
            totalGrowth = sampler.totalGrowth();
        }
        ::unsetenv("MERGEFRONT_STREAM_INPUTS");
        // On its own, a merge this small (under an eighth of the memory) maps its inputs whole,
        // and its estimate says so.
        if (report.estimate.inputBytes <= mf::physicalMemoryBytes() / 8)
            QCOMPARE(mf::planMergeOnly(request, [](const std::string &) {}).estimate.mappedBytes,
                     report.estimate.inputBytes);
        const std::uint64_t estimate = report.estimate.residentBytes();
        qInfo("768 MB of inputs merged: resident grew by %llu MB (mapped inputs %llu MB); the "
              "estimate said at most %llu MB",
              static_cast<unsigned long long>(totalGrowth / kMB),
              static_cast<unsigned long long>(fileGrowth / kMB),
              static_cast<unsigned long long>(estimate / kMB));
        QVERIFY2(report.estimate.inputBytes ==
                     3 * 4 * static_cast<std::uint64_t>(rows * cols + cols),
                 std::to_string(report.estimate.inputBytes).c_str());
#ifdef __SANITIZE_ADDRESS__
        // AddressSanitizer's allocator keeps freed buffers in quarantine and adds shadow memory
        // for what the merge touches: the resident bound is the release build's check.
        if (totalGrowth > estimate)
            qInfo("under AddressSanitizer: %llu MB over the estimate (its quarantine and shadow)",
                  static_cast<unsigned long long>((totalGrowth - estimate) / kMB));
#else
        QVERIFY2(totalGrowth <= estimate, std::to_string(totalGrowth / kMB).c_str());
#endif
        QVERIFY2(fileGrowth < report.estimate.inputBytes / 3,
                 std::to_string(fileGrowth / kMB).c_str());
        // And merged right: base + 0.25 (1) + 0.5 (2) = base + 1.25 everywhere.
        const mf::Checkpoint merged = mf::Checkpoint::open(request.outPath);
        const auto *values = reinterpret_cast<const float *>(merged.find("big")->data);
        for (std::int64_t k = 0; k < rows * cols; k += 999983) {
            const std::int64_t r = k / cols, c = k % cols;
            const float base = static_cast<float>((r * 7 + c) % 1000) * 0.001f;
            QVERIFY2(std::abs(values[k] - (base + 1.25f)) < 1e-5f, std::to_string(k).c_str());
        }
    }
};

MF_TEST_MAIN(TestStreaming, readAheadKeepsTheMappingSmall, readAheadCanEvictWhatItRead,
             writerCanEvictWhatItWrote, mergeStaysWithinItsEstimate)
#ifdef MERGEFRONT_QT_TEST
#include "tst_streaming.moc"
#endif
