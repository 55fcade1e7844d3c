// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Training the example project's small networks. No torch header: the work is done by the
// LibTorch plugin (libmergefront_torch.so, see torch_plugin.h), these are its plain-C++ inputs
// and outputs, so the zoo builder and the CLI never link LibTorch.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mf::eval {

/// One parameter of a network, row-major float32.
struct NamedTensor {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

/// Labelled 8-bit images, one row of `features` pixels per image.
struct LabelledImages {
    std::int64_t count = 0;
    int features = 0;
    int classes = 0;
    std::vector<std::uint8_t> pixels; ///< count x features
    std::vector<std::int64_t> labels; ///< count, each in [0, classes)
};

/// A multilayer perceptron: pixels / 255 -> fc1 -> ReLU -> ... -> fcK -> ReLU -> head.
/// Its parameters are named "fc1.weight", "fc1.bias", ..., "head.weight", "head.bias"
/// (weights [out, in], as torch.nn.Linear stores them), in that order.
using Network = std::vector<NamedTensor>;

struct TrainOptions {
    int epochs = 2;
    int batchSize = 128;
    double learningRate = 1e-3; ///< Adam (beta 0.9 / 0.999, eps 1e-8)
    std::uint64_t seed = 0;     ///< the order of the examples in each epoch
    int threads = 0;            ///< LibTorch intra-op threads (0: automatic, see setTorchThreads)
    /// After each epoch: (epoch, mean training loss, training accuracy); false stops early.
    std::function<bool(int, double, double)> progress;
};

struct TrainReport {
    double loss = 0;     ///< mean cross-entropy over the last epoch
    double accuracy = 0; ///< training accuracy over the last epoch
    double seconds = 0;
    int epochs = 0; ///< epochs done (fewer when progress stopped it)
};

/// Trains `network` in place on `data` (cross-entropy, Adam, mini-batches in a seeded order).
/// Throws mf::Error when the plugin is missing or the shapes do not chain.
TrainReport trainNetwork(Network &network, const LabelledImages &data, const TrainOptions &options);

/// The TorchScript module (the bytes torch.jit.save writes) of `network`: forward(x) takes
/// uint8 pixels (scaled by 1/255) or floats, [n, features], and returns logits. Its
/// parameters keep the network's names, so merged checkpoint tensors map onto them by name.
std::string networkModule(const Network &network);

} // namespace mf::eval
