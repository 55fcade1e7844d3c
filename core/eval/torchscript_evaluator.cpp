// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/torchscript_evaluator.h"

#include "eval/torch_network.h"

#include "io/checkpoint.h"
#include "merge/merge_inputs.h"
#include "util/error.h"
#include "util/parallel.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <chrono>
#include <cmath>

namespace mf::eval {

namespace {

/// A module parameter or buffer that a merged tensor is written into.
struct Slot {
    std::size_t planIndex;
    torch::Tensor target;
};

struct LoadedTask {
    TorchTask spec;
    torch::jit::script::Module module;
    torch::Tensor inputs, targets;
    std::vector<Slot> slots;
};

torch::Tensor tensorFrom(const TensorRef &ref, const std::string &what)
{
    std::vector<std::int64_t> shape(ref.shape.begin(), ref.shape.end());
    switch (ref.dtype) {
    case DType::I64:
        return torch::from_blob(const_cast<std::byte *>(ref.data), shape, torch::kInt64).clone();
    case DType::I32:
        return torch::from_blob(const_cast<std::byte *>(ref.data), shape, torch::kInt32)
            .to(torch::kInt64);
    case DType::U8: // 8-bit pixels: the module scales them (the example project's modules do)
        return torch::from_blob(const_cast<std::byte *>(ref.data), shape, torch::kUInt8).clone();
    default: {
        if (!isFloating(ref.dtype))
            throw Error(what + " has dtype " + dtypeName(ref.dtype) +
                        ", expected floats, U8 pixels or class indices");
        std::vector<float> values(ref.numel());
        convertToFloat(ref.dtype, ref.data, values.data(), values.size());
        return torch::from_blob(values.data(), shape, torch::kFloat32).clone();
    }
    }
}

std::string shapeText(c10::IntArrayRef sizes)
{
    std::string text = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i)
        text += (i ? ", " : "") + std::to_string(sizes[i]);
    return text + "]";
}

/// The built-in metrics over the module's forward: logits [b, classes] for targets [b], or
/// [b, T, vocab] for token targets [b, T]; targets of -100 are skipped (as in transformers).
/// accuracy: argmax hits / targets; cross_entropy: mean negative log-likelihood (nats);
/// perplexity: its exponential.
double scoreOutputs(LoadedTask &task, const std::string &what)
{
    const std::int64_t n = task.inputs.size(0);
    double correct = 0, loss = 0, counted = 0;
    for (std::int64_t start = 0; start < n; start += task.spec.batchSize) {
        const std::int64_t end = std::min(n, start + task.spec.batchSize);
        const torch::Tensor x = task.inputs.slice(0, start, end);
        const torch::Tensor y = task.targets.slice(0, start, end);
        const torch::Tensor logits = task.module.forward({x}).toTensor();
        if (logits.dim() != y.dim() + 1 ||
            logits.sizes().slice(0, static_cast<std::size_t>(y.dim())) != y.sizes())
            throw Error(what + ": the module's output " + shapeText(logits.sizes()) +
                        " does not fit the targets " + shapeText(y.sizes()) + " of " +
                        task.spec.data + " (expected the targets' shape and one more axis)");
        const std::int64_t classes = logits.size(-1);
        const torch::Tensor flatY = y.reshape({-1});
        const torch::Tensor kept = flatY != -100;
        const torch::Tensor out =
            flatY.masked_select(flatY.ge(classes).logical_or(flatY.lt(0).logical_and(kept)));
        if (out.numel() > 0)
            throw Error(what + ": " + task.spec.data + " has target " +
                        std::to_string(out[0].item<std::int64_t>()) + ", outside the module's " +
                        std::to_string(classes) + " outputs (and not -100, which is skipped)");
        const torch::Tensor flatLogits = logits.reshape({-1, classes});
        counted += kept.sum().item<double>();
        if (task.spec.metric == "accuracy")
            correct += (flatLogits.argmax(1).eq(flatY).logical_and(kept)).sum().item<double>();
        else
            loss -= flatLogits.log_softmax(1)
                        .gather(1, flatY.clamp_min(0).unsqueeze(1))
                        .squeeze(1)
                        .masked_select(kept)
                        .sum(0, false, torch::kFloat64)
                        .item<double>();
    }
    if (counted == 0)
        throw Error(what + ": every target in " + task.spec.data + " is -100 (nothing to score)");
    if (task.spec.metric == "accuracy")
        return correct / counted;
    return task.spec.metric == "perplexity" ? std::exp(loss / counted) : loss / counted;
}

} // namespace

