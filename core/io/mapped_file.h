// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mf {

/// A whole file mapped read-only (zero copy). An empty file maps to no bytes.
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

private:
    std::string m_path;
    const std::byte *m_data = nullptr;
    std::uint64_t m_size = 0;
};

} // namespace mf
