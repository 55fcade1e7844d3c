// SPDX-License-Identifier: GPL-3.0-or-later
// The blocks every causal-LM forward is assembled from, as transformers computes them in eval
// mode (LlamaRMSNorm, the rotary embedding's rotate_half, eager causal attention, the MLPs'
// activations).
#include "eval/lm/torch_causal_lm.h"

#include <cmath>
#include <limits>

namespace mf::eval::lm::blocks {

std::string shapeText(c10::IntArrayRef sizes)
{
    std::string text = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i)
        text += (i ? ", " : "") + std::to_string(sizes[i]);
    return text + "]";
}

torch::Tensor rmsNorm(const torch::Tensor &x, const torch::Tensor &weight, double eps)
{
    // LlamaRMSNorm: the statistics in float32, the product back in the input's dtype.
    const torch::Tensor wide = x.to(torch::kFloat32);
    const torch::Tensor normed = wide * torch::rsqrt(wide.pow(2).mean(-1, true) + eps);
    return weight * normed.to(x.scalar_type());
}

torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    return torch::nn::functional::linear(x, weight, bias.defined() ? bias : torch::Tensor());
}

/// x [.., hd] rotated: x cos + rotate_half(x) sin, rotate_half(x) = (-x2, x1).
torch::Tensor rotate(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin)
{
    const auto half = x.size(-1) / 2;
    const torch::Tensor rotated =
        torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
}

/// Causal softmax attention of q [B, h, T, d] over k, v [B, h, T, d] (the scores in float32).
torch::Tensor attention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v)
{
    const auto length = q.size(2);
    torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)).to(torch::kFloat32) /
                           std::sqrt(static_cast<double>(q.size(-1)));
    const torch::Tensor future =
        torch::ones({length, length}, torch::dtype(torch::kBool).device(q.device())).triu(1);
    scores.masked_fill_(future, -std::numeric_limits<float>::infinity());
    return torch::matmul(scores.softmax(-1).to(v.scalar_type()), v);
}

torch::Tensor activate(const torch::Tensor &x, const std::string &activation)
{
    if (activation == "silu")
        return torch::silu(x);
    if (activation == "relu")
        return torch::relu(x);
    if (activation == "gelu")
        return torch::gelu(x);
    // gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * x.pow(3))));
}
} // namespace mf::eval::lm::blocks
