// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "io/read_ahead.h"
#include "merge/kernel.h"
#include "merge/merge_plan.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mf {

struct Progress {
    std::uint64_t done = 0; ///< units done (bytes for merging, tensors for preparing)
    std::uint64_t total = 0;
    const char *stage = ""; ///< "preparing", "merging"
};

/// Called now and then from a worker thread (serialized); return false to stop the work,
/// which then throws mf::Cancelled.
using ProgressCallback = std::function<bool(const Progress &)>;

/// What a merge will need, said before it starts.
struct MemoryEstimate {
    std::uint64_t inputBytes = 0;   ///< read from the memory-mapped inputs (page cache)
    std::uint64_t outputBytes = 0;  ///< written once, through the page cache
    std::uint64_t workingBytes = 0; ///< heap: per-thread blocks and selection counts
    /// Input pages mapped into the process at once, at most: the inputs stream through a
    /// read-ahead window and are released once merged (io/read_ahead.h).
    std::uint64_t mappedBytes = 0;
    /// The process's resident size for the merge, at most: mapped plus working bytes.
    std::uint64_t residentBytes() const { return mappedBytes + workingBytes; }
};

/// Whether a merge reads and writes more than half the machine's memory: the page cache cannot
/// keep it for the next one, so what it has read and written is evicted as it goes rather
/// than pushing other programs' pages out.
bool largerThanMemory(const MemoryEstimate &estimate);

/// Whether a merge streams its inputs (read ahead, released once merged) rather than mapping
/// them whole up front: when they exceed an eighth of the memory. Smaller inputs stay mapped
/// (their resident size is bounded by that eighth), which is faster for the many merges of a
/// MAP run. MERGEFRONT_STREAM_INPUTS=always|never overrides it (tests, benchmarks).
bool streamsInputs(std::uint64_t inputBytes);

/// Streams θ₀ + Σ c_t τ̃_t tensor by tensor and block by block from the mapped inputs,
/// on several threads, never holding more than a few blocks per thread; the inputs are read
/// ahead of the threads and released behind them (io/read_ahead.h). The checkpoints
/// must outlive the Merger. prepare() does the c-independent work once; mergeInto() and
/// mergeTensor() then run at any coefficients.
class Merger {
public:
    Merger(const Checkpoint &base, std::vector<const Checkpoint *> tasks,
           std::vector<std::string> taskNames, MergeOptions options);

    const MergePlan &plan() const { return m_plan; }
    const MergeOptions &options() const { return m_options; }
    std::size_t taskCount() const { return m_tasks.size(); }
    /// Coefficients a merge takes: tasks x group columns (tasks without groups), task by task.
    std::size_t coefficientCount() const { return m_tasks.size() * m_plan.columns.size(); }

    /// The per-task coefficients of plan tensor `index` at the coefficient matrix
    /// `coefficients` (coefficientCount() numbers, task-major): its group's column, or its
    /// place on a ramp.
    std::vector<double> tensorCoefficients(std::size_t index,
                                           const std::vector<double> &coefficients) const;

    /// TIES thresholds and DARE keys for every merged tensor. Runs once; later calls return.
    void prepare(int threads, const ProgressCallback &progress = {});
    bool prepared() const { return m_prepared; }

    MemoryEstimate estimate(int threads) const;

    /// The output's tensor list: the plan's tensors (the base's, then task-only ones), names,
    /// shapes and dtypes; floating tensors in `floatingAs` when given (bf16, f16, f32, f64);
    /// without the duplicates of one storage when `omitDuplicates` (a model folder).
    std::vector<OutputTensor> outputTensors(std::optional<DType> floatingAs = {},
                                            bool omitDuplicates = false) const;

    /// `coefficients`: coefficientCount() numbers (task-major: task t's group columns at
    /// t * columns). Writes every tensor of `writer` (built from outputTensors(), all or a subset,
    /// matched by name) in the writer's dtype for it (converted through float, or double for f64).
    void mergeInto(CheckpointWriter &writer, const std::vector<double> &coefficients, int threads,
                   const ProgressCallback &progress = {}) const;

    /// A range of elements of one plan tensor (mergeRanges' unit of work).
    struct Range {
        std::size_t tensor = 0; ///< index into plan().tensors
        std::uint64_t start = 0;
        std::uint64_t count = 0;
    };
    /// Called on a worker thread with range `range`'s merged values as float (`count` of them;
    /// the base's values for a tensor that is not merged); returns the bytes it wrote, for the
    /// progress. `worker` (0 .. threads-1) lets it keep per-thread buffers.
    using RangeSink =
        std::function<std::uint64_t(std::size_t range, const float *values, int worker)>;
    /// Merges `ranges` on `threads` threads and hands each to `sink` (outputs laid out
    /// differently from the plan's tensors: GGUF's permuted, transposed, quantized rows).
    /// `totalBytes`: what the sinks write in all (the progress's total).
    void mergeRanges(const std::vector<Range> &ranges, const std::vector<double> &coefficients,
                     int threads, std::uint64_t totalBytes, const RangeSink &sink,
                     const ProgressCallback &progress = {}) const;

    /// Gram matrix of the raw task vectors τ_t = θ_t − θ₀ over every merged tensor (row-major
    /// N x N, Σ τ_a·τ_b in double): cosine similarities for nested MAP. One streaming pass.
    std::vector<double> taskVectorGram(int threads) const;

    /// The c-independent preprocessing of plan tensor `index` (after prepare()).
    const TensorTransform &transform(std::size_t index) const { return m_transforms.at(index); }

    /// One tensor of the merge (index into plan().tensors), as float, single-threaded.
    void mergeTensor(std::size_t index, const std::vector<double> &coefficients, float *out) const;

private:
    void checkCoefficients(const std::vector<double> &coefficients) const;
    /// How the inputs stream through a pass that writes `outputBytes`.
    ReadAhead::Options streamOptions(std::uint64_t outputBytes) const;

    std::vector<const Checkpoint *> m_tasks;
    std::vector<std::string> m_taskNames;
    MergeOptions m_options;
    MergePlan m_plan;
    std::vector<TensorTransform> m_transforms; ///< per plan tensor (empty when copied)
    bool m_prepared = false;
};

} // namespace mf
