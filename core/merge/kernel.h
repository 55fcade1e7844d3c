// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"
#include "merge/merge_plan.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mf {

/// The c-independent preprocessing of one tensor's task vectors, as a few numbers per task,
/// so the fused kernel can rebuild τ̃_t on the fly from the mapped inputs at any c.
struct TensorTransform {
    MergeMethod method = MergeMethod::TaskArithmetic;
    bool disjointMean = false;
    double dropRate = 0;                 ///< DARE p
    std::vector<std::uint64_t> dareKeys; ///< per task: seeds the mask of this tensor
    std::vector<float> trimThresholds;   ///< per task: TIES keeps |τ| >= threshold
};

/// The DARE key of (seed, task index, tensor name): a mask independent of threads and order.
std::uint64_t dareKey(std::uint64_t seed, std::size_t task, const std::string &tensorName);

/// True when DARE keeps element `index` of the tensor whose key is `key`.
inline bool dareKeeps(std::uint64_t key, std::uint64_t index, std::uint64_t dropBelow);

/// Builds the transform of a merged tensor: DARE keys, and for TIES the per-task magnitude
/// threshold that keeps ceil(density * n) entries (exact radix select over |τ| in two
/// streaming passes, no copy of the tensor).
TensorTransform prepareTransform(const TensorPlan &tensor, const MergeOptions &options);

/// The coefficient-independent τ̃ of task `taskIndex` for `count` elements from `first`:
/// τ = task - base, then DARE's drop and 1/(1-p) rescale, then TIES's trim (per `transform`).
/// mergeBlock builds its τ̃ with it; the device merge derives its masks from it.
template<typename Real>
void taskVectorBlock(const Real *base, const Real *task, std::size_t taskIndex, std::size_t count,
                     std::uint64_t first, const TensorTransform &transform, Real *tau);

/// Merges `count` elements starting at element `first` of the tensor:
/// out = base + Σ_t c_t τ̃_t. `tasks` holds one pointer per task; `scratch` needs
/// (tasks + 1) * count elements for TIES, none for task arithmetic.
template<typename Real>
void mergeBlock(const Real *base, const Real *const *tasks, const Real *coefficients,
                std::size_t taskCount, std::size_t count, std::uint64_t first,
                const TensorTransform &transform, Real *scratch, Real *out);

/// Elements per block of the streaming kernel: (N + 3) blocks stay in L2 cache.
constexpr std::size_t kMergeBlock = 16384;

// -- inline -------------------------------------------------------------------------------

inline bool dareKeeps(std::uint64_t key, std::uint64_t index, std::uint64_t dropBelow)
{
    std::uint64_t x = key + index * 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return (x ^ (x >> 31)) >= dropBelow;
}

} // namespace mf
