// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"

#include <string>

namespace mf::eval {

struct ProcessResult {
    int exitCode = -1; ///< the exit status, or -1 when killed by a signal
    bool timedOut = false;
    bool cancelled = false;
    std::string out; ///< stdout (at most the last 4 MB)
    std::string err; ///< stderr (at most the last 64 kB)
};

/// Runs `command` with /bin/sh -c in its own process group, stdin from /dev/null, capturing
/// stdout and stderr. The whole group is killed when `timeoutSeconds` pass or `cancel` is
/// set (polled every 50 ms). Throws mf::Error only when the process cannot be started.
ProcessResult runProcess(const std::string &command, double timeoutSeconds,
                         const CancelFlag &cancel);

/// Quotes text for /bin/sh (single quotes).
std::string shellQuote(const std::string &text);

} // namespace mf::eval
