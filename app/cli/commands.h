// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <vector>

namespace mf::cli {

/// Each returns the process exit code; mf::Error -> 1 and UsageError -> 2 are mapped by main.
int inspectCommand(const std::vector<std::string> &args);
int mergeCommand(const std::vector<std::string> &args);
int fitCommand(const std::vector<std::string> &args);
int qualityCommand(const std::vector<std::string> &args);

extern const char *const kInspectUsage;
extern const char *const kMergeUsage;
extern const char *const kFitUsage;
extern const char *const kQualityUsage;

} // namespace mf::cli
