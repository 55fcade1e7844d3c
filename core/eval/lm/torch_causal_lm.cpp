// SPDX-License-Identifier: GPL-3.0-or-later
// The causal-LM forward in LibTorch, written from transformers' modeling_{llama,mistral,qwen2,
// qwen3,gpt2}.py in eval mode: the shared blocks (torch_blocks.cpp) assembled per layout.
// Weights are plain tensors named as the checkpoint names them, so a merged tensor is copied
// straight into its weight.
#include "eval/lm/torch_causal_lm.h"

#include "eval/torch_network.h"
#include "eval/torch_train.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mf::eval::lm {

using namespace blocks;

torch::Tensor TorchCausalLm::load(const Find &find, const std::string &name,
                                  std::vector<std::int64_t> shape)
{
    const TensorRef *ref = find(name);
    if (!ref)
        throw Error(m_config.file + ": the weights have no tensor '" + name + "', which a " +
                    m_config.family + " with this config.json needs");
    if (!isFloating(ref->dtype))
        throw Error("tensor '" + name + "' is " + dtypeName(ref->dtype) + ", expected floats");
    if (std::vector<std::int64_t>(ref->shape.begin(), ref->shape.end()) != shape)
        throw Error("tensor '" + name + "' has shape " +
                    shapeText(std::vector<std::int64_t>(ref->shape.begin(), ref->shape.end())) +
                    ", but config.json (" + m_config.file + ") makes it " + shapeText(shape));
    // Converted straight into a float32 tensor; moved or cast only where the model needs it.
    torch::Tensor tensor = torch::empty(shape, torch::kFloat32);
    convertToFloat(ref->dtype, ref->data, tensor.data_ptr<float>(), ref->numel());
    tensor = tensor.to(m_device, m_dtype);
    m_weights[name] = tensor;
    return tensor;
}

