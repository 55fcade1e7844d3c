// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/checkpoint_writer.h"

#include "io/pickle.h"
#include "io/pt_archive.h"
#include "io/safetensors.h"
#include "io/zip.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace mf {

namespace fs = std::filesystem;

struct CheckpointWriter::File {
    std::string finalPath;
    std::string tempPath;
    int fd = -1;
    std::uint64_t size = 0;
    bool renamed = false;
    std::atomic<std::uint64_t> unflushed{0}; ///< bytes written since writeback was last started
    std::atomic<std::uint64_t> reach{0};     ///< the end of the furthest write so far
    std::mutex evictMutex;                   ///< one eviction step at a time
    std::uint64_t evicted = 0;               ///< pages before it were written and evicted
};

struct CheckpointWriter::ZipState {
    ZipLayout layout;
};

namespace {

std::string temporaryName(const std::string &finalPath)
{
    static std::mt19937_64 random{std::random_device{}()};
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".tmp-%d-%08llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(random() & 0xffffffffULL));
    const fs::path final(finalPath);
    return (final.parent_path() / ("." + final.filename().string() + suffix)).string();
}

std::uint32_t crcOf(const void *bytes, std::size_t size)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const auto *p = static_cast<const Bytef *>(bytes);
    while (size > 0) {
        const uInt step = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
        crc = crc32(crc, p, step);
        p += step;
        size -= step;
    }
    return static_cast<std::uint32_t>(crc);
}

std::string dumpJson(const nlohmann::json &value, const std::string &path)
{
    try {
        return value.dump(2);
    } catch (const nlohmann::json::exception &e) {
        throw Error("cannot write " + path + ": " + e.what());
    }
}

} // namespace

CheckpointFormat outputFormatForPath(const std::string &path)
{
    if (endsWith(path, ".safetensors"))
        return CheckpointFormat::Safetensors;
    if (endsWith(path, ".pt") || endsWith(path, ".pth") || endsWith(path, ".bin"))
        return CheckpointFormat::PyTorch;
    throw Error("output " + path +
                " must end in .safetensors, .pt, .pth or .bin, or name a model folder (no "
                "extension, or a trailing /)");
}

CheckpointWriter::CheckpointWriter(std::string path, std::vector<OutputTensor> tensors,
                                   Metadata metadata, WriterOptions options)
    : m_path(std::move(path))
    , m_tensors(std::move(tensors))
    , m_options(options)
{
    m_placements.resize(m_tensors.size());
    m_chunks.resize(m_tensors.size());
    for (const auto &tensor : m_tensors)
        m_tensorBytes += tensor.byteSize();
    try {
        if (m_options.format == CheckpointFormat::Safetensors)
            planSafetensors(metadata);
        else
            planPyTorch(metadata);
    } catch (...) {
        discard();
        throw;
    }
}

CheckpointWriter::CheckpointWriter(std::string path, std::vector<OutputTensor> tensors,
                                   const std::string &header,
                                   const std::vector<std::uint64_t> &offsets,
                                   std::uint64_t fileSize, WriterOptions options)
    : m_path(std::move(path))
    , m_tensors(std::move(tensors))
    , m_options(options)
{
    if (offsets.size() != m_tensors.size())
        throw Error("internal: one offset per tensor");
    m_placements.resize(m_tensors.size());
    m_chunks.resize(m_tensors.size());
    m_diskOrder.resize(m_tensors.size());
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        m_tensorBytes += m_tensors[i].byteSize();
        m_placements[i] = {0, offsets[i], 0};
        m_diskOrder[i] = i;
        if (offsets[i] < header.size() || offsets[i] + m_tensors[i].byteSize() > fileSize)
            throw Error("internal: tensor '" + m_tensors[i].name + "' lies outside its file");
    }
    std::sort(m_diskOrder.begin(), m_diskOrder.end(),
              [&](std::size_t a, std::size_t b) { return offsets[a] < offsets[b]; });
    try {
        File &file = createFile(m_path, fileSize);
        writeAt(file, 0, header.data(), header.size());
    } catch (...) {
        discard();
        throw;
    }
}

CheckpointWriter::~CheckpointWriter()
{
    if (!m_committed)
        discard();
}

