// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace mf {

/// Replaces `path` with `bytes` atomically: a temporary file beside it, synced (when `sync`),
/// then renamed over it. A crash leaves either the old file or the new one, never a mix.
/// Throws mf::Error naming the file.
void writeFileAtomically(const std::string &path, const std::string &bytes, bool sync = true);

} // namespace mf
