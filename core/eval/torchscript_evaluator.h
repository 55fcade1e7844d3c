// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// No torch header here: the evaluator's LibTorch parts stay in its .cpp (build time, and Qt's
// keywords clash with torch's identifiers).
#include "eval/job_runner.h"
#include "merge/merge_plan.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mf::eval {

/// How one task is evaluated in process.
struct TorchTask {
    std::string name;
    std::string module; ///< TorchScript file (torch.jit.save): the task's architecture and head
    /// safetensors with "inputs" and "targets": class ids [n] (the module's forward gives
    /// logits [n, classes]) or token ids [n, T] (logits [n, T, vocab]); -100 is skipped
    std::string data;
    /// "accuracy", "cross_entropy" (mean nats per target), "perplexity" (its exponential), or
    /// "evaluate" (the module's own evaluate(inputs, targets), returning one number)
    std::string metric = "accuracy";
    std::map<std::string, std::string>
        names;         ///< checkpoint tensor name -> module parameter name, where they differ
    int batchSize = 0; ///< rows per forward (0: 1024 rows of classes, about 2048 tokens)
};

struct TorchEvaluatorOptions {
    std::string base;
    std::vector<std::string> models; ///< one task checkpoint per task, in task order
    std::vector<TorchTask> tasks;
    MergeOptions merge;
    std::string device = "auto"; ///< "auto" (CUDA when LibTorch has it), "cpu", "cuda", "cuda:N"
    int threads = 0;             ///< LibTorch intra-op threads (0: automatic, see setTorchThreads)
};

/// Evaluates merges in process: checkpoints, modules and data are loaded once; each
/// evaluation merges every tensor once (streaming kernel, float) and writes it in place into
/// every loaded module's parameter of that name (the module keeps what the merge does not
/// cover, e.g. its own head), then runs batched inference under inference mode.
/// Construction throws mf::Error naming the task and file at fault (missing file, data without
/// inputs/targets, a module none of whose parameters the checkpoint names, a shape mismatch);
/// a failing forward or a NaN metric fails that evaluation only.
class TorchScriptEvaluator : public Evaluator {
public:
    explicit TorchScriptEvaluator(TorchEvaluatorOptions options);
    ~TorchScriptEvaluator() override;
    Evaluation evaluate(const std::vector<double> &coefficients, const CancelFlag &cancel) override;
    std::string device() const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace mf::eval
