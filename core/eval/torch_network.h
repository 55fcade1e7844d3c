// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The LibTorch implementations behind network.h (in mergefront::eval_torch; the plugin's
// entry points call them). Use network.h's trainNetwork / networkModule instead: they load
// the plugin, so the caller does not link LibTorch.
#include "eval/network.h"

namespace mf::eval {

TrainReport torchTrainNetwork(Network &network, const LabelledImages &data,
                              const TrainOptions &options);
std::string torchNetworkModule(const Network &network);

} // namespace mf::eval
