// SPDX-License-Identifier: GPL-3.0-or-later
// The causal-LM backend: a Llama, Mistral, Qwen or GPT-2 model folder scored in process on
// held-out data of each task, every merge written into the live weights (eval/lm/).
#include "project/evaluator_backend.h"

#include "eval/lm/causal_lm_evaluator.h"
#include "util/error.h"
#include "util/hash.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace mf::project {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string text)
{
    text.erase(0, text.find_first_not_of(" \t"));
    text.erase(text.find_last_not_of(" \t") + 1);
    return text;
}

int optionalCount(const nlohmann::json &evaluator, const char *key, const std::string &where)
{
    const auto it = evaluator.find(key);
    if (it == evaluator.end() || it->is_null())
        return 0;
    if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > (1 << 30))
        throw Error(where + ": \"" + key + "\" must be a non-negative integer");
    return it->get<int>();
}

} // namespace

EvaluatorBackend causalLmBackend()
{
    EvaluatorBackend backend;
    backend.kind = "causal-lm";
    backend.summary = "a Llama, Mistral, Qwen or GPT-2 model folder scored in process on each "
                      "task's held-out data (text, multiple-choice or completion), merged in "
                      "place on the CPU or GPU";
    backend.setting = "DATA;FORMAT";
    backend.fromSetting = [](const std::string &task, const std::string &setting,
                             const std::function<std::string(const std::string &)> &relative) {
        const auto split = setting.find(';');
        const std::string data = trim(setting.substr(0, split));
        const std::string format =
            split == std::string::npos ? "text" : trim(setting.substr(split + 1));
        if (data.empty() || data == "DATA")
            throw Error("task '" + task +
                        "': give the task's data file as DATA;FORMAT (FORMAT: "
                        "text, multiple-choice or completion)");
        eval::lm::parseLmFormat(format, "task '" + task + "'");
        return nlohmann::json{{"kind", "causal-lm"}, {"data", relative(data)}, {"format", format}};
    };
    backend.create = [](const BackendInput &input, std::string &device) {
        const Project &project = input.project;
        eval::lm::CausalLmEvaluatorOptions options;
        options.base = input.base;
        options.models = input.checkpoints;
        options.merge = project.merge;
        options.mergeThreads = input.threads;
        options.model.device = project.device;
        options.model.threads = input.threads;
        options.log = input.log ? input.log : [](const std::string &line) {
            std::cerr << line << "\n";
        };
        for (const TaskEntry &task : project.tasks) {
            const std::string where = project.path + ": task '" + task.name + "'";
            const nlohmann::json &e = task.evaluator;
            eval::lm::LmTaskSpec spec;
            spec.name = task.name;
            if (!e.contains("data") || !e["data"].is_string())
                throw Error(where + ": the causal-lm evaluator needs \"data\" (a file or folder)");
            spec.data.data = project.resolve(e["data"].get<std::string>());
            spec.data.format = eval::lm::parseLmFormat(e.value("format", "text"), where);
            spec.data.maxLength = optionalCount(e, "max_length", where);
            spec.data.limit = optionalCount(e, "limit", where);
            // The evaluator's own "metric", else the task's when the format reports it.
            const auto &metrics = eval::lm::lmMetrics(spec.data.format);
            spec.metric = e.value("metric", task.metric);
            if (!e.contains("metric") &&
                std::find(metrics.begin(), metrics.end(), spec.metric) == metrics.end())
                spec.metric = metrics.front();
            options.tasks.push_back(std::move(spec));
            options.mergeOn = e.value("merge_on", options.mergeOn);
        }
        auto evaluator = std::make_unique<eval::lm::CausalLmEvaluator>(std::move(options));
        device = evaluator->device();
        return std::unique_ptr<eval::Evaluator>(std::move(evaluator));
    };
    backend.device = [](const Project &project) {
        return project.device;
    };
    // The held-out data's bytes (a folder's files, in name order): edited data, new results.
    backend.inputsFingerprint = [](const Project &project) {
        std::uint64_t hash = 0x1a7aULL;
        for (const TaskEntry &task : project.tasks) {
            const std::string data = project.resolve(task.evaluator.value("data", ""));
            std::vector<fs::path> files;
            std::error_code error;
            if (fs::is_directory(data, error)) {
                for (const auto &entry : fs::directory_iterator(data, error))
                    if (entry.is_regular_file())
                        files.push_back(entry.path());
                std::sort(files.begin(), files.end());
            } else {
                files.push_back(data);
            }
            for (const fs::path &file : files) {
                std::ifstream in(file, std::ios::binary);
                std::ostringstream bytes;
                bytes << in.rdbuf();
                hash = hashString(file.filename().string(), hash);
                hash = hashString(bytes.str(), hash);
            }
        }
        return "data:" + hexDigits(hash);
    };
    backend.describe = [](const Project &project) {
        try {
            return eval::lm::readLmConfig(project.resolve(project.base)).describe();
        } catch (const std::exception &e) {
            return std::string(e.what());
        }
    };
    return backend;
}

} // namespace mf::project
