// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The LibTorch implementations behind network.h (in mergefront::eval_torch; the plugin's
// entry points call them). Use network.h's trainNetwork / networkModule instead: they load
// the plugin, so the caller does not link LibTorch.
#include "eval/language_model.h"
#include "eval/network.h"

namespace mf::eval {

TrainReport torchTrainNetwork(Network &network, const LabelledImages &data,
                              const TrainOptions &options);
std::string torchNetworkModule(const Network &network);
LanguageTrainReport torchTrainLanguageModel(Network &network, const Gpt2Config &config,
                                            const std::vector<TokenStream> &streams,
                                            const LanguageTrainOptions &options);
std::string torchLanguageModelModule(const Network &network, const Gpt2Config &config);

/// Throws mf::Error when a stream is shorter than one window of context + 1 tokens or holds
/// an id outside [0, vocab).
void checkStreams(const std::vector<TokenStream> &streams, int context, int vocab);

/// Sets LibTorch's intra-op threads and returns the count: `requested` when > 0; otherwise
/// all cores where LibTorch's BLAS follows that setting (MKL), and 1 where the BLAS threads
/// itself (Debian's LibTorch on OpenBLAS-pthread: every GEMM already uses all cores, and
/// intra-op threads on top oversubscribe them: the example's evaluation step took 0.17-0.23 s
/// with 2 intra-op threads against 0.095 s with 1 on the 2-core development machine).
int setTorchThreads(int requested);

/// Large activations stay on the heap between forwards instead of being mapped and unmapped by
/// glibc each time (page faults and zeroing); process-wide, set once.
void keepActivationsOnHeap();

/// The LibTorch device for "auto" (the first CUDA device when LibTorch has one, else the CPU),
/// "cpu", "cuda" or "cuda:N", as torch::Device spells it. Throws mf::Error for an unknown name
/// or CUDA asked for where there is none.
std::string resolveTorchDevice(const std::string &name);

} // namespace mf::eval
