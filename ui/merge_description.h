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
QString describeMergeHtml(const std::string &base, const std::vector<std::string> &models,
                          const std::vector<std::string> &names, const MergeOptions &options);

} // namespace mf::ui
