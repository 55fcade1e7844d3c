// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A Llama-style decoder made from nothing: its parameters, its config.json, and next-token
// training through the LibTorch plugin (the language-model example's Llama variant). No torch.
#include "eval/language_model.h"
#include "eval/lm/config.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace mf::eval::lm {

/// The parameters of a decoder of `config` (layout Decoder) as transformers names them, in
/// state-dict order, initialized as _init_weights does: linear and embedding weights
/// normal(0, 0.02), RMSNorm weights 1, biases 0 (no lm_head.weight when the head is tied).
Network decoderParameters(const LmConfig &config, std::uint64_t seed);

/// config.json of that decoder, with the keys transformers' config class writes (LlamaConfig's
/// for family "llama"); bos / eos token ids as given.
nlohmann::json decoderConfigJson(const LmConfig &config, int bosTokenId, int eosTokenId);

/// Trains `network` (decoderParameters' names and shapes) in place on windows of `context` + 1
/// tokens, as trainLanguageModel trains the GPT-2 (the same loop), with the forward the
/// causal-lm evaluator scores with. Throws mf::Error when the plugin is missing, a stream is
/// shorter than a window or holds an id outside the vocabulary, or training diverges.
LanguageTrainReport trainCausalLm(Network &network, const LmConfig &config, int context,
                                  const std::vector<TokenStream> &streams,
                                  const LanguageTrainOptions &options);

} // namespace mf::eval::lm
