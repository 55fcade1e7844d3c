// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Recipes (docs/RECIPES.md): a merge written down so that it replays bit for bit, the sources
// by path and fingerprint, the method and its parameters, the coefficient groups, and the
// coefficient matrix. An export's sidecar is a recipe (with the project's metrics beside it).
#include "merge/groups.h"
#include "merge/merge_job.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mf {

constexpr int kRecipeVersion = 1;

/// Row `task` of a task-major coefficient matrix with `columns` columns.
std::vector<double> taskRow(const std::vector<double> &matrix, std::size_t task,
                            std::size_t columns);

/// [{"name", "include", "ramp"}, ...] (docs/PROJECT.md `merge.groups`).
nlohmann::ordered_json groupsJson(const std::vector<CoefficientGroup> &groups);
/// Reads what groupsJson writes; throws mf::Error naming `where` and the group at fault.
std::vector<CoefficientGroup> readGroups(const nlohmann::json &array, const std::string &where);

/// The coefficients as a recipe, the front and a project's files write them: one number per
/// task without groups; else one row (per group column) per task.
nlohmann::ordered_json coefficientsJson(const std::vector<double> &coefficients,
                                        std::size_t columns);
/// Reads either form back (a flat list of tasks x columns numbers, task by task, is taken too);
/// throws mf::Error naming `where` when the shape is not tasks x columns.
std::vector<double> readCoefficientMatrix(const nlohmann::json &value, std::size_t tasks,
                                          std::size_t columns, const std::string &where);

/// The recipe of a merge that ran: `request` as run, `report` for the fingerprints it read.
/// Paths are written absolute.
nlohmann::ordered_json recipeJson(const MergeRequest &request, const MergeReport &report);

/// Reads a recipe (or an export's sidecar) into the merge it describes: sources (relative
/// paths resolved against the recipe's folder), names, method, parameters, groups,
/// coefficients, dtype, shard size, tokenizer source, and the fingerprints runMerge must find
/// (it refuses to write, naming every changed source, otherwise). outPath is left empty.
/// Throws mf::Error naming the file and the key at fault.
MergeRequest readRecipe(const std::string &path);

} // namespace mf
