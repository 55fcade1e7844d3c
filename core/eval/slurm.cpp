// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/slurm.h"

#include "eval/process.h"
#include "util/error.h"
#include "util/text.h"

#include <set>
#include <sstream>

namespace mf::eval {

namespace {

constexpr double kCommandSeconds = 60; ///< a controller that does not answer in a minute is down

std::string trimmed(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
        text.pop_back();
    return text;
}

ProcessResult runSlurm(const std::string &command)
{
    const CancelFlag never{false};
    ProcessResult result = runProcess(command, kCommandSeconds, never);
    const std::string program = command.substr(0, command.find(' '));
    if (result.exitCode == 127)
        throw Error(program +
                    " not found: Slurm's client commands are not on the PATH here (the "
                    "project's runner is slurm; install slurm-client, or run where Slurm is)");
    if (result.timedOut)
        throw Error(program + " did not answer within " +
                    std::to_string(static_cast<int>(kCommandSeconds)) + " s (is slurmctld up?)");
    return result;
}

std::string joined(const std::vector<std::string> &ids, char separator)
{
    std::string text;
    for (const std::string &id : ids)
        text += (text.empty() ? "" : std::string(1, separator)) + shellQuote(id);
    return text;
}

} // namespace

bool SlurmJobState::inFlight() const
{
    // Held after a requeue (REQUEUE_HOLD, SPECIAL_EXIT) counts as ended: it would wait for a
    // person to release it; the runner cancels it and submits again.
    static const std::set<std::string> running = {
        "PENDING",  "CONFIGURING", "RUNNING",       "COMPLETING", "SUSPENDED", "REQUEUED",
        "RESIZING", "REQUEUE_FED", "RESV_DEL_HOLD", "SIGNALING",  "STAGE_OUT"};
    return running.count(state) > 0;
}

std::string SlurmClient::submit(const std::vector<std::string> &options,
                                const std::string &script) const
{
    std::string command = "sbatch --parsable";
    for (const std::string &option : options)
        command += " " + shellQuote(option);
    command += " " + shellQuote(script);
    const ProcessResult result = runSlurm(command);
    if (result.exitCode != 0)
        throw Error("sbatch refused the job (exit " + std::to_string(result.exitCode) +
                    "): " + trimmed(result.err.empty() ? result.out : result.err));
    // "12345" or "12345;cluster"
    const std::string out = trimmed(result.out);
    const std::string id = out.substr(0, out.find(';'));
    if (id.empty() || id.find_first_not_of("0123456789_") != std::string::npos)
        throw Error("sbatch gave no job id (it printed '" + out + "')");
    return id;
}

std::map<std::string, SlurmJobState> SlurmClient::states(const std::vector<std::string> &ids) const
{
    std::map<std::string, SlurmJobState> states;
    if (ids.empty())
        return states;
    // One squeue for all (finished jobs included while Slurm keeps them); one scontrol for each
    // job squeue does not list; GONE for those neither knows.
    const ProcessResult queue =
        runSlurm("squeue --noheader --states=all --format='%i|%T|%r' --jobs=" + joined(ids, ','));
    if (queue.exitCode == 0) {
        std::istringstream lines(queue.out);
        std::string line;
        while (std::getline(lines, line)) {
            const auto first = line.find('|'), second = line.find('|', first + 1);
            if (first == std::string::npos || second == std::string::npos)
                continue;
            std::string reason = trimmed(line.substr(second + 1));
            if (reason == "None")
                reason.clear();
            states[line.substr(0, first)] = {line.substr(first + 1, second - first - 1), reason};
        }
    }
    for (const std::string &id : ids) {
        if (states.count(id))
            continue;
        const ProcessResult show = runSlurm("scontrol show job --oneliner " + shellQuote(id));
        SlurmJobState state{"GONE", ""};
        if (show.exitCode == 0) {
            std::istringstream words(show.out);
            std::string word;
            while (words >> word) {
                if (startsWith(word, "JobState="))
                    state.state = word.substr(9);
                else if (startsWith(word, "Reason=") && word != "Reason=None")
                    state.reason = word.substr(7);
            }
        }
        states[id] = state;
    }
    return states;
}

std::string SlurmClient::findInFlight(const std::string &name) const
{
    const ProcessResult result = runSlurm(
        "squeue --noheader --format=%i "
        "--states=PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED,REQUEUED,REQUEUE_HOLD --name=" +
        shellQuote(name));
    if (result.exitCode != 0)
        throw Error("squeue failed: " + trimmed(result.err));
    const std::string out = trimmed(result.out);
    return out.substr(0, out.find('\n'));
}

void SlurmClient::cancel(const std::vector<std::string> &ids) const
{
    if (ids.empty())
        return;
    const ProcessResult result = runSlurm("scancel " + joined(ids, ' '));
    if (result.exitCode != 0 && result.err.find("already completed") == std::string::npos &&
        result.err.find("Invalid job id") == std::string::npos)
        throw Error("scancel failed: " + trimmed(result.err));
}

} // namespace mf::eval
