// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"
#include "eval/slurm.h"
#include "project/project.h"

#include <functional>
#include <string>
#include <vector>

namespace mf::project {

/// Evaluates merges as Slurm jobs (a project's runner "slurm", docs/CLUSTER.md). Each merge is
/// one job running `mergefront-cli job` on a node, which merges into node-local scratch,
/// evaluates with the project's own evaluators and writes one result file into the shared work
/// folder; this side only submits, watches and reads result files.
///
/// Every submitted job is recorded in the project (Project::jobs) and the project saved before
/// the job can be waited on; jobs recorded by an earlier run (a controller that was killed) are
/// re-attached, and their results collected, not submitted again. At most runner.max_jobs are
/// in flight. A job that fails, times out, is preempted, loses its node or leaves no readable
/// result is resubmitted up to runner.retries times, then recorded as a failed evaluation with
/// the state and the tail of its stderr. The cancel token scancels every job of the run within
/// a poll slice (0.1 s) and forgets them; the detach token stops watching and leaves them
/// running, recorded, for the next run to collect.
class SlurmRunner {
public:
    SlurmRunner(Project &project, std::string cacheKey, eval::CancelToken cancel,
                eval::CancelToken detach = eval::makeCancelToken());

    /// Evaluates `queue` (merges the project has no result for) as evaluations of `kind`, and
    /// collects every job already recorded in the project. `onResult` follows each evaluation
    /// recorded (and saved); `progress` follows each look at the queue (false: cancel). Throws
    /// mf::Cancelled when cancelled or detached, mf::Error when Slurm refuses a submission
    /// (what was recorded before stays recorded).
    void run(const std::vector<std::vector<double>> &queue, const std::string &kind,
             const std::function<void(const eval::Evaluation &)> &onResult = {},
             const eval::JobRunner::ProgressCallback &progress = {});

private:
    void submit(JobRecord &job);
    /// Reads the job's result file: true and `evaluation` when it is there and whole; false when
    /// not there yet; throws mf::Error when it is there but unusable.
    bool readResult(const JobRecord &job, eval::Evaluation &evaluation) const;
    std::string stderrTail(const std::string &id) const;

    Project &m_project;
    std::string m_cacheKey;
    eval::CancelToken m_cancel, m_detach;
    eval::SlurmClient m_slurm;
    std::string m_workdir;
};

/// The result file a node writes for one job (format "mergefront-job-result"), atomically.
void writeJobResult(const std::string &path, const eval::Evaluation &evaluation,
                    const std::string &cacheKey);

} // namespace mf::project
