// SPDX-License-Identifier: GPL-3.0-or-later
#include "interrupt.h"

#include <atomic>
#include <csignal>

namespace mf::cli {

namespace {

// One flag for the whole process, held as a token too; a lock-free atomic store is safe in
// a signal handler.
const eval::CancelToken g_token = eval::makeCancelToken();
std::atomic<bool> &g_interrupted = *g_token;
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler stores to it");

void onInterrupt(int)
{
    g_interrupted.store(true);
}

} // namespace

void catchInterrupts()
{
    struct sigaction action {};
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

bool interrupted()
{
    return g_interrupted.load();
}

eval::CancelToken interruptToken()
{
    catchInterrupts();
    return g_token;
}

} // namespace mf::cli
