// SPDX-License-Identifier: GPL-3.0-or-later
// A stand-in evaluation command for the tests: reads a checkpoint and prints
// {"mean": <mean of tensor NAME>} as a real evaluation script would print its metrics.
// usage: metric_tool CHECKPOINT TENSOR
#include "io/checkpoint.h"

#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    try {
        const mf::Checkpoint checkpoint = mf::Checkpoint::open(argv[1]);
        const mf::TensorRef *tensor = checkpoint.find(argv[2]);
        if (!tensor)
            return 3;
        std::vector<double> values(tensor->numel());
        mf::convertToDouble(tensor->dtype, tensor->data, values.data(), values.size());
        double sum = 0;
        for (double v : values)
            sum += v;
        std::printf("loading... done\n{\"mean\": %.17g}\n",
                    sum / static_cast<double>(values.size()));
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
