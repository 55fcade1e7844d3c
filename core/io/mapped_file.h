// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mf {

/// A whole file mapped read-only (zero copy). An empty file maps to no bytes. The file stays
/// open while mapped, for the read-ahead and release hints of a streaming merge.
class MappedFile {
public:
    /// Throws mf::Error naming the file when it cannot be opened or mapped.
    explicit MappedFile(const std::string &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const std::string &path() const { return m_path; }
    const std::byte *data() const { return m_data; }
    std::uint64_t size() const { return m_size; }

    /// Maps every page up front (MADV_POPULATE_READ; a read-ahead hint on kernels before
    /// 5.14), so a merge pays no page fault per 4 kB. Pages come from the page cache or disk.
    void populate() const;

    /// The mapped file whose bytes hold `address` (and its offset there), or nullptr for
    /// memory that is not a mapped file's (owned copies, an adapter's factors).
    static const MappedFile *containing(const void *address, std::uint64_t *offset = nullptr);

    /// Copies `length` bytes at `offset` with pread(2): a few scattered bytes of a cold file
    /// without the kernel's read-around of a page fault (megabytes per fault). Throws
    /// mf::Error naming the file when it cannot be read.
    void read(std::uint64_t offset, std::uint64_t length, std::byte *dest) const;

    // Hints on byte ranges of the file (clamped to it); none of them changes what is read.
    /// Starts reading the range from disk into the page cache, without waiting.
    void readAhead(std::uint64_t offset, std::uint64_t length) const;
    /// Maps the range now, waiting for its pages (populate() for a part of the file).
    void populate(std::uint64_t offset, std::uint64_t length) const;
    /// Unmaps the range's whole pages from this process (they stay in the page cache unless
    /// `dropCache`, which also evicts them there): the process's resident size shrinks. A
    /// later read of the range maps the pages again.
    void release(std::uint64_t offset, std::uint64_t length, bool dropCache) const;

private:
    std::string m_path;
    const std::byte *m_data = nullptr;
    std::uint64_t m_size = 0;
    int m_fd = -1;
    std::uint64_t m_readAheadStep = 128u << 10; ///< bytes the kernel reads per hint at most
};

/// Bytes of physical memory of this machine.
std::uint64_t physicalMemoryBytes();

} // namespace mf
