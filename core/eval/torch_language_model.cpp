// SPDX-License-Identifier: GPL-3.0-or-later
// The GPT-2 of language_model.h in LibTorch: its forward (training), its trainer and its
// TorchScript module. The forward here and the module's source compute the same function
// (tests/zoo/tst_text_zoo.cpp: the trainer's loss equals the module's cross-entropy on the same
// window; tests/interop/check_text_zoo.py: the module against an independent Python GPT-2).
#include "eval/language_model.h"
#include "eval/torch_adam.h"
#include "eval/torch_network.h"
#include "eval/torch_train.h"

#include "util/error.h"

#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <sstream>

namespace mf::eval {

namespace {

constexpr int kTensorsPerBlock = 12;

torch::Tensor toTorch(const NamedTensor &t)
{
    return torch::from_blob(const_cast<float *>(t.values.data()), t.shape, torch::kFloat32).clone();
}

/// gelu_new of transformers (the tanh approximation GPT-2 was trained with).
torch::Tensor geluNew(const torch::Tensor &x)
{
    return 0.5 * x * (1.0 + torch::tanh(0.7978845608028654 * (x + 0.044715 * x.pow(3))));
}

/// GPT2LMHeadModel's forward: input ids [n, t] -> logits [n, t, vocab]. `p` holds the
/// parameters in gpt2Parameters' order.
torch::Tensor gpt2Forward(const std::vector<torch::Tensor> &p, const Gpt2Config &config,
                          const torch::Tensor &ids)
{
    const std::int64_t n = ids.size(0), t = ids.size(1), d = config.width;
    const std::int64_t heads = config.heads, headWidth = d / heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(headWidth));
    const torch::Tensor positions = torch::arange(t, ids.options().dtype(torch::kInt64));
    torch::Tensor h = torch::embedding(p[0], ids) + torch::embedding(p[1], positions);
    const torch::Tensor future =
        torch::ones({t, t}, ids.options().dtype(torch::kBool)).triu(1); // j > i: masked
    for (int layer = 0; layer < config.layers; ++layer) {
        const torch::Tensor *b = &p[2 + static_cast<std::size_t>(layer) * kTensorsPerBlock];
        const torch::Tensor a = torch::layer_norm(h, {d}, b[0], b[1], config.layerNormEpsilon);
        const std::vector<torch::Tensor> qkv = (torch::matmul(a, b[2]) + b[3]).split(d, 2);
        auto heads4 = [&](const torch::Tensor &x) {
            return x.view({n, t, heads, headWidth}).transpose(1, 2);
        };
        torch::Tensor attention =
            torch::matmul(heads4(qkv[0]), heads4(qkv[1]).transpose(-1, -2)) * scale;
        attention = torch::softmax(attention.masked_fill(future, -INFINITY), -1);
        const torch::Tensor y =
            torch::matmul(attention, heads4(qkv[2])).transpose(1, 2).reshape({n, t, d});
        h = h + torch::matmul(y, b[4]) + b[5];
        const torch::Tensor m = torch::layer_norm(h, {d}, b[6], b[7], config.layerNormEpsilon);
        h = h + torch::matmul(geluNew(torch::matmul(m, b[8]) + b[9]), b[10]) + b[11];
    }
    const std::size_t last = p.size() - 2;
    h = torch::layer_norm(h, {d}, p[last], p[last + 1], config.layerNormEpsilon);
    return torch::matmul(h, p[0].t());
}

} // namespace

void checkStreams(const std::vector<TokenStream> &streams, int context, int vocab)
{
    if (streams.empty())
        throw Error("language-model training needs at least one token stream");
    for (const TokenStream &s : streams) {
        if (s.tokens.size() < static_cast<std::size_t>(context) + 1)
            throw Error("token stream '" + s.name + "' has " + std::to_string(s.tokens.size()) +
                        " tokens, fewer than one window of " + std::to_string(context + 1));
        for (std::size_t i = 0; i < s.tokens.size(); ++i)
            if (s.tokens[i] < 0 || s.tokens[i] >= vocab)
                throw Error("token stream '" + s.name + "' holds id " +
                            std::to_string(s.tokens[i]) + " at " + std::to_string(i) +
                            ", outside the vocabulary of " + std::to_string(vocab));
    }
}

namespace {

/// A scalar expression of the module's source: a float literal TorchScript reads back exactly.
std::string literal(double value)
{
    std::ostringstream out;
    out.precision(17);
    out << value;
    std::string text = out.str();
    if (text.find_first_of(".eE") == std::string::npos)
        text += ".0";
    return text;
}

/// A module tree built from dotted parameter names ("transformer.h.0.ln_1.weight").
struct ModuleNode {
    std::map<std::string, std::unique_ptr<ModuleNode>> children;
    std::vector<std::pair<std::string, torch::Tensor>> parameters;
    std::vector<std::string> order; ///< children in first-seen order
};

torch::jit::Module buildModule(const ModuleNode &node, const std::string &path,
                               const std::shared_ptr<torch::jit::CompilationUnit> &unit)
{
    std::string type = "__torch__.mergefront.Gpt2";
    for (char c : path)
        type += (c == '.') ? '_' : c;
    torch::jit::Module module(c10::QualifiedName(type), unit, true);
    for (const auto &[name, value] : node.parameters)
        module.register_parameter(name, value, false);
    for (const std::string &name : node.order)
        module.register_module(name, buildModule(*node.children.at(name),
                                                 path.empty() ? name : path + "." + name, unit));
    return module;
}

} // namespace

