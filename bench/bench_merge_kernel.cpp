// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-bench-kernel: the fused merge kernel on in-memory data against this machine's
// streaming copy bandwidth (the roofline), in one run, on the same threads.
//   kernel:   out = base + Σ c_t (task_t - base) over N tasks, blocks on a shared queue,
//             exactly as Merger::mergeInto runs it minus the file I/O;
//   roofline: a plain parallel memcpy of one buffer of the same size.
// GB/s count data touched: (N + 1) inputs read + 1 output written for the kernel,
// 1 read + 1 write for the copy.
//
// usage: mergefront-bench-kernel [--params N] [--tasks K] [--threads T] [--repeat R]
#include "merge/kernel.h"
#include "util/parallel.h"

#include "timing.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
    std::size_t n = 100'000'000;
    int tasks = 4, threads = mf::defaultThreadCount(), repeat = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--params")
            n = static_cast<std::size_t>(std::stod(argv[i + 1]));
        else if (arg == "--tasks")
            tasks = std::stoi(argv[i + 1]);
        else if (arg == "--threads")
            threads = std::stoi(argv[i + 1]);
        else if (arg == "--repeat")
            repeat = std::stoi(argv[i + 1]);
    }
    const std::size_t block = mf::kMergeBlock;
    const std::size_t blocks = (n + block - 1) / block;
    std::vector<std::vector<float>> inputs(static_cast<std::size_t>(tasks) + 1,
                                           std::vector<float>(n));
    std::vector<float> out(n), copy(n);
    // First touch from the worker threads, as the kernel will read it.
    mf::parallelFor(blocks, threads, [&](std::size_t b, int) {
        const std::size_t start = b * block, count = std::min(block, n - start);
        for (std::size_t k = 0; k < inputs.size(); ++k)
            for (std::size_t i = 0; i < count; ++i)
                inputs[k][start + i] = static_cast<float>((start + i + 7 * k) % 1000) * 1e-3f;
        std::memset(out.data() + start, 0, count * sizeof(float));
        std::memset(copy.data() + start, 0, count * sizeof(float));
    });

    std::vector<float> coefficients(static_cast<std::size_t>(tasks), 0.3f);
    mf::TensorTransform transform; // task arithmetic
    const double kernel = mfbench::bestSeconds(
        [&] {
            mf::parallelFor(blocks, threads, [&](std::size_t b, int) {
                const std::size_t start = b * block, count = std::min(block, n - start);
                const float *taskPointers[64];
                for (int t = 0; t < tasks; ++t)
                    taskPointers[t] = inputs[static_cast<std::size_t>(t) + 1].data() + start;
                mf::mergeBlock<float>(inputs[0].data() + start, taskPointers, coefficients.data(),
                                      static_cast<std::size_t>(tasks), count, start, transform,
                                      nullptr, out.data() + start);
            });
        },
        repeat);
    const double memcpyTime = mfbench::bestSeconds(
        [&] {
            const std::size_t chunk = 1 << 20;
            mf::parallelFor((n + chunk - 1) / chunk, threads, [&](std::size_t c, int) {
                const std::size_t start = c * chunk, count = std::min(chunk, n - start);
                std::memcpy(copy.data() + start, inputs[0].data() + start, count * sizeof(float));
            });
        },
        repeat);

    const double bytes = static_cast<double>(n) * sizeof(float);
    const double kernelGbps = bytes * (tasks + 2) / kernel / 1e9;
    const double copyGbps = bytes * 2 / memcpyTime / 1e9;
    std::printf("{\"params\": %zu, \"tasks\": %d, \"threads\": %d, \"kernel_s\": %.4f, "
                "\"kernel_gb_per_s\": %.2f, "
                "\"memcpy_s\": %.4f, \"memcpy_gb_per_s\": %.2f, \"ratio\": %.3f}\n",
                n, tasks, threads, kernel, kernelGbps, memcpyTime, copyGbps, kernelGbps / copyGbps);
    return out[n / 2] == 12345.0f; // keep the result alive
}
