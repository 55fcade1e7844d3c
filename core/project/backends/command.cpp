// SPDX-License-Identifier: GPL-3.0-or-later
// The command backend: each task's metric printed as JSON by a command of the user's own
// (lm-evaluation-harness, a vLLM script, anything), run on the merged checkpoint.
#include "project/evaluator_backend.h"

#include "eval/command_evaluator.h"
#include "util/error.h"

namespace mf::project {

EvaluatorBackend commandBackend()
{
    EvaluatorBackend backend;
    backend.kind = "command";
    backend.summary = "a command of yours run on each merged checkpoint ({checkpoint}, {task}, "
                      "{scratch}; or one project-level command for every task, {tasks}); it "
                      "prints its metrics as JSON";
    backend.setting = "command";
    backend.fromSetting = [](const std::string &task, const std::string &setting,
                             const std::function<std::string(const std::string &)> &) {
        if (setting.find_first_not_of(" \t") == std::string::npos)
            throw Error("task '" + task + "': give the command that evaluates it");
        return nlohmann::json{{"kind", "command"}, {"command", setting}, {"timeout", 3600}};
    };
    backend.create = [](const BackendInput &input, std::string &device) {
        const Project &project = input.project;
        eval::CommandEvaluatorOptions options;
        options.base = input.base;
        options.models = input.checkpoints;
        options.merge = project.merge;
        options.threads = input.threads;
        options.workDir = input.workDir;
        if (project.evaluator.is_object()) {
            options.sharedCommand = project.evaluator.value("command", "");
            options.sharedTimeoutSeconds = project.evaluator.value("timeout", 3600.0);
        }
        for (const TaskEntry &task : project.tasks) {
            if (project.sharedEvaluator(task)) {
                options.tasks.push_back({task.name, "", task.metric, 0, true});
                continue;
            }
            const std::string line = task.evaluator.value("command", "");
            if (line.empty())
                throw Error(project.path + ": task '" + task.name +
                            "' has a command evaluator without \"command\"");
            options.tasks.push_back(
                {task.name, line, task.metric, task.evaluator.value("timeout", 3600.0), false});
        }
        device = "command";
        return std::unique_ptr<eval::Evaluator>(
            std::make_unique<eval::CommandEvaluator>(std::move(options)));
    };
    backend.device = [](const Project &) {
        return std::string("command");
    };
    return backend;
}

} // namespace mf::project