void CheckpointWriter::planSafetensors(const Metadata &metadata)
{
    // The reference writer's order: larger elements first, then by name, so every tensor
    // starts at an offset aligned to its element size.
    m_diskOrder.resize(m_tensors.size());
    for (std::size_t i = 0; i < m_tensors.size(); ++i)
        m_diskOrder[i] = i;
    std::sort(m_diskOrder.begin(), m_diskOrder.end(), [&](std::size_t a, std::size_t b) {
        const std::size_t sa = dtypeSize(m_tensors[a].dtype), sb = dtypeSize(m_tensors[b].dtype);
        return sa != sb ? sa > sb : m_tensors[a].name < m_tensors[b].name;
    });

    std::vector<std::vector<std::size_t>> shards(1);
    std::uint64_t filled = 0;
    for (std::size_t index : m_diskOrder) {
        const std::uint64_t bytes = m_tensors[index].byteSize();
        if (m_options.shardSize && filled > 0 && filled + bytes > m_options.shardSize) {
            shards.emplace_back();
            filled = 0;
        }
        shards.back().push_back(index);
        filled += bytes;
    }

    const fs::path out(m_path);
    const std::string stem = out.stem().string();
    nlohmann::json weightMap = nlohmann::json::object();
    for (std::size_t s = 0; s < shards.size(); ++s) {
        std::string finalPath = m_path;
        if (shards.size() > 1) {
            char name[64];
            std::snprintf(name, sizeof name, "-%05zu-of-%05zu.safetensors", s + 1, shards.size());
            finalPath = (out.parent_path() / (stem + name)).string();
        }
        std::vector<SafetensorsEntry> entries;
        std::uint64_t offset = 0;
        for (std::size_t index : shards[s]) {
            SafetensorsEntry entry;
            entry.name = m_tensors[index].name;
            entry.dtype = m_tensors[index].dtype;
            entry.shape = m_tensors[index].shape;
            entry.begin = offset;
            entry.end = offset += m_tensors[index].byteSize();
            entries.push_back(std::move(entry));
            weightMap[m_tensors[index].name] = fs::path(finalPath).filename().string();
        }
        std::string header;
        try {
            header = buildSafetensorsHeader(entries, metadata);
        } catch (const nlohmann::json::exception &e) {
            throw Error("cannot write " + finalPath + ": " + e.what());
        }
        std::string prefix(8, '\0');
        for (int i = 0; i < 8; ++i)
            prefix[static_cast<std::size_t>(i)] =
                static_cast<char>((header.size() >> (8 * i)) & 0xff);
        File &file = createFile(finalPath, 8 + header.size() + offset);
        const std::size_t fileIndex = m_files.size() - 1;
        writeAt(file, 0, (prefix + header).data(), 8 + header.size());
        for (std::size_t k = 0; k < entries.size(); ++k)
            m_placements[shards[s][k]] = {fileIndex, 8 + header.size() + entries[k].begin, 0};
    }
    if (shards.size() > 1) {
        nlohmann::json index;
        index["metadata"] = nlohmann::json(metadata);
        index["metadata"]["total_size"] = m_tensorBytes;
        index["weight_map"] = weightMap;
        m_indexText = dumpJson(index, m_path);
    }
}

