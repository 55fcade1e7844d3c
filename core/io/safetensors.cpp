// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/safetensors.h"

#include "io/mapped_file.h"
#include "io/pt_archive.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace mf {

namespace {

using json = nlohmann::json;

std::uint64_t readLe64(const std::byte *p)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | static_cast<std::uint8_t>(p[i]);
    return value;
}

/// Parses JSON text, refusing duplicate keys in any object (nlohmann keeps the last one
/// silently; the reference implementation refuses them).
json parseStrictJson(const char *begin, const char *end, const std::string &what)
{
    std::vector<std::set<std::string>> seen;
    std::string duplicate;
    auto callback = [&](int, json::parse_event_t event, json &parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
            seen.emplace_back();
            break;
        case json::parse_event_t::object_end:
            if (!seen.empty())
                seen.pop_back();
            break;
        case json::parse_event_t::key:
            if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second &&
                duplicate.empty())
                duplicate = parsed.get<std::string>();
            break;
        default:
            break;
        }
        return true;
    };
    json document;
    try {
        document = json::parse(begin, end, callback);
    } catch (const json::exception &e) {
        throw Error("invalid JSON in " + what + ": " + e.what());
    }
    if (!duplicate.empty())
        throw Error("duplicate key '" + duplicate + "' in " + what);
    return document;
}

std::uint64_t readOffset(const json &value, const std::string &what)
{
    if (!value.is_number_unsigned())
        throw Error("data_offsets of " + what + " must be non-negative integers");
    return value.get<std::uint64_t>();
}

} // namespace

SafetensorsHeader parseSafetensorsHeader(const std::byte *bytes, std::uint64_t fileSize,
                                         const std::string &fileName)
{
    if (fileSize < 8)
        throw Error(fileName + " is not a safetensors file: " + std::to_string(fileSize) +
                    " bytes, shorter than the 8-byte header length");
    SafetensorsHeader header;
    header.headerSize = readLe64(bytes);
    if (header.headerSize > kSafetensorsMaxHeader)
        throw Error(fileName + ": safetensors header length " + std::to_string(header.headerSize) +
                    " exceeds the 100 MB limit (corrupt "
                    "file, or not a safetensors file)");
    if (header.headerSize > fileSize - 8)
        throw Error(fileName + ": safetensors header of " + std::to_string(header.headerSize) +
                    " bytes extends past the end of the file (" + std::to_string(fileSize) +
                    " bytes; truncated?)");
    const char *text = reinterpret_cast<const char *>(bytes + 8);
    if (header.headerSize == 0 || text[0] != '{')
        throw Error(fileName + ": safetensors header does not start with '{' (not a "
                               "safetensors file?)");
    const json document = parseStrictJson(text, text + header.headerSize, fileName + " header");
    if (!document.is_object())
        throw Error(fileName + ": safetensors header is not a JSON object");

    const std::uint64_t dataSize = fileSize - header.dataStart();
    for (const auto &[key, value] : document.items()) {
        if (key == "__metadata__") {
            if (!value.is_object())
                throw Error(fileName + ": __metadata__ must be an object of strings");
            for (const auto &[metaKey, metaValue] : value.items()) {
                if (!metaValue.is_string())
                    throw Error(fileName + ": __metadata__ key '" + metaKey +
                                "' must have a string value");
                header.metadata[metaKey] = metaValue.get<std::string>();
            }
            continue;
        }
        const std::string what = "tensor '" + key + "' in " + fileName;
        if (!value.is_object())
            throw Error(what + " is not described by a JSON object");
        const auto dtypeIt = value.find("dtype");
        const auto shapeIt = value.find("shape");
        const auto offsetsIt = value.find("data_offsets");
        if (dtypeIt == value.end() || !dtypeIt->is_string())
            throw Error(what + " has no dtype string");
        if (shapeIt == value.end() || !shapeIt->is_array())
            throw Error(what + " has no shape array");
        if (offsetsIt == value.end() || !offsetsIt->is_array() || offsetsIt->size() != 2)
            throw Error(what + " has no data_offsets [begin, end]");

        SafetensorsEntry entry;
        entry.name = key;
        entry.dtype = parseDTypeName(dtypeIt->get<std::string>(), what);
        std::uint64_t bytesNeeded = dtypeSize(entry.dtype);
        for (const auto &dim : *shapeIt) {
            if (!dim.is_number_unsigned())
                throw Error(what + " has a shape entry that is not a non-negative integer");
            const std::uint64_t extent = dim.get<std::uint64_t>();
            if (extent > static_cast<std::uint64_t>(INT64_MAX) ||
                __builtin_mul_overflow(bytesNeeded, extent, &bytesNeeded))
                throw Error(what + " has a shape whose size overflows");
            entry.shape.push_back(static_cast<std::int64_t>(extent));
        }
        entry.begin = readOffset((*offsetsIt)[0], what);
        entry.end = readOffset((*offsetsIt)[1], what);
        if (entry.end < entry.begin)
            throw Error(what + " has data_offsets that end before they begin");
        if (entry.end > dataSize)
            throw Error(what + " has data_offsets [" + std::to_string(entry.begin) + ", " +
                        std::to_string(entry.end) + "] past the end of the data (" +
                        std::to_string(dataSize) + " bytes; truncated file?)");
        if (entry.end - entry.begin != bytesNeeded)
            throw Error(what + " holds " + std::to_string(entry.end - entry.begin) +
                        " bytes but its dtype and shape need " + std::to_string(bytesNeeded));
        header.tensors.push_back(std::move(entry));
    }

    std::sort(header.tensors.begin(), header.tensors.end(),
              [](const SafetensorsEntry &a, const SafetensorsEntry &b) {
                  return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
              });
    std::uint64_t expected = 0;
    for (const auto &entry : header.tensors) {
        if (entry.begin != expected)
            throw Error("tensor '" + entry.name + "' in " + fileName +
                        (entry.begin < expected ? " overlaps the tensor before it"
                                                : " leaves a gap before it") +
                        " (data_offsets begin at " + std::to_string(entry.begin) + ", expected " +
                        std::to_string(expected) + ")");
        expected = entry.end;
    }
    if (expected != dataSize)
        throw Error(fileName + ": tensors cover " + std::to_string(expected) +
                    " bytes of data but the file holds " + std::to_string(dataSize) +
                    " after the header");
    return header;
}

