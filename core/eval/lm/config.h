// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What a causal language model's config.json says about its arithmetic, read per family
// (families.cpp) and checked: a key that would change the computation and that Mergefront does
// not implement is refused naming it, never ignored. No torch here: the forward that uses it is
// in the LibTorch plugin (causal_lm.h).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mf::eval::lm {

/// The two forwards there are: a Llama-style decoder (RMSNorm, rotary embedding, grouped-query
/// attention, gated MLP; llama, mistral, qwen2, qwen3) and GPT-2's (LayerNorm, learned positions,
/// Conv1D weights [in, out]).
enum class Layout { Decoder, Gpt2 };

struct LmConfig {
    std::string family; ///< config.json's model_type: llama, mistral, qwen2, qwen3, gpt2
    std::string file;   ///< the config.json read (for messages)
    Layout layout = Layout::Decoder;
    int vocab = 0;             ///< vocab_size: rows of the embedding and the head
    int hidden = 0;            ///< hidden_size / n_embd
    int layers = 0;            ///< num_hidden_layers / n_layer
    int heads = 0;             ///< num_attention_heads / n_head
    int kvHeads = 0;           ///< num_key_value_heads (heads when absent): grouped-query attention
    int headDim = 0;           ///< head_dim, else hidden / heads
    int intermediate = 0;      ///< intermediate_size / n_inner (4 hidden for GPT-2 when null)
    int maxPositions = 0;      ///< max_position_embeddings / n_positions
    double normEpsilon = 1e-6; ///< rms_norm_eps / layer_norm_epsilon
    std::string activation;    ///< hidden_act / activation_function: silu, gelu_new, gelu, relu
    bool tiedHead = true;      ///< tie_word_embeddings: the head is the embedding matrix
    bool qkvBias = false;      ///< q/k/v projections have biases (attention_bias; qwen2 always)
    bool outputBias = false;   ///< o_proj has a bias (attention_bias)
    bool mlpBias = false;      ///< gate/up/down have biases (mlp_bias)
    bool qkNorm = false;       ///< per-head RMSNorm of q and k before the rotation (qwen3)
    // Rotary embedding (Decoder): inv_freq_i = 1 / theta^(2i / headDim), then the scaling.
    double ropeTheta = 10000;            ///< rope_theta
    std::string ropeScaling = "default"; ///< rope_scaling's type: default, linear, llama3
    double ropeFactor = 1;               ///< rope_scaling.factor (linear, llama3)
    double lowFreqFactor = 1;            ///< llama3: low_freq_factor
    double highFreqFactor = 4;           ///< llama3: high_freq_factor
    double originalMaxPositions = 8192;  ///< llama3: original_max_position_embeddings
    /// Attention sees only the last `slidingWindow` positions (0: every position). Evaluating
    /// longer sequences would need that mask: refused by checkLength(), naming slidingWindowKey.
    int slidingWindow = 0;
    std::string slidingWindowKey;
    std::string bosToken, eosToken; ///< not read here: the tokenizer's (for messages only)

    /// Throws mf::Error naming the key when sequences of `length` tokens would need what this
    /// model's config asks for and Mergefront does not compute (a sliding window shorter than it).
    void checkLength(int length) const;
    /// "llama, 2 layers, hidden 64, 4 heads (2 kv), vocab 32000, tied head"
    std::string describe() const;
};

/// The families there are, in the order messages list them.
const std::vector<std::string> &lmFamilies();
/// Reads `path` (a model folder or its config.json). Throws mf::Error naming the file and key:
/// an unknown model_type or activation, an unknown rope_scaling type (yarn, dynamic, longrope),
/// logit soft-capping, quantized weights, sizes that do not fit together.
LmConfig readLmConfig(const std::string &path);
/// Whether `path` is a folder whose config.json names one of lmFamilies() (never throws).
bool isLanguageModelFolder(const std::string &path);

} // namespace mf::eval::lm