struct TorchScriptEvaluator::State {
    TorchEvaluatorOptions options;
    std::unique_ptr<MergeInputs> inputs;
    torch::Device device{torch::kCPU};
    std::vector<LoadedTask> tasks;
    std::vector<std::size_t> written; ///< plan indices some module receives
};

TorchScriptEvaluator::TorchScriptEvaluator(TorchEvaluatorOptions options)
    : m_state(std::make_unique<State>())
{
    State &s = *m_state;
    s.options = std::move(options);
    if (s.options.tasks.size() != s.options.models.size())
        throw Error("the TorchScript evaluator needs one task checkpoint per task");
    setTorchThreads(s.options.threads);
    keepActivationsOnHeap();
    // The simple executor: the profiling one re-specialises for every batch shape and ran the
    // example's modules ~1.8x slower than eager PyTorch here (0.35 s vs 0.19 s per task).
    torch::jit::getExecutorMode() = false;
    s.device = torch::Device(resolveTorchDevice(s.options.device));

    std::vector<std::string> names;
    for (const TorchTask &task : s.options.tasks)
        names.push_back(task.name);
    s.inputs =
        std::make_unique<MergeInputs>(s.options.base, s.options.models, names, s.options.merge);
    s.inputs->merger().prepare(s.options.threads > 0 ? s.options.threads : defaultThreadCount());
    const MergePlan &plan = s.inputs->merger().plan();

    std::vector<bool> used(plan.tensors.size(), false);
    for (const TorchTask &spec : s.options.tasks) {
        const std::string what = "task '" + spec.name + "'";
        LoadedTask task;
        task.spec = spec;
        if (spec.metric != "accuracy" && spec.metric != "cross_entropy" &&
            spec.metric != "perplexity" && spec.metric != "evaluate")
            throw Error(what + ": metric '" + spec.metric +
                        "' (expected accuracy, cross_entropy, perplexity or evaluate)");
        try {
            task.module = torch::jit::load(spec.module, s.device);
        } catch (const c10::Error &e) {
            throw Error(what + ": cannot load the TorchScript module " + spec.module + ": " +
                        std::string(e.what_without_backtrace()));
        }
        task.module.eval();
        if (spec.metric == "evaluate" && !task.module.find_method("evaluate"))
            throw Error(what + ": the module " + spec.module +
                        " has no evaluate(inputs, targets) method");
        const Checkpoint data = Checkpoint::open(spec.data);
        const TensorRef *inputs = data.find("inputs");
        const TensorRef *targets = data.find("targets");
        if (!inputs || !targets)
            throw Error(what + ": " + spec.data + " has no \"" + (inputs ? "targets" : "inputs") +
                        "\" tensor");
        task.inputs = tensorFrom(*inputs, what + ": inputs in " + spec.data).to(s.device);
        task.targets = tensorFrom(*targets, what + ": targets in " + spec.data).to(s.device);
        if (task.targets.is_floating_point() && spec.metric != "evaluate")
            throw Error(what + ": targets in " + spec.data + " are " + dtypeName(targets->dtype) +
                        ", expected class or token ids (I64, I32)");
        if (!task.targets.is_floating_point())
            task.targets = task.targets.to(torch::kInt64);
        if (task.inputs.dim() == 0 || task.targets.dim() == 0 ||
            task.inputs.size(0) != task.targets.size(0))
            throw Error(what + ": " + spec.data +
                        " needs inputs [n, ...] and targets [n] (classes) or [n, T] (tokens) with "
                        "the same n");
        if (task.targets.dim() >= 2 && task.targets.sizes() != task.inputs.sizes())
            throw Error(what + ": " + spec.data + ": token targets " +
                        shapeText(task.targets.sizes()) + " do not match the inputs " +
                        shapeText(task.inputs.sizes()));
        // About 2k targets a batch: the logits stay small and in cache (a GPT-2 of width 128
        // on 2 cores: 16 windows of 128 tokens a batch took 0.12 s per domain, 32 took 0.18 s).
        if (task.spec.batchSize <= 0)
            task.spec.batchSize = static_cast<int>(std::max<std::int64_t>(
                1, task.targets.dim() == 1 ? 1024
                                           : 2048 / (task.targets.numel() / task.targets.size(0))));

        // Map the module's parameters and buffers to the checkpoint's tensors by name.
        std::map<std::string, std::size_t> byName;
        for (std::size_t i = 0; i < plan.tensors.size(); ++i)
            if (plan.tensors[i].taskOnly < 0) // a task's own tensor stays as its module has it
                byName[plan.tensors[i].name] = i;
        std::map<std::string, std::string> moduleToCheckpoint;
        for (const auto &[checkpointName, moduleName] : spec.names)
            moduleToCheckpoint[moduleName] = checkpointName;
        auto attach = [&](const std::string &moduleName, const torch::Tensor &value) {
            const auto renamed = moduleToCheckpoint.find(moduleName);
            const std::string checkpointName =
                renamed == moduleToCheckpoint.end() ? moduleName : renamed->second;
            const auto it = byName.find(checkpointName);
            if (it == byName.end() || !value.is_floating_point())
                return; // the task's own (e.g. its head): kept as loaded
            const TensorRef &ref = *plan.tensors[it->second].base;
            if (std::vector<std::int64_t>(ref.shape.begin(), ref.shape.end()) !=
                value.sizes().vec())
                return; // a per-task tensor of another shape (a head): kept as loaded
            task.slots.push_back({it->second, value});
            used[it->second] = true;
        };
        for (const auto &parameter : task.module.named_parameters(true))
            attach(parameter.name, parameter.value);
        for (const auto &buffer : task.module.named_buffers(true))
            attach(buffer.name, buffer.value);
        if (task.slots.empty())
            throw Error(what + ": none of the parameters of " + spec.module +
                        " has the name and shape of a tensor in the checkpoints (give a name map)");
        s.tasks.push_back(std::move(task));
    }
    for (std::size_t i = 0; i < used.size(); ++i)
        if (used[i])
            s.written.push_back(i);
}

