// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mf {

/// A member of an uncompressed-or-not zip archive (PyTorch's checkpoint container).
struct ZipEntry {
    std::string name;
    std::uint64_t dataOffset = 0; ///< where the (stored) bytes begin in the archive
    std::uint64_t compressedSize = 0;
    std::uint64_t size = 0;
    std::uint32_t crc32 = 0;
    std::uint16_t method = 0; ///< 0 = stored; anything else is refused by the caller
};

bool hasZipSignature(const std::byte *data, std::uint64_t size);

/// Reads the central directory (zip64 included), bounds-checking every field against the
/// file. Throws mf::Error naming `fileName` on a damaged or truncated archive.
std::vector<ZipEntry> readZipEntries(const std::byte *data, std::uint64_t size,
                                     const std::string &fileName);

/// Plans a stored (uncompressed) zip archive whose members start at aligned offsets, and
/// produces its header bytes once the members' CRCs are known. Zip64 where sizes need it.
class ZipLayout {
public:
    struct Member {
        std::string name;
        std::uint64_t size = 0;
        std::uint64_t headerOffset = 0;
        std::uint64_t dataOffset = 0;
        std::uint32_t crc32 = 0;
    };

    /// Appends a member of `size` bytes whose data starts at a multiple of `alignment`.
    std::size_t add(const std::string &name, std::uint64_t size, std::uint64_t alignment);
    Member &member(std::size_t index) { return m_members[index]; }
    const std::vector<Member> &members() const { return m_members; }

    /// The local header (with alignment padding) that goes at member(index).headerOffset.
    std::string localHeader(std::size_t index) const;
    /// Offset where the central directory starts (end of the last member's data).
    std::uint64_t centralDirectoryOffset() const { return m_end; }
    /// Central directory, zip64 records when needed, end-of-central-directory record.
    std::string centralDirectory() const;

private:
    std::vector<Member> m_members;
    std::uint64_t m_end = 0;
};

} // namespace mf
