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
        for (const CommandTask &task : s.options.tasks) {
            std::error_code ec;
            fs::remove_all(scratch, ec);
            fs::create_directories(scratch);
            std::string command = task.command;
            for (const auto &[placeholder, value] :
                 {std::pair<std::string, std::string>{"{checkpoint}", shellQuote(checkpoint)},
                  std::pair<std::string, std::string>{"{task}", shellQuote(task.name)},
                  std::pair<std::string, std::string>{"{scratch}", shellQuote(scratch)}})
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
    if (!scratch.empty())
        fs::remove_all(scratch, ec);
    s.release(slot);
    evaluation.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return evaluation;
}

} // namespace mf::eval