TorchScriptEvaluator::~TorchScriptEvaluator() = default;

std::string TorchScriptEvaluator::device() const
{
    return m_state->device.str();
}

Evaluation TorchScriptEvaluator::evaluate(const std::vector<double> &coefficients,
                                          const CancelFlag &cancel)
{
    State &s = *m_state;
    Evaluation evaluation;
    evaluation.coefficients = coefficients;
    evaluation.device = s.device.str();
    const auto started = std::chrono::steady_clock::now();
    try {
        // Merge each tensor once, write it into every module that has it.
        const MergePlan &plan = s.inputs->merger().plan();
        std::vector<float> buffer;
        {
            torch::NoGradGuard noGrad;
            for (std::size_t index : s.written) {
                if (cancel)
                    throw Error("cancelled");
                const TensorRef &ref = *plan.tensors[index].base;
                buffer.resize(ref.numel());
                s.inputs->merger().mergeTensor(index, coefficients, buffer.data());
                const std::vector<std::int64_t> shape(ref.shape.begin(), ref.shape.end());
                const torch::Tensor merged =
                    torch::from_blob(buffer.data(), shape, torch::kFloat32);
                for (LoadedTask &task : s.tasks)
                    for (Slot &slot : task.slots)
                        if (slot.planIndex == index)
                            slot.target.copy_(merged);
            }
        }
        for (LoadedTask &task : s.tasks) {
            if (cancel)
                throw Error("cancelled");
            const std::string what = "task '" + task.spec.name + "'";
            double value = 0;
            try {
                c10::InferenceMode inference;
                if (task.spec.metric == "evaluate") {
                    value = task.module.get_method("evaluate")({task.inputs, task.targets})
                                .toTensor()
                                .item<double>();
                } else {
                    value = scoreOutputs(task, what);
                }
            } catch (const c10::Error &e) {
                throw Error(what + ": the module failed on " + task.spec.data + ": " +
                            std::string(e.what_without_backtrace()));
            } catch (const std::exception &e) { // the TorchScript interpreter's own errors
                throw Error(what + ": the module failed on " + task.spec.data + ": " + e.what());
            }
            if (!std::isfinite(value))
                throw Error(what + ": the metric is not a finite number (" + std::to_string(value) +
                            ")");
            evaluation.metrics[task.spec.name] = value;
        }
    } catch (const std::exception &e) {
        evaluation.failed = true;
        evaluation.error = e.what();
        evaluation.metrics.clear();
    }
    evaluation.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return evaluation;
}

} // namespace mf::eval
