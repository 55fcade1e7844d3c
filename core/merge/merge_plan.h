// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"
#include "merge/groups.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mf {

enum class MergeMethod { TaskArithmetic, Ties, Dare, DareTies };

const char *methodName(MergeMethod method); ///< "task_arithmetic", "ties", "dare", "dare_ties"
MergeMethod parseMergeMethod(const std::string &name); ///< throws mf::Error on unknown names

/// How task vectors are preprocessed (METHOD.md section 2). Independent of coefficients.
struct MergeOptions {
    MergeMethod method = MergeMethod::TaskArithmetic;
    double density = 0.2;      ///< TIES: fraction of each task vector kept by magnitude, (0, 1]
    double dropRate = 0.9;     ///< DARE: probability p of dropping an entry, [0, 1)
    std::uint64_t seed = 0;    ///< DARE: seeds the mask, mixed with task index and tensor name
    bool disjointMean = false; ///< TIES: divide by the number of tasks that agree on the sign
    std::string include;       ///< only tensors whose name matches (ECMAScript regex), if set
    std::string exclude;       ///< never tensors whose name matches, if set
    /// A tensor in exactly one task and not in the base (the task's own head): carried into
    /// the output unchanged (true, the default) or left out.
    bool keepTaskOnly = true;
    /// Coefficient groups (block-wise merging): empty, one coefficient per task; else every
    /// merged tensor in exactly one group and a coefficient matrix tasks x groupColumns().
    std::vector<CoefficientGroup> groups;
};

/// Throws mf::Error when an option is out of range or a regex does not compile.
void validateMergeOptions(const MergeOptions &options);

/// What happens to one tensor of the base checkpoint.
struct TensorPlan {
    std::string name;                     ///< the output tensor's name
    const TensorRef *base = nullptr;      ///< its base values (a task's, when task-only)
    std::vector<const TensorRef *> tasks; ///< one per task when merged, else empty
    bool merged = false;
    std::string reason;         ///< why the tensor is copied from the base (or from its task)
    int taskOnly = -1;          ///< >= 0: only in this task, carried unchanged
    bool shapeMismatch = false; ///< left out because a task has another shape
    /// >= 0: the plan index of the tensor this one is the same storage as, in the base and in
    /// every task (a `.bin`'s lm_head.weight on the word embeddings): merged exactly as that
    /// one, and written once in a model folder (as save_pretrained does).
    int duplicateOf = -1;
    GroupMember group; ///< merged: where its coefficients come from
};

/// Which tensors merge and which are left out, and why. Output = the base's tensor list.
struct MergePlan {
    std::vector<TensorPlan> tensors;         ///< in the base's order, then task-only ones
    std::vector<std::string> ignoredTensors; ///< "name (only in task 'x')": not in the output
    std::vector<std::string> tiedNotes;      ///< tied weights met, and what was done
    /// Names the base ties (stores no tensor for) that a task stores untied: the output stores
    /// them (the base's tied tensor + the task vectors), so its config must untie them.
    std::vector<std::string> untied;
    std::vector<CoefficientGroup> groups; ///< as given in the options
    std::vector<std::string> columns;     ///< groupColumns(groups): the matrix's columns
    std::uint64_t taskOnlyTensors = 0;
    std::uint64_t mergedTensors = 0;
    std::uint64_t mergedParameters = 0;
    std::uint64_t copiedTensors = 0;
};

/// The plan in words, one line each, as `merge` says it before it starts: the summary
/// ("N tensors (P parameters) merged, M copied from the base"), each floating tensor left out
/// and why, each task-only tensor, and a warning when nothing merges.
std::vector<std::string> describePlan(const MergePlan &plan);

/// Matches the base against every task: a floating tensor merges when every task has it
/// (stored, or tied to a tensor it stores) with the same shape and the filters let it
/// through; anything else is copied from the base, with the reason named. A tensor in exactly
/// one task and not in the base is carried unchanged (options.keepTaskOnly) or left out; one
/// in several tasks and not in the base is left out and named. Never throws for mismatches;
/// they are reported.
MergePlan planMerge(const Checkpoint &base, const std::vector<const Checkpoint *> &tasks,
                    const std::vector<std::string> &taskNames, const MergeOptions &options);

} // namespace mf
