// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The `causal-lm` evaluator: a causal language model scored in process, each merge written
// straight into the live model's weights (docs/LANGUAGE_MODELS.md).
#include "eval/job_runner.h"
#include "eval/lm/scoring.h"
#include "merge/merge_plan.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mf::eval::lm {

struct LmTaskSpec {
    std::string name;
    LmDataOptions data;
    std::string metric; ///< one of lmMetrics(data.format) ("" : the format's first)
};

struct CausalLmEvaluatorOptions {
    std::string base;                ///< a model folder (config.json, tokenizer, weights)
    std::vector<std::string> models; ///< one fine-tuned folder (or file) per task, in task order
    std::vector<LmTaskSpec> tasks;
    MergeOptions merge;
    CausalLmOptions model;
    int mergeThreads = 0; ///< threads merging tensors on the host (0: all cores)
    /// Where each merge is computed: "auto" (on a CUDA device when the model is on one, else on
    /// the host's threads), "device" (through LibTorch on the model's device, even the CPU),
    /// "host" (the streaming kernel of `merge`). All give the same weights, bit for bit.
    std::string mergeOn = "auto";
    /// Hears what is decided once: the model, the memory plan, truncation (may be empty).
    std::function<void(const std::string &)> log;
};

/// Loads the base model, its tokenizer, every task's data (tokenized once) and the task
/// vectors once. Each evaluation merges every merged tensor exactly as `mergefront-cli merge`
/// writes it (same method, TIES thresholds and DARE masks computed once, the result rounded to
/// the checkpoint's dtype), copies it into the live weight, and scores every task.
/// Construction throws mf::Error naming the folder, file, line or key at fault; a failing
/// evaluation (out of memory, cancelled) fails that evaluation only.
class CausalLmEvaluator : public Evaluator {
public:
    explicit CausalLmEvaluator(CausalLmEvaluatorOptions options);
    ~CausalLmEvaluator() override;
    Evaluation evaluate(const std::vector<double> &coefficients, const CancelFlag &cancel) override;
    std::string device() const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// Checks that the task model at `task` has the base's vocabulary (config.json's vocab_size,
/// and the same token at every id when the folder has a tokenizer); throws mf::Error naming
/// the task otherwise.
void checkSameVocabulary(const LmConfig &base, const text::Tokenizer &baseTokenizer,
                         const std::string &task, const std::string &name);

} // namespace mf::eval::lm
