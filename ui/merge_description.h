// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "merge/merge_plan.h"

#include <QString>

#include <string>
#include <vector>

namespace mf::ui {

/// Opens the checkpoints and says what the merge will do (core's describePlan: what merges,
/// what is left out and why, task-only tensors), as HTML lines; a bad file as a "Problem:"
/// line naming it. Reads files: call it on a worker thread.
/// A "Problem:" line first when nothing merges or there is one task (File ▸ New refuses both).
QString describeMergeHtml(const std::string &base, const std::vector<std::string> &models,
                          const std::vector<std::string> &names, const MergeOptions &options);

/// Why a project whose base and tasks share no tensor is refused.
std::string nothingToMerge();

} // namespace mf::ui
