// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "eval/job_runner.h"

namespace mf::cli {

/// Ctrl-C and SIGTERM set a flag instead of killing the process, so long work can stop
/// cleanly (temporaries removed, evaluations saved). Idempotent.
void catchInterrupts();

/// True once Ctrl-C or SIGTERM arrived.
bool interrupted();

/// The process's stop request as a job's token: set by Ctrl-C or SIGTERM, so a session
/// handed it stops the evaluations in flight at once (commands killed), not after them.
eval::CancelToken interruptToken();

} // namespace mf::cli
