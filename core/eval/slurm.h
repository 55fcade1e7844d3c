// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mf::eval {

/// What Slurm says of a job: its state as squeue/scontrol spell it (PENDING, RUNNING,
/// COMPLETED, FAILED, TIMEOUT, PREEMPTED, NODE_FAIL, CANCELLED, OUT_OF_MEMORY, ...), or GONE
/// when Slurm no longer knows it (it ended more than MinJobAge ago, without accounting).
struct SlurmJobState {
    std::string state;
    std::string reason; ///< squeue's reason or scontrol's, "" when none
    bool inFlight() const;
    bool ended() const { return !inFlight(); }
};

/// Slurm's client commands (sbatch, squeue, scontrol, scancel) as Mergefront uses them. Each
/// call runs the command with a time limit; a missing command or a refusal throws mf::Error
/// with Slurm's own message. No state of its own.
class SlurmClient {
public:
    /// Submits `script` with `options` (sbatch --parsable); returns the job id. Throws when
    /// sbatch is not installed or refuses the job (an unknown partition, a bad option).
    std::string submit(const std::vector<std::string> &options, const std::string &script) const;
    /// The states of these jobs (ids Slurm does not know any more: GONE).
    std::map<std::string, SlurmJobState> states(const std::vector<std::string> &ids) const;
    /// The id of a job of this name still queued or running, or "".
    std::string findInFlight(const std::string &name) const;
    /// Cancels these jobs (scancel); ids already ended are no error.
    void cancel(const std::vector<std::string> &ids) const;
};

} // namespace mf::eval
