// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/lm/causal_lm_evaluator.h"

#include "merge/merge_inputs.h"
#include "text/tokenizer.h"
#include "text/tokenizer_folder.h"
#include "util/error.h"
#include "util/parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <mutex>

namespace mf::eval::lm {

namespace fs = std::filesystem;

namespace {

bool hasTokenizerFiles(const std::string &folder)
{
    for (const char *name : {"tokenizer.json", "tokenizer.model", "vocab.json"})
        if (fs::exists(fs::path(folder) / name))
            return true;
    return false;
}

} // namespace

void checkSameVocabulary(const LmConfig &base, const text::Tokenizer &baseTokenizer,
                         const std::string &task, const std::string &name)
{
    std::error_code error;
    if (!fs::is_directory(task, error))
        return; // a bare weights file: its embedding's shape is checked by the merge plan
    if (fs::exists(fs::path(task) / "config.json")) {
        const LmConfig taskConfig = readLmConfig(task);
        if (taskConfig.vocab != base.vocab)
            throw Error("task '" + name + "': " + taskConfig.file + " has vocab_size " +
                        std::to_string(taskConfig.vocab) + ", the base's " + base.file + " has " +
                        std::to_string(base.vocab) +
                        ": their vocabularies differ, and merging them would mix unrelated rows");
    }
    if (!hasTokenizerFiles(task))
        return;
    const auto taskTokenizer = text::loadTokenizer(task);
    const std::uint32_t size = baseTokenizer.vocabularySize();
    if (taskTokenizer->vocabularySize() != size)
        throw Error("task '" + name + "': the tokenizer in " + task + " has " +
                    std::to_string(taskTokenizer->vocabularySize()) + " tokens, the base's has " +
                    std::to_string(size) + ": their vocabularies differ");
    for (std::uint32_t id = 0; id < size; ++id) {
        const std::string *a = baseTokenizer.idToToken(id);
        const std::string *b = taskTokenizer->idToToken(id);
        if ((a == nullptr) != (b == nullptr) || (a && *a != *b))
            throw Error("task '" + name + "': token " + std::to_string(id) + " is '" +
                        (b ? *b : "") + "' in " + task + " but '" + (a ? *a : "") +
                        "' in the base: their vocabularies differ");
    }
}

struct CausalLmEvaluator::State {
    CausalLmEvaluatorOptions options;
    std::unique_ptr<MergeInputs> inputs;
    std::unique_ptr<CausalLm> model;
    std::vector<LmTaskData> data;
    std::vector<std::size_t> written; ///< plan indices merged into a live weight
    bool onDevice = false;            ///< merged by the model on its device
    std::mutex weightMutex;
};

CausalLmEvaluator::CausalLmEvaluator(CausalLmEvaluatorOptions options)
    : m_state(std::make_unique<State>())
{
    State &s = *m_state;
    s.options = std::move(options);
    const auto log = [&](const std::string &line) {
        if (s.options.log)
            s.options.log(line);
    };
    if (s.options.tasks.size() != s.options.models.size())
        throw Error("the causal-lm evaluator needs one task model per task");
    const LmConfig config = readLmConfig(s.options.base);
    if (!hasTokenizerFiles(s.options.base))
        throw Error(s.options.base + ": no tokenizer (tokenizer.json, tokenizer.model or "
                                     "vocab.json + merges.txt): the causal-lm evaluator needs "
                                     "the base model's");
    const auto tokenizer = text::loadTokenizer(s.options.base);
    std::vector<std::string> names;
    for (std::size_t t = 0; t < s.options.tasks.size(); ++t) {
        const LmTaskSpec &spec = s.options.tasks[t];
        names.push_back(spec.name);
        checkSameVocabulary(config, *tokenizer, s.options.models[t], spec.name);
        const std::string what = "task '" + spec.name + "'";
        try {
            s.data.emplace_back(spec.data, *tokenizer, config,
                                [&](const std::string &line) { log(what + ": " + line); });
            const std::vector<std::string> &metrics = lmMetrics(spec.data.format);
            if (!spec.metric.empty() &&
                std::find(metrics.begin(), metrics.end(), spec.metric) == metrics.end()) {
                std::string known;
                for (const std::string &name : metrics)
                    known += (known.empty() ? "" : ", ") + name;
                throw Error("metric '" + spec.metric + "' is not one the " +
                            lmFormatName(spec.data.format) + " format reports (" + known + ")");
            }
        } catch (const Error &e) {
            throw Error(what + ": " + e.what());
        }
    }
    s.inputs =
        std::make_unique<MergeInputs>(s.options.base, s.options.models, names, s.options.merge);
    const int threads = s.options.mergeThreads > 0 ? s.options.mergeThreads : defaultThreadCount();
    s.inputs->merger().prepare(threads);
    s.model = loadCausalLm(config, s.inputs->base(), s.options.model);
    const MergePlan &plan = s.inputs->merger().plan();
    std::uint64_t mergedBytes = 0;
    for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
        const TensorPlan &tensor = plan.tensors[i];
        if (!tensor.merged || (tensor.duplicateOf >= 0 && config.tiedHead))
            continue; // copied tensors stay as loaded; a tied head follows its embedding
        if (!s.model->hasWeight(tensor.name))
            continue; // not part of the forward (a rotary buffer of an old checkpoint)
        s.written.push_back(i);
        mergedBytes += tensor.base->numel() * 4;
    }
    if (s.written.empty())
        throw Error("no weight of the " + config.family + " model is merged (" + s.options.base +
                    "): check the include/exclude filters and the task models");
    const std::string &mergeOn = s.options.mergeOn;
    if (mergeOn != "auto" && mergeOn != "device" && mergeOn != "host")
        throw Error("merge_on '" + mergeOn + "' (expected auto, device or host)");
    bool deviceCan = true; // the device merge takes bf16 / f16 / f32 of one dtype per tensor
    for (std::size_t index : s.written) {
        const TensorPlan &tensor = plan.tensors[index];
        const DType dtype = tensor.base->dtype;
        deviceCan =
            deviceCan && (dtype == DType::BF16 || dtype == DType::F16 || dtype == DType::F32);
        for (const TensorRef *task : tensor.tasks) // an adapter's is made in float
            deviceCan = deviceCan && (task->delta || task->dtype == dtype);
    }
    if (mergeOn == "device" && !deviceCan)
        throw Error("the device merge takes tensors stored as bf16, f16 or f32, the same in the "
                    "base and every task (merge on the host instead)");
    s.onDevice = deviceCan && (mergeOn == "device" ||
                               (mergeOn == "auto" && s.model->device().rfind("cuda", 0) == 0));
    log("causal-lm: " + config.describe() + "; " + s.model->memoryPlan());
    std::string plan_;
    if (s.onDevice) {
        std::vector<DeviceMergeTensor> tensors;
        for (std::size_t index : s.written) {
            const TensorPlan &tensor = plan.tensors[index];
            tensors.push_back(
                {tensor.name, tensor.base, tensor.tasks, &s.inputs->merger().transform(index)});
        }
        plan_ = s.model->prepareDeviceMerge(std::move(tensors));
    } else {
        char line[200];
        std::snprintf(line, sizeof line,
                      "task vectors stay in the memory-mapped checkpoints (host); merged on %d "
                      "threads and copied into the live weights (%.1f MB as f32)",
                      threads, mergedBytes / 1e6);
        plan_ = line;
    }
    log("memory plan: " + std::to_string(s.written.size()) + " tensors merged per evaluation; " +
        plan_);
}

