// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The LibTorch side of causal_lm.h, for the plugin's torch files only: the shared blocks of the
// forwards (torch_blocks.cpp) and the model (torch_causal_lm.cpp: loading, forwards, scoring;
// torch_device_merge.cpp: merging on the model's device).
#include "eval/language_model.h"
#include "eval/lm/causal_lm.h"
#include "eval/lm/plugin_entry.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mf::eval::lm {

namespace blocks {

constexpr double kPi = 3.14159265358979323846;

std::string shapeText(c10::IntArrayRef sizes);
/// LlamaRMSNorm: the statistics in float32, the product back in the input's dtype.
torch::Tensor rmsNorm(const torch::Tensor &x, const torch::Tensor &weight, double eps);
/// x W^T (+ b when `bias` is defined).
torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight,
                     const torch::Tensor &bias);
/// x cos + rotate_half(x) sin, rotate_half(x) = (-x2, x1).
torch::Tensor rotate(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin);
/// Causal softmax attention of q [B, h, T, d] over k, v [B, h, T, d] (scores in float32).
torch::Tensor attention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v);
/// silu, relu, gelu, or gelu_new (the tanh approximation).
torch::Tensor activate(const torch::Tensor &x, const std::string &activation);

} // namespace blocks

/// One layer's weights (handles sharing storage with the named map).
struct Layer {
    torch::Tensor norm1, norm1Bias, norm2, norm2Bias;
    torch::Tensor q, k, v, o, qBias, kBias, vBias, oBias, qNorm, kNorm; // Decoder
    torch::Tensor qkv, qkvBias;                                         // GPT-2's c_attn
    torch::Tensor gate, up, down, gateBias, upBias, downBias;           // up/down: fc/proj
};

class TorchCausalLm final : public CausalLm {
public:
    using Find = std::function<const TensorRef *(const std::string &)>;
    TorchCausalLm(const LmConfig &config, const Find &find, const CausalLmOptions &options);
    /// The live weights in the order of `names` (for training them).
    std::vector<torch::Tensor> weights(const std::vector<std::string> &names) const;
    /// Logits [n, t, vocab] of input ids [n, t], with autograd when the weights ask for it.
    torch::Tensor logits(const torch::Tensor &ids) const
    {
        return torch::matmul(hidden(ids), m_head.t());
    }

    const LmConfig &config() const override { return m_config; }
    std::string device() const override { return m_device.str(); }
    std::string memoryPlan() const override;
    bool hasWeight(const std::string &name) const override;
    void setWeight(const std::string &name, const float *values, std::size_t count) override;
    std::vector<LmScore> score(const std::vector<LmRequest> &requests,
                               const CancelFlag &cancel) override;
    std::string prepareDeviceMerge(std::vector<DeviceMergeTensor> tensors) override;
    void mergeOnDevice(std::size_t index, const std::vector<double> &taskCoefficients) override;

private:
    /// One tensor merged on the device: its inputs in the checkpoint's dtype (on the device, or
    /// in host memory streamed per merge), and per task the DARE / TIES keep-mask.
    struct DeviceMerge {
        std::string name;
        DType dtype = DType::F32;
        MergeMethod method = MergeMethod::TaskArithmetic;
        bool disjointMean = false;
        double dropRate = 0;
        torch::Tensor base;
        std::vector<torch::Tensor> tasks, keep;
    };
    torch::Tensor &weight(const std::string &name);
    torch::Tensor load(const Find &find, const std::string &name, std::vector<std::int64_t> shape);
    torch::Tensor hidden(const torch::Tensor &ids) const;
    torch::Tensor decoderHidden(const torch::Tensor &ids) const;
    torch::Tensor gpt2Hidden(const torch::Tensor &ids) const;
    void scoreBatch(const std::vector<LmRequest> &requests, const std::vector<std::size_t> &rows,
                    std::vector<LmScore> &out) const;

    LmConfig m_config;
    torch::Device m_device{torch::kCPU};
    torch::ScalarType m_dtype = torch::kFloat32;
    int m_batchTokens = 0;
    std::map<std::string, torch::Tensor> m_weights; ///< checkpoint name -> live weight
    std::string m_prefix;                           ///< "model." / "transformer." / ""
    std::string m_headName;                         ///< the head's checkpoint name
    torch::Tensor m_embed, m_positions, m_finalNorm, m_finalNormBias, m_head;
    std::vector<Layer> m_layers;
    torch::Tensor m_invFreq; ///< [headDim / 2], float32, scaling applied
    std::vector<DeviceMerge> m_merges;
};

} // namespace mf::eval::lm
