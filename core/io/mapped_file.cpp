// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/mapped_file.h"

#include "util/error.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace mf {

namespace {

/// Every live mapping by its first byte, for MappedFile::containing.
struct Registry {
    std::mutex mutex;
    std::map<const std::byte *, const MappedFile *, std::greater<>> byStart;
};

Registry &registry()
{
    static Registry instance;
    return instance;
}

std::uint64_t pageSize()
{
    static const auto size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

/// The most the kernel reads for one read-ahead hint on the device holding `device`: its
/// read-ahead size (capped at 16 MB); 128 kB when sysfs does not say (a partition's queue is
/// its disk's).
std::uint64_t readAheadStep(dev_t device)
{
    const std::string base =
        "/sys/dev/block/" + std::to_string(major(device)) + ":" + std::to_string(minor(device));
    for (const char *queue : {"/queue/read_ahead_kb", "/../queue/read_ahead_kb"}) {
        std::ifstream in(base + queue);
        std::uint64_t kb = 0;
        if (in >> kb && kb > 0)
            return std::min<std::uint64_t>(kb << 10, 16u << 20);
    }
    return 128u << 10;
}

} // namespace

std::uint64_t physicalMemoryBytes()
{
    return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * pageSize();
}

MappedFile::MappedFile(const std::string &path)
    : m_path(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error("cannot open " + path + ": " + systemErrorText(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error("cannot read " + path + ": " + systemErrorText(err));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        throw Error(path + " is not a regular file");
    }
    m_size = static_cast<std::uint64_t>(info.st_size);
    if (m_size == 0) {
        ::close(fd);
        return;
    }
    void *address = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw Error("cannot map " + path + ": " + systemErrorText(err));
    }
    m_data = static_cast<const std::byte *>(address);
    m_fd = fd;
    m_readAheadStep = readAheadStep(info.st_dev);
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.byStart[m_data] = this;
}

MappedFile::~MappedFile()
{
    if (!m_data)
        return;
    {
        Registry &r = registry();
        std::lock_guard<std::mutex> lock(r.mutex);
        r.byStart.erase(m_data);
    }
    ::munmap(const_cast<std::byte *>(m_data), m_size);
    ::close(m_fd);
}

const MappedFile *MappedFile::containing(const void *address, std::uint64_t *offset)
{
    const auto *p = static_cast<const std::byte *>(address);
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.byStart.lower_bound(p); // the last mapping starting at or before p
    if (it == r.byStart.end() || p >= it->first + it->second->size())
        return nullptr;
    if (offset)
        *offset = static_cast<std::uint64_t>(p - it->first);
    return it->second;
}

void MappedFile::populate() const
{
    if (!m_data)
        return;
#ifdef MADV_POPULATE_READ
    if (::madvise(const_cast<std::byte *>(m_data), m_size, MADV_POPULATE_READ) == 0)
        return;
#endif
    ::madvise(const_cast<std::byte *>(m_data), m_size, MADV_WILLNEED);
}

void MappedFile::read(std::uint64_t offset, std::uint64_t length, std::byte *dest) const
{
    if (offset > m_size || length > m_size - offset)
        throw Error("internal: read past the end of " + m_path);
    while (length > 0) {
        const ssize_t got =
            ::pread(m_fd, dest, static_cast<std::size_t>(length), static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            throw Error("cannot read " + m_path + ": " +
                        (got < 0 ? systemErrorText(errno) : std::string("it got shorter")));
        dest += got;
        offset += static_cast<std::uint64_t>(got);
        length -= static_cast<std::uint64_t>(got);
    }
}

void MappedFile::readAhead(std::uint64_t offset, std::uint64_t length) const
{
    if (offset >= m_size)
        return;
    length = std::min(length, m_size - offset);
    // The kernel reads at most its read-ahead size per hint: give it in steps of that.
    for (std::uint64_t at = offset; at < offset + length; at += m_readAheadStep)
        ::posix_fadvise(m_fd, static_cast<off_t>(at),
                        static_cast<off_t>(std::min(m_readAheadStep, offset + length - at)),
                        POSIX_FADV_WILLNEED);
}

void MappedFile::populate(std::uint64_t offset, std::uint64_t length) const
{
    if (offset >= m_size || length == 0)
        return;
    length = std::min(length, m_size - offset);
    const std::uint64_t begin = offset / pageSize() * pageSize();
    auto *start = const_cast<std::byte *>(m_data) + begin;
    const std::size_t bytes = static_cast<std::size_t>(offset + length - begin);
#ifdef MADV_POPULATE_READ
    if (::madvise(start, bytes, MADV_POPULATE_READ) == 0)
        return;
#endif
    ::madvise(start, bytes, MADV_WILLNEED);
}

void MappedFile::release(std::uint64_t offset, std::uint64_t length, bool dropCache) const
{
    if (offset >= m_size || length == 0)
        return;
    const std::uint64_t end = std::min(offset + length, m_size);
    // Whole pages only: a page the range shares with bytes around it stays. The file's last
    // page counts as whole.
    const std::uint64_t begin = (offset + pageSize() - 1) / pageSize() * pageSize();
    const std::uint64_t last = end == m_size ? end : end / pageSize() * pageSize();
    if (last <= begin)
        return;
    // Read-only private pages never written: dropping them loses nothing, a later read
    // faults them in again from the file.
    ::madvise(const_cast<std::byte *>(m_data) + begin, static_cast<std::size_t>(last - begin),
              MADV_DONTNEED);
    if (dropCache)
        ::posix_fadvise(m_fd, static_cast<off_t>(begin), static_cast<off_t>(last - begin),
                        POSIX_FADV_DONTNEED);
}

} // namespace mf
