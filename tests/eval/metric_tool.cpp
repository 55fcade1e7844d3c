// SPDX-License-Identifier: GPL-3.0-or-later
// A stand-in evaluation command for the tests: reads a merged checkpoint and prints its
// metrics as a JSON object, after a log line, as a real evaluation script would.
//   metric_tool mean CHECKPOINT TENSOR  -> {"mean": mean of TENSOR}
//   metric_tool peaks CHECKPOINT TASK   -> {"accuracy": sigmoid(2 - 4 |w - p_TASK|²)} with w the
//                                          2-element tensor "w", p_a = (0.8, 0.2), p_b = (0.2, 0.8)
//   metric_tool blocks CHECKPOINT TASK  -> {"accuracy": sigmoid(2 - 2 |w0 - p_TASK|² - 2 |w1 -
//   q_TASK|²)}
//                                          with w0, w1 the tensors "layers.0.w", "layers.1.w",
//                                          p as above, q_a = (0.5, 0.1), q_b = (0.3, 0.9): each
//                                          task wants other coefficients in each layer
//   metric_tool peaks-all CHECKPOINT a,b  -> {"a": {"accuracy": ...}, "b": {"accuracy": ...}}: the
//                                          peaks of every listed task in one object (a
//                                          project-level command)
#include "io/checkpoint.h"

#include <algorithm>
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
        if (mode == "blocks") {
            const std::string task = argv[3];
            const double p[2][2][2] = {{{0.8, 0.2}, {0.5, 0.1}}, {{0.2, 0.8}, {0.3, 0.9}}};
            double d = 0;
            for (int layer = 0; layer < 2; ++layer) {
                const mf::TensorRef *w = checkpoint.find("layers." + std::to_string(layer) + ".w");
                if (!w)
                    return 3;
                double v[2];
                mf::convertToDouble(w->dtype, w->data, v, 2);
                const auto &peak = p[task == "a" ? 0 : 1][layer];
                d += 2 * (std::pow(v[0] - peak[0], 2) + std::pow(v[1] - peak[1], 2));
            }
            std::printf("loading... done\n{\"accuracy\": %.17g}\n", 1 / (1 + std::exp(-(2 - d))));
            return 0;
        }
        const bool peaks = mode == "peaks" || mode == "peaks-all";
        const mf::TensorRef *tensor = checkpoint.find(peaks ? "w" : argv[3]);
        if (!tensor)
            return 3;
        std::vector<double> values(tensor->numel());
        mf::convertToDouble(tensor->dtype, tensor->data, values.data(), values.size());
        double sum = 0;
        for (double v : values)
            sum += v;
        const auto peak = [&](const std::string &task) {
            const double px = task == "a" ? 0.8 : 0.2, py = task == "a" ? 0.2 : 0.8;
            const double d = std::pow(values[0] - px, 2) + std::pow(values[1] - py, 2);
            return 1 / (1 + std::exp(-(2 - 4 * d)));
        };
        if (mode == "peaks-all") {
            std::string tasks = argv[3], object;
            for (std::size_t start = 0; start <= tasks.size();) {
                const std::size_t comma = std::min(tasks.find(',', start), tasks.size());
                const std::string task = tasks.substr(start, comma - start);
                char entry[128];
                std::snprintf(entry, sizeof entry, "\"%s\": {\"accuracy\": %.17g}", task.c_str(),
                              peak(task));
                object += (object.empty() ? "" : ", ") + std::string(entry);
                start = comma + 1;
            }
            std::printf("loading... done\n{%s}\n", object.c_str());
            return 0;
        }
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