TorchCausalLm::TorchCausalLm(const LmConfig &config, const Find &weights,
                             const CausalLmOptions &options)
    : m_config(config)
{
    setTorchThreads(options.threads);
    keepActivationsOnHeap();
    m_device = torch::Device(resolveTorchDevice(options.device));
    // On a GPU the weights stay in the checkpoint's half type (the memory a 7B needs); on the
    // CPU in float32, where half GEMMs are slow or missing.
    if (m_device.is_cuda()) {
        const TensorRef *first = weights(
            config.layout == Layout::Decoder
                ? "model.embed_tokens.weight"
                : (weights("transformer.wte.weight") ? "transformer.wte.weight" : "wte.weight"));
        if (first && first->dtype == DType::BF16)
            m_dtype = torch::kBFloat16;
        else if (first && first->dtype == DType::F16)
            m_dtype = torch::kFloat16;
    }
    m_batchTokens =
        options.batchTokens > 0 ? options.batchTokens : (m_device.is_cuda() ? 32768 : 4096);
    const std::int64_t H = config.hidden, V = config.vocab, I = config.intermediate;
    const std::int64_t hd = config.headDim;
    const std::int64_t qWidth = config.heads * hd, kvWidth = config.kvHeads * hd;
    torch::NoGradGuard noGrad;
    auto optional = [&](bool wanted, const std::string &name, std::vector<std::int64_t> shape) {
        return wanted ? load(weights, name, std::move(shape)) : torch::Tensor();
    };
    if (config.layout == Layout::Decoder) {
        m_prefix = "model.";
        m_embed = load(weights, "model.embed_tokens.weight", {V, H});
        for (int i = 0; i < config.layers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            Layer l;
            l.norm1 = load(weights, p + "input_layernorm.weight", {H});
            l.q = load(weights, p + "self_attn.q_proj.weight", {qWidth, H});
            l.k = load(weights, p + "self_attn.k_proj.weight", {kvWidth, H});
            l.v = load(weights, p + "self_attn.v_proj.weight", {kvWidth, H});
            l.o = load(weights, p + "self_attn.o_proj.weight", {H, qWidth});
            l.qBias = optional(config.qkvBias, p + "self_attn.q_proj.bias", {qWidth});
            l.kBias = optional(config.qkvBias, p + "self_attn.k_proj.bias", {kvWidth});
            l.vBias = optional(config.qkvBias, p + "self_attn.v_proj.bias", {kvWidth});
            l.oBias = optional(config.outputBias, p + "self_attn.o_proj.bias", {H});
            l.qNorm = optional(config.qkNorm, p + "self_attn.q_norm.weight", {hd});
            l.kNorm = optional(config.qkNorm, p + "self_attn.k_norm.weight", {hd});
            l.norm2 = load(weights, p + "post_attention_layernorm.weight", {H});
            l.gate = load(weights, p + "mlp.gate_proj.weight", {I, H});
            l.up = load(weights, p + "mlp.up_proj.weight", {I, H});
            l.down = load(weights, p + "mlp.down_proj.weight", {H, I});
            l.gateBias = optional(config.mlpBias, p + "mlp.gate_proj.bias", {I});
            l.upBias = optional(config.mlpBias, p + "mlp.up_proj.bias", {I});
            l.downBias = optional(config.mlpBias, p + "mlp.down_proj.bias", {H});
            m_layers.push_back(l);
        }
        m_finalNorm = load(weights, "model.norm.weight", {H});
        m_headName = "lm_head.weight";
        // inv_freq as transformers' rope init functions compute it (default, linear, llama3).
        std::vector<double> inv(static_cast<std::size_t>(hd / 2));
        for (std::size_t i = 0; i < inv.size(); ++i) {
            double f = 1.0 / std::pow(config.ropeTheta, 2.0 * static_cast<double>(i) / hd);
            if (config.ropeScaling == "linear") {
                f /= config.ropeFactor;
            } else if (config.ropeScaling == "llama3") {
                const double lowWavelen = config.originalMaxPositions / config.lowFreqFactor;
                const double highWavelen = config.originalMaxPositions / config.highFreqFactor;
                const double wavelen = 2 * kPi / f;
                if (wavelen > lowWavelen) {
                    f /= config.ropeFactor;
                } else if (wavelen >= highWavelen) { // between: smoothed
                    const double smooth =
                        (config.originalMaxPositions / wavelen - config.lowFreqFactor) /
                        (config.highFreqFactor - config.lowFreqFactor);
                    f = (1 - smooth) * f / config.ropeFactor + smooth * f;
                }
            }
            inv[i] = f;
        }
        m_invFreq = torch::tensor(inv, torch::kFloat64).to(m_device);
    } else {
        m_prefix = weights("transformer.wte.weight") ? "transformer." : "";
        m_embed = load(weights, m_prefix + "wte.weight", {V, H});
        m_positions = load(weights, m_prefix + "wpe.weight", {config.maxPositions, H});
        for (int i = 0; i < config.layers; ++i) {
            const std::string p = m_prefix + "h." + std::to_string(i) + ".";
            Layer l;
            l.norm1 = load(weights, p + "ln_1.weight", {H});
            l.norm1Bias = load(weights, p + "ln_1.bias", {H});
            l.qkv = load(weights, p + "attn.c_attn.weight", {H, 3 * H});
            l.qkvBias = load(weights, p + "attn.c_attn.bias", {3 * H});
            l.o = load(weights, p + "attn.c_proj.weight", {H, H});
            l.oBias = load(weights, p + "attn.c_proj.bias", {H});
            l.norm2 = load(weights, p + "ln_2.weight", {H});
            l.norm2Bias = load(weights, p + "ln_2.bias", {H});
            l.up = load(weights, p + "mlp.c_fc.weight", {H, I});
            l.upBias = load(weights, p + "mlp.c_fc.bias", {I});
            l.down = load(weights, p + "mlp.c_proj.weight", {I, H});
            l.downBias = load(weights, p + "mlp.c_proj.bias", {H});
            m_layers.push_back(l);
        }
        m_finalNorm = load(weights, m_prefix + "ln_f.weight", {H});
        m_finalNormBias = load(weights, m_prefix + "ln_f.bias", {H});
        m_headName = "lm_head.weight";
    }
    if (config.tiedHead) {
        m_head = m_embed;
    } else {
        m_head = load(weights, m_headName, {V, H});
    }
}

std::vector<torch::Tensor> TorchCausalLm::weights(const std::vector<std::string> &names) const
{
    std::vector<torch::Tensor> out;
    for (const std::string &name : names) {
        const auto it = m_weights.find(name);
        if (it == m_weights.end())
            throw Error("tensor '" + name + "' is not a weight of the " + m_config.family +
                        " this config.json describes (" + m_config.file + ")");
        out.push_back(it->second);
    }
    return out;
}

