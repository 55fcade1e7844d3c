// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"

#include <string>

namespace mf {

/// `inspect --json`: {"format", "tensors": [{"name","dtype","shape"}], "parameters",
/// "bytes", "metadata", "files", "fingerprint"}.
std::string describeCheckpointJson(const Checkpoint &checkpoint);

/// A person-readable summary: format, sizes, dtype counts, metadata, then every tensor.
std::string describeCheckpointText(const Checkpoint &checkpoint);

} // namespace mf
