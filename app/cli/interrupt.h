// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace mf::cli {

/// Ctrl-C and SIGTERM set a flag instead of killing the process, so long work can stop
/// cleanly (temporaries removed, evaluations saved). Idempotent.
void catchInterrupts();

/// True once Ctrl-C or SIGTERM arrived.
bool interrupted();

} // namespace mf::cli
