// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <functional>

namespace mf {

/// Threads to use when the user asked for 0 ("all"): the hardware concurrency, at least 1.
int defaultThreadCount();

/// Runs work(index, worker) for index in [0, count) on `threads` threads that take indices
/// from a shared counter (dynamic scheduling). The first exception thrown stops the
/// remaining work and is rethrown on the calling thread after all workers have joined.
void parallelFor(std::size_t count, int threads,
                 const std::function<void(std::size_t index, int worker)> &work);

} // namespace mf
