// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mf {

/// One tensor as a `torch.save` pickle describes it: a view into a storage record.
struct PickledTensor {
    std::string name;
    std::string storageKey;         ///< record name under `<archive>/data/`
    DType dtype = DType::F32;       ///< from the storage class (FloatStorage, ...)
    std::uint64_t storageNumel = 0; ///< elements in the storage
    std::uint64_t offset = 0;       ///< storage offset, in elements
    Shape shape;
    std::vector<std::int64_t> stride;
};

/// Reads the `data.pkl` of a `torch.save(state_dict)` archive with a restricted unpickler:
/// only the opcodes and classes a state dict needs (OrderedDict, _rebuild_tensor_v2,
/// _rebuild_parameter, typed storages); any other global is refused by name and nothing is
/// executed. A top-level {"state_dict": {...}} or {"model": {...}} wrapper is unwrapped.
/// Throws mf::Error naming `fileName`.
std::vector<PickledTensor> readStateDictPickle(const std::byte *data, std::size_t size,
                                               const std::string &fileName);

/// A protocol-2 pickle of an OrderedDict of contiguous tensors, one storage each, that
/// `torch.load(path, weights_only=True)` accepts.
std::string writeStateDictPickle(const std::vector<PickledTensor> &tensors);

} // namespace mf
