// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-cli: the headless face of Mergefront's core (../shared/docs/CLI.md).
#include "arguments.h"
#include "commands.h"

#include "util/error.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

const char *const kUsage =
    "usage: mergefront-cli COMMAND [options]\n"
    "commands:\n"
    "  inspect CHECKPOINT [--json]   list a checkpoint's tensors, dtypes, shapes, metadata\n"
    "  merge --base B --model M ... --coef c,... --out OUT   merge checkpoints (see merge --help)\n"
    "  fit --samples S.csv [--json]  quadratic surrogates per metric and their Pareto front\n"
    "  quality --front F.csv --truth T.csv [--json]   GD, IGD, IGD+, hypervolume of a front\n"
    "  explore PROJECT.json          MAP on a project (saved after every evaluation)\n"
    "  grid PROJECT.json --levels K  brute-force ground truth\n"
    "  status | front | select | evaluate | export PROJECT.json ...   see COMMAND --help\n"
    "  job PROJECT.json --coef ... --result FILE   one merge on a cluster node (Slurm runner)\n"
    "  zoo --out DIR [--tasks ...]   build the example project (real MNIST / Fashion-MNIST)\n"
    "  tokenize MODEL --text S [--special] [--json]   a model folder's token ids for a text\n"
    "  decode MODEL --ids 1,2,3 [--skip-special]      the text of token ids\n"
    "  score MODEL --data F [--format ...] [--json]   a language model's perplexity, acc, ... on "
    "F\n"
    "  --version                     print the version\n"
    "exit codes: 0 success, 1 bad input (one line on stderr names the culprit), 2 usage error\n";

struct Command {
    const char *name;
    int (*run)(const std::vector<std::string> &);
    const char *usage;
};

} // namespace

int main(int argc, char **argv)
{
    using namespace mf::cli;
    const Command commands[] = {{"inspect", inspectCommand, kInspectUsage},
                                {"merge", mergeCommand, kMergeUsage},
                                {"fit", fitCommand, kFitUsage},
                                {"quality", qualityCommand, kQualityUsage},
                                {"explore", exploreCommand, kExploreUsage},
                                {"grid", gridCommand, kGridUsage},
                                {"status", statusCommand, kStatusUsage},
                                {"job", jobCommand, kJobUsage},
                                {"front", frontCommand, kFrontUsage},
                                {"select", selectCommand, kSelectUsage},
                                {"evaluate", evaluateCommand, kEvaluateUsage},
                                {"export", exportCommand, kExportUsage},
                                {"zoo", zooCommand, kZooUsage},
                                {"tokenize", tokenizeCommand, kTokenizeUsage},
                                {"decode", decodeCommand, kDecodeUsage},
                                {"score", scoreCommand, kScoreUsage}};
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::printf("mergefront-cli %s\n", MERGEFRONT_VERSION);
        return 0;
    }
    const std::vector<std::string> args(argv + 2, argv + argc);
    for (const Command &command : commands) {
        if (std::strcmp(argv[1], command.name) != 0)
            continue;
        for (const std::string &arg : args)
            if (arg == "--help" || arg == "-h") {
                std::fputs(command.usage, stdout);
                return 0;
            }
        try {
            return command.run(args);
        } catch (const UsageError &e) {
            std::fprintf(stderr, "mergefront-cli %s: %s\n%s", command.name, e.what(),
                         command.usage);
            return 2;
        } catch (const mf::Cancelled &) {
            std::fprintf(stderr, "mergefront-cli %s: interrupted; nothing was written\n",
                         command.name);
            return 130;
        } catch (const mf::Error &e) {
            std::fprintf(stderr, "mergefront-cli %s: error: %s\n", command.name, e.what());
            return 1;
        } catch (const std::bad_alloc &) {
            std::fprintf(stderr, "mergefront-cli %s: error: out of memory\n", command.name);
            return 1;
        } catch (const std::exception &e) {
            std::fprintf(stderr, "mergefront-cli %s: error: %s\n", command.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "mergefront-cli: unknown command '%s'\n%s", argv[1], kUsage);
    return 2;
}
