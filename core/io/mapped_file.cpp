// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/mapped_file.h"

#include "util/error.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mf {

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
    if (m_size > 0) {
        void *address = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (address == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot map " + path + ": " + systemErrorText(err));
        }
        m_data = static_cast<const std::byte *>(address);
    }
    ::close(fd);
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<std::byte *>(m_data), m_size);
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

} // namespace mf
