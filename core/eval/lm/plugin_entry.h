// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What the LibTorch plugin's entry points (torch_plugin_entry.cpp) call in its causal-LM code;
// no torch types, so the entry file builds without LibTorch's headers.
#include "eval/language_model.h"
#include "eval/lm/causal_lm.h"

#include <memory>
#include <vector>

namespace mf::eval::lm {

std::unique_ptr<CausalLm> torchLoadCausalLm(const LmConfig &config, const Checkpoint &weights,
                                            const CausalLmOptions &options);
LanguageTrainReport torchTrainCausalLm(Network &network, const LmConfig &config, int context,
                                       const std::vector<TokenStream> &streams,
                                       const LanguageTrainOptions &options);

} // namespace mf::eval::lm
