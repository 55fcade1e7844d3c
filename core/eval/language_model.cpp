// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/language_model.h"

#include "util/error.h"
#include "util/hash.h"

#include <cmath>

namespace mf::eval {

void Gpt2Config::validate() const
{
    auto positive = [](int value, const char *name) {
        if (value < 1)
            throw Error(std::string("GPT-2 ") + name + " must be at least 1, got " +
                        std::to_string(value));
    };
    positive(vocab, "vocab_size");
    positive(context, "n_positions");
    positive(width, "n_embd");
    positive(layers, "n_layer");
    positive(heads, "n_head");
    if (width % heads != 0)
        throw Error("GPT-2 n_embd (" + std::to_string(width) + ") is not a multiple of n_head (" +
                    std::to_string(heads) + ")");
    if (!(layerNormEpsilon > 0))
        throw Error("GPT-2 layer_norm_epsilon must be positive");
}

NamedTensor makeTensor(const std::string &name, std::vector<std::int64_t> shape, double std,
                       double value, std::uint64_t seed)
{
    std::size_t count = 1;
    for (std::int64_t d : shape)
        count *= static_cast<std::size_t>(d);
    NamedTensor t{name, std::move(shape), std::vector<float>(count, static_cast<float>(value))};
    if (std > 0) {
        const std::uint64_t stream = hashString(name, seed);
        for (std::size_t i = 0; i < count; ++i) {
            const double u1 = (static_cast<double>(mix64(stream + 2 * i) >> 11) + 0.5) * 0x1.0p-53;
            const double u2 = static_cast<double>(mix64(stream + 2 * i + 1) >> 11) * 0x1.0p-53;
            t.values[i] =
                static_cast<float>(std * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
        }
    }
    return t;
}

namespace {

/// The parameters in state-dict order; `fill`: initialized, else zeros (names and shapes only).
Network buildGpt2(const Gpt2Config &config, std::uint64_t seed, bool fill)
{
    config.validate();
    const std::int64_t d = config.width;
    constexpr double std = 0.02;
    const double projectionStd = std / std::sqrt(2.0 * config.layers);
    Network network;
    auto add = [&](const std::string &name, std::vector<std::int64_t> shape, double s,
                   double value = 0) {
        network.push_back(makeTensor(name, std::move(shape), fill ? s : 0, value, seed));
    };
    add("transformer.wte.weight", {config.vocab, d}, std);
    add("transformer.wpe.weight", {config.context, d}, std);
    for (int layer = 0; layer < config.layers; ++layer) {
        const std::string block = "transformer.h." + std::to_string(layer) + ".";
        add(block + "ln_1.weight", {d}, 0, 1);
        add(block + "ln_1.bias", {d}, 0);
        add(block + "attn.c_attn.weight", {d, 3 * d}, std);
        add(block + "attn.c_attn.bias", {3 * d}, 0);
        add(block + "attn.c_proj.weight", {d, d}, projectionStd);
        add(block + "attn.c_proj.bias", {d}, 0);
        add(block + "ln_2.weight", {d}, 0, 1);
        add(block + "ln_2.bias", {d}, 0);
        add(block + "mlp.c_fc.weight", {d, 4 * d}, std);
        add(block + "mlp.c_fc.bias", {4 * d}, 0);
        add(block + "mlp.c_proj.weight", {4 * d, d}, projectionStd);
        add(block + "mlp.c_proj.bias", {d}, 0);
    }
    add("transformer.ln_f.weight", {d}, 0, 1);
    add("transformer.ln_f.bias", {d}, 0);
    return network;
}

} // namespace

Network gpt2Parameters(const Gpt2Config &config, std::uint64_t seed)
{
    return buildGpt2(config, seed, true);
}

void checkGpt2Parameters(const Network &network, const Gpt2Config &config)
{
    const Network expected = buildGpt2(config, 0, false);
    if (network.size() != expected.size())
        throw Error("a GPT-2 of " + std::to_string(config.layers) + " layers has " +
                    std::to_string(expected.size()) + " tensors, got " +
                    std::to_string(network.size()));
    for (std::size_t i = 0; i < network.size(); ++i) {
        const NamedTensor &t = network[i];
        const NamedTensor &e = expected[i];
        if (t.name != e.name)
            throw Error("GPT-2 tensor " + std::to_string(i) + " is '" + t.name + "', expected '" +
                        e.name + "'");
        if (t.shape != e.shape || t.values.size() != e.values.size())
            throw Error("GPT-2 tensor '" + t.name + "' does not have the configuration's shape");
    }
}

} // namespace mf::eval
