// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/adapter_output.h"

#include "io/adapter.h"
#include "merge/folder_output.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

namespace mf {

namespace fs = std::filesystem;

namespace {

/// "model.layers.0.self_attn.q_proj" for "model.layers.0.self_attn.q_proj.weight".
std::string moduleOf(const std::string &tensor)
{
    const std::size_t dot = tensor.rfind('.');
    return dot == std::string::npos ? tensor : tensor.substr(0, dot);
}

/// A task's factors in PEFT's layout: A [r, in] and B [out, r] (embedding: A [r, num],
/// B [dim, r]), from the delta's left/right.
void factors(const TensorDelta &d, std::vector<float> &a, std::vector<float> &b)
{
    const std::size_t r = d.rank;
    if (!d.transposed) { // left = B [rows, r], right = A [r, cols]
        b = d.left;
        a = d.right;
        return;
    }
    // left = Aᵀ [rows = in, r], right = Bᵀ [r, cols = out]
    a.assign(r * d.rows, 0.0f);
    b.assign(d.cols * r, 0.0f);
    for (std::size_t k = 0; k < r; ++k) {
        for (std::uint64_t i = 0; i < d.rows; ++i)
            a[k * d.rows + i] = d.left[i * r + k];
        for (std::uint64_t o = 0; o < d.cols; ++o)
            b[o * r + k] = d.right[k * d.cols + o];
    }
}

} // namespace

AdapterOutputPlan planAdapterOutput(const Merger &merger,
                                    const std::vector<const Checkpoint *> &tasks,
                                    const std::vector<std::string> &names, DType dtype,
                                    const std::string &baseModel)
{
    const char *why = "an adapter output holds the low-rank sum Σ c·B·A of LoRA adapters";
    if (merger.options().method != MergeMethod::TaskArithmetic)
        throw Error(std::string("--out-adapter needs task arithmetic: ") +
                    methodName(merger.options().method) +
                    " trims or drops entries of each ΔW, so the merge is not low-rank (" + why +
                    "); write a model instead");
    for (std::size_t t = 0; t < tasks.size(); ++t)
        if (tasks[t]->format() != "peft-lora")
            throw Error("--out-adapter needs every task to be a LoRA adapter: task '" + names[t] +
                        "' (" + tasks[t]->path() +
                        ") is a full fine-tune, whose task vector is not low-rank (" + why + ")");
    const MergePlan &mergePlan = merger.plan();
    AdapterOutputPlan plan;
    std::map<std::string, std::size_t> moduleIndex;
    std::map<std::string, std::vector<std::size_t>> saved;
    std::vector<std::string> savedOrder;
    const auto save = [&](const std::string &module, std::size_t index) {
        auto &list = saved[module];
        if (list.empty())
            savedOrder.push_back(module);
        if (std::find(list.begin(), list.end(), index) == list.end())
            list.push_back(index);
    };
    // Bias deltas wait for their module's weight.
    std::vector<std::pair<std::size_t, std::size_t>> biases; // (plan index, task)
    for (std::size_t i = 0; i < mergePlan.tensors.size(); ++i) {
        const TensorPlan &tensor = mergePlan.tensors[i];
        if (tensor.taskOnly >= 0) { // a task's own head: carried whole
            save(moduleOf(tensor.name), i);
            continue;
        }
        if (!tensor.merged || tensor.duplicateOf >= 0)
            continue;
        bool dense = false;
        std::vector<std::size_t> lowRank;
        for (std::size_t t = 0; t < tensor.tasks.size(); ++t) {
            const TensorRef *ref = tensor.tasks[t];
            if (const TensorDelta *d = ref->delta) {
                if (d->kind == TensorDelta::Kind::Dora)
                    throw Error("--out-adapter cannot hold task '" + names[t] +
                                "': it is a DoRA adapter (module '" + d->module +
                                "'), whose task vector m·(W + ΔW)/‖W + ΔW‖ − W is not low-rank; "
                                "write a model instead");
                if (d->kind == TensorDelta::Kind::Bias)
                    biases.emplace_back(i, t);
                else
                    lowRank.push_back(t);
            } else if (ref->data != tensor.base->data) {
                dense = true; // a tensor the adapter saves whole (modules_to_save)
            }
        }
        if (dense) {
            save(moduleOf(tensor.name), i);
            continue;
        }
        if (lowRank.empty())
            continue;
        AdapterOutputPlan::Module module;
        const TensorDelta &first = *tensor.tasks[lowRank.front()]->delta;
        module.module = first.module;
        module.weight = i;
        module.embedding = first.embedding;
        module.transposed = first.transposed;
        module.in = first.transposed ? first.rows : first.cols;
        module.out = first.transposed ? first.cols : first.rows;
        for (std::size_t t : lowRank) {
            const TensorDelta *d = tensor.tasks[t]->delta;
            if (d->transposed != first.transposed || d->embedding != first.embedding)
                throw Error("--out-adapter: tasks '" + names[lowRank.front()] + "' and '" +
                            names[t] + "' adapt '" + first.module +
                            "' in different layouts (fan_in_fan_out / embedding)");
            module.tasks.push_back(t);
            module.deltas.push_back(d);
            module.rank += static_cast<int>(d->rank);
        }
        moduleIndex[module.module] = plan.modules.size();
        plan.modules.push_back(std::move(module));
    }
    for (const auto &[index, t] : biases) {
        const TensorPlan &tensor = mergePlan.tensors[index];
        const TensorDelta *d = tensor.tasks[t]->delta;
        const auto it = moduleIndex.find(d->module);
        if (saved.count(moduleOf(tensor.name)))
            continue; // written whole
        if (it == moduleIndex.end()) {
            save(moduleOf(tensor.name), index); // its weight is not merged: the bias alone, whole
            continue;
        }
        AdapterOutputPlan::Module &module = plan.modules[it->second];
        module.bias = static_cast<int>(index);
        module.biasTasks.push_back(t);
        module.biasDeltas.push_back(d);
    }
    // A module saved whole takes all its merged tensors whole (ModulesToSaveWrapper holds the
    // module), and is no LoRA module.
    for (const std::string &name : savedOrder)
        for (std::size_t i = 0; i < mergePlan.tensors.size(); ++i)
            if (moduleOf(mergePlan.tensors[i].name) == name && mergePlan.tensors[i].duplicateOf < 0)
                save(name, i);
    plan.modules.erase(std::remove_if(plan.modules.begin(), plan.modules.end(),
                                      [&](const AdapterOutputPlan::Module &m) {
                                          return saved.count(m.module) > 0;
                                      }),
                       plan.modules.end());
    for (const std::string &name : savedOrder)
        plan.saved.emplace_back(name, saved[name]);
    if (plan.modules.empty() && plan.saved.empty())
        throw Error("--out-adapter: the merge changes no tensor of the base (check the tasks "
                    "and the include/exclude filters)");

    // The output's scale is 1 everywhere: lora_alpha = r, per module through the patterns.
    std::map<int, int> rankCount;
    for (const auto &m : plan.modules)
        ++rankCount[m.rank];
    int r = 8;
    int most = 0;
    for (const auto &[rank, count] : rankCount)
        if (count > most)
            r = rank, most = count;
    nlohmann::ordered_json rankPattern = nlohmann::ordered_json::object();
    nlohmann::ordered_json alphaPattern = nlohmann::ordered_json::object();
    nlohmann::ordered_json targets = nlohmann::ordered_json::array();
    bool fanInFanOut = false, loraBias = false;
    for (const auto &m : plan.modules) {
        targets.push_back(m.module);
        if (m.rank != r) {
            rankPattern[escapeRegex(m.module)] = m.rank;
            alphaPattern[escapeRegex(m.module)] = m.rank;
        }
        fanInFanOut = fanInFanOut || (m.transposed && !m.embedding);
        loraBias = loraBias || m.bias >= 0;
        const std::string key = kPeftKeyPrefix + m.module;
        const auto u = static_cast<std::int64_t>(m.rank);
        const auto in = static_cast<std::int64_t>(m.in), out = static_cast<std::int64_t>(m.out);
        if (m.embedding) {
            plan.tensors.push_back({key + ".lora_embedding_A", dtype, {u, in}});
            plan.tensors.push_back({key + ".lora_embedding_B", dtype, {out, u}});
        } else {
            plan.tensors.push_back({key + ".lora_A.weight", dtype, {u, in}});
            plan.tensors.push_back({key + ".lora_B.weight", dtype, {out, u}});
        }
    }
    if (loraBias) // PEFT gives every lora_B a bias then: the modules without one get zeros
        for (const auto &m : plan.modules)
            if (!m.embedding)
                plan.tensors.push_back({kPeftKeyPrefix + m.module + ".lora_B.bias",
                                        dtype,
                                        {static_cast<std::int64_t>(m.out)}});
    nlohmann::ordered_json savedNames = nlohmann::ordered_json::array();
    for (const auto &[module, indices] : plan.saved) {
        savedNames.push_back(module);
        for (std::size_t index : indices) {
            const TensorPlan &tensor = mergePlan.tensors[index];
            plan.tensors.push_back({kPeftKeyPrefix + tensor.name,
                                    isFloating(tensor.base->dtype) ? dtype : tensor.base->dtype,
                                    tensor.base->shape});
        }
    }
    for (const auto &m : plan.modules)
        if (m.embedding && m.bias >= 0)
            throw Error("--out-adapter: module '" + m.module + "' is an embedding with a bias");
    nlohmann::ordered_json config = {
        {"peft_type", "LORA"},
        {"task_type", "CAUSAL_LM"},
        {"base_model_name_or_path", baseModel},
        {"r", r},
        {"lora_alpha", r},
        {"rank_pattern", rankPattern},
        {"alpha_pattern", alphaPattern},
        {"target_modules", targets},
        {"modules_to_save", plan.saved.empty() ? nlohmann::ordered_json() : savedNames},
        {"fan_in_fan_out", fanInFanOut},
        {"use_rslora", false},
        {"use_dora", false},
        {"lora_bias", loraBias},
        {"bias", "none"},
        {"lora_dropout", 0.0},
        {"inference_mode", true},
        {"init_lora_weights", true},
        {"layers_to_transform", nullptr},
        {"layers_pattern", nullptr},
        {"revision", nullptr}};
    plan.config = config.dump(2) + "\n";
    std::uint64_t parameters = 0;
    for (const OutputTensor &t : plan.tensors)
        parameters += elementCount(t.shape);
    plan.lines.push_back(
        "adapter: " + std::to_string(plan.modules.size()) + " LoRA modules (rank " +
        std::to_string(r) +
        (rankPattern.empty()
             ? std::string()
             : ", " + std::to_string(rankPattern.size()) + " others through rank_pattern") +
        ", scale 1: the tasks' factors side by side, B scaled by c · its scale), " +
        std::to_string(plan.saved.size()) + " modules saved whole, " + std::to_string(parameters) +
        " parameters as " + dtypeName(dtype));
    for (const auto &[module, indices] : plan.saved)
        plan.lines.push_back("adapter: modules_to_save '" + module +
                             "': written whole, merged (a task saves it whole or carries it)");
    return plan;
}

std::vector<std::string> writeAdapterOutput(const Merger &merger, const AdapterOutputPlan &plan,
                                            const std::string &out,
                                            const std::vector<double> &coefficients,
                                            const Metadata &metadata, const std::string &card,
                                            bool sync)
{
    const MergePlan &mergePlan = merger.plan();
    FolderTransaction folder(out, sync);
    WriterOptions options;
    options.sync = sync;
    std::vector<std::string> written;
    {
        CheckpointWriter writer(folder.path() + "/adapter_model.safetensors", plan.tensors,
                                metadata, options);
        std::size_t next = 0;
        std::vector<std::byte> bytes;
        const auto put = [&](const std::vector<float> &values) {
            const OutputTensor &tensor = writer.tensors().at(next);
            if (values.size() != elementCount(tensor.shape))
                throw Error("internal: adapter tensor '" + tensor.name + "' has the wrong size");
            bytes.resize(tensor.byteSize());
            convertFromFloat(tensor.dtype, values.data(), bytes.data(), values.size());
            writer.write(next++, 0, bytes.data(), bytes.size());
        };
        std::vector<std::vector<float>> biasValues;
        for (const auto &m : plan.modules) {
            const std::vector<double> c = merger.tensorCoefficients(m.weight, coefficients);
            std::vector<float> a(static_cast<std::size_t>(m.rank * m.in));
            std::vector<float> b(static_cast<std::size_t>(m.out * m.rank));
            std::size_t offset = 0;
            for (std::size_t k = 0; k < m.tasks.size(); ++k) {
                const TensorDelta &d = *m.deltas[k];
                std::vector<float> ta, tb;
                factors(d, ta, tb);
                std::copy(ta.begin(), ta.end(),
                          a.begin() + static_cast<std::ptrdiff_t>(offset * m.in));
                const double scale = c[m.tasks[k]] * d.scale;
                for (std::uint64_t o = 0; o < m.out; ++o)
                    for (std::size_t j = 0; j < d.rank; ++j)
                        b[o * m.rank + offset + j] = static_cast<float>(scale * tb[o * d.rank + j]);
                offset += d.rank;
            }
            put(a);
            put(b);
            std::vector<float> bias(m.embedding ? 0 : static_cast<std::size_t>(m.out), 0.0f);
            if (m.bias >= 0) {
                const std::vector<double> cb =
                    merger.tensorCoefficients(static_cast<std::size_t>(m.bias), coefficients);
                for (std::size_t k = 0; k < m.biasTasks.size(); ++k) {
                    const TensorDelta &d = *m.biasDeltas[k];
                    for (std::size_t o = 0; o < bias.size(); ++o)
                        bias[o] += static_cast<float>(cb[m.biasTasks[k]] * d.scale * d.bias[o]);
                }
            }
            biasValues.push_back(std::move(bias));
        }
        const bool loraBias = std::any_of(plan.modules.begin(), plan.modules.end(),
                                          [](const auto &m) { return m.bias >= 0; });
        if (loraBias)
            for (std::size_t k = 0; k < plan.modules.size(); ++k)
                if (!plan.modules[k].embedding)
                    put(biasValues[k]);
        // Modules saved whole (an embedding, a head: up to GBs) stream through the merge
        // kernel block by block, as a full merge does, never held whole.
        std::vector<Merger::Range> ranges;
        std::vector<std::size_t> rangeOutput;
        std::uint64_t savedBytes = 0;
        for (const auto &[module, indices] : plan.saved)
            for (std::size_t index : indices) {
                const TensorPlan &tensor = mergePlan.tensors[index];
                const std::size_t output = next++;
                const OutputTensor &target = writer.tensors().at(output);
                if (elementCount(target.shape) != tensor.base->numel())
                    throw Error("internal: adapter tensor '" + target.name +
                                "' has the wrong size");
                if (!isFloating(target.dtype)) { // copied as stored
                    writer.write(output, 0, tensor.base->data, tensor.base->byteSize);
                    continue;
                }
                savedBytes += target.byteSize();
                for (std::uint64_t start = 0; start < tensor.base->numel(); start += kMergeBlock) {
                    ranges.push_back(
                        {index, start,
                         std::min<std::uint64_t>(kMergeBlock, tensor.base->numel() - start)});
                    rangeOutput.push_back(output);
                }
            }
        const int threads = defaultThreadCount();
        std::vector<std::vector<std::byte>> blockBytes(static_cast<std::size_t>(threads));
        merger.mergeRanges(
            ranges, coefficients, threads, savedBytes,
            [&](std::size_t r, const float *values, int worker) {
                const OutputTensor &target = writer.tensors()[rangeOutput[r]];
                const std::size_t size = dtypeSize(target.dtype);
                std::vector<std::byte> &block = blockBytes[static_cast<std::size_t>(worker)];
                block.resize(static_cast<std::size_t>(ranges[r].count) * size);
                convertFromFloat(target.dtype, values, block.data(),
                                 static_cast<std::size_t>(ranges[r].count));
                writer.write(rangeOutput[r], ranges[r].start * size, block.data(), block.size());
                return static_cast<std::uint64_t>(block.size());
            });
        written = writer.commit();
    }
    folder.writeFile("adapter_config.json", plan.config);
    folder.writeFile("README.md", card);
    const std::string committed = folder.commit();
    std::vector<std::string> files;
    for (const std::string &file : written)
        files.push_back((fs::path(committed) / fs::path(file).filename()).string());
    files.push_back((fs::path(committed) / "adapter_config.json").string());
    files.push_back((fs::path(committed) / "README.md").string());
    files.push_back(committed);
    return files;
}

} // namespace mf
