// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/slurm_runner.h"

#include "eval/process.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace mf::project {

namespace {

constexpr const char *kResultFormat = "mergefront-job-result";

std::string coefficientText(const std::vector<double> &c)
{
    std::string text;
    char number[32];
    for (double value : c) {
        std::snprintf(number, sizeof number, "%.17g", value);
        text += (text.empty() ? "" : ",") + std::string(number);
    }
    return text;
}

bool sameCoefficients(const std::vector<double> &a, const std::vector<double> &b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string readTail(const std::string &path, std::size_t bytes)
{
    std::FILE *file = std::fopen(path.c_str(), "rb");
    if (!file)
        return "";
    std::fseek(file, 0, SEEK_END);
    const long size = std::ftell(file);
    const long from = std::max(0L, size - static_cast<long>(bytes));
    std::fseek(file, from, SEEK_SET);
    std::string text(static_cast<std::size_t>(size - from), '\0');
    text.resize(std::fread(text.data(), 1, text.size(), file));
    std::fclose(file);
    if (from > 0 && text.find('\n') != std::string::npos)
        text.erase(0, text.find('\n') + 1); // whole lines only
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

} // namespace

void writeJobResult(const std::string &path, const eval::Evaluation &evaluation,
                    const std::string &cacheKey)
{
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto &[task, value] : evaluation.metrics)
        metrics[task] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const char *job = std::getenv("SLURM_JOB_ID");
    const nlohmann::json result = {{"format", kResultFormat},
                                   {"version", 1},
                                   {"coefficients", evaluation.coefficients},
                                   {"cache_key", cacheKey},
                                   {"metrics", metrics},
                                   {"failed", evaluation.failed},
                                   {"error", evaluation.error},
                                   {"seconds", evaluation.seconds},
                                   {"device", evaluation.device},
                                   {"host", host},
                                   {"job", job ? job : ""}};
    writeFileAtomically(path, result.dump(1) + "\n");
}

SlurmRunner::SlurmRunner(Project &project, std::string cacheKey, eval::CancelToken cancel,
                         eval::CancelToken detach)
    : m_project(project)
    , m_cacheKey(std::move(cacheKey))
    , m_cancel(std::move(cancel))
    , m_detach(std::move(detach))
    , m_workdir(project.runnerWorkdir())
{
}

void SlurmRunner::submit(JobRecord &job)
{
    // Everything about a submission follows from the merge, the settings and the attempt: its
    // script, its result file and its job name. A controller killed between sbatch and saving
    // the record leaves a job nobody recorded; the next one finds it by that name (or its
    // result file) instead of submitting it again.
    const std::string stem =
        hexDigits(hashString(m_cacheKey + "|" + coefficientText(job.coefficients))) + "-" +
        std::to_string(job.attempt);
    const std::string name = "mergefront-" + stem;
    const std::string script = m_workdir + "/jobs/" + stem + ".sh";
    job.result = m_workdir + "/results/" + stem + ".json";
    job.submittedAt = utcNow();
    std::error_code ec;
    if (fs::exists(job.result, ec)) {
        job.id = "(finished)"; // computed already, by a job of a run that was stopped
        try {
            const auto result = nlohmann::json::parse(readFile(job.result));
            if (result.is_object() && result.value("job", "") != "")
                job.id = result["job"].get<std::string>();
        } catch (const std::exception &) {
            // unreadable: the watch loop says so, and submits again
        }
        return;
    }
    if (const std::string running = m_slurm.findInFlight(name); !running.empty()) {
        job.id = running;
        return;
    }
    const std::string logs = m_workdir + "/logs";
    std::string text = "#!/bin/sh\n"
                       "#SBATCH --job-name=" +
                       name +
                       "\n"
                       "#SBATCH --ntasks=1\n"
                       "#SBATCH --output=" +
                       logs + "/%j.out\n#SBATCH --error=" + logs +
                       "/%j.err\n"
                       "# Written by Mergefront: one merge of " +
                       m_project.path +
                       ", merged and evaluated on the node\n"
                       "# (node-local scratch: $TMPDIR), its result written to the file below.\n"
                       "set -e\n";
    if (!m_project.runner.setup.empty())
        text += m_project.runner.setup + "\n";
    text += "exec " + m_project.runner.cli + " job " +
            eval::shellQuote(fs::absolute(m_project.path).string()) + " --coef " +
            coefficientText(job.coefficients) + " --result " + eval::shellQuote(job.result) +
            " --cache-key " + m_cacheKey + "\n";
    writeFileAtomically(script, text);
    job.id = m_slurm.submit(m_project.runner.sbatch, script);
}

bool SlurmRunner::readResult(const JobRecord &job, eval::Evaluation &evaluation) const
{
    std::error_code ec;
    if (job.result.empty() || !fs::exists(job.result, ec))
        return false;
    nlohmann::json result;
    try {
        result = nlohmann::json::parse(readFile(job.result));
    } catch (const std::exception &e) {
        throw Error("its result " + job.result + " is not valid JSON (" + e.what() + ")");
    }
    if (!result.is_object() || result.value("format", "") != kResultFormat)
        throw Error("its result " + job.result + " is not a Mergefront job result");
    std::vector<double> coefficients;
    try {
        coefficients = result.at("coefficients").get<std::vector<double>>();
    } catch (const std::exception &) {
        throw Error("its result " + job.result + " has no coefficients");
    }
    if (!sameCoefficients(coefficients, job.coefficients))
        throw Error("its result " + job.result + " is of other coefficients (" +
                    coefficientText(coefficients) + ")");
    if (result.value("cache_key", "") != job.cacheKey)
        throw Error("its result " + job.result +
                    " was computed with other merge or evaluation settings");
    evaluation = {};
    evaluation.coefficients = coefficients;
    if (result.contains("metrics") && result["metrics"].is_object())
        for (const auto &[task, value] : result["metrics"].items())
            evaluation.metrics[task] = value.is_number() ? value.get<double>() : NAN;
    evaluation.failed = result.value("failed", false);
    evaluation.error = result.value("error", "");
    evaluation.seconds = result.value("seconds", 0.0);
    evaluation.device = "slurm:" + result.value("host", std::string("?")) + ":" +
                        result.value("device", std::string("?"));
    for (const TaskEntry &task : m_project.tasks)
        if (!evaluation.failed && !evaluation.metrics.count(task.name))
            throw Error("its result " + job.result + " has no metric for task '" + task.name + "'");
    return true;
}

std::string SlurmRunner::stderrTail(const std::string &id) const
{
    return readTail(m_workdir + "/logs/" + id + ".err", 2000);
}

void SlurmRunner::run(const std::vector<std::vector<double>> &queue, const std::string &kind,
                      const std::function<void(const eval::Evaluation &)> &onResult,
                      const eval::JobRunner::ProgressCallback &progress)
{
    for (const char *folder : {"jobs", "results", "logs"}) {
        std::error_code ec;
        fs::create_directories(m_workdir + "/" + folder, ec);
        if (ec)
            throw Error("cannot create the runner's work folder " + m_workdir + "/" + folder +
                        ": " + ec.message());
    }
    // Jobs of an earlier run under other settings would bring results the cache refuses.
    std::vector<std::string> stale;
    m_project.jobs.erase(std::remove_if(m_project.jobs.begin(), m_project.jobs.end(),
                                        [&](const JobRecord &job) {
                                            if (job.cacheKey == m_cacheKey)
                                                return false;
                                            if (!job.id.empty() && job.id.front() != '(')
                                                stale.push_back(job.id);
                                            return true;
                                        }),
                         m_project.jobs.end());
    if (!stale.empty()) {
        m_slurm.cancel(stale);
        m_project.save();
    }
    // What to submit: the queue, less what a recorded job is computing already.
    std::vector<std::vector<double>> todo;
    for (const auto &c : queue) {
        const bool attached =
            std::any_of(m_project.jobs.begin(), m_project.jobs.end(), [&](const JobRecord &job) {
                return sameCoefficients(job.coefficients, c);
            });
        const bool twice = std::any_of(todo.begin(), todo.end(), [&](const auto &other) {
            return sameCoefficients(other, c);
        });
        if (!attached && !twice)
            todo.push_back(c);
    }
    std::reverse(todo.begin(), todo.end()); // submitted from the back, in queue order
    eval::JobProgress state;
    state.total = static_cast<int>(todo.size() + m_project.jobs.size());
    /// Looks at a COMPLETED job whose result file is not there yet, per job id.
    std::map<std::string, int> completedWithoutResult;
    /// When this run submitted each job (jobs re-attached from an earlier run are not here).
    std::map<std::string, std::chrono::steady_clock::time_point> submitted;
    const auto started = std::chrono::steady_clock::now();
    const double longest = m_project.runner.pollSeconds;
    double wait = std::min(0.5, longest);

    auto finish = [&](std::size_t index, const eval::Evaluation &evaluation) {
        const JobRecord job = m_project.jobs[index];
        m_project.record(evaluation, job.kind, job.cacheKey);
        // Which job computed it, and how long it took from submission to here (what Slurm and
        // the file system add: that minus the evaluation's own seconds).
        nlohmann::json slurm = {
            {"job", job.id}, {"attempt", job.attempt}, {"submitted_at", job.submittedAt}};
        if (!job.history.empty())
            slurm["history"] = job.history;
        if (const auto it = submitted.find(job.id); it != submitted.end())
            slurm["submit_to_collect_seconds"] =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second)
                    .count();
        m_project.evaluations.back().raw["slurm"] = std::move(slurm);
        m_project.jobs.erase(m_project.jobs.begin() + static_cast<std::ptrdiff_t>(index));
        m_project.save();
        std::error_code ec;
        fs::remove(job.result, ec);
        if (!evaluation.failed) {
            fs::remove(m_workdir + "/logs/" + job.id + ".out", ec);
            fs::remove(m_workdir + "/logs/" + job.id + ".err", ec);
        }
        completedWithoutResult.erase(job.id);
        ++state.done;
        state.failed += evaluation.failed;
        if (onResult)
            onResult(evaluation);
    };
    // A job that ended without a usable result: again, or recorded as failed.
    auto endedBadly = [&](std::size_t index, const std::string &what) {
        JobRecord &job = m_project.jobs[index];
        const std::string tail = stderrTail(job.id);
        job.history.push_back(job.id + " " + what);
        completedWithoutResult.erase(job.id);
        if (!job.id.empty() && job.id.front() != '(') {
            try {
                m_slurm.cancel({job.id}); // ended, or held: never also running later
            } catch (const Error &) {
            }
        }
        if (job.attempt <= m_project.runner.retries) {
            ++job.attempt;
            const auto asked = std::chrono::steady_clock::now();
            submit(job);
            submitted[job.id] = asked;
            m_project.save();
            return;
        }
        eval::Evaluation failed;
        failed.coefficients = job.coefficients;
        failed.failed = true;
        failed.device = "slurm";
        failed.error = "Slurm job " + job.id + " " + what + " (attempt " +
                       std::to_string(job.attempt) + " of " +
                       std::to_string(m_project.runner.retries + 1) + ")" +
                       (tail.empty() ? std::string() : "; its stderr ends: " + tail);
        finish(index, failed);
    };
    auto inFlightIds = [&] {
        std::vector<std::string> ids;
        for (const JobRecord &job : m_project.jobs)
            if (!job.id.empty() && job.id.front() != '(') // not "(finished)"
                ids.push_back(job.id);
        return ids;
    };

