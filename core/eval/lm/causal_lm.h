// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A causal language model loaded for scoring: the forward lives in the LibTorch plugin
// (torch_causal_lm.cpp); this header has no torch types. Weights can be overwritten in place
// (the evaluator merges into them), and scoring returns log-likelihoods of token spans.
#include "eval/job_runner.h"
#include "eval/lm/config.h"
#include "io/checkpoint.h"
#include "merge/kernel.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mf::eval::lm {

/// One sequence to score: the model reads tokens[0 .. n-1) and the log-probabilities of the
/// last `targets` tokens (each predicted from the ones before it) are summed.
struct LmRequest {
    std::vector<std::int32_t> tokens; ///< at most max_length + 1 (left-truncated by the caller)
    int targets = 0;                  ///< 1 .. tokens.size() - 1
};

struct LmScore {
    double logLikelihood = 0;         ///< Σ log p(target | before), nats
    bool greedy = true;               ///< every target is the argmax of its distribution
    std::vector<float> tokenLogProbs; ///< per target, in order
};

/// One merged tensor as the device merge needs it: its values come from the mapped checkpoints
/// (which outlive the model), its c-independent preprocessing from the Merger.
struct DeviceMergeTensor {
    std::string name; ///< the live weight it is written into
    const TensorRef *base = nullptr;
    std::vector<const TensorRef *> tasks; ///< one per task
    const TensorTransform *transform = nullptr;
};

struct CausalLmOptions {
    std::string device = "auto"; ///< "auto" (CUDA when LibTorch has it), "cpu", "cuda[:N]"
    int threads = 0;             ///< LibTorch intra-op threads (0: automatic)
    int batchTokens = 0;         ///< padded tokens per forward (0: sized to the device)
};

class CausalLm {
public:
    virtual ~CausalLm() = default;
    virtual const LmConfig &config() const = 0;
    virtual std::string device() const = 0;
    /// How the weights are held, in words, for the log ("weights: f32 on cpu, 1.2 GB").
    virtual std::string memoryPlan() const = 0;
    /// Whether `name` (a checkpoint tensor name) is one of the live weights.
    virtual bool hasWeight(const std::string &name) const = 0;
    /// Overwrites the live weight `name` with `count` floats in the checkpoint's layout; a tied
    /// head given on its own is untied first. Throws mf::Error for an unknown name or a size
    /// that does not fit.
    virtual void setWeight(const std::string &name, const float *values, std::size_t count) = 0;
    /// Loads what merging on the model's device needs, once: the base and task tensors (in the
    /// checkpoint's dtype) and DARE / TIES keep-masks. They go to the device when they fit; when
    /// they do not, they stay in host memory (pinned for CUDA) and are streamed tensor by tensor.
    /// Returns that plan in words.
    virtual std::string prepareDeviceMerge(std::vector<DeviceMergeTensor> tensors) = 0;
    /// Merges prepared tensor `index` at its per-task coefficients on the device, with the
    /// arithmetic of the host kernel (mergeBlock) op for op, rounds it to the checkpoint's dtype
    /// and writes it into the live weight: what `merge` writes, bit for bit.
    virtual void mergeOnDevice(std::size_t index, const std::vector<double> &taskCoefficients) = 0;
    /// Scores every request (batched, sorted by length inside). Throws mf::Error for a token
    /// outside the vocabulary, "cancelled" when `cancel` is set, and the device's error (out of
    /// memory) in words; the model stays usable after any of them.
    virtual std::vector<LmScore> score(const std::vector<LmRequest> &requests,
                                       const CancelFlag &cancel) = 0;
};

/// Builds the model of `config` from `weights` (an opened model folder or file) through the
/// LibTorch plugin. Throws mf::Error naming the tensor that is missing or has the wrong shape.
std::unique_ptr<CausalLm> loadCausalLm(const LmConfig &config, const Checkpoint &weights,
                                       const CausalLmOptions &options);

} // namespace mf::eval::lm
