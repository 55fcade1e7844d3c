// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/pt_archive.h"

#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/zip.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <unordered_map>

namespace mf {

namespace {

// Legacy torch.save files start with a pickled magic number (protocol 2, LONG1).
constexpr unsigned char kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                          0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

bool isLegacy(const MappedFile &file)
{
    return file.size() >= sizeof kLegacyMagic &&
           std::memcmp(file.data(), kLegacyMagic, sizeof kLegacyMagic) == 0;
}

bool isContiguous(const Shape &shape, const std::vector<std::int64_t> &stride)
{
    std::int64_t expected = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        if (shape[i] != 1 && stride[i] != expected)
            return false;
        expected *= shape[i];
    }
    return true;
}

/// Copies a strided view into a contiguous buffer, element by element.
void gather(const std::byte *storage, const PickledTensor &t, std::size_t elementSize,
            std::byte *out)
{
    const std::size_t dims = t.shape.size();
    std::vector<std::int64_t> index(dims, 0);
    const std::uint64_t count = elementCount(t.shape);
    for (std::uint64_t n = 0; n < count; ++n) {
        std::uint64_t source = t.offset;
        for (std::size_t d = 0; d < dims; ++d)
            source += static_cast<std::uint64_t>(index[d] * t.stride[d]);
        std::memcpy(out + n * elementSize, storage + source * elementSize, elementSize);
        for (std::size_t d = dims; d-- > 0;) {
            if (++index[d] < t.shape[d])
                break;
            index[d] = 0;
        }
    }
}

} // namespace

bool looksLikePyTorchFile(const MappedFile &file)
{
    return hasZipSignature(file.data(), file.size()) || isLegacy(file);
}

Checkpoint openPyTorch(std::shared_ptr<MappedFile> file)
{
    const std::string &path = file->path();
    if (isLegacy(*file))
        throw Error(path + " uses the legacy (pre-1.6, non-zip) torch.save format; re-save it "
                           "in Python: torch.save(torch.load(old), new)");
    const std::vector<ZipEntry> entries = readZipEntries(file->data(), file->size(), path);

    std::unordered_map<std::string, const ZipEntry *> records;
    const ZipEntry *pickle = nullptr;
    bool torchScript = false;
    for (const ZipEntry &entry : entries) {
        const std::size_t slash = entry.name.find('/');
        if (slash == std::string::npos)
            continue;
        const std::string record = entry.name.substr(slash + 1); // the top folder name varies
        if (record == "data.pkl")
            pickle = &entry;
        if (record == "constants.pkl" || record.rfind("code/", 0) == 0)
            torchScript = true;
        records[record] = &entry;
    }
    if (torchScript)
        throw Error(path + " is a TorchScript module, not a state dict (save "
                           "model.state_dict() with torch.save instead)");
    if (!pickle)
        throw Error(path + " is a zip archive without data.pkl (not a torch.save file)");
    if (pickle->method != 0)
        throw Error(path + ": data.pkl is compressed; torch.save never compresses records");

    const std::vector<PickledTensor> pickled = readStateDictPickle(
        file->data() + pickle->dataOffset, static_cast<std::size_t>(pickle->size), path);

    Checkpoint checkpoint;
    checkpoint.setSource(path, "pytorch");
    const auto metadataIt = records.find(kPtMetadataRecord);
    if (metadataIt != records.end() && metadataIt->second->method == 0) {
        const auto *text =
            reinterpret_cast<const char *>(file->data() + metadataIt->second->dataOffset);
        const auto metadata = nlohmann::json::parse(text, text + metadataIt->second->size, nullptr,
                                                    /*allow_exceptions=*/false);
        if (metadata.is_object())
            for (const auto &[key, value] : metadata.items())
                if (value.is_string())
                    checkpoint.mutableMetadata()[key] = value.get<std::string>();
    }

    for (const PickledTensor &t : pickled) {
        const std::string what = "tensor '" + t.name + "' in " + path;
        const auto recordIt = records.find("data/" + t.storageKey);
        if (recordIt == records.end())
            throw Error(what + ": its storage record data/" + t.storageKey + " is missing");
        const ZipEntry &record = *recordIt->second;
        if (record.method != 0)
            throw Error(what + ": its storage record is compressed (not written by torch.save)");
        const std::size_t elementSize = dtypeSize(t.dtype);
        std::uint64_t storageBytes = 0;
        if (__builtin_mul_overflow(t.storageNumel, elementSize, &storageBytes) ||
            storageBytes > record.size)
            throw Error(what + ": its storage claims " + std::to_string(t.storageNumel) +
                        " elements but the record holds " + std::to_string(record.size) + " bytes");

        // Every element the view can touch must lie inside the storage.
        std::uint64_t numel = 1, last = t.offset;
        for (std::size_t d = 0; d < t.shape.size(); ++d) {
            if (t.shape[d] < 0 || t.stride[d] < 0)
                throw Error(what + " has a negative size or stride");
            if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(t.shape[d]), &numel))
                throw Error(what + " has a size that overflows");
        }
        if (numel > 0) {
            for (std::size_t d = 0; d < t.shape.size(); ++d) {
                std::uint64_t reach = 0;
                if (__builtin_mul_overflow(static_cast<std::uint64_t>(t.shape[d] - 1),
                                           static_cast<std::uint64_t>(t.stride[d]), &reach) ||
                    __builtin_add_overflow(last, reach, &last))
                    throw Error(what + " has a stride that overflows");
            }
            if (last >= t.storageNumel)
                throw Error(what + " reaches element " + std::to_string(last) +
                            " of a storage of " + std::to_string(t.storageNumel));
        }

        TensorRef tensor;
        tensor.name = t.name;
        tensor.dtype = t.dtype;
        tensor.shape = t.shape;
        tensor.byteSize = numel * elementSize;
        const std::byte *storage = file->data() + record.dataOffset;
        tensor.data = storage + t.offset * elementSize;
        const bool aligned = reinterpret_cast<std::uintptr_t>(tensor.data) % elementSize == 0;
        if (numel > 0 && (!isContiguous(t.shape, t.stride) || !aligned)) {
            auto copy = std::make_unique<std::byte[]>(tensor.byteSize);
            gather(storage, t, elementSize, copy.get());
            tensor.data = checkpoint.ownCopy(std::move(copy));
        }
        checkpoint.addTensor(std::move(tensor));
    }
    checkpoint.addFile(std::move(file));
    return checkpoint;
}

} // namespace mf