    while (true) {
        // Detached first: a detached run that is cancelled afterwards (its owner going away)
        // leaves its jobs running.
        if (*m_detach)
            throw Cancelled(); // the jobs stay recorded, and running
        if (*m_cancel) {
            // What finished is kept; the rest is cancelled and forgotten.
            for (std::size_t i = 0; i < m_project.jobs.size();) {
                eval::Evaluation evaluation;
                bool done = false;
                try {
                    done = readResult(m_project.jobs[i], evaluation);
                } catch (const Error &) {
                }
                if (done)
                    finish(i, evaluation);
                else
                    ++i;
            }
            m_slurm.cancel(inFlightIds());
            m_project.jobs.clear();
            m_project.save();
            throw Cancelled();
        }
        bool changed = false;
        while (!todo.empty() &&
               static_cast<int>(m_project.jobs.size()) < m_project.runner.maxJobs) {
            JobRecord job;
            job.coefficients = todo.back();
            job.kind = kind;
            job.cacheKey = m_cacheKey;
            const auto asked = std::chrono::steady_clock::now(); // sbatch's own time counts
            submit(job); // throws with sbatch's message: nothing is recorded for this one
            submitted[job.id] = asked;
            m_project.jobs.push_back(std::move(job));
            m_project.save(); // before anything waits on it
            todo.pop_back();
            changed = true;
        }
        if (m_project.jobs.empty() && todo.empty())
            break;
        // Results first (a job that wrote one is done, whatever squeue says next).
        std::vector<std::string> waiting;
        for (std::size_t i = 0; i < m_project.jobs.size();) {
            eval::Evaluation evaluation;
            bool done = false;
            try {
                done = readResult(m_project.jobs[i], evaluation);
            } catch (const Error &e) {
                endedBadly(i, std::string("ended with an unusable result: ") + e.what());
                changed = true;
                continue; // index i now holds the next job, or the resubmitted one again
            }
            if (done) {
                finish(i, evaluation);
                changed = true;
                continue;
            }
            waiting.push_back(m_project.jobs[i].id);
            ++i;
        }
        const auto states = m_slurm.states(waiting);
        state.queued = state.running = 0;
        for (std::size_t i = 0; i < m_project.jobs.size();) {
            const auto it = states.find(m_project.jobs[i].id);
            if (it == states.end()) { // submitted again just now
                ++i;
                continue;
            }
            const eval::SlurmJobState &s = it->second;
            if (s.inFlight()) {
                (s.state == "PENDING" ? state.queued : state.running) += 1;
                ++i;
                continue;
            }
            // Ended. COMPLETED without a result yet: the file may still be on its way through
            // the shared file system; give it two more looks.
            if (s.state == "COMPLETED" && ++completedWithoutResult[m_project.jobs[i].id] <= 2) {
                ++i;
                continue;
            }
            const std::string what =
                s.state == "GONE" ? "is no longer known to Slurm and left no result"
                : s.state == "COMPLETED"
                    ? "completed without writing its result"
                    : "ended " + s.state + (s.reason.empty() ? "" : " (" + s.reason + ")");
            const std::size_t before = m_project.jobs.size();
            endedBadly(i, what);
            changed = true;
            if (m_project.jobs.size() == before)
                ++i; // resubmitted in place
        }
        state.jobs = inFlightIds();
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        state.rate = elapsed > 0 ? state.done / elapsed : 0;
        state.etaSeconds = state.rate > 0 ? (state.total - state.done) / state.rate : 0;
        if (progress && !progress(state))
            *m_cancel = true;
        if (m_project.jobs.empty() && todo.empty())
            break;
        // Wait: short after a change, growing to poll_seconds while nothing happens.
        wait = changed ? std::min(0.5, longest) : std::min(longest, wait * 1.5);
        const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
        // A result file appearing ends the wait at once (a stat per job every 0.1 s costs
        // nothing; squeue is asked at the backing-off interval only).
        auto resultReady = [&] {
            std::error_code ec;
            return std::any_of(m_project.jobs.begin(), m_project.jobs.end(),
                               [&](const JobRecord &job) { return fs::exists(job.result, ec); });
        };
        while (!*m_cancel && !*m_detach && std::chrono::steady_clock::now() < until &&
               !resultReady())
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

} // namespace mf::project
