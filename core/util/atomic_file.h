// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace mf {

/// Replaces `path` with `bytes` atomically: a temporary file beside it, synced (when `sync`),
/// then renamed over it. A crash leaves either the old file or the new one, never a mix.
/// Throws mf::Error naming the file.
void writeFileAtomically(const std::string &path, const std::string &bytes, bool sync = true);

/// Creates or truncates `path` and writes `bytes` (then fsync, when `sync`); not atomic: for
/// files inside a folder that is itself renamed into place, and for scratch files.
void writeFile(const std::string &path, const std::string &bytes, bool sync);

/// The whole file; throws mf::Error naming it when it cannot be read.
std::string readFile(const std::string &path);

} // namespace mf
