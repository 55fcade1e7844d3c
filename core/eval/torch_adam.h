// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Adam as torch.optim.Adam computes it (beta 0.9 / 0.999, eps 1e-8, no weight decay), for the
// example networks' trainers (torch_network.cpp, torch_language_model.cpp). LibTorch inside:
// include only from the plugin's .cpp files.
#include <torch/script.h>

#include <cmath>
#include <vector>

namespace mf::eval {

class Adam {
public:
    explicit Adam(std::vector<torch::Tensor> parameters)
        : m_parameters(std::move(parameters))
    {
        for (const torch::Tensor &p : m_parameters) {
            m_first.push_back(torch::zeros_like(p));
            m_second.push_back(torch::zeros_like(p));
        }
    }

    std::vector<torch::Tensor> &parameters() { return m_parameters; }

    /// Scales the gradients so that their global L2 norm is at most `maxNorm` (as
    /// torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
    double clipGradients(double maxNorm)
    {
        torch::NoGradGuard noGrad;
        double squares = 0;
        for (torch::Tensor &p : m_parameters)
            squares += p.grad().pow(2).sum().item<double>();
        const double norm = std::sqrt(squares);
        if (norm > maxNorm)
            for (torch::Tensor &p : m_parameters)
                p.mutable_grad().mul_(maxNorm / (norm + 1e-6));
        return norm;
    }

    /// One step with each parameter's gradient, which is then cleared.
    void step(double learningRate)
    {
        constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        torch::NoGradGuard noGrad;
        ++m_step;
        const double correction1 = 1 - std::pow(beta1, static_cast<double>(m_step));
        const double correction2 = 1 - std::pow(beta2, static_cast<double>(m_step));
        for (std::size_t i = 0; i < m_parameters.size(); ++i) {
            torch::Tensor &grad = m_parameters[i].mutable_grad();
            m_first[i].mul_(beta1).add_(grad, 1 - beta1);
            m_second[i].mul_(beta2).addcmul_(grad, grad, 1 - beta2);
            const torch::Tensor denominator = (m_second[i] / correction2).sqrt_().add_(eps);
            m_parameters[i].addcdiv_(m_first[i], denominator, -learningRate / correction1);
            grad = torch::Tensor();
        }
    }

private:
    std::vector<torch::Tensor> m_parameters, m_first, m_second;
    std::int64_t m_step = 0;
};

} // namespace mf::eval
