// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "merge/merge_plan.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mf::eval {

/// How one task is evaluated by a command (any framework, any cluster).
struct CommandTask {
    std::string name;
    /// Run with /bin/sh -c after substitution: {checkpoint} -> the merged checkpoint's path (a
    /// complete model folder when the base is one), {task} -> the task name, {scratch} -> an
    /// empty folder of this evaluation for the command's own files (e.g. lm_eval's
    /// --output_path), removed afterwards (all shell-quoted). Prints a JSON object of metrics on
    /// stdout (its last line that parses as one).
    std::string command;
    std::string metric; ///< key of the task's metric in that object
    double timeoutSeconds = 3600;
    /// Served by the options' shared command (run once per merge for every shared task);
    /// `command` and `timeoutSeconds` are then unused.
    bool shared = false;
};

struct CommandEvaluatorOptions {
    std::string base;                ///< base checkpoint
    std::vector<std::string> models; ///< one task checkpoint per task, in task order
    std::vector<CommandTask> tasks;
    MergeOptions merge;
    std::string workDir; ///< where merged checkpoints are written (temporary folders)
    std::string format =
        ".safetensors"; ///< extension of a merged single file (.safetensors or .pt)
    int threads = 0;    ///< merge threads per evaluation (0 = all cores)
    /// One command for every `shared` task, run once per merge ({checkpoint}, {scratch} and
    /// {tasks}: the shared tasks' names, comma-separated): its output's last JSON object holds
    /// each shared task's metric, as {"TASK": {"METRIC": v}} or, when no two shared tasks read
    /// the same metric name, {"METRIC": v} (metricsFromSharedOutput).
    std::string sharedCommand;
    double sharedTimeoutSeconds = 3600;
};

/// Merges once per coefficient vector into a scratch folder of the worker (one per concurrent
/// evaluation, reused: a model folder's config and tokenizer files are copied once, the weights
/// rewritten unsynced, the previous ones removed first, so the disk holds one merge per worker),
/// and runs every task's command on it. When the base is a model folder the command gets a
/// complete one (weights as model.safetensors, config.json, tokenizer files, model card), so
/// `lm_eval --model hf --model_args pretrained={checkpoint}` or a transformers/vLLM script
/// loads it as it is; else a single file. Scratch folders are removed with the evaluator.
/// Checkpoints are opened and the merge prepared once, when the evaluator is built. A time-out, a
/// non-zero exit, output without the metric, or a metric that is not a finite number fail that
/// evaluation, with the task and the command's stderr in the error; nothing throws.
class CommandEvaluator : public Evaluator {
public:
    explicit CommandEvaluator(CommandEvaluatorOptions options);
    ~CommandEvaluator() override;
    Evaluation evaluate(const std::vector<double> &coefficients, const CancelFlag &cancel) override;
    bool concurrentSafe() const override { return true; }

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// The metric `key` from a command's stdout: the last line that is a JSON object; it must
/// hold `key` as a finite number. Throws mf::Error saying what is wrong.
double metricFromOutput(const std::string &out, const std::string &key);

/// Every task's metric from one command's stdout (the project-level command): the last line
/// that is a JSON object; a task's metric is object[TASK][METRIC] when the object has the task's
/// name as a key holding an object, else object[METRIC]. Throws mf::Error naming the task whose
/// metric is missing or not a finite number (and the keys there are).
std::map<std::string, double> metricsFromSharedOutput(const std::string &out,
                                                      const std::vector<CommandTask> &tasks);

} // namespace mf::eval