std::string TorchCausalLm::memoryPlan() const
{
    std::uint64_t bytes = 0;
    for (const auto &[name, tensor] : m_weights)
        bytes += static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
    char text[160];
    std::snprintf(text, sizeof text, "weights in %s on %s, %.1f MB; batches of %d tokens",
                  c10::toString(m_dtype), m_device.str().c_str(), bytes / 1e6, m_batchTokens);
    return text;
}

bool TorchCausalLm::hasWeight(const std::string &name) const
{
    return m_weights.count(name) > 0 || name == m_headName;
}

torch::Tensor &TorchCausalLm::weight(const std::string &name)
{
    auto it = m_weights.find(name);
    if (it == m_weights.end() && name == m_headName) { // a tied head given apart: untie it
        m_head = m_embed.clone();
        it = m_weights.emplace(name, m_head).first;
    }
    if (it == m_weights.end())
        throw Error("the " + m_config.family + " model has no weight '" + name + "'");
    return it->second;
}

void TorchCausalLm::setWeight(const std::string &name, const float *values, std::size_t count)
{
    torch::NoGradGuard noGrad;
    torch::Tensor &target = weight(name);
    if (static_cast<std::size_t>(target.numel()) != count)
        throw Error("weight '" + name + "': " + std::to_string(count) + " values for shape " +
                    shapeText(target.sizes()));
    target.copy_(torch::from_blob(const_cast<float *>(values), target.sizes(), torch::kFloat32));
}

torch::Tensor TorchCausalLm::decoderHidden(const torch::Tensor &ids) const
{
    const LmConfig &c = m_config;
    const auto B = ids.size(0), T = ids.size(1);
    const auto hd = c.headDim;
    torch::Tensor h = torch::embedding(m_embed, ids);
    // cos/sin [T, hd] as the rotary embedding computes them (positions x inv_freq, twice).
    const torch::Tensor positions =
        torch::arange(T, torch::dtype(torch::kFloat64).device(m_device));
    const torch::Tensor freqs = torch::outer(positions, m_invFreq);
    const torch::Tensor angles = torch::cat({freqs, freqs}, -1);
    const torch::Tensor cos = angles.cos().to(m_dtype), sin = angles.sin().to(m_dtype);
    const int group = c.heads / c.kvHeads;
    for (const Layer &l : m_layers) {
        const torch::Tensor x = rmsNorm(h, l.norm1, c.normEpsilon);
        torch::Tensor q = linear(x, l.q, l.qBias).view({B, T, c.heads, hd});
        torch::Tensor k = linear(x, l.k, l.kBias).view({B, T, c.kvHeads, hd});
        torch::Tensor v = linear(x, l.v, l.vBias).view({B, T, c.kvHeads, hd});
        if (c.qkNorm) {
            q = rmsNorm(q, l.qNorm, c.normEpsilon);
            k = rmsNorm(k, l.kNorm, c.normEpsilon);
        }
        q = rotate(q.transpose(1, 2), cos, sin);
        k = rotate(k.transpose(1, 2), cos, sin);
        v = v.transpose(1, 2);
        if (group > 1) {
            k = k.repeat_interleave(group, 1);
            v = v.repeat_interleave(group, 1);
        }
        const torch::Tensor y = attention(q, k, v).transpose(1, 2).reshape({B, T, c.heads * hd});
        h = h + linear(y, l.o, l.oBias);
        const torch::Tensor m = rmsNorm(h, l.norm2, c.normEpsilon);
        h = h + linear(torch::silu(linear(m, l.gate, l.gateBias)) * linear(m, l.up, l.upBias),
                       l.down, l.downBias);
    }
    return rmsNorm(h, m_finalNorm, c.normEpsilon);
}

