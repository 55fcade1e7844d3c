// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/command_evaluator.h"

#include "eval/process.h"
#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "merge/folder_output.h"
#include "merge/merge_inputs.h"
#include "io/model_folder.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/parallel.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

namespace mf::eval {

namespace fs = std::filesystem;

/// A worker's scratch folder, reused from one evaluation to the next.
struct Slot {
    std::string folder;    ///< workDir/mergefront-eval-XXXXXX
    bool prepared = false; ///< a model folder's non-weight files are in place
    bool busy = false;
};

struct CommandEvaluator::State {
    CommandEvaluatorOptions options;
    std::unique_ptr<MergeInputs> inputs;
    bool folder = false;         ///< hand the commands a model folder
    FolderFilesPlan folderFiles; ///< its config and tokenizer files
    std::mutex mutex;
    std::vector<std::unique_ptr<Slot>> slots;

    Slot &acquire()
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto &slot : slots)
            if (!slot->busy) {
                slot->busy = true;
                return *slot;
            }
        slots.push_back(std::make_unique<Slot>());
        slots.back()->busy = true;
        return *slots.back();
    }
    void release(Slot &slot)
    {
        std::lock_guard<std::mutex> lock(mutex);
        slot.busy = false;
    }
};

namespace {

/// The last line of `out` that is a JSON object; throws mf::Error quoting what was printed
/// instead.
nlohmann::json lastJsonObject(const std::string &out)
{
    std::istringstream lines(out);
    std::string line;
    std::vector<std::string> all;
    while (std::getline(lines, line))
        all.push_back(line);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        auto json = nlohmann::json::parse(*it, nullptr, false);
        if (json.is_object())
            return json;
    }
    // What it printed instead, so that the message shows the real problem.
    std::string printed = out;
    while (!printed.empty() && (printed.back() == '\n' || printed.back() == ' '))
        printed.pop_back();
    if (printed.empty())
        throw Error("the command printed nothing on stdout (it must print a JSON object of "
                    "metrics as its last line)");
    if (printed.size() > 500)
        printed = "..." + printed.substr(printed.size() - 500);
    throw Error("no line of the output is a JSON object of metrics; it printed: " + printed);
}

/// object[key] as a finite number; throws mf::Error saying what is wrong (`where`: "" or
/// " of task 'a'").
double finiteMetric(const nlohmann::json &object, const std::string &key,
                    const std::string &where = "")
{
    // The key must be there: taking some other number would hide a misnamed metric.
    if (!object.contains(key))
        throw Error("the output's JSON object has no '" + key + "'" + where + " (it has " +
                    object.dump().substr(0, 200) + ")");
    const nlohmann::json &value = object[key];
    if (value.is_null())
        throw Error("metric '" + key + "'" + where + " is not a number (null, NaN?)");
    if (!value.is_number())
        throw Error("metric '" + key + "'" + where + " is not a number");
    const double number = value.get<double>();
    if (!std::isfinite(number))
        throw Error("metric '" + key + "'" + where + " is not a finite number");
    return number;
}

} // namespace

double metricFromOutput(const std::string &out, const std::string &key)
{
    return finiteMetric(lastJsonObject(out), key);
}

std::map<std::string, double> metricsFromSharedOutput(const std::string &out,
                                                      const std::vector<CommandTask> &tasks)
{
    const nlohmann::json object = lastJsonObject(out);
    std::map<std::string, double> metrics;
    for (const CommandTask &task : tasks) {
        const bool nested = object.contains(task.name) && object[task.name].is_object();
        metrics[task.name] = finiteMetric(nested ? object[task.name] : object, task.metric,
                                          " of task '" + task.name + "'");
    }
    return metrics;
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
    s.folder = !s.inputs->base().folder().empty();
    if (s.folder) {
        const std::string dtype =
            torchDtypeName(dominantFloatingType(s.inputs->merger().outputTensors()));
        s.folderFiles = planFolderFiles(s.inputs->base().folder(), s.inputs->base().folder(),
                                        "the base", dtype, s.inputs->merger().plan().untied);
    }
}

CommandEvaluator::~CommandEvaluator()
{
    std::error_code ec;
    for (const auto &slot : m_state->slots)
        if (!slot->folder.empty())
            fs::remove_all(slot->folder, ec);
}

