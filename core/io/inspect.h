// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/adapter.h"
#include "io/checkpoint.h"

#include <string>

namespace mf {

/// `inspect --json`: {"format", "tensors": [{"name","dtype","shape"}], "parameters",
/// "bytes", "metadata", "files", "fingerprint"}.
std::string describeCheckpointJson(const Checkpoint &checkpoint);

/// A person-readable summary: format, sizes, dtype counts, metadata, then every tensor.
std::string describeCheckpointText(const Checkpoint &checkpoint);

/// `inspect` of a PEFT adapter: describeAdapter's lines, then the tensors as stored.
std::string describeAdapterText(const AdapterSummary &summary, const Checkpoint &weights);
/// describeCheckpointJson plus "adapter": {"modules", "parameters", "ranks" (rank -> modules),
/// "lora_alpha", "use_rslora", "use_dora", "lora_bias", "fan_in_fan_out", "targets" (module
/// kinds), "layers", "modules_to_save", "base_model_name_or_path"}.
std::string describeAdapterJson(const AdapterSummary &summary, const Checkpoint &weights);

} // namespace mf
