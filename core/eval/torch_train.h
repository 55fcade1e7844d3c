// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The next-token training loop the example language models share (GPT-2 and the Llama
// variant), for the LibTorch files of the plugin only.
#include "eval/language_model.h"

#include <torch/types.h>

#include <functional>
#include <vector>

namespace mf::eval {

/// Input ids [n, t] -> logits [n, t, vocab] from the parameters being trained.
using LogitsFunction =
    std::function<torch::Tensor(const std::vector<torch::Tensor> &, const torch::Tensor &)>;

/// The next-token trainer every example language model shares: windows of context + 1 tokens
/// at seeded random positions of a uniformly chosen stream, cross-entropy, Adam with clipping,
/// linear warm-up then a cosine to a tenth. `parameters` (on `device`) are updated in place.
LanguageTrainReport trainNextToken(std::vector<torch::Tensor> parameters, int context, int vocab,
                                   const std::vector<TokenStream> &streams,
                                   const LanguageTrainOptions &options, const torch::Device &device,
                                   const LogitsFunction &forward);

} // namespace mf::eval