Checkpoint openSafetensors(std::shared_ptr<MappedFile> file)
{
    const SafetensorsHeader header =
        parseSafetensorsHeader(file->data(), file->size(), file->path());
    Checkpoint checkpoint;
    checkpoint.setSource(file->path(), "safetensors");
    checkpoint.mutableMetadata() = header.metadata;
    const std::byte *data = file->data() + header.dataStart();
    for (const auto &entry : header.tensors) {
        TensorRef tensor;
        tensor.name = entry.name;
        tensor.dtype = entry.dtype;
        tensor.shape = entry.shape;
        tensor.byteSize = entry.end - entry.begin;
        tensor.data = data + entry.begin;
        const std::size_t align = dtypeSize(entry.dtype);
        if (reinterpret_cast<std::uintptr_t>(tensor.data) % align != 0 && tensor.byteSize) {
            // Files from writers that do not align: one copy, so kernels may load elements.
            auto copy = std::make_unique<std::byte[]>(tensor.byteSize);
            std::memcpy(copy.get(), tensor.data, tensor.byteSize);
            tensor.data = checkpoint.ownCopy(std::move(copy));
        }
        checkpoint.addTensor(std::move(tensor));
    }
    checkpoint.addFile(std::move(file));
    return checkpoint;
}

Checkpoint openShardIndex(const std::string &indexPath)
{
    namespace fs = std::filesystem;
    std::ifstream stream(indexPath, std::ios::binary);
    if (!stream)
        throw Error("cannot open " + indexPath);
    std::stringstream buffer;
    buffer << stream.rdbuf();
    const std::string text = buffer.str();
    const json index = parseStrictJson(text.data(), text.data() + text.size(), indexPath);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw Error(indexPath + " has no \"weight_map\" object (not a safetensors index)");

    // Shard file -> the tensor names the index places there, in first-seen order.
    std::vector<std::string> shardOrder;
    std::unordered_map<std::string, std::set<std::string>> expected;
    for (const auto &[name, shard] : index["weight_map"].items()) {
        if (!shard.is_string())
            throw Error(indexPath + ": weight_map entry '" + name + "' is not a file name");
        const std::string file = shard.get<std::string>();
        if (file.empty() || file.find('/') != std::string::npos ||
            file.find('\\') != std::string::npos || file == "." || file == "..")
            throw Error(indexPath + ": weight_map entry '" + name + "' names '" + file +
                        "', which is not a plain file name beside the index");
        if (!expected.count(file))
            shardOrder.push_back(file);
        expected[file].insert(name);
    }

    const fs::path folder = fs::path(indexPath).parent_path();
    Checkpoint checkpoint;
    checkpoint.setSource(indexPath, "sharded"); // the format is known once a shard is open
    std::string format;
    if (index.contains("metadata") && index["metadata"].is_object())
        for (const auto &[key, value] : index["metadata"].items())
            checkpoint.mutableMetadata()["index." + key] =
                value.is_string() ? value.get<std::string>() : value.dump();
    for (const std::string &shardName : shardOrder) {
        auto file = std::make_shared<MappedFile>((folder / shardName).string());
        Checkpoint shard = looksLikePyTorchFile(*file) ? openPyTorch(std::move(file))
                                                       : openSafetensors(std::move(file));
        if (format.empty())
            format = shard.format();
        const auto &names = expected[shardName];
        for (const auto &tensor : shard.tensors())
            if (!names.count(tensor.name))
                throw Error("tensor '" + tensor.name + "' is in shard " + shardName + " but " +
                            indexPath + " maps it elsewhere or not at all");
        for (const auto &name : names)
            if (!shard.find(name))
                throw Error(indexPath + " maps tensor '" + name + "' to " + shardName +
                            ", which does not hold it");
        for (const auto &[key, value] : shard.metadata())
            checkpoint.mutableMetadata().emplace(key, value);
        for (const auto &tensor : shard.tensors())
            checkpoint.addTensor(tensor);
        // The shard's mappings and owned copies move into the combined checkpoint.
        checkpoint.adopt(std::move(shard));
    }
    checkpoint.setSource(indexPath, (format.empty() ? std::string("safetensors") : format) +
                                        " (sharded, " + std::to_string(shardOrder.size()) +
                                        " files)");
    return checkpoint;
}

std::string buildSafetensorsHeader(const std::vector<SafetensorsEntry> &tensors,
                                   const Metadata &metadata)
{
    json header = json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    for (const auto &entry : tensors)
        header[entry.name] = {{"dtype", dtypeName(entry.dtype)},
                              {"shape", entry.shape},
                              {"data_offsets", {entry.begin, entry.end}}};
    std::string text = header.dump();
    text.append((8 - (text.size() % 8)) % 8, ' ');
    return text;
}

} // namespace mf
