// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/command_evaluator.h"

#include "eval/process.h"
#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "merge/merge_inputs.h"
#include "util/error.h"
#include "util/parallel.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace mf::eval {

namespace fs = std::filesystem;

struct CommandEvaluator::State {
    CommandEvaluatorOptions options;
    std::unique_ptr<MergeInputs> inputs;
};

double metricFromOutput(const std::string &out, const std::string &key)
{
    std::istringstream lines(out);
    std::string line;
    std::vector<std::string> all;
    while (std::getline(lines, line))
        all.push_back(line);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const auto json = nlohmann::json::parse(*it, nullptr, false);
        if (!json.is_object())
            continue;
        // The key must be there: taking some other number would hide a misnamed metric.
        if (!json.contains(key))
            throw Error("the output's JSON object has no '" + key + "' (it has " +
                        json.dump().substr(0, 200) + ")");
        const nlohmann::json *value = &json[key];
        if (value->is_null())
            throw Error("metric '" + key + "' is not a number (null, NaN?)");
        if (!value->is_number())
            throw Error("metric '" + key + "' is not a number");
        const double number = value->get<double>();
        if (!std::isfinite(number))
            throw Error("metric '" + key + "' is not a finite number");
        return number;
    }
    throw Error("no line of the output is a JSON object of metrics");
}

CommandEvaluator::CommandEvaluator(CommandEvaluatorOptions options)
    : m_state(std::make_unique<State>())
{
    State &s = *m_state;
    s.options = std::move(options);
    if (s.options.tasks.size() != s.options.models.size())
        throw Error("the command evaluator needs one task checkpoint per task");
    if (s.options.workDir.empty())
        s.options.workDir = fs::temp_directory_path().string();
    std::error_code ec;
    fs::create_directories(s.options.workDir, ec);
    std::vector<std::string> names;
    for (const CommandTask &task : s.options.tasks)
        names.push_back(task.name);
    s.inputs =
        std::make_unique<MergeInputs>(s.options.base, s.options.models, names, s.options.merge);
    const int threads = s.options.threads > 0 ? s.options.threads : defaultThreadCount();
    s.inputs->merger().prepare(threads);
}

CommandEvaluator::~CommandEvaluator() = default;

Evaluation CommandEvaluator::evaluate(const std::vector<double> &coefficients,
                                      const CancelFlag &cancel)
{
    State &s = *m_state;
    Evaluation evaluation;
    evaluation.coefficients = coefficients;
    evaluation.device = "command";
    const auto started = std::chrono::steady_clock::now();
    std::string folder = (fs::path(s.options.workDir) / "mergefront-eval-XXXXXX").string();
    try {
        if (!::mkdtemp(folder.data()))
            throw Error("cannot create a temporary folder in " + s.options.workDir + ": " +
                        systemErrorText(errno));
        const std::string checkpoint = folder + "/merged" + s.options.format;
        {
            WriterOptions writerOptions;
            writerOptions.format = outputFormatForPath(checkpoint);
            writerOptions.sync = false; // a scratch file, read back at once
            CheckpointWriter writer(checkpoint, s.inputs->merger().outputTensors(),
                                    {{"format", "pt"}}, writerOptions);
            const int threads = s.options.threads > 0 ? s.options.threads : defaultThreadCount();
            s.inputs->merger().mergeInto(writer, coefficients, threads);
            writer.commit();
        }
        for (const CommandTask &task : s.options.tasks) {
            std::string command = task.command;
            for (const auto &[placeholder, value] :
                 {std::pair<std::string, std::string>{"{checkpoint}", shellQuote(checkpoint)},
                  std::pair<std::string, std::string>{"{task}", shellQuote(task.name)}})
                for (std::size_t at = command.find(placeholder); at != std::string::npos;
                     at = command.find(placeholder, at + value.size()))
                    command.replace(at, placeholder.size(), value);
            const ProcessResult run = runProcess(command, task.timeoutSeconds, cancel);
            const std::string stderrTail =
                run.err.size() > 2000 ? run.err.substr(run.err.size() - 2000) : run.err;
            if (run.cancelled)
                throw Error("task '" + task.name + "': cancelled");
            if (run.timedOut)
                throw Error("task '" + task.name + "': the command timed out after " +
                            std::to_string(task.timeoutSeconds) + " s; stderr: " + stderrTail);
            if (run.exitCode != 0)
                throw Error("task '" + task.name + "': the command exited with status " +
                            std::to_string(run.exitCode) + "; stderr: " + stderrTail);
            try {
                evaluation.metrics[task.name] = metricFromOutput(run.out, task.metric);
            } catch (const Error &e) {
                throw Error("task '" + task.name + "': " + e.what() + "; stderr: " + stderrTail);
            }
        }
    } catch (const std::exception &e) {
        evaluation.failed = true;
        evaluation.error = e.what();
        evaluation.metrics.clear();
    }
    std::error_code ec;
    if (folder.find("XXXXXX") == std::string::npos)
        fs::remove_all(folder, ec);
    evaluation.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return evaluation;
}

} // namespace mf::eval
