// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mf {

/// "1.50 GB" style, decimal units (what disks and the benchmarks report).
std::string formatBytes(std::uint64_t bytes);

/// "[2, 3]" for a tensor shape.
std::string formatShape(const std::vector<std::int64_t> &shape);

/// Parses "500MB", "2GB", "1.5GiB", "1000000" into bytes; throws mf::Error on bad text.
std::uint64_t parseByteSize(const std::string &text);

/// True when `text` starts with `prefix`.
bool startsWith(const std::string &text, const std::string &prefix);

/// True when `text` ends with `suffix`.
bool endsWith(const std::string &text, const std::string &suffix);

/// `text` with ASCII letters in lower case (other bytes as they are).
std::string asciiLower(std::string text);

/// `text` with the characters an ECMAScript regex gives meaning to escaped ("a.b" -> "a\\.b").
std::string escapeRegex(const std::string &text);

/// Splits on a single character, keeping empty fields.
std::vector<std::string> splitString(const std::string &text, char separator);

/// `path` relative to `folder`, both made absolute and normalized first ("../m/a.pt").
std::string relativePath(const std::string &path, const std::string &folder);

} // namespace mf
