// SPDX-License-Identifier: GPL-3.0-or-later
// A stand-in evaluation command for the tests: reads a merged checkpoint and prints its
// metrics as a JSON object, after a log line, as a real evaluation script would.
//   metric_tool mean CHECKPOINT TENSOR  -> {"mean": mean of TENSOR}
//   metric_tool peaks CHECKPOINT TASK   -> {"accuracy": sigmoid(2 - 4 |w - p_TASK|²)} with w the
//                                          2-element tensor "w", p_a = (0.8, 0.2), p_b = (0.2, 0.8)
#include "io/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <exception>
#include <vector>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    try {
        const std::string mode = argv[1];
        const mf::Checkpoint checkpoint = mf::Checkpoint::open(argv[2]);
        const mf::TensorRef *tensor = checkpoint.find(mode == "peaks" ? "w" : argv[3]);
        if (!tensor)
            return 3;
        std::vector<double> values(tensor->numel());
        mf::convertToDouble(tensor->dtype, tensor->data, values.data(), values.size());
        double sum = 0;
        for (double v : values)
            sum += v;
        if (mode == "peaks") {
            const std::string task = argv[3];
            const double px = task == "a" ? 0.8 : 0.2, py = task == "a" ? 0.2 : 0.8;
            const double d = std::pow(values[0] - px, 2) + std::pow(values[1] - py, 2);
            std::printf("loading... done\n{\"accuracy\": %.17g}\n",
                        1 / (1 + std::exp(-(2 - 4 * d))));
            return 0;
        }
        std::printf("loading... done\n{\"mean\": %.17g}\n",
                    sum / static_cast<double>(values.size()));
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