torch::Tensor TorchCausalLm::gpt2Hidden(const torch::Tensor &ids) const
{
    const LmConfig &c = m_config;
    const auto B = ids.size(0), T = ids.size(1), H = static_cast<std::int64_t>(c.hidden);
    namespace F = torch::nn::functional;
    const auto norm = [&](const torch::Tensor &x, const torch::Tensor &w, const torch::Tensor &b) {
        return torch::layer_norm(x, {H}, w, b, c.normEpsilon);
    };
    const auto conv1d = [](const torch::Tensor &x, const torch::Tensor &w, const torch::Tensor &b) {
        return torch::addmm(b, x.reshape({-1, x.size(-1)}), w).view({x.size(0), x.size(1), -1});
    };
    torch::Tensor h = torch::embedding(m_embed, ids) + m_positions.narrow(0, 0, T);
    for (const Layer &l : m_layers) {
        const torch::Tensor qkv = conv1d(norm(h, l.norm1, l.norm1Bias), l.qkv, l.qkvBias);
        const auto split = [&](int part) {
            return qkv.narrow(-1, part * H, H).view({B, T, c.heads, c.headDim}).transpose(1, 2);
        };
        const torch::Tensor y =
            attention(split(0), split(1), split(2)).transpose(1, 2).reshape({B, T, H});
        h = h + conv1d(y, l.o, l.oBias);
        h = h +
            conv1d(activate(conv1d(norm(h, l.norm2, l.norm2Bias), l.up, l.upBias), c.activation),
                   l.down, l.downBias);
    }
    return norm(h, m_finalNorm, m_finalNormBias);
}

torch::Tensor TorchCausalLm::hidden(const torch::Tensor &ids) const
{
    return m_config.layout == Layout::Decoder ? decoderHidden(ids) : gpt2Hidden(ids);
}

/// One padded forward over `rows` (right-padded: causal attention never looks at the padding
/// behind a real token), then the head and log-softmax only at the target positions.
void TorchCausalLm::scoreBatch(const std::vector<LmRequest> &requests,
                               const std::vector<std::size_t> &rows,
                               std::vector<LmScore> &out) const
{
    std::int64_t width = 0;
    for (std::size_t r : rows)
        width =
            std::max<std::int64_t>(width, static_cast<std::int64_t>(requests[r].tokens.size()) - 1);
    std::vector<std::int64_t> ids(rows.size() * width, 0);
    std::vector<std::int64_t> at, targets; // flat positions in [B*T] and their target ids
    for (std::size_t b = 0; b < rows.size(); ++b) {
        const LmRequest &request = requests[rows[b]];
        const auto n = static_cast<std::int64_t>(request.tokens.size());
        for (std::int64_t t = 0; t + 1 < n; ++t)
            ids[b * width + t] = request.tokens[t];
        for (std::int64_t t = n - 1 - request.targets; t < n - 1; ++t) {
            at.push_back(static_cast<std::int64_t>(b) * width + t);
            targets.push_back(request.tokens[t + 1]);
        }
    }
    const torch::Tensor input = torch::tensor(ids, torch::kInt64)
                                    .view({static_cast<std::int64_t>(rows.size()), width})
                                    .to(m_device);
    const torch::Tensor states =
        hidden(input)
            .reshape({-1, m_config.hidden})
            .index_select(0, torch::tensor(at, torch::kInt64).to(m_device));
    const torch::Tensor wanted = torch::tensor(targets, torch::kInt64).to(m_device);
    std::vector<float> logProbs(at.size());
    std::vector<char> greedy(at.size());
    constexpr std::int64_t chunk = 512; // logits of 512 positions at a time: [512, vocab]
    for (std::int64_t start = 0; start < static_cast<std::int64_t>(at.size()); start += chunk) {
        const std::int64_t n =
            std::min<std::int64_t>(chunk, static_cast<std::int64_t>(at.size()) - start);
        const torch::Tensor logits = torch::matmul(states.narrow(0, start, n), m_head.t())
                                         .to(torch::kFloat32)
                                         .log_softmax(-1);
        const torch::Tensor w = wanted.narrow(0, start, n);
        const torch::Tensor lp = logits.gather(1, w.unsqueeze(1)).squeeze(1).cpu().contiguous();
        const torch::Tensor hit = logits.argmax(1).eq(w).to(torch::kUInt8).cpu().contiguous();
        std::copy_n(lp.data_ptr<float>(), n, logProbs.begin() + start);
        std::copy_n(hit.data_ptr<std::uint8_t>(), n, greedy.begin() + start);
    }
    std::size_t k = 0;
    for (std::size_t r : rows) {
        LmScore &score = out[r];
        score = LmScore{};
        for (int t = 0; t < requests[r].targets; ++t, ++k) {
            score.tokenLogProbs.push_back(logProbs[k]);
            score.logLikelihood += logProbs[k];
            score.greedy = score.greedy && greedy[k];
        }
    }
}