LanguageTrainReport trainNextToken(std::vector<torch::Tensor> parameters, int context, int vocab,
                                   const std::vector<TokenStream> &streams,
                                   const LanguageTrainOptions &options, const torch::Device &device,
                                   const LogitsFunction &forward)
{
    const auto started = std::chrono::steady_clock::now();
    keepActivationsOnHeap(); // a step's logits and gradients are hundreds of MB at a 32k vocab
    for (torch::Tensor &p : parameters)
        p.requires_grad_(true);
    Adam adam(std::move(parameters));
    const std::int64_t rows = std::max(1, options.batchSize), t = context;
    std::vector<std::int64_t> x(static_cast<std::size_t>(rows * t)), y(x.size());
    std::mt19937_64 random(options.seed);
    LanguageTrainReport report;
    double lossSum = 0;
    int lossSteps = 0;
    for (int step = 1; step <= options.steps; ++step) {
        for (std::int64_t r = 0; r < rows; ++r) {
            const TokenStream &s = streams[static_cast<std::size_t>(random() % streams.size())];
            const std::size_t start = static_cast<std::size_t>(
                random() % (s.tokens.size() - static_cast<std::size_t>(t)));
            for (std::int64_t i = 0; i < t; ++i) {
                x[static_cast<std::size_t>(r * t + i)] =
                    s.tokens[start + static_cast<std::size_t>(i)];
                y[static_cast<std::size_t>(r * t + i)] =
                    s.tokens[start + static_cast<std::size_t>(i) + 1];
            }
        }
        const torch::Tensor inputs =
            torch::from_blob(x.data(), {rows, t}, torch::kInt64).to(device);
        const torch::Tensor targets =
            torch::from_blob(y.data(), {rows * t}, torch::kInt64).to(device);
        const torch::Tensor logits = forward(adam.parameters(), inputs);
        const torch::Tensor loss =
            torch::nll_loss(torch::log_softmax(logits.reshape({rows * t, vocab}), 1), targets);
        loss.backward();
        adam.clipGradients(options.clipNorm);
        // Linear warm-up to the peak, then a cosine to a tenth of it.
        double rate = options.learningRate;
        if (step <= options.warmupSteps)
            rate *= static_cast<double>(step) / options.warmupSteps;
        else if (options.steps > options.warmupSteps) {
            const double progress = static_cast<double>(step - options.warmupSteps) /
                                    (options.steps - options.warmupSteps);
            rate *= 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress));
        }
        adam.step(rate);
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("language-model training diverged (loss " + std::to_string(value) +
                        " at step " + std::to_string(step) + ")");
        lossSum += value;
        ++lossSteps;
        report.steps = step;
        const bool report_now = step == options.steps ||
                                (options.progressEvery > 0 && step % options.progressEvery == 0);
        if (report_now) {
            report.loss = lossSum / lossSteps;
            lossSum = 0;
            lossSteps = 0;
            if (options.progress && !options.progress(step, report.loss))
                break;
        }
    }
    for (torch::Tensor &p : adam.parameters())
        p.requires_grad_(false);
    report.device = device.str();
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

LanguageTrainReport torchTrainLanguageModel(Network &network, const Gpt2Config &config,
                                            const std::vector<TokenStream> &streams,
                                            const LanguageTrainOptions &options)
{
    checkGpt2Parameters(network, config);
    checkStreams(streams, config.context, config.vocab);
    setTorchThreads(options.threads);
    const torch::Device device(resolveTorchDevice(options.device));
    std::vector<torch::Tensor> parameters;
    for (const NamedTensor &t : network)
        parameters.push_back(toTorch(t).to(device));
    const LanguageTrainReport report =
        trainNextToken(parameters, config.context, config.vocab, streams, options, device,
                       [&](const std::vector<torch::Tensor> &p, const torch::Tensor &inputs) {
                           return gpt2Forward(p, config, inputs);
                       });
    for (std::size_t i = 0; i < network.size(); ++i) {
        const torch::Tensor values = parameters[i].detach().to(torch::kCPU).contiguous();
        std::copy(values.data_ptr<float>(), values.data_ptr<float>() + values.numel(),
                  network[i].values.begin());
    }
    return report;
}

