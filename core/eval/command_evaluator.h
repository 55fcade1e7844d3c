// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "merge/merge_plan.h"

#include <memory>
#include <string>
#include <vector>

namespace mf::eval {

/// How one task is evaluated by a command (any framework, any cluster).
struct CommandTask {
    std::string name;
    /// Run with /bin/sh -c after substitution: {checkpoint} -> the merged checkpoint's path,
    /// {task} -> the task name (both shell-quoted). Prints a JSON object of metrics on stdout
    /// (its last line that parses as one).
    std::string command;
    std::string metric; ///< key of the task's metric in that object
    double timeoutSeconds = 3600;
};

struct CommandEvaluatorOptions {
    std::string base;                ///< base checkpoint
    std::vector<std::string> models; ///< one task checkpoint per task, in task order
    std::vector<CommandTask> tasks;
    MergeOptions merge;
    std::string workDir; ///< where merged checkpoints are written (temporary folders)
    std::string format =
        ".safetensors"; ///< extension of the merged checkpoint (.safetensors or .pt)
    int threads = 0;    ///< merge threads per evaluation (0 = all cores)
};

/// Merges once per coefficient vector into a temporary folder, runs every task's command on
/// it, and removes the folder. Checkpoints are opened and the merge prepared once, when the
/// evaluator is built. A time-out, a non-zero exit, output without the metric, or a metric
/// that is not a finite number fail that evaluation, with the task and the command's stderr
/// in the error; nothing throws.
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

} // namespace mf::eval
