// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// PEFT LoRA adapters (huggingface/peft, tuners/lora) as task checkpoints. A folder with
// adapter_config.json and adapter_model.safetensors (or .bin) is opened against the base it
// adapts: every base tensor the adapter touches becomes a tensor whose values are computed
// block by block from the low-rank factors (ΔW = scale · B A, as PEFT's get_delta_weight),
// never materialized; every tensor it does not touch is the base's own (a zero task vector).
#include "io/checkpoint.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mf {

/// adapter_config.json, the fields the delta depends on.
struct AdapterConfig {
    std::string peftType; ///< "LORA"
    int r = 8;
    double alpha = 8;
    bool rslora = false;      ///< scale alpha / sqrt(r) instead of alpha / r
    bool fanInFanOut = false; ///< weights stored [in, out] (GPT-2's Conv1D)
    bool dora = false;
    bool loraBias = false;
    /// Per-module rank and alpha: the first key matching `(.*\.)?(KEY)$` wins (PEFT's
    /// get_pattern_key), in the file's order.
    std::vector<std::pair<std::string, int>> rankPattern;
    std::vector<std::pair<std::string, double>> alphaPattern;
    std::vector<std::string> targetModules; ///< a list ...
    std::string targetRegex;                ///< ... or one regex (full match)
    std::vector<int> layersToTransform;
    std::vector<std::string> modulesToSave;
    std::string baseModel; ///< base_model_name_or_path
};

/// True when `path` is a PEFT adapter: a folder holding adapter_config.json, or an
/// adapter_model.* file beside one.
bool isAdapterPath(const std::string &path);

/// The adapter folder of an adapter path (the path itself, or the file's folder).
std::string adapterFolder(const std::string &path);

/// Reads adapter_config.json of `folder`. mf::Error names the file and key at fault; a
/// peft_type other than LORA (LoHa, LoKr, IA3, ...) is refused by name.
AdapterConfig readAdapterConfig(const std::string &folder);

/// The adapter's own tensors (adapter_model.safetensors, else adapter_model.bin), as stored,
/// format "peft-lora", with adapter_config.json as the metadata "peft.adapter_config" (so the
/// fingerprint follows the config too). Checkpoint::open refuses an adapter folder: it is no
/// whole model.
Checkpoint openAdapterWeights(const std::string &path);

/// The key prefix of PEFT's saved state dict: base_model.model.<module>.lora_A.weight.
constexpr const char *kPeftKeyPrefix = "base_model.model.";

/// A task checkpoint as stored, without its base: an adapter's own tensors, else
/// Checkpoint::open (inspect, and the fingerprints of a project's tasks).
Checkpoint openStored(const std::string &path);

/// One adapted module, as the adapter stores it.
struct AdapterModule {
    std::string module; ///< "model.layers.0.self_attn.q_proj"
    std::string weight; ///< the base tensor it changes: module + ".weight"
    int rank = 0;       ///< rows of lora_A
    double alpha = 0;   ///< after alpha_pattern
    double scale = 0;   ///< alpha / r, or alpha / sqrt(r) with rsLoRA
    bool embedding = false;
    bool transposed = false; ///< ΔW = (B A)ᵀ: fan_in_fan_out / Conv1D, and embeddings
    bool dora = false;
    bool bias = false; ///< lora_B.bias (lora_bias)
    const TensorRef *a = nullptr, *b = nullptr, *magnitude = nullptr, *loraBias = nullptr;
};

/// What an adapter holds, by module: read from its config and its tensors, checked against
/// each other (A and B present, ranks as the config says). No base needed.
struct AdapterSummary {
    AdapterConfig config;
    std::vector<AdapterModule> modules;
    /// Full tensors it carries (modules_to_save, resized embedding base layers): the name in
    /// the model -> the adapter's tensor.
    std::vector<std::pair<std::string, const TensorRef *>> saved;
    std::uint64_t parameters = 0; ///< of the adapted modules' factors and the saved tensors
    std::set<std::string> kinds;  ///< the adapted modules' last names (q_proj, v_proj, ...)
    std::set<int> layers;         ///< the layer numbers in their names
    /// Modules the file holds factors for that target_modules / layers_to_transform do not
    /// select: PEFT builds no LoRA layer there and ignores them, and so do we.
    std::vector<std::string> ignored;
};
/// `weights` must outlive the summary. `name` names the adapter in errors.
AdapterSummary summarizeAdapter(const Checkpoint &weights, const AdapterConfig &config,
                                const std::string &name);

/// Lines for `inspect`: rank(s), alpha(s), scale, targets, layers, DoRA / rsLoRA / bias,
/// modules_to_save, parameter count, the base it expects.
std::vector<std::string> describeAdapter(const AdapterSummary &summary);

/// How a bound adapter tensor's values are made from its source (the base's tensor, or a
/// tensor the adapter saves in its place): readValues() computes them block by block.
struct TensorDelta {
    enum class Kind { LowRank, Dora, Bias };
    Kind kind = Kind::LowRank;
    TensorRef source;       ///< W (dense)
    std::uint64_t rows = 0; ///< the stored layout, as a matrix [rows, cols]
    std::uint64_t cols = 0;
    std::size_t rank = 0;
    std::vector<float> left;  ///< rows x rank
    std::vector<float> right; ///< rank x cols: ΔW = scale · left · right
    double scale = 1;
    bool transposed = false; ///< left = Aᵀ, right = Bᵀ (else left = B, right = A)
    bool embedding = false;  ///< lora_embedding_A / lora_embedding_B
    std::string module;      ///< the adapter's module ("model.embed_tokens")
    /// DoRA: magnitude / ‖W + ΔW‖ per output feature (a row, or a column when `perColumn`).
    std::vector<double> factor;
    bool perColumn = false;
    std::vector<float> bias; ///< Bias: values = source + scale · bias
};

/// The values of elements [start, start + count) of `tensor`: converted from its bytes, or,
/// for a bound adapter's tensor, computed from its delta (r multiply-adds per element).
void readValues(const TensorRef &tensor, std::uint64_t start, std::size_t count, float *out);
void readValues(const TensorRef &tensor, std::uint64_t start, std::size_t count, double *out);

/// Opens the adapter at `path` against `base` as a task checkpoint with the base's tensor
/// list: tensors the adapter changes carry their TensorDelta, tensors it saves whole are
/// its own, every other tensor is the base's. mf::Error names the adapter and the module:
/// a module the base lacks, factors that do not fit the base weight, lora_bias on a module
/// without a bias. A base_model_name_or_path other than the base's _name_or_path is a note
/// (names often differ), as are the modules' ranks, scales and targets.
Checkpoint bindAdapter(const std::string &path, const Checkpoint &base);

/// A task checkpoint: bindAdapter for an adapter path, else Checkpoint::open.
Checkpoint openTaskCheckpoint(const std::string &path, const Checkpoint &base);

} // namespace mf
