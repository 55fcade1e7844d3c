// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/job_runner.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

namespace mf::eval {

std::vector<Evaluation> JobRunner::run(const std::vector<std::vector<double>> &queue,
                                       Evaluator &evaluator, int workers,
                                       const ResultCallback &onResult,
                                       const ProgressCallback &onProgress)
{
    CancelFlag &cancel = *m_token;
    const int threads = std::max(
        1, std::min(evaluator.concurrentSafe() ? workers : 1, static_cast<int>(queue.size())));
    std::vector<Evaluation> results;
    std::mutex mutex;
    std::exception_ptr error;
    std::size_t next = 0;
    JobProgress progress;
    progress.total = static_cast<int>(queue.size());
    const auto started = std::chrono::steady_clock::now();

    auto work = [&] {
        while (true) {
            std::size_t index;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (cancel || error || next >= queue.size())
                    return;
                index = next++;
            }
            Evaluation evaluation;
            try {
                evaluation = evaluator.evaluate(queue[index], cancel);
            } catch (const std::exception &e) {
                evaluation = Evaluation();
                evaluation.failed = true;
                evaluation.error = std::string("the evaluator failed: ") + e.what();
            } catch (...) {
                evaluation = Evaluation();
                evaluation.failed = true;
                evaluation.error = "the evaluator failed with an unknown exception";
            }
            if (evaluation.failed)
                evaluation.coefficients = queue[index];
            if (cancel && evaluation.failed)
                return; // stopped midway: not a result
            std::lock_guard<std::mutex> lock(mutex);
            if (error)
                return;
            try {
                if (onResult)
                    onResult(evaluation);
                results.push_back(std::move(evaluation));
                ++progress.done;
                progress.failed += results.back().failed;
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                progress.rate = seconds > 0 ? progress.done / seconds : 0;
                progress.etaSeconds =
                    progress.rate > 0 ? (progress.total - progress.done) / progress.rate : 0;
                if (onProgress && !onProgress(progress))
                    cancel = true;
            } catch (...) {
                error = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(work);
    work();
    for (auto &thread : pool)
        thread.join();
    if (error)
        std::rethrow_exception(error);
    return results;
}

} // namespace mf::eval
