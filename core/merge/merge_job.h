// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/gguf.h"
#include "merge/merger.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mf {

/// A whole file-to-file merge, as `mergefront-cli merge` and the GUI's export run it.
struct MergeRequest {
    std::string basePath;
    std::vector<std::string> modelPaths;
    std::vector<std::string> taskNames; ///< empty: derived from the file names
    /// One per model; with coefficient groups (options.groups) the tasks x columns matrix,
    /// task by task.
    std::vector<double> coefficients;
    MergeOptions options;
    std::string outPath; ///< .safetensors, .pt, .pth, .bin, .gguf; anything else: a folder
    /// outPath is a PEFT adapter folder (merge/adapter_output.h): task arithmetic over LoRA
    /// adapters only, written as one exact adapter.
    bool adapterOutput = false;
    std::uint64_t shardSize = 0; ///< safetensors: bytes per shard (0 = one file; folder: 5 GB)
    std::optional<DType> dtype;  ///< floating tensors written in this dtype (default: the base's)
    /// .gguf output: the type of 2-D weights (default: the base's dtype; f64 as f32)
    std::optional<GgmlType> ggufType;
    std::string
        tokenizerFrom;      ///< folder or GGUF output: the task whose tokenizer goes in ("": base)
    std::string origin;     ///< the model card's "how": a command line or a project
    std::string cardExtra;  ///< markdown appended to the model card (a project's metrics)
    int threads = 0;        ///< 0 = all cores
    bool sync = true;       ///< fsync before the atomic rename
    Metadata extraMetadata; ///< added to the output's provenance
    /// A replayed recipe's fingerprints (the base's, then each model's): a source that does not
    /// match any more is refused, all of them named, before anything is written. Empty: none.
    std::vector<std::string> expectedFingerprints;
};

/// A tensor left out of the merge (copied from the base), and why.
struct LeftOutTensor {
    std::string name;
    std::string reason;
};

struct MergeReport {
    std::uint64_t mergedTensors = 0;
    std::uint64_t mergedParameters = 0;
    std::uint64_t copiedTensors = 0;
    std::vector<LeftOutTensor> copied;     ///< every tensor copied from the base, with the reason
    std::vector<std::string> ignored;      ///< tensors only in some task, not in the output
    std::vector<std::string> carried;      ///< task-only tensors carried unchanged ("name (task)")
    std::vector<std::string> notes;        ///< how the inputs were read, ties, files copied
    std::vector<std::string> fingerprints; ///< the base's, then each task's (computed once)
    MemoryEstimate estimate;
    std::vector<std::string> outputs; ///< files written (entry point last: the folder for one)
    std::uint64_t bytesTouched = 0;   ///< inputs read + output written
    double seconds = 0;               ///< merge wall time (prepare + stream + commit)
};

/// Short names for tasks from their paths ("finetuned_a.safetensors" -> "finetuned_a").
std::vector<std::string> taskNamesFromPaths(const std::vector<std::string> &paths);

/// Opens and checks the inputs, plans, and says the plan and estimate through `log`;
/// writes nothing (`merge --dry-run`).
MergeReport planMergeOnly(const MergeRequest &request,
                          const std::function<void(const std::string &)> &log);

/// Opens the checkpoints, plans, says the plan and the memory estimate through `log`,
/// merges, and writes the output atomically: a file, a sharded set, or a whole model folder
/// (weights in HF's layout, the base's config and generation config, the tokenizer files, a
/// README.md model card), or one GGUF file (merge/gguf_output.h), or one PEFT adapter folder
/// (request.adapterOutput; merge/adapter_output.h). Refuses to write over an input or
/// into a source folder. Throws mf::Error (nothing written) on bad input, mf::Cancelled when
/// `progress` says stop.
MergeReport runMerge(const MergeRequest &request,
                     const std::function<void(const std::string &)> &log,
                     const ProgressCallback &progress = {});

} // namespace mf
