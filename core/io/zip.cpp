// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/zip.h"

#include "util/error.h"

#include <algorithm>

namespace mf {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kEnd64Sig = 0x06064b50;
constexpr std::uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr std::uint32_t k32Max = 0xffffffffu;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1; // 1980-01-01: reproducible output

std::uint64_t readLe(const std::byte *p, int bytes)
{
    std::uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i)
        value = (value << 8) | static_cast<std::uint8_t>(p[i]);
    return value;
}

void putLe(std::string &out, std::uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

/// Bounds-checked reader over the archive bytes.
class Cursor {
public:
    Cursor(const std::byte *data, std::uint64_t size, const std::string &file)
        : m_data(data)
        , m_size(size)
        , m_file(file)
    {
    }
    void need(std::uint64_t offset, std::uint64_t length, const char *what) const
    {
        if (offset > m_size || length > m_size - offset)
            throw Error(m_file + ": damaged zip archive (" + what +
                        " lies outside the file; truncated?)");
    }
    std::uint64_t get(std::uint64_t offset, int bytes, const char *what) const
    {
        need(offset, static_cast<std::uint64_t>(bytes), what);
        return readLe(m_data + offset, bytes);
    }
    const std::byte *at(std::uint64_t offset) const { return m_data + offset; }

private:
    const std::byte *m_data;
    std::uint64_t m_size;
    const std::string &m_file;
};

} // namespace

bool hasZipSignature(const std::byte *data, std::uint64_t size)
{
    return size >= 4 && readLe(data, 4) == kLocalSig;
}

std::vector<ZipEntry> readZipEntries(const std::byte *data, std::uint64_t size,
                                     const std::string &fileName)
{
    const Cursor in(data, size, fileName);
    if (size < 22)
        throw Error(fileName + ": damaged zip archive (too short; truncated?)");
    std::uint64_t endOffset = UINT64_MAX;
    const std::uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (std::uint64_t pos = size - 22;; --pos) {
        if (readLe(data + pos, 4) == kEndSig) {
            endOffset = pos;
            break;
        }
        if (pos == lowest)
            break;
    }
    if (endOffset == UINT64_MAX)
        throw Error(fileName + ": damaged zip archive (no end-of-directory record; truncated?)");

    std::uint64_t entries = in.get(endOffset + 10, 2, "end record");
    std::uint64_t directorySize = in.get(endOffset + 12, 4, "end record");
    std::uint64_t directoryOffset = in.get(endOffset + 16, 4, "end record");
    if (entries == 0xffff || directorySize == k32Max || directoryOffset == k32Max) {
        if (endOffset < 20 || in.get(endOffset - 20, 4, "zip64 locator") != kEnd64LocatorSig)
            throw Error(fileName + ": damaged zip archive (zip64 locator missing)");
        const std::uint64_t end64 = in.get(endOffset - 20 + 8, 8, "zip64 locator");
        if (in.get(end64, 4, "zip64 end record") != kEnd64Sig)
            throw Error(fileName + ": damaged zip archive (zip64 end record missing)");
        entries = in.get(end64 + 32, 8, "zip64 end record");
        directorySize = in.get(end64 + 40, 8, "zip64 end record");
        directoryOffset = in.get(end64 + 48, 8, "zip64 end record");
    }
    in.need(directoryOffset, directorySize, "central directory");
    if (entries > directorySize / 46 + 1)
        throw Error(fileName + ": damaged zip archive (entry count does not fit the directory)");

    std::vector<ZipEntry> result;
    result.reserve(static_cast<std::size_t>(entries));
    std::uint64_t pos = directoryOffset;
    for (std::uint64_t i = 0; i < entries; ++i) {
        if (in.get(pos, 4, "central directory") != kCentralSig)
            throw Error(fileName + ": damaged zip archive (bad central directory entry)");
        ZipEntry entry;
        entry.method = static_cast<std::uint16_t>(in.get(pos + 10, 2, "directory entry"));
        entry.crc32 = static_cast<std::uint32_t>(in.get(pos + 16, 4, "directory entry"));
        entry.compressedSize = in.get(pos + 20, 4, "directory entry");
        entry.size = in.get(pos + 24, 4, "directory entry");
        const std::uint64_t nameLength = in.get(pos + 28, 2, "directory entry");
        const std::uint64_t extraLength = in.get(pos + 30, 2, "directory entry");
        const std::uint64_t commentLength = in.get(pos + 32, 2, "directory entry");
        std::uint64_t localOffset = in.get(pos + 42, 4, "directory entry");
        in.need(pos + 46, nameLength + extraLength + commentLength, "directory entry");
        entry.name.assign(reinterpret_cast<const char *>(in.at(pos + 46)), nameLength);

        // Zip64 extra: the 64-bit values of the fields that hold 0xffffffff, in order.
        std::uint64_t extra = pos + 46 + nameLength;
        const std::uint64_t extraEnd = extra + extraLength;
        while (extra + 4 <= extraEnd) {
            const std::uint64_t id = in.get(extra, 2, "extra field");
            const std::uint64_t length = in.get(extra + 2, 2, "extra field");
            if (extra + 4 + length > extraEnd)
                break;
            if (id == 1) {
                std::uint64_t field = extra + 4;
                auto take = [&](std::uint64_t &value) {
                    if (value != k32Max)
                        return;
                    if (field + 8 > extra + 4 + length)
                        throw Error(fileName + ": damaged zip archive (short zip64 field)");
                    value = in.get(field, 8, "zip64 field");
                    field += 8;
                };
                take(entry.size);
                take(entry.compressedSize);
                take(localOffset);
            }
            extra += 4 + length;
        }

        if (in.get(localOffset, 4, "local header") != kLocalSig)
            throw Error(fileName + ": damaged zip archive (bad local header of '" + entry.name +
                        "')");
        const std::uint64_t localName = in.get(localOffset + 26, 2, "local header");
        const std::uint64_t localExtra = in.get(localOffset + 28, 2, "local header");
        entry.dataOffset = localOffset + 30 + localName + localExtra;
        in.need(entry.dataOffset, entry.compressedSize, "member data");
        result.push_back(std::move(entry));
        pos += 46 + nameLength + extraLength + commentLength;
    }
    return result;
}

