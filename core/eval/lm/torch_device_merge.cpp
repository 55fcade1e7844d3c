// SPDX-License-Identifier: GPL-3.0-or-later
// Merging on the model's device: the base and task tensors (and DARE / TIES keep-masks) loaded
// once, each merge computed with the host kernel's arithmetic op for op and written into the
// live weights, bit for bit what `mergefront-cli merge` writes.
#include "eval/lm/torch_causal_lm.h"

#include "io/adapter.h"
#include "util/error.h"

#include <cstdlib>

namespace mf::eval::lm {

namespace {

torch::ScalarType scalarType(DType dtype)
{
    switch (dtype) {
    case DType::BF16:
        return torch::kBFloat16;
    case DType::F16:
        return torch::kFloat16;
    case DType::F32:
        return torch::kFloat32;
    default:
        throw Error(std::string("the device merge takes bf16, f16 or f32 tensors, not ") +
                    dtypeName(dtype));
    }
}

bool outOfMemory(const c10::Error &e)
{
    return std::string(e.what_without_backtrace()).find("out of memory") != std::string::npos;
}

} // namespace

std::string TorchCausalLm::prepareDeviceMerge(std::vector<DeviceMergeTensor> tensors)
{
    torch::NoGradGuard noGrad;
    m_merges.clear();
    std::uint64_t bytes = 0;
    bool adapters = false; // an adapter's task is held as base + ΔW in float32
    for (const DeviceMergeTensor &tensor : tensors) {
        const TensorTransform &transform = *tensor.transform;
        DeviceMerge merge;
        merge.name = tensor.name;
        merge.dtype = tensor.base->dtype;
        merge.method = transform.method;
        merge.disjointMean = transform.disjointMean;
        merge.dropRate = transform.dropRate;
        const std::vector<std::int64_t> shape(tensor.base->shape.begin(), tensor.base->shape.end());
        auto host = [&](const TensorRef &ref) {
            if (ref.delta) { // a bound adapter's tensor: base + ΔW as float, as the host merges
                adapters = true;
                torch::Tensor values = torch::empty(shape, torch::kFloat32);
                readValues(ref, 0, static_cast<std::size_t>(ref.numel()), values.data_ptr<float>());
                return values;
            }
            if (ref.dtype != merge.dtype)
                throw Error("tensor '" + ref.name + "' is " + dtypeName(ref.dtype) +
                            " in a task but " + dtypeName(merge.dtype) + " in the base");
            return torch::from_blob(const_cast<std::byte *>(ref.data), shape, scalarType(ref.dtype))
                .clone();
        };
        merge.base = host(*tensor.base);
        weight(tensor.name); // unties a tied head now, not in the middle of an evaluation
        const std::size_t n = tensor.base->numel();
        std::vector<float> base(n), task(n), tau(n);
        if (merge.method != MergeMethod::TaskArithmetic)
            convertToFloat(tensor.base->dtype, tensor.base->data, base.data(), n);
        for (std::size_t t = 0; t < tensor.tasks.size(); ++t) {
            merge.tasks.push_back(host(*tensor.tasks[t]));
            if (merge.method == MergeMethod::TaskArithmetic)
                continue;
            // The keep-mask is where the host kernel's τ̃ is not zero (a zero τ̃ adds nothing
            // whether kept or not), so the device recomputes τ̃ exactly where it keeps it.
            readValues(*tensor.tasks[t], 0, n, task.data());
            taskVectorBlock<float>(base.data(), task.data(), t, n, 0, transform, tau.data());
            torch::Tensor keep = torch::empty(shape, torch::kBool);
            bool *k = keep.data_ptr<bool>();
            for (std::size_t i = 0; i < n; ++i)
                k[i] = tau[i] != 0.0f;
            merge.keep.push_back(keep);
        }
        bytes += static_cast<std::uint64_t>(n) * (dtypeSize(merge.dtype) + merge.keep.size());
        for (const torch::Tensor &held : merge.tasks)
            bytes += static_cast<std::uint64_t>(held.numel() * held.element_size());
        m_merges.push_back(std::move(merge));
    }
    // Resident on the device when everything fits; else host memory, streamed per merge.
    // MERGEFRONT_STREAM_TASK_VECTORS=1 forces the streamed plan (bench/gpu_check.sh compares).
    const char *stream = std::getenv("MERGEFRONT_STREAM_TASK_VECTORS");
    bool resident = !(stream && std::string(stream) == "1");
    const auto pin = [&] {
        for (DeviceMerge &merge : m_merges) {
            merge.base = merge.base.pin_memory();
            for (torch::Tensor &t : merge.tasks)
                t = t.pin_memory();
            for (torch::Tensor &k : merge.keep)
                k = k.pin_memory();
        }
    };
    if (m_device.is_cuda() && !resident) {
        pin();
    } else if (m_device.is_cuda()) {
        std::vector<DeviceMerge> placed = m_merges;
        try {
            for (DeviceMerge &merge : placed) {
                merge.base = merge.base.to(m_device);
                for (torch::Tensor &t : merge.tasks)
                    t = t.to(m_device);
                for (torch::Tensor &k : merge.keep)
                    k = k.to(m_device);
            }
            m_merges = std::move(placed);
        } catch (const c10::Error &e) {
            if (!outOfMemory(e))
                throw Error("moving the task vectors to " + m_device.str() +
                            " failed: " + std::string(e.what_without_backtrace()));
            placed.clear();
            resident = false;
            pin();
        }
    }
    char text[300];
    std::snprintf(text, sizeof text,
                  "task vectors %s (%.1f MB: base and tasks in the checkpoint's dtype%s%s); "
                  "merged on %s",
                  resident ? ("on " + m_device.str()).c_str()
                           : "in pinned host memory, streamed tensor by tensor",
                  bytes / 1e6, m_merges.empty() || m_merges[0].keep.empty() ? "" : ", keep-masks",
                  adapters ? ", LoRA adapters' tasks as base + ΔW in float32" : "",
                  m_device.str().c_str());
    return text;
}

void TorchCausalLm::mergeOnDevice(std::size_t index, const std::vector<double> &taskCoefficients)
{
    torch::NoGradGuard noGrad;
    const DeviceMerge &m = m_merges.at(index);
    const auto on = [&](const torch::Tensor &t) {
        return t.to(m_device, true);
    };
    // mergeBlock's arithmetic, op for op, in float32: each step rounds as the host's does.
    const torch::Tensor base = on(m.base).to(torch::kFloat32);
    const bool dare = m.method == MergeMethod::Dare || m.method == MergeMethod::DareTies;
    const bool ties = m.method == MergeMethod::Ties || m.method == MergeMethod::DareTies;
    const auto scale = static_cast<float>(1.0 / (1.0 - m.dropRate));
    std::vector<torch::Tensor> taus;
    for (std::size_t t = 0; t < m.tasks.size(); ++t) {
        torch::Tensor tau = on(m.tasks[t]).to(torch::kFloat32) - base;
        if (dare)
            tau = tau * scale;
        if (!m.keep.empty())
            tau = tau.masked_fill(on(m.keep[t]).logical_not(), 0.0f);
        taus.push_back(tau);
    }
    const auto c = [&](std::size_t t) {
        return static_cast<float>(taskCoefficients.at(t));
    };
    torch::Tensor merged;
    if (!ties || taus.empty()) {
        if (taus.empty()) {
            merged = base;
        } else {
            torch::Tensor sum = taus[0] * c(0);
            for (std::size_t t = 1; t < taus.size(); ++t)
                sum = sum + taus[t] * c(t);
            merged = base + sum;
        }
    } else {
        torch::Tensor elected = taus[0];
        for (std::size_t t = 1; t < taus.size(); ++t)
            elected = elected + taus[t];
        const torch::Tensor positive = elected > 0, negative = elected < 0;
        torch::Tensor acc = torch::zeros_like(base);
        torch::Tensor agreeing = torch::zeros(base.sizes(), base.options().dtype(torch::kInt32));
        for (std::size_t t = 0; t < taus.size(); ++t) {
            const torch::Tensor agree =
                (taus[t] > 0).logical_and(positive).logical_or((taus[t] < 0).logical_and(negative));
            acc = acc + (taus[t] * c(t)).masked_fill(agree.logical_not(), 0.0f);
            agreeing = agreeing + agree.to(torch::kInt32);
        }
        if (m.disjointMean)
            acc = torch::where(agreeing > 1, acc / agreeing.to(torch::kFloat32), acc);
        merged = base + acc;
    }
    // What `merge` writes: the float result rounded to the checkpoint's dtype.
    weight(m.name).copy_(merged.to(scalarType(m.dtype)));
}

} // namespace mf::eval::lm