std::string torchLanguageModelModule(const Network &network, const Gpt2Config &config)
{
    checkGpt2Parameters(network, config);
    ModuleNode root;
    for (const NamedTensor &t : network) {
        ModuleNode *node = &root;
        std::string rest = t.name;
        for (std::size_t dot; (dot = rest.find('.')) != std::string::npos;) {
            const std::string part = rest.substr(0, dot);
            auto &child = node->children[part];
            if (!child) {
                child = std::make_unique<ModuleNode>();
                node->order.push_back(part);
            }
            node = child.get();
            rest = rest.substr(dot + 1);
        }
        node->parameters.emplace_back(rest, toTorch(t));
    }
    auto unit = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module module = buildModule(root, "", unit);

    // The source of gpt2Forward above, line for line.
    const std::string d = std::to_string(config.width);
    const std::string heads = std::to_string(config.heads);
    const std::string headWidth = std::to_string(config.width / config.heads);
    const std::string eps = literal(config.layerNormEpsilon);
    const std::string scale =
        literal(1.0 / std::sqrt(static_cast<double>(config.width / config.heads)));
    std::string source;
    source +=
        "def _block(self, h: Tensor, future: Tensor, ln1w: Tensor, ln1b: Tensor, "
        "aw: Tensor, ab: Tensor, pw: Tensor, pb: Tensor, ln2w: Tensor, ln2b: Tensor, "
        "fw: Tensor, fb: Tensor, mw: Tensor, mb: Tensor) -> Tensor:\n"
        "    n = h.size(0)\n"
        "    t = h.size(1)\n"
        "    a = torch.layer_norm(h, [" +
        d + "], ln1w, ln1b, " + eps +
        ")\n"
        "    qkv = (torch.matmul(a, aw) + ab).split(" +
        d +
        ", 2)\n"
        "    q = qkv[0].view(n, t, " +
        heads + ", " + headWidth +
        ").transpose(1, 2)\n"
        "    k = qkv[1].view(n, t, " +
        heads + ", " + headWidth +
        ").transpose(1, 2)\n"
        "    v = qkv[2].view(n, t, " +
        heads + ", " + headWidth +
        ").transpose(1, 2)\n"
        "    attention = torch.matmul(q, k.transpose(-1, -2)) * " +
        scale +
        "\n"
        "    attention = torch.softmax(attention.masked_fill(future, float(\"-inf\")), -1)\n"
        "    y = torch.matmul(attention, v).transpose(1, 2).reshape([n, t, " +
        d +
        "])\n"
        "    h = h + torch.matmul(y, pw) + pb\n"
        "    m = torch.layer_norm(h, [" +
        d + "], ln2w, ln2b, " + eps +
        ")\n"
        "    m = torch.matmul(m, fw) + fb\n"
        "    m = 0.5 * m * (1.0 + torch.tanh(0.7978845608028654 * (m + 0.044715 * m.pow(3))))\n"
        "    return h + torch.matmul(m, mw) + mb\n";
    source += "def forward(self, input_ids: Tensor) -> Tensor:\n"
              "    t = input_ids.size(1)\n"
              "    positions = torch.arange(t, device=input_ids.device)\n"
              "    h = torch.embedding(self.transformer.wte.weight, input_ids) + "
              "torch.embedding(self.transformer.wpe.weight, positions)\n"
              "    future = torch.ones([t, t], device=input_ids.device).triu(1) > 0.5\n";
    for (int layer = 0; layer < config.layers; ++layer) {
        const std::string b = "b" + std::to_string(layer);
        source +=
            "    " + b + " = getattr(self.transformer.h, \"" + std::to_string(layer) + "\")\n";
        source += "    h = self._block(h, future, " + b + ".ln_1.weight, " + b + ".ln_1.bias, " +
                  b + ".attn.c_attn.weight, " + b + ".attn.c_attn.bias, " + b +
                  ".attn.c_proj.weight, " + b + ".attn.c_proj.bias, " + b + ".ln_2.weight, " + b +
                  ".ln_2.bias, " + b + ".mlp.c_fc.weight, " + b + ".mlp.c_fc.bias, " + b +
                  ".mlp.c_proj.weight, " + b + ".mlp.c_proj.bias)\n";
    }
    source += "    h = torch.layer_norm(h, [" + d +
              "], self.transformer.ln_f.weight, self.transformer.ln_f.bias, " + eps +
              ")\n"
              "    return torch.matmul(h, self.transformer.wte.weight.t())\n";
    // Perplexity over every target that is not -100, in batches of 16 windows.
    source += "def evaluate(self, inputs: Tensor, targets: Tensor) -> Tensor:\n"
              "    total = torch.zeros([], device=inputs.device).double()\n"
              "    count = 0\n"
              "    for start in range(0, inputs.size(0), 16):\n"
              "        logits = self.forward(inputs[start:start + 16])\n"
              "        y = targets[start:start + 16].reshape([-1])\n"
              "        logp = torch.log_softmax(logits.reshape([-1, logits.size(-1)]), -1)\n"
              "        total = total + torch.nll_loss(logp, y, None, 2, -100).double()\n"
              "        count = count + int((y != -100).sum())\n"
              "    return torch.exp(total / count)\n";
    module.define(source);
    module.eval();
    std::ostringstream bytes;
    module.save(bytes);
    return bytes.str();
}

} // namespace mf::eval
