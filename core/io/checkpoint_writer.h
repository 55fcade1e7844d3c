// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mf {

enum class CheckpointFormat { Safetensors, PyTorch };

/// `.safetensors` -> Safetensors; `.pt`, `.pth`, `.bin` -> PyTorch; anything else throws.
CheckpointFormat outputFormatForPath(const std::string &path);

struct OutputTensor {
    std::string name;
    DType dtype = DType::F32;
    Shape shape;
    std::uint64_t byteSize() const { return elementCount(shape) * dtypeSize(dtype); }
};

struct WriterOptions {
    CheckpointFormat format = CheckpointFormat::Safetensors;
    std::uint64_t shardSize = 0; ///< safetensors: bytes per shard at most (0 = one file)
    bool sync = true;            ///< fsync files and folder before the rename
    /// Evict written pages from the page cache once they are on disk (a merge larger than
    /// memory: its output would otherwise push every other program's pages out). Only with
    /// `sync`, which starts the writeback as the data arrives.
    bool dropWritten = false;
};

/// Writes a checkpoint atomically: every output goes to a temporary file beside its final
/// name (space reserved up front, so a full disk fails before any work), and only
/// commit() renames them into place, shards first and the index last. Destroying an
/// uncommitted writer removes the temporaries: no half-written output is ever visible.
/// Tensor bytes may be written in any order from any thread.
class CheckpointWriter {
public:
    CheckpointWriter(std::string path, std::vector<OutputTensor> tensors, Metadata metadata,
                     WriterOptions options);
    ~CheckpointWriter();
    /// One file laid out by the caller (GGUF): `header` at byte 0, tensor i's bytes at
    /// `offsets[i]`, the file `fileSize` bytes long. `tensors` name them for messages; their
    /// byteSize() is what write() takes (give dtype U8 and shape {bytes}).
    CheckpointWriter(std::string path, std::vector<OutputTensor> tensors, const std::string &header,
                     const std::vector<std::uint64_t> &offsets, std::uint64_t fileSize,
                     WriterOptions options);
    CheckpointWriter(const CheckpointWriter &) = delete;
    CheckpointWriter &operator=(const CheckpointWriter &) = delete;

    const std::vector<OutputTensor> &tensors() const { return m_tensors; }
    /// Tensor indices in the order their bytes lie on disk (sequential writes).
    const std::vector<std::size_t> &diskOrder() const { return m_diskOrder; }
    std::uint64_t tensorBytes() const { return m_tensorBytes; }

    /// Writes `size` bytes of tensor `index` at byte `offset` within it. Thread-safe.
    void write(std::size_t index, std::uint64_t offset, const void *bytes, std::size_t size);

    /// Checks that every tensor byte was written once, finishes headers, syncs, renames.
    /// Returns the final paths (entry point last). Throws mf::Error and leaves nothing.
    std::vector<std::string> commit();

private:
    struct File;
    struct Chunk {
        std::uint64_t offset;
        std::uint64_t size;
        std::uint32_t crc;
    };
    struct Placement {
        std::size_t file = 0;
        std::uint64_t offset = 0; ///< byte offset of the tensor's data in that file
        std::size_t zipMember = 0;
    };

    void planSafetensors(const Metadata &metadata);
    void planPyTorch(const Metadata &metadata);
    File &createFile(const std::string &finalPath, std::uint64_t size);
    void writeAt(File &file, std::uint64_t offset, const void *bytes, std::size_t size);
    void evictWritten(File &file);
    void finishPyTorch();
    void discard() noexcept;

    std::string m_path;
    std::vector<OutputTensor> m_tensors;
    WriterOptions m_options;
    std::vector<std::unique_ptr<File>> m_files;
    std::string m_indexText; ///< sharded safetensors: the index JSON
    std::vector<Placement> m_placements;
    std::vector<std::size_t> m_diskOrder;
    std::uint64_t m_tensorBytes = 0;
    std::vector<std::vector<Chunk>> m_chunks;
    std::mutex m_chunkMutex;
    struct ZipState;
    std::unique_ptr<ZipState> m_zip;
    bool m_committed = false;
};

} // namespace mf