void CheckpointWriter::planPyTorch(const Metadata &metadata)
{
    // torch.save layout: <archive>/data.pkl, byteorder, data/<key> records (64-byte
    // aligned, stored), version; plus our metadata record, which torch.load ignores.
    m_zip = std::make_unique<ZipState>();
    ZipLayout &layout = m_zip->layout;
    std::vector<PickledTensor> pickled;
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        PickledTensor t;
        t.name = m_tensors[i].name;
        t.storageKey = std::to_string(i);
        t.dtype = m_tensors[i].dtype;
        t.storageNumel = elementCount(m_tensors[i].shape);
        t.shape = m_tensors[i].shape;
        t.stride.assign(t.shape.size(), 1);
        for (std::size_t d = t.shape.size(); d-- > 1;)
            t.stride[d - 1] = t.stride[d] * t.shape[d];
        pickled.push_back(std::move(t));
    }
    const std::string pickle = writeStateDictPickle(pickled);
    const std::string metadataText = dumpJson(nlohmann::json(metadata), m_path);
    const std::string archive = "archive/";
    std::vector<std::pair<std::size_t, std::string>> smallRecords;
    smallRecords.emplace_back(layout.add(archive + "data.pkl", pickle.size(), 64), pickle);
    smallRecords.emplace_back(layout.add(archive + "byteorder", 6, 64), "little");
    m_diskOrder.clear();
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        m_placements[i].zipMember =
            layout.add(archive + "data/" + std::to_string(i), m_tensors[i].byteSize(), 64);
        m_placements[i].offset = layout.member(m_placements[i].zipMember).dataOffset;
        m_diskOrder.push_back(i);
    }
    smallRecords.emplace_back(layout.add(archive + "version", 2, 64), "3\n");
    smallRecords.emplace_back(layout.add(archive + kPtMetadataRecord, metadataText.size(), 64),
                              metadataText);

    const std::string directory = layout.centralDirectory(); // size only; rewritten at commit
    File &file = createFile(m_path, layout.centralDirectoryOffset() + directory.size());
    for (auto &[member, bytes] : smallRecords) {
        layout.member(member).crc32 = crcOf(bytes.data(), bytes.size());
        writeAt(file, layout.member(member).dataOffset, bytes.data(), bytes.size());
        const std::string local = layout.localHeader(member);
        writeAt(file, layout.member(member).headerOffset, local.data(), local.size());
    }
}

CheckpointWriter::File &CheckpointWriter::createFile(const std::string &finalPath,
                                                     std::uint64_t size)
{
    auto file = std::make_unique<File>();
    file->finalPath = finalPath;
    file->tempPath = temporaryName(finalPath);
    file->size = size;
    file->fd = ::open(file->tempPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (file->fd < 0)
        throw Error("cannot create " + finalPath + ": " + systemErrorText(errno));
    m_files.push_back(std::move(file));
    File &created = *m_files.back();
    // Reserve the space now, so a full disk is reported before any work is done.
    const int err = size ? ::posix_fallocate(created.fd, 0, static_cast<off_t>(size)) : 0;
    if (err == ENOSPC)
        throw Error("not enough disk space for " + finalPath + " (needs " + formatBytes(size) +
                    ")");
    if (err != 0 && ::ftruncate(created.fd, static_cast<off_t>(size)) != 0)
        throw Error("cannot size " + finalPath + ": " + systemErrorText(errno));
    return created;
}

void CheckpointWriter::writeAt(File &file, std::uint64_t offset, const void *bytes,
                               std::size_t size)
{
    const auto *p = static_cast<const char *>(bytes);
    while (size > 0) {
        const ssize_t written = ::pwrite(file.fd, p, size, static_cast<off_t>(offset));
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throw Error("cannot write " + file.finalPath + ": " + systemErrorText(errno));
        }
        p += written;
        offset += static_cast<std::uint64_t>(written);
        size -= static_cast<std::size_t>(written);
    }
}

