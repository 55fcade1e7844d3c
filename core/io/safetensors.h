// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mf {

class MappedFile;

/// The reference implementation's cap on the JSON header (huggingface/safetensors).
constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;

struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::F32;
    Shape shape;
    std::uint64_t begin = 0; ///< byte offset into the data section
    std::uint64_t end = 0;
};

struct SafetensorsHeader {
    std::uint64_t headerSize = 0;          ///< N, the JSON length after the 8-byte prefix
    std::vector<SafetensorsEntry> tensors; ///< in data order
    Metadata metadata;                     ///< the `__metadata__` string map
    std::uint64_t dataStart() const { return 8 + headerSize; }
};

/// Validates a whole safetensors file held in `bytes` (size `fileSize`) by the reference
/// rules: header size capped and inside the file, JSON object, no duplicate keys, known
/// dtypes, shapes whose byte size does not overflow and matches the offsets, tensors back
/// to back from 0 with the data ending exactly at the end of the file. Reads only the
/// first 8 + N bytes. Throws mf::Error naming `fileName` and the tensor or key at fault.
SafetensorsHeader parseSafetensorsHeader(const std::byte *bytes, std::uint64_t fileSize,
                                         const std::string &fileName);

Checkpoint openSafetensors(std::shared_ptr<MappedFile> file);

/// A sharded checkpoint from its index (`model.safetensors.index.json`, or Hugging Face's
/// `pytorch_model.bin.index.json` whose shards are torch.save files): {"weight_map": {tensor:
/// shard file beside the index}, "metadata": {...}}. Every shard's tensors must match the map.
Checkpoint openShardIndex(const std::string &indexPath);

/// The JSON header text for `tensors` (already in data order with offsets), with
/// `__metadata__`, padded with spaces so that 8 + its length is a multiple of 8.
std::string buildSafetensorsHeader(const std::vector<SafetensorsEntry> &tensors,
                                   const Metadata &metadata);

} // namespace mf
