// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "project/project.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mf::project {

/// What a backend builds its evaluator from: the project and its checkpoints, resolved.
struct BackendInput {
    const Project &project;
    std::string base;                     ///< the base checkpoint (resolved)
    std::vector<std::string> checkpoints; ///< one per task, in task order (resolved)
    int threads = 0;                      ///< merge / intra-op threads (0: all cores)
    std::string workDir;                  ///< where temporary merges may go ("" : system temp)
    std::function<void(const std::string &)> log; ///< what the evaluator says once (empty: stderr)
};

/// One way of evaluating a task (a task's `evaluator.kind`): how it is built, what the New
/// dialog asks for, what `status` reports. Every part of Mergefront that knows evaluator kinds
/// asks evaluatorBackends(); a new backend is one file under core/project/backends/ and one line
/// in evaluator_backend.cpp.
struct EvaluatorBackend {
    std::string kind;    ///< "command", "torchscript", ...
    std::string summary; ///< one sentence: what it runs
    std::string setting; ///< what the one-line setting of the New dialog holds, e.g. "MODULE;DATA"
    /// The task's `evaluator` object from that one-line setting (`relative` makes a path relative
    /// to the project file). Throws mf::Error naming `task` when the setting is malformed.
    std::function<nlohmann::json(const std::string &task, const std::string &setting,
                                 const std::function<std::string(const std::string &)> &relative)>
        fromSetting;
    /// Builds the evaluator of every task (all of this kind); `device` is set to where it
    /// evaluates. Throws mf::Error naming the project, the task and the key at fault.
    std::function<std::unique_ptr<eval::Evaluator>(const BackendInput &input, std::string &device)>
        create;
    /// Where it evaluates as `status` says it before anything is built ("command", "auto", ...).
    std::function<std::string(const Project &project)> device;
    /// A fingerprint of what the evaluation reads besides the checkpoints (each task's data),
    /// part of the cache key: edited data is never served old results. Empty when unset.
    std::function<std::string(const Project &project)> inputsFingerprint;
    /// What `status` says about the evaluation before anything is built ("llama, 16 layers,
    /// ..."); never throws (a problem is said instead). Empty when unset.
    std::function<std::string(const Project &project)> describe;
};

/// Every backend, in the order the New dialog offers them.
const std::vector<EvaluatorBackend> &evaluatorBackends();
/// The backend of `kind`; throws mf::Error naming `where` and the kinds there are.
const EvaluatorBackend &evaluatorBackend(const std::string &kind, const std::string &where);
/// The backend a project's tasks use (they all use the same one); throws mf::Error otherwise.
const EvaluatorBackend &projectBackend(const Project &project);

// The backends (core/project/backends/).
EvaluatorBackend commandBackend();
EvaluatorBackend torchScriptBackend();
EvaluatorBackend causalLmBackend();

} // namespace mf::project
