// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A task-arithmetic merge of LoRA adapters written as one PEFT adapter. Σ c_t ΔW_t of low-rank
// deltas is low-rank: the scaled factors are concatenated (rank Σ r_t), so the adapter
// reproduces the merge exactly, with no cross terms (PEFT's add_weighted_adapter "linear"
// multiplies both factors by √c, and has none of this for negative c).
#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "merge/merger.h"

#include <string>
#include <vector>

namespace mf {

/// What goes into the adapter folder.
struct AdapterOutputPlan {
    /// One LoRA module of the output: the plan tensor of its weight, and each task's delta.
    struct Module {
        std::string module;
        std::size_t weight = 0; ///< plan index
        std::vector<std::size_t> tasks;
        std::vector<const TensorDelta *> deltas;
        int rank = 0; ///< Σ of the tasks' ranks
        bool embedding = false;
        bool transposed = false;
        std::uint64_t in = 0, out = 0;
        /// lora_bias: the plan index of the module's bias and each task's bias delta.
        int bias = -1;
        std::vector<std::size_t> biasTasks;
        std::vector<const TensorDelta *> biasDeltas;
    };
    std::vector<Module> modules;
    /// modules_to_save: module name -> the plan tensors written whole (merged).
    std::vector<std::pair<std::string, std::vector<std::size_t>>> saved;
    std::string config; ///< adapter_config.json
    std::vector<OutputTensor> tensors;
    std::vector<std::string> lines; ///< the plan in words
};

/// Plans the adapter of `merger`'s merge of `tasks` (each a bound adapter). mf::Error, saying
/// why, where the merge is not low-rank: a method other than task arithmetic, a full fine-tune
/// among the tasks, a DoRA adapter. `baseModel` goes into base_model_name_or_path.
AdapterOutputPlan planAdapterOutput(const Merger &merger,
                                    const std::vector<const Checkpoint *> &tasks,
                                    const std::vector<std::string> &names, DType dtype,
                                    const std::string &baseModel);

/// Writes the adapter folder `out` atomically (adapter_config.json, adapter_model.safetensors
/// with `metadata`, README.md); returns the files written, the folder last.
std::vector<std::string> writeAdapterOutput(const Merger &merger, const AdapterOutputPlan &plan,
                                            const std::string &out,
                                            const std::vector<double> &coefficients,
                                            const Metadata &metadata, const std::string &card,
                                            bool sync);

} // namespace mf