CausalLmEvaluator::~CausalLmEvaluator() = default;

std::string CausalLmEvaluator::device() const
{
    return m_state->model->device();
}

Evaluation CausalLmEvaluator::evaluate(const std::vector<double> &coefficients,
                                       const CancelFlag &cancel)
{
    State &s = *m_state;
    Evaluation evaluation;
    evaluation.coefficients = coefficients;
    evaluation.device = s.model->device();
    const auto started = std::chrono::steady_clock::now();
    try {
        const Merger &merger = s.inputs->merger();
        const MergePlan &plan = merger.plan();
        const int threads =
            s.options.mergeThreads > 0 ? s.options.mergeThreads : defaultThreadCount();
        std::vector<std::vector<float>> buffers(static_cast<std::size_t>(threads));
        std::vector<std::vector<std::uint16_t>> halves(buffers.size()); // bf16 / f16 rounding
        if (s.onDevice) {
            for (std::size_t k = 0; k < s.written.size(); ++k) {
                if (cancel)
                    throw Error("cancelled");
                s.model->mergeOnDevice(k, merger.tensorCoefficients(s.written[k], coefficients));
            }
        } else {
            parallelFor(s.written.size(), threads, [&](std::size_t k, int worker) {
                if (cancel)
                    throw Error("cancelled");
                const TensorPlan &tensor = plan.tensors[s.written[k]];
                std::vector<float> &buffer = buffers[static_cast<std::size_t>(worker)];
                const std::size_t n = tensor.base->numel();
                buffer.resize(n);
                merger.mergeTensor(s.written[k], coefficients, buffer.data());
                // What `merge` writes: the float result rounded to the checkpoint's dtype.
                if (tensor.base->dtype == DType::BF16 || tensor.base->dtype == DType::F16) {
                    std::vector<std::uint16_t> &rounded = halves[static_cast<std::size_t>(worker)];
                    rounded.resize(n);
                    convertFromFloat(tensor.base->dtype, buffer.data(), rounded.data(), n);
                    convertToFloat(tensor.base->dtype, rounded.data(), buffer.data(), n);
                }
                std::lock_guard<std::mutex> lock(s.weightMutex);
                s.model->setWeight(tensor.name, buffer.data(), n);
            });
        }
        const auto merged = std::chrono::steady_clock::now();
        for (std::size_t t = 0; t < s.data.size(); ++t) {
            const LmTaskSpec &spec = s.options.tasks[t];
            const std::string what = "task '" + spec.name + "'";
            try {
                const std::vector<LmScore> scores = s.model->score(s.data[t].requests(), cancel);
                const std::string metric =
                    spec.metric.empty() ? lmMetrics(s.data[t].format()).front() : spec.metric;
                const double value = lmMetric(s.data[t].result(scores), metric);
                if (!std::isfinite(value))
                    throw Error(metric + " is not a finite number (" + std::to_string(value) + ")");
                evaluation.metrics[spec.name] = value;
            } catch (const Error &e) {
                throw Error(what + ": " + e.what());
            }
        }
        // Where the step's time goes, for the benchmarks (MERGEFRONT_LM_TIMING=1).
        static const bool timing = [] {
            const char *value = std::getenv("MERGEFRONT_LM_TIMING");
            return value && std::string(value) == "1";
        }();
        if (timing && s.options.log) {
            const auto now = std::chrono::steady_clock::now();
            char line[160];
            std::snprintf(line, sizeof line, "timing: merge %.3f s (%s), scoring %.3f s",
                          std::chrono::duration<double>(merged - started).count(),
                          s.onDevice ? "device" : "host",
                          std::chrono::duration<double>(now - merged).count());
            s.options.log(line);
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

} // namespace mf::eval::lm
