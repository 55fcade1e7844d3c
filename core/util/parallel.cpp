// SPDX-License-Identifier: GPL-3.0-or-later
#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mf {

int defaultThreadCount()
{
    return std::max(1u, std::thread::hardware_concurrency());
}

void parallelFor(std::size_t count, int threads, const std::function<void(std::size_t, int)> &work)
{
    if (count == 0)
        return;
    const int workers = static_cast<int>(
        std::min<std::size_t>(count, static_cast<std::size_t>(std::max(1, threads))));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex errorMutex;

    auto run = [&](int worker) {
        while (!failed.load(std::memory_order_relaxed)) {
            const std::size_t index = next.fetch_add(1, std::memory_order_relaxed);
            if (index >= count)
                return;
            try {
                work(index, worker);
            } catch (...) {
                std::lock_guard<std::mutex> lock(errorMutex);
                if (!error)
                    error = std::current_exception();
                failed = true;
            }
        }
    };

    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(workers - 1));
    for (int w = 1; w < workers; ++w)
        pool.emplace_back(run, w);
    run(0);
    for (auto &thread : pool)
        thread.join();
    if (error)
        std::rethrow_exception(error);
}

} // namespace mf