std::vector<LmScore> TorchCausalLm::score(const std::vector<LmRequest> &requests,
                                          const CancelFlag &cancel)
{
    for (std::size_t r = 0; r < requests.size(); ++r) {
        const LmRequest &request = requests[r];
        const int n = static_cast<int>(request.tokens.size());
        if (request.targets < 1 || request.targets >= n)
            throw Error("request " + std::to_string(r) + ": " + std::to_string(request.targets) +
                        " targets in " + std::to_string(n) + " tokens");
        for (std::int32_t id : request.tokens)
            if (id < 0 || id >= m_config.vocab)
                throw Error("token id " + std::to_string(id) +
                            " is outside the model's vocabulary "
                            "of " +
                            std::to_string(m_config.vocab) + " (" + m_config.file + ")");
        if (m_config.layout == Layout::Gpt2 && n - 1 > m_config.maxPositions)
            throw Error(std::to_string(n - 1) + " tokens are more than the model's n_positions (" +
                        std::to_string(m_config.maxPositions) + ")");
    }
    // Longest first (as lm-evaluation-harness orders them): batches of similar lengths.
    std::vector<std::size_t> order(requests.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return requests[a].tokens.size() > requests[b].tokens.size();
    });
    std::vector<LmScore> out(requests.size());
    c10::InferenceMode inference;
    int budget = m_batchTokens;
    for (std::size_t next = 0; next < order.size();) {
        if (cancel)
            throw Error("cancelled");
        const auto width = static_cast<int>(requests[order[next]].tokens.size()) - 1;
        std::vector<std::size_t> rows;
        while (next + rows.size() < order.size() &&
               (rows.empty() || static_cast<int>(rows.size() + 1) * width <= budget))
            rows.push_back(order[next + rows.size()]);
        try {
            scoreBatch(requests, rows, out);
            next += rows.size();
        } catch (const c10::Error &e) {
            const std::string what = e.what_without_backtrace();
            if (what.find("out of memory") != std::string::npos && rows.size() > 1) {
                budget = std::max(width, budget / 2); // fewer rows, then try again
                continue;
            }
            throw Error("the forward failed on " + m_device.str() + ": " + what);
        }
    }
    return out;
}

std::unique_ptr<CausalLm> torchLoadCausalLm(const LmConfig &config, const Checkpoint &weights,
                                            const CausalLmOptions &options)
{
    try {
        return std::make_unique<TorchCausalLm>(
            config, [&](const std::string &name) { return weights.findOrTied(name); }, options);
    } catch (const c10::Error &e) {
        throw Error("loading the " + config.family +
                    " model failed: " + std::string(e.what_without_backtrace()));
    }
}

LanguageTrainReport torchTrainCausalLm(Network &network, const LmConfig &config, int context,
                                       const std::vector<TokenStream> &streams,
                                       const LanguageTrainOptions &options)
{
    checkStreams(streams, context, config.vocab);
    std::map<std::string, TensorRef> refs;
    std::vector<std::string> names;
    for (const NamedTensor &t : network) {
        TensorRef &ref = refs[t.name];
        ref.name = t.name;
        ref.shape = t.shape;
        ref.data = reinterpret_cast<const std::byte *>(t.values.data());
        ref.byteSize = t.values.size() * sizeof(float);
        names.push_back(t.name);
    }
    CausalLmOptions modelOptions;
    modelOptions.device = options.device;
    modelOptions.threads = options.threads;
    TorchCausalLm model(
        config,
        [&](const std::string &name) {
            const auto it = refs.find(name);
            return it == refs.end() ? nullptr : &it->second;
        },
        modelOptions);
    const std::vector<torch::Tensor> parameters = model.weights(names);
    const LanguageTrainReport report = trainNextToken(
        parameters, context, config.vocab, streams, options, parameters.front().device(),
        [&](const std::vector<torch::Tensor> &, const torch::Tensor &inputs) {
            return model.logits(inputs);
        });
    for (std::size_t i = 0; i < network.size(); ++i) {
        const torch::Tensor values =
            parameters[i].detach().to(torch::kCPU, torch::kFloat32).contiguous();
        std::copy(values.data_ptr<float>(), values.data_ptr<float>() + values.numel(),
                  network[i].values.begin());
    }
    return report;
}

} // namespace mf::eval::lm
