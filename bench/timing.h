// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>

namespace mfbench {

/// The best (smallest) wall time of `repeat` runs of `work`, in seconds: the least disturbed
/// run on a shared, noisy machine.
inline double bestSeconds(const std::function<void()> &work, int repeat)
{
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        work();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

} // namespace mfbench
