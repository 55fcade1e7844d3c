// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"

#include <memory>

namespace mf {

class MappedFile;

/// True for a zip archive (torch.save since 1.6) or the legacy pickle-first format.
bool looksLikePyTorchFile(const MappedFile &file);

/// Opens a `torch.save(model.state_dict())` file: the zip is read in place, tensors point
/// into the mapping (stored records are uncompressed and 64-byte aligned). The legacy
/// pre-1.6 format and TorchScript archives are refused with a message saying what to do.
Checkpoint openPyTorch(std::shared_ptr<MappedFile> file);

/// Name of the record where Mergefront keeps its metadata inside a .pt archive.
constexpr const char *kPtMetadataRecord = "mergefront_metadata.json";

} // namespace mf