void CheckpointWriter::write(std::size_t index, std::uint64_t offset, const void *bytes,
                             std::size_t size)
{
    const OutputTensor &tensor = m_tensors.at(index);
    if (offset > tensor.byteSize() || size > tensor.byteSize() - offset)
        throw Error("internal: write past the end of tensor '" + tensor.name + "'");
    const Placement &place = m_placements[index];
    File &file = *m_files[place.file];
    writeAt(file, place.offset + offset, bytes, size);
    // With sync on, start the disk writeback as data arrives (asynchronously), so the final
    // fsync waits for the tail only instead of the whole file.
    constexpr std::uint64_t kWritebackStep = 32u << 20;
    const std::uint64_t end = place.offset + offset + size;
    std::uint64_t reach = file.reach.load();
    while (reach < end && !file.reach.compare_exchange_weak(reach, end)) {
    }
    if (m_options.sync && file.unflushed.fetch_add(size) + size >= kWritebackStep) {
        file.unflushed = 0;
        ::sync_file_range(file.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        if (m_options.dropWritten)
            evictWritten(file);
    }
    const std::uint32_t crc = m_zip ? crcOf(bytes, size) : 0;
    std::lock_guard<std::mutex> lock(m_chunkMutex);
    m_chunks[index].push_back({offset, size, crc});
}

void CheckpointWriter::evictWritten(File &file)
{
    // Up to a margin behind the furthest write (writes arrive about in disk order from
    // several threads): wait for those pages to reach the disk, then drop them. The wait is
    // the writeback's pace; a later write into the range only makes its pages dirty again.
    constexpr std::uint64_t kMargin = 128u << 20;
    std::unique_lock<std::mutex> lock(file.evictMutex, std::try_to_lock);
    if (!lock.owns_lock())
        return; // another thread is at it
    const std::uint64_t reach = file.reach.load();
    if (reach < file.evicted + 2 * kMargin)
        return;
    const std::uint64_t upTo = (reach - kMargin) & ~std::uint64_t{(1u << 20) - 1};
    const auto from = static_cast<off_t>(file.evicted),
               length = static_cast<off_t>(upTo - file.evicted);
    ::sync_file_range(file.fd, from, length,
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(file.fd, from, length, POSIX_FADV_DONTNEED);
    file.evicted = upTo;
}

void CheckpointWriter::finishPyTorch()
{
    ZipLayout &layout = m_zip->layout;
    File &file = *m_files.front();
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (const Chunk &chunk : m_chunks[i])
            crc = crc32_combine(crc, chunk.crc, static_cast<z_off_t>(chunk.size));
        const std::size_t member = m_placements[i].zipMember;
        layout.member(member).crc32 = static_cast<std::uint32_t>(crc);
        const std::string local = layout.localHeader(member);
        writeAt(file, layout.member(member).headerOffset, local.data(), local.size());
    }
    const std::string directory = layout.centralDirectory();
    writeAt(file, layout.centralDirectoryOffset(), directory.data(), directory.size());
}

std::vector<std::string> CheckpointWriter::commit()
{
    try {
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            auto &chunks = m_chunks[i];
            std::sort(chunks.begin(), chunks.end(),
                      [](const Chunk &a, const Chunk &b) { return a.offset < b.offset; });
            std::uint64_t covered = 0;
            for (const Chunk &chunk : chunks) {
                if (chunk.offset != covered)
                    throw Error("internal: tensor '" + m_tensors[i].name +
                                "' was not written completely");
                covered += chunk.size;
            }
            if (covered != m_tensors[i].byteSize())
                throw Error("internal: tensor '" + m_tensors[i].name +
                            "' was not written completely");
        }
        if (m_zip)
            finishPyTorch();
        if (!m_indexText.empty()) {
            File &index =
                createFile(m_path.substr(0, m_path.size() - 12) + ".safetensors.index.json",
                           m_indexText.size());
            writeAt(index, 0, m_indexText.data(), m_indexText.size());
        }
        for (auto &file : m_files) {
            if (m_options.sync && ::fsync(file->fd) != 0)
                throw Error("cannot write " + file->finalPath + ": " + systemErrorText(errno));
            if (m_options.sync && m_options.dropWritten) // on disk now: the rest goes too
                ::posix_fadvise(file->fd, 0, 0, POSIX_FADV_DONTNEED);
            if (::close(file->fd) != 0) {
                file->fd = -1;
                throw Error("cannot write " + file->finalPath + ": " + systemErrorText(errno));
            }
            file->fd = -1;
        }
        std::vector<std::string> paths;
        for (auto &file : m_files) {
            if (::rename(file->tempPath.c_str(), file->finalPath.c_str()) != 0)
                throw Error("cannot rename into " + file->finalPath + ": " +
                            systemErrorText(errno));
            file->renamed = true;
            paths.push_back(file->finalPath);
        }
        if (m_options.sync) {
            const std::string folder = fs::path(m_path).parent_path().string();
            const int dirFd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
            if (dirFd >= 0) {
                ::fsync(dirFd);
                ::close(dirFd);
            }
        }
        m_committed = true;
        return paths;
    } catch (...) {
        discard();
        throw;
    }
}

void CheckpointWriter::discard() noexcept
{
    for (auto &file : m_files) {
        if (file->fd >= 0)
            ::close(file->fd);
        file->fd = -1;
        if (!file->renamed)
            ::unlink(file->tempPath.c_str());
    }
}

} // namespace mf