std::size_t ZipLayout::add(const std::string &name, std::uint64_t size, std::uint64_t alignment)
{
    Member member;
    member.name = name;
    member.size = size;
    member.headerOffset = m_end;
    const std::uint64_t zip64Extra = size >= k32Max ? 20 : 0;
    const std::uint64_t beforePadding = m_end + 30 + name.size() + zip64Extra + 4;
    const std::uint64_t padding = (alignment - beforePadding % alignment) % alignment;
    member.dataOffset = beforePadding + padding;
    m_end = member.dataOffset + size;
    m_members.push_back(std::move(member));
    return m_members.size() - 1;
}

std::string ZipLayout::localHeader(std::size_t index) const
{
    const Member &m = m_members[index];
    const bool zip64 = m.size >= k32Max;
    const std::uint64_t zip64Extra = zip64 ? 20 : 0;
    const std::uint64_t padding =
        m.dataOffset - (m.headerOffset + 30 + m.name.size() + zip64Extra + 4);
    std::string out;
    putLe(out, kLocalSig, 4);
    putLe(out, zip64 ? 45 : 20, 2); // version needed
    putLe(out, 0, 2);               // flags
    putLe(out, 0, 2);               // stored
    putLe(out, 0, 2);               // time
    putLe(out, kDosDate, 2);
    putLe(out, m.crc32, 4);
    putLe(out, zip64 ? k32Max : m.size, 4);
    putLe(out, zip64 ? k32Max : m.size, 4);
    putLe(out, m.name.size(), 2);
    putLe(out, zip64Extra + 4 + padding, 2);
    out += m.name;
    if (zip64) {
        putLe(out, 1, 2);
        putLe(out, 16, 2);
        putLe(out, m.size, 8);
        putLe(out, m.size, 8);
    }
    putLe(out, 0x4246, 2); // padding field, as PyTorch's writer uses ("FB")
    putLe(out, padding, 2);
    out.append(padding, 'Z');
    return out;
}

std::string ZipLayout::centralDirectory() const
{
    std::string out;
    for (const Member &m : m_members) {
        const bool bigSize = m.size >= k32Max;
        const bool bigOffset = m.headerOffset >= k32Max;
        const std::uint64_t extraLength = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
        putLe(out, kCentralSig, 4);
        putLe(out, 45, 2); // version made by
        putLe(out, extraLength ? 45 : 20, 2);
        putLe(out, 0, 2);
        putLe(out, 0, 2);
        putLe(out, 0, 2);
        putLe(out, kDosDate, 2);
        putLe(out, m.crc32, 4);
        putLe(out, bigSize ? k32Max : m.size, 4);
        putLe(out, bigSize ? k32Max : m.size, 4);
        putLe(out, m.name.size(), 2);
        putLe(out, extraLength ? extraLength + 4 : 0, 2);
        putLe(out, 0, 2); // comment
        putLe(out, 0, 2); // disk
        putLe(out, 0, 2); // internal attributes
        putLe(out, 0, 4); // external attributes
        putLe(out, bigOffset ? k32Max : m.headerOffset, 4);
        out += m.name;
        if (extraLength) {
            putLe(out, 1, 2);
            putLe(out, extraLength, 2);
            if (bigSize) {
                putLe(out, m.size, 8);
                putLe(out, m.size, 8);
            }
            if (bigOffset)
                putLe(out, m.headerOffset, 8);
        }
    }
    const std::uint64_t directorySize = out.size();
    const std::uint64_t count = m_members.size();
    const bool zip64 = count >= 0xffff || m_end >= k32Max || directorySize >= k32Max;
    if (zip64) {
        const std::uint64_t end64 = m_end + directorySize;
        putLe(out, kEnd64Sig, 4);
        putLe(out, 44, 8);
        putLe(out, 45, 2);
        putLe(out, 45, 2);
        putLe(out, 0, 4);
        putLe(out, 0, 4);
        putLe(out, count, 8);
        putLe(out, count, 8);
        putLe(out, directorySize, 8);
        putLe(out, m_end, 8);
        putLe(out, kEnd64LocatorSig, 4);
        putLe(out, 0, 4);
        putLe(out, end64, 8);
        putLe(out, 1, 4);
    }
    putLe(out, kEndSig, 4);
    putLe(out, 0, 2);
    putLe(out, 0, 2);
    putLe(out, zip64 ? 0xffff : count, 2);
    putLe(out, zip64 ? 0xffff : count, 2);
    putLe(out, zip64 ? k32Max : directorySize, 4);
    putLe(out, zip64 ? k32Max : m_end, 4);
    putLe(out, 0, 2);
    return out;
}

} // namespace mf
