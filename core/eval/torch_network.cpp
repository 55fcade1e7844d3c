// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/torch_network.h"

#include "eval/torch_adam.h"

#include "util/error.h"
#include "util/parallel.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <malloc.h>

#include <chrono>
#include <random>
#include <sstream>

namespace mf::eval {

namespace {

/// The layers of a network, checked: (weight, bias) pairs whose shapes chain, head last.
struct Layers {
    std::vector<std::string> names; ///< "fc1", ..., "head"
    int inputs = 0, outputs = 0;
};

Layers checkNetwork(const Network &network)
{
    if (network.size() < 2 || network.size() % 2 != 0)
        throw Error("a network needs (weight, bias) pairs, got " + std::to_string(network.size()) +
                    " tensors");
    Layers layers;
    std::int64_t width = -1;
    for (std::size_t i = 0; i < network.size(); i += 2) {
        const NamedTensor &weight = network[i];
        const NamedTensor &bias = network[i + 1];
        const bool last = i + 2 == network.size();
        const std::string layer = last ? "head" : "fc" + std::to_string(i / 2 + 1);
        if (weight.name != layer + ".weight" || bias.name != layer + ".bias")
            throw Error("network tensor " + std::to_string(i) + " is '" + weight.name +
                        "', expected '" + layer + ".weight' then '" + layer + ".bias'");
        if (weight.shape.size() != 2 || bias.shape.size() != 1 ||
            bias.shape[0] != weight.shape[0] || (width >= 0 && weight.shape[1] != width))
            throw Error("network layer '" + layer + "' has shapes that do not chain");
        for (const NamedTensor *t : {&weight, &bias}) {
            std::int64_t n = 1;
            for (std::int64_t d : t->shape)
                n *= d;
            if (static_cast<std::size_t>(n) != t->values.size())
                throw Error("network tensor '" + t->name + "' holds " +
                            std::to_string(t->values.size()) + " values for its shape");
        }
        if (width < 0)
            layers.inputs = static_cast<int>(weight.shape[1]);
        width = weight.shape[0];
        layers.names.push_back(layer);
    }
    layers.outputs = static_cast<int>(width);
    return layers;
}

torch::Tensor toTorch(const NamedTensor &t)
{
    return torch::from_blob(const_cast<float *>(t.values.data()), t.shape, torch::kFloat32).clone();
}

torch::Tensor forward(const std::vector<torch::Tensor> &parameters, torch::Tensor h)
{
    for (std::size_t i = 0; i < parameters.size(); i += 2) {
        h = torch::linear(h, parameters[i], parameters[i + 1]);
        if (i + 2 < parameters.size())
            h = torch::relu(h);
    }
    return h;
}

} // namespace

std::string resolveTorchDevice(const std::string &name)
{
    if (name == "auto")
        return torch::cuda::is_available() ? "cuda:0" : "cpu";
    if (name.rfind("cuda", 0) == 0 && !torch::cuda::is_available())
        throw Error("device '" + name + "' asked for, but this LibTorch has no CUDA device");
    try {
        return torch::Device(name).str();
    } catch (const c10::Error &) {
        throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
    }
}

void keepActivationsOnHeap()
{
    // Every forward allocates and frees activations of megabytes. glibc serves those with
    // mmap and unmaps them on free (past its mmap threshold), so each step paid page faults
    // and zeroing for all of them: half the text example's step was the kernel (perf). Kept
    // on the heap instead, the step went from 0.65 s to 0.44 s (3 domains, 2 cores), and
    // scoring a 124 M Llama from 9.0 s to 7.1 s. The heap then holds the largest step's
    // activations between steps.
    static const bool once = [] {
        mallopt(M_MMAP_THRESHOLD, 256 << 20);
        mallopt(M_TRIM_THRESHOLD, 512 << 20);
        return true;
    }();
    (void)once;
}

int setTorchThreads(int requested)
{
    const int threads = requested > 0 ? requested : (at::hasMKL() ? defaultThreadCount() : 1);
    at::set_num_threads(threads);
    return threads;
}

TrainReport torchTrainNetwork(Network &network, const LabelledImages &data,
                              const TrainOptions &options)
{
    const Layers layers = checkNetwork(network);
    if (data.features != layers.inputs)
        throw Error("training images have " + std::to_string(data.features) +
                    " pixels, the network takes " + std::to_string(layers.inputs));
    if (data.classes > layers.outputs)
        throw Error("training labels have " + std::to_string(data.classes) +
                    " classes, the network's head gives " + std::to_string(layers.outputs));
    if (data.count <= 0 ||
        data.pixels.size() !=
            static_cast<std::size_t>(data.count) * static_cast<std::size_t>(data.features) ||
        data.labels.size() != static_cast<std::size_t>(data.count))
        throw Error("training set: pixel and label counts do not match");
    setTorchThreads(options.threads);
    const auto started = std::chrono::steady_clock::now();

    std::vector<torch::Tensor> initial;
    for (const NamedTensor &t : network)
        initial.push_back(toTorch(t).requires_grad_(true));
    Adam adam(std::move(initial));
    const std::vector<torch::Tensor> &parameters = adam.parameters();
    const torch::Tensor pixels = torch::from_blob(const_cast<std::uint8_t *>(data.pixels.data()),
                                                  {data.count, data.features}, torch::kUInt8);
    const torch::Tensor labels = torch::from_blob(const_cast<std::int64_t *>(data.labels.data()),
                                                  {data.count}, torch::kInt64);

    std::mt19937_64 random(options.seed);
    std::vector<std::int64_t> order(static_cast<std::size_t>(data.count));
    for (std::int64_t i = 0; i < data.count; ++i)
        order[static_cast<std::size_t>(i)] = i;
    TrainReport report;
    const std::int64_t batch = std::max(1, options.batchSize);
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        // Fisher-Yates with mt19937_64 (fully specified, unlike std::shuffle's distribution).
        for (std::size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[static_cast<std::size_t>(random() % i)]);
        const torch::Tensor permutation =
            torch::from_blob(order.data(), {data.count}, torch::kInt64);
        double lossSum = 0, correct = 0;
        for (std::int64_t start = 0; start < data.count; start += batch) {
            const std::int64_t end = std::min(data.count, start + batch);
            const torch::Tensor index = permutation.slice(0, start, end);
            const torch::Tensor x = pixels.index_select(0, index).to(torch::kFloat32).div_(255.0);
            const torch::Tensor y = labels.index_select(0, index);
            const torch::Tensor logits = forward(parameters, x);
            const torch::Tensor loss = torch::nll_loss(torch::log_softmax(logits, 1), y);
            loss.backward();
            adam.step(options.learningRate);
            lossSum += loss.item<double>() * static_cast<double>(end - start);
            correct += (logits.argmax(1) == y).sum().item<double>();
        }
        report.loss = lossSum / static_cast<double>(data.count);
        report.accuracy = correct / static_cast<double>(data.count);
        report.epochs = epoch;
        if (!std::isfinite(report.loss))
            throw Error("training diverged (loss " + std::to_string(report.loss) + " in epoch " +
                        std::to_string(epoch) + ")");
        if (options.progress && !options.progress(epoch, report.loss, report.accuracy))
            break;
    }
    for (std::size_t i = 0; i < network.size(); ++i) {
        const torch::Tensor values = parameters[i].detach().contiguous();
        std::copy(values.data_ptr<float>(), values.data_ptr<float>() + values.numel(),
                  network[i].values.begin());
    }
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

std::string torchNetworkModule(const Network &network)
{
    const Layers layers = checkNetwork(network);
    auto unit = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module root(c10::QualifiedName("__torch__.mergefront.ZooMlp"), unit, true);
    for (std::size_t i = 0; i < layers.names.size(); ++i) {
        torch::jit::Module layer(c10::QualifiedName("__torch__.mergefront.Linear"), unit, true);
        layer.register_parameter("weight", toTorch(network[2 * i]), false);
        layer.register_parameter("bias", toTorch(network[2 * i + 1]), false);
        root.register_module(layers.names[i], layer);
    }
    // The same computation as forward() above; pixels arrive as uint8 (scaled here) or floats.
    std::string source = "def forward(self, x):\n"
                         "    if x.is_floating_point():\n"
                         "        h = x.float()\n"
                         "    else:\n"
                         "        h = x.float() / 255.0\n"
                         "    h = torch.flatten(h, 1)\n";
    for (std::size_t i = 0; i < layers.names.size(); ++i) {
        const std::string &name = layers.names[i];
        const std::string linear =
            "torch.linear(h, self." + name + ".weight, self." + name + ".bias)";
        source += i + 1 < layers.names.size() ? "    h = torch.relu(" + linear + ")\n"
                                              : "    return " + linear + "\n";
    }
    root.define(source);
    root.eval();
    std::ostringstream bytes;
    root.save(bytes);
    return bytes.str();
}

} // namespace mf::eval
