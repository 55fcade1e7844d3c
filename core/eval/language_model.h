// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The text example's language model: exactly the GPT-2 of Hugging Face transformers
// (GPT2LMHeadModel: learned position embeddings, pre-LayerNorm blocks, Conv1D weights stored
// [in, out], gelu_new, the head tied to transformer.wte). No torch header: training and the
// TorchScript module are made by the LibTorch plugin (torch_plugin.h), like network.h's MLP.
#include "eval/network.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mf::eval {

/// The sizes config.json gives a GPT-2 (n_layer, n_embd, n_head, n_positions, vocab_size).
struct Gpt2Config {
    int vocab = 257;   ///< vocab_size: the 256 byte symbols and <|endoftext|>
    int context = 128; ///< n_positions (and n_ctx)
    int width = 128;   ///< n_embd
    int layers = 4;    ///< n_layer
    int heads = 4;     ///< n_head (width % heads == 0)
    double layerNormEpsilon = 1e-5;

    /// Throws mf::Error naming the size at fault.
    void validate() const;
};

/// The parameters of a GPT-2 as GPT2LMHeadModel's state dict names and shapes them
/// (transformer.wte.weight [vocab, width], transformer.wpe.weight, transformer.h.N.ln_1,
/// .attn.c_attn [width, 3 width], .attn.c_proj, .ln_2, .mlp.c_fc [width, 4 width], .mlp.c_proj,
/// transformer.ln_f; no lm_head.weight: it is tied to wte and save_pretrained drops it), in
/// that order, initialized as transformers' _init_weights does (normal(0, 0.02); the two
/// c_proj weights of each block 0.02 / sqrt(2 n_layer); biases 0, LayerNorms 1 and 0) from a
/// counter-based stream: the same numbers on every machine.
Network gpt2Parameters(const Gpt2Config &config, std::uint64_t seed);

/// A tensor of `shape` filled with `value`, or, when std > 0, with normal(0, std) from a
/// counter-based stream keyed by the tensor's name and `seed` (the same on every machine).
NamedTensor makeTensor(const std::string &name, std::vector<std::int64_t> shape, double std,
                       double value, std::uint64_t seed);

/// Throws mf::Error naming the first tensor whose name, shape or value count is not
/// gpt2Parameters(config)'s.
void checkGpt2Parameters(const Network &network, const Gpt2Config &config);

/// One text stream of token ids (each in [0, vocab)), and how much of it a batch row draws.
struct TokenStream {
    std::string name;
    std::vector<std::int32_t> tokens;
};

struct LanguageTrainOptions {
    int steps = 300;
    int batchSize = 16;         ///< windows of `context` tokens per step
    double learningRate = 1e-3; ///< Adam's peak; linear warm-up, then cosine to a tenth
    int warmupSteps = 20;
    double clipNorm = 1.0;       ///< the gradients' global norm is clipped to this
    std::uint64_t seed = 0;      ///< which stream and window each batch row takes
    int threads = 0;             ///< LibTorch intra-op threads (0: automatic, see setTorchThreads)
    std::string device = "auto"; ///< "auto" (CUDA when LibTorch has it), "cpu", "cuda[:N]"
    /// Every `progressEvery` steps and after the last: (step, mean loss since the last call);
    /// false stops early.
    int progressEvery = 50;
    std::function<bool(int, double)> progress;
};

struct LanguageTrainReport {
    double loss = 0;    ///< mean next-token cross-entropy (nats) over the last report's steps
    std::string device; ///< where it trained ("cpu", "cuda:0")
    double seconds = 0;
    int steps = 0;
};

/// Trains `network` in place, next-token cross-entropy on windows of `config.context + 1`
/// tokens drawn at seeded random positions; each batch row first picks one of `streams`
/// uniformly (a mix for pretraining, one stream for a fine-tune). Throws mf::Error when a
/// stream is shorter than one window, holds an id outside the vocabulary, or training diverges.
LanguageTrainReport trainLanguageModel(Network &network, const Gpt2Config &config,
                                       const std::vector<TokenStream> &streams,
                                       const LanguageTrainOptions &options);

/// The TorchScript module (torch.jit.save's bytes) of the GPT-2: forward(input_ids [n, T])
/// returns the logits [n, T, vocab]; evaluate(inputs, targets) returns the perplexity,
/// exp(mean next-token cross-entropy over every target that is not -100). Its parameters have
/// the Hugging Face names, so a merged folder's tensors map onto them unchanged.
std::string languageModelModule(const Network &network, const Gpt2Config &config);

} // namespace mf::eval