Evaluation CommandEvaluator::evaluate(const std::vector<double> &coefficients,
                                      const CancelFlag &cancel)
{
    State &s = *m_state;
    Evaluation evaluation;
    evaluation.coefficients = coefficients;
    evaluation.device = "command";
    const auto started = std::chrono::steady_clock::now();
    Slot &slot = s.acquire();
    std::string scratch;
    try {
        if (slot.folder.empty()) {
            std::string folder = (fs::path(s.options.workDir) / "mergefront-eval-XXXXXX").string();
            if (!::mkdtemp(folder.data()))
                throw Error("cannot create a temporary folder in " + s.options.workDir + ": " +
                            systemErrorText(errno));
            slot.folder = folder;
        }
        const std::string model = slot.folder + "/model";
        const std::string checkpoint =
            s.folder ? model : slot.folder + "/merged" + s.options.format;
        const std::string weights = s.folder ? model + "/" + kFolderWeightsName : checkpoint;
        if (s.folder && !slot.prepared) {
            fs::create_directories(model);
            writeFolderFiles(s.folderFiles, model, false);
            writeFile(model + "/README.md",
                      "# Mergefront scratch merge\n\nA temporary merge for an evaluation; "
                      "its weights change with every evaluation.\n",
                      false);
            slot.prepared = true;
        }
        {
            // The previous merge goes first: one merge per worker on the disk, never two.
            std::error_code ec;
            fs::remove(weights, ec);
            WriterOptions writerOptions;
            writerOptions.format = outputFormatForPath(weights);
            writerOptions.sync = false; // a scratch file, read back at once
            CheckpointWriter writer(weights, s.inputs->merger().outputTensors({}, s.folder),
                                    {{"format", "pt"}}, writerOptions);
            const int threads = s.options.threads > 0 ? s.options.threads : defaultThreadCount();
            s.inputs->merger().mergeInto(writer, coefficients, threads);
            writer.commit();
        }
        scratch = slot.folder + "/scratch";
        // Runs one command line on the merge in a fresh scratch folder; `who` names it in
        // errors ("task 'a'", "the project's command").
        const auto run = [&](std::string command, const std::string &taskName,
                             const std::string &tasksList, double timeout, const std::string &who) {
            std::error_code ec;
            fs::remove_all(scratch, ec);
            fs::create_directories(scratch);
            for (const auto &[placeholder, value] :
                 {std::pair<std::string, std::string>{"{checkpoint}", shellQuote(checkpoint)},
                  std::pair<std::string, std::string>{"{task}", shellQuote(taskName)},
                  std::pair<std::string, std::string>{"{tasks}", shellQuote(tasksList)},
                  std::pair<std::string, std::string>{"{scratch}", shellQuote(scratch)}})
                for (std::size_t at = command.find(placeholder); at != std::string::npos;
                     at = command.find(placeholder, at + value.size()))
                    command.replace(at, placeholder.size(), value);
            ProcessResult result = runProcess(command, timeout, cancel);
            const std::string stderrTail =
                result.err.size() > 2000 ? result.err.substr(result.err.size() - 2000) : result.err;
            if (result.cancelled)
                throw Error(who + ": cancelled");
            if (result.timedOut)
                throw Error(who + ": the command timed out after " + std::to_string(timeout) +
                            " s; stderr: " + stderrTail);
            if (result.exitCode != 0)
                throw Error(who + ": the command exited with status " +
                            std::to_string(result.exitCode) + "; stderr: " + stderrTail);
            return std::pair{std::move(result.out), stderrTail};
        };
        // The project's command: once for every task it serves.
        std::vector<CommandTask> shared;
        std::string sharedNames;
        for (const CommandTask &task : s.options.tasks)
            if (task.shared) {
                shared.push_back(task);
                sharedNames += (sharedNames.empty() ? "" : ",") + task.name;
            }
        if (!shared.empty()) {
            const std::string who = "the project's command";
            const auto [out, stderrTail] =
                run(s.options.sharedCommand, "", sharedNames, s.options.sharedTimeoutSeconds, who);
            try {
                for (const auto &[name, value] : metricsFromSharedOutput(out, shared))
                    evaluation.metrics[name] = value;
            } catch (const Error &e) {
                throw Error(who + ": " + e.what() + "; stderr: " + stderrTail);
            }
        }
        for (const CommandTask &task : s.options.tasks) {
            if (task.shared)
                continue;
            const std::string who = "task '" + task.name + "'";
            const auto [out, stderrTail] =
                run(task.command, task.name, task.name, task.timeoutSeconds, who);
            try {
                evaluation.metrics[task.name] = metricFromOutput(out, task.metric);
            } catch (const Error &e) {
                throw Error(who + ": " + e.what() + "; stderr: " + stderrTail);
            }
        }
    } catch (const std::exception &e) {
        evaluation.failed = true;
        evaluation.error = e.what();
        evaluation.metrics.clear();
    }
    std::error_code ec;
    if (!scratch.empty())
        fs::remove_all(scratch, ec);
    s.release(slot);
    evaluation.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return evaluation;
}

} // namespace mf::eval
