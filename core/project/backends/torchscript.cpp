// SPDX-License-Identifier: GPL-3.0-or-later
// The TorchScript backend: each task's module and data loaded once, in process (CPU or CUDA),
// the merged weights written into the loaded modules (the LibTorch plugin).
#include "project/evaluator_backend.h"

#include "eval/torch_plugin.h"
#include "util/error.h"

namespace mf::project {

EvaluatorBackend torchScriptBackend()
{
    EvaluatorBackend backend;
    backend.kind = "torchscript";
    backend.summary = "a TorchScript module and its data, evaluated in process (CPU or CUDA)";
    backend.setting = "MODULE;DATA";
    backend.fromSetting = [](const std::string &task, const std::string &setting,
                             const std::function<std::string(const std::string &)> &relative) {
        const auto split = setting.find(';');
        if (split == std::string::npos || setting.find(';', split + 1) != std::string::npos)
            throw Error("task '" + task +
                        "': give the TorchScript module and the data file as MODULE;DATA");
        auto trim = [](std::string text) {
            text.erase(0, text.find_first_not_of(" \t"));
            text.erase(text.find_last_not_of(" \t") + 1);
            return text;
        };
        return nlohmann::json{{"kind", "torchscript"},
                              {"module", relative(trim(setting.substr(0, split)))},
                              {"data", relative(trim(setting.substr(split + 1)))}};
    };
    backend.create = [](const BackendInput &input, std::string &device) {
        const Project &project = input.project;
        eval::TorchEvaluatorOptions options;
        options.base = input.base;
        options.models = input.checkpoints;
        options.merge = project.merge;
        options.threads = input.threads;
        options.device = project.device;
        for (const TaskEntry &task : project.tasks) {
            eval::TorchTask spec;
            spec.name = task.name;
            spec.module = project.resolve(task.evaluator.value("module", ""));
            spec.data = project.resolve(task.evaluator.value("data", ""));
            spec.metric = task.metric;
            spec.batchSize = task.evaluator.value("batch_size", spec.batchSize);
            if (task.evaluator.contains("names") && task.evaluator["names"].is_object())
                for (const auto &[from, to] : task.evaluator["names"].items())
                    spec.names[from] = to.get<std::string>();
            options.tasks.push_back(std::move(spec));
        }
        return eval::createTorchScriptEvaluator(options, device);
    };
    backend.device = [](const Project &project) {
        return project.device;
    };
    return backend;
}

} // namespace mf::project
