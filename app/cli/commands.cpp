// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"

#include "arguments.h"
#include "interrupt.h"

#include "io/checkpoint.h"
#include "io/gguf.h"
#include "io/inspect.h"
#include "map/surrogate.h"
#include "merge/gguf_output.h"
#include "merge/merge_job.h"
#include "merge/recipe.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <tuple>
#include <unistd.h>

namespace mf::cli {

const char *const kInspectUsage =
    "usage: mergefront-cli inspect CHECKPOINT [--json]\n"
    "  CHECKPOINT: .safetensors, *.safetensors.index.json, a folder with one of them,\n"
    "              or a PyTorch state dict (.pt/.pth/.bin from torch.save(model.state_dict())),\n"
    "              or a GGUF file (its metadata and tensor table),\n"
    "              or a PEFT LoRA adapter folder (its ranks, alphas, targets, the base it "
    "expects)\n";

const char *const kMergeUsage =
    "usage: mergefront-cli merge --base B --model M1 [--model M2 ...] --coef c1,c2,... --out OUT\n"
    "       mergefront-cli merge --recipe FILE.json --out OUT   (replay an export's recipe)\n"
    "  a --model is a full fine-tune or a PEFT LoRA adapter folder (adapter_config.json +\n"
    "  adapter_model.safetensors/.bin) of the base, whose ΔW is computed block by block\n"
    "  --method M        task_arithmetic (default), ties, dare, dare_ties\n"
    "  --density K       TIES: fraction of each task vector kept by magnitude (default 0.2)\n"
    "  --disjoint-mean   TIES: divide by the number of tasks agreeing on the sign\n"
    "  --drop P          DARE: probability of dropping an entry (default 0.9)\n"
    "  --seed S          DARE: seed of the drop mask (default 0)\n"
    "  --include REGEX   merge only tensors whose name matches\n"
    "  --exclude REGEX   never merge tensors whose name matches (they are copied from the base)\n"
    "  --name NAME       a task's name, once per --model (default: from the file name)\n"
    "  --group NAME=REGEX  block-wise: a coefficient group (NAME=ramp:REGEX a layer ramp with\n"
    "                    two columns, NAME: first and last; NAME= the rest); every merged tensor\n"
    "                    in exactly one. --coef then takes tasks x columns, task by task\n"
    "  --recipe-out FILE also write this merge's recipe (docs/RECIPES.md) to FILE\n"
    "  --recipe FILE     replay a recipe (an export's FILE.json): same sources (fingerprints\n"
    "                    checked), method, groups and coefficients; only --out and the run "
    "options\n"
    "  --out OUT         .safetensors, .pt, .pth or .bin; .gguf (llama.cpp, Ollama, LM Studio:\n"
    "                    a language model folder as the base; docs/GGUF.md); any other name\n"
    "                    (or one ending in /) is a Hugging Face model folder: weights\n"
    "                    (model.safetensors, sharded past the shard size), config.json,\n"
    "                    generation_config.json, tokenizer files, a README.md model card.\n"
    "                    Written atomically, never over a source\n"
    "  --out-adapter DIR instead of --out: task arithmetic over LoRA adapters only, written as "
    "one\n"
    "                    PEFT adapter folder (factors side by side, rank Σ r: exact, no cross\n"
    "                    terms); refused for TIES/DARE, DoRA or full fine-tunes, saying why\n"
    "  --shard-size SIZE safetensors: split into shards of at most SIZE (e.g. 2GB) + index\n"
    "                    (a model folder: default 5GB, as save_pretrained)\n"
    "  --tokenizer-from NAME  model folder or .gguf: the tokenizer of task NAME (default: base)\n"
    "  --gguf-type f32|f16|bf16|q8_0  .gguf: the type of 2-D weights (default: the source's\n"
    "                    dtype; norms and biases stay f32; q8_0 quantizes while merging)\n"
    "  --task-only keep|drop  tensors in exactly one task and not in the base (a task's own\n"
    "                    head): carried unchanged (keep, the default) or left out\n"
    "  --dtype bf16|f16|f32   write floating tensors in this dtype (default: the base's)\n"
    "  --threads N       worker threads (default: all cores)\n"
    "  --no-sync         skip fsync before the rename (faster, less durable)\n"
    "  --dry-run         check the inputs, print the plan and memory estimate, write nothing\n"
    "  --json            print a JSON report on stdout\n"
    "  --quiet           no progress on stderr\n";

namespace {

/// Progress on stderr: one updating line on a terminal, a line per quarter otherwise.
class ProgressPrinter {
public:
    explicit ProgressPrinter(bool enabled)
        : m_enabled(enabled)
        , m_tty(::isatty(2) != 0)
    {
    }
    ~ProgressPrinter()
    {
        if (m_open)
            std::fputc('\n', stderr);
    }
    bool operator()(const Progress &p)
    {
        if (!m_enabled || p.total == 0)
            return true;
        const auto now = std::chrono::steady_clock::now();
        if (m_stage != p.stage) {
            m_stage = p.stage;
            m_start = now;
            m_lastQuarter = -1;
        }
        const double fraction = static_cast<double>(p.done) / static_cast<double>(p.total);
        const double seconds = std::chrono::duration<double>(now - m_start).count();
        const double rate = seconds > 0 ? static_cast<double>(p.done) / seconds : 0;
        const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0;
        char line[160];
        if (m_stage == "merging")
            std::snprintf(line, sizeof line, "%s %5.1f%%  %s of %s  %s/s  ETA %.0f s", p.stage,
                          100 * fraction, formatBytes(p.done).c_str(), formatBytes(p.total).c_str(),
                          formatBytes(static_cast<std::uint64_t>(rate)).c_str(), eta);
        else
            std::snprintf(line, sizeof line, "%s %5.1f%%  ETA %.0f s", p.stage, 100 * fraction,
                          eta);
        if (m_tty) {
            std::fprintf(stderr, "\r%-78s", line);
            m_open = true;
            if (p.done == p.total) {
                std::fputc('\n', stderr);
                m_open = false;
            }
        } else {
            const int quarter = static_cast<int>(fraction * 4);
            if (quarter != m_lastQuarter) {
                m_lastQuarter = quarter;
                std::fprintf(stderr, "%s\n", line);
            }
        }
        return true;
    }

private:
    bool m_enabled;
    bool m_tty;
    bool m_open = false;
    int m_lastQuarter = -1;
    std::string m_stage;
    std::chrono::steady_clock::time_point m_start;
};

nlohmann::ordered_json planJson(const MergeReport &report)
{
    nlohmann::ordered_json copied = nlohmann::ordered_json::array();
    for (const LeftOutTensor &tensor : report.copied)
        copied.push_back({{"name", tensor.name}, {"reason", tensor.reason}});
    return {{"merged_tensors", report.mergedTensors},
            {"merged_parameters", report.mergedParameters},
            {"copied_tensors", report.copiedTensors},
            {"copied", copied},
            {"ignored", report.ignored},
            {"carried", report.carried},
            {"notes", report.notes}};
}

} // namespace

DType parseOutputDType(const std::string &name)
{
    if (name == "bf16" || name == "bfloat16")
        return DType::BF16;
    if (name == "f16" || name == "fp16" || name == "float16")
        return DType::F16;
    if (name == "f32" || name == "fp32" || name == "float32")
        return DType::F32;
    throw UsageError("--dtype takes bf16, f16 or f32 (got '" + name + "')");
}

nlohmann::ordered_json surrogateJson(const map::Surrogate &s)
{
    const map::SurrogateDiagnostics &d = s.diagnostics();
    auto finite = [](double v) {
        return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    };
    return {{"metric", s.metric()},
            {"model", map::modelName(d)},
            {"r2", finite(d.r2)},
            {"loo_rmse", finite(d.looRmse)},
            {"loo_rmse_quadratic", finite(d.looRmseQuadratic)},
            {"loo_inside", d.looInside},
            {"loo_count", d.looCount},
            {"interval", d.interval},
            {"samples", d.samples},
            {"parameters", d.parameters}};
}

std::string shellWord(const std::string &word)
{
    if (!word.empty() &&
        word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789-_./,:=+@%") == std::string::npos)
        return word;
    std::string quoted = "'";
    for (char c : word)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

int inspectCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {}, {"json"});
    if (args.positionals().size() != 1)
        throw UsageError("inspect takes exactly one checkpoint");
    if (isGgufFile(args.positionals().front())) {
        const GgufFile file = readGguf(args.positionals().front());
        std::cout << (args.flag("json") ? describeGgufJson(file) : describeGgufText(file));
        return 0;
    }
    const std::string &path = args.positionals().front();
    const Checkpoint checkpoint = openStored(path);
    if (isAdapterPath(path)) {
        const AdapterSummary summary =
            summarizeAdapter(checkpoint, readAdapterConfig(adapterFolder(path)), path);
        std::cout << (args.flag("json") ? describeAdapterJson(summary, checkpoint)
                                        : describeAdapterText(summary, checkpoint));
        return 0;
    }
    std::cout << (args.flag("json") ? describeCheckpointJson(checkpoint)
                                    : describeCheckpointText(checkpoint));
    return 0;
}

std::pair<std::string, bool> outputOrAdapter(const Arguments &args)
{
    if (const auto adapter = args.value("out-adapter")) {
        if (args.value("out"))
            throw UsageError("give --out or --out-adapter, not both");
        return {*adapter, true};
    }
    return {args.required("out"), false};
}

namespace {

void mergeOptionsFrom(const Arguments &args, MergeRequest &request)
{
    request.taskNames = args.values("name");
    if (!request.taskNames.empty() && request.taskNames.size() != request.modelPaths.size())
        throw UsageError("give --name once per --model, or not at all");
    if (const auto method = args.value("method"))
        request.options.method = parseMergeMethod(*method);
    request.options.density = args.number("density", request.options.density);
    request.options.dropRate = args.number("drop", request.options.dropRate);
    request.options.seed = args.unsignedNumber("seed", 0);
    request.options.disjointMean = args.flag("disjoint-mean");
    request.options.include = args.value("include").value_or("");
    request.options.exclude = args.value("exclude").value_or("");
    if (const auto shard = args.value("shard-size"))
        request.shardSize = parseByteSize(*shard);
    request.tokenizerFrom = args.value("tokenizer-from").value_or("");
    if (const auto taskOnly = args.value("task-only")) {
        if (*taskOnly != "keep" && *taskOnly != "drop")
            throw UsageError("--task-only takes keep or drop");
        request.options.keepTaskOnly = *taskOnly == "keep";
    }
    if (const auto dtype = args.value("dtype"))
        request.dtype = parseOutputDType(*dtype);
}

/// --gguf-type, and a replayed recipe's GGUF type where the output is not GGUF.
void ggufTypeFrom(const Arguments &args, MergeRequest &request)
{
    if (const auto type = args.value("gguf-type")) {
        try {
            request.ggufType = parseGgufWeightType(*type);
        } catch (const Error &e) {
            throw UsageError(std::string("--gguf-type: ") + e.what());
        }
    } else if (!isGgufOutput(request.outPath)) {
        request.ggufType.reset(); // a recipe made from a GGUF export, replayed into a checkpoint
    }
}

/// `recipeOut`: where the merge's recipe goes once the output is committed ("": nowhere).
int runMergeCommand(const Arguments &args, const MergeRequest &request,
                    const std::string &recipeOut)
{
    if (!recipeOut.empty() && args.flag("dry-run"))
        throw UsageError("--recipe-out records a merge that ran; --dry-run writes nothing");
    const bool quiet = args.flag("quiet");
    auto log = [quiet](const std::string &line) {
        if (!quiet)
            std::fprintf(stderr, "%s\n", line.c_str());
    };

    catchInterrupts();
    ProgressPrinter printer(!quiet);
    ProgressCallback progress = [&printer](const Progress &p) {
        return printer(p) && !interrupted();
    };
    if (args.flag("dry-run")) {
        MergeReport report = planMergeOnly(request, log);
        if (args.flag("json"))
            std::cout << nlohmann::ordered_json(
                             {{"plan", planJson(report)},
                              {"estimate",
                               {{"input_bytes", report.estimate.inputBytes},
                                {"output_bytes", report.estimate.outputBytes},
                                {"working_bytes", report.estimate.workingBytes}}}})
                             .dump(2)
                      << "\n";
        return 0;
    }
    const MergeReport report = runMerge(request, log, progress);
    if (!recipeOut.empty()) {
        writeFileAtomically(recipeOut, recipeJson(request, report).dump(2) + "\n", request.sync);
        log("recipe: " + recipeOut + " (replay with merge --recipe " + recipeOut + " --out ...)");
    }
    const double gbps =
        report.seconds > 0 ? static_cast<double>(report.bytesTouched) / report.seconds / 1e9 : 0;
    char summary[200];
    std::snprintf(summary, sizeof summary, "wrote %s in %.2f s (%.2f GB/s of data touched)",
                  report.outputs.back().c_str(), report.seconds, gbps);
    log(summary);
    if (args.flag("json"))
        std::cout << nlohmann::ordered_json({{"outputs", report.outputs},
                                             {"plan", planJson(report)},
                                             {"seconds", report.seconds},
                                             {"bytes_touched", report.bytesTouched},
                                             {"gb_per_s", gbps}})
                         .dump(2)
                  << "\n";
    return 0;
}

/// `--group NAME=REGEX`, `--group NAME=ramp:REGEX` (a layer ramp), `--group NAME=` (the rest).
std::vector<CoefficientGroup> parseGroups(const std::vector<std::string> &specs)
{
    std::vector<CoefficientGroup> groups;
    for (const std::string &spec : specs) {
        const std::size_t eq = spec.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--group takes NAME=REGEX, NAME=ramp:REGEX or NAME= (the rest), "
                             "got '" +
                             spec + "'");
        CoefficientGroup group{spec.substr(0, eq), spec.substr(eq + 1), false};
        if (startsWith(group.include, "ramp:")) {
            group.ramp = true;
            group.include = group.include.substr(5);
        }
        groups.push_back(std::move(group));
    }
    validateGroups(groups);
    return groups;
}

} // namespace

int mergeCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(
        tokens,
        {"base",      "model",   "coef",    "name",   "method",     "density",   "drop",
         "seed",      "include", "exclude", "out",    "shard-size", "threads",   "tokenizer-from",
         "task-only", "dtype",   "group",   "recipe", "recipe-out", "gguf-type", "out-adapter"},
        {"disjoint-mean", "no-sync", "dry-run", "json", "quiet"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    MergeRequest request;
    if (const auto recipe = args.value("recipe")) {
        // Everything but where to write comes from the recipe.
        for (const char *option :
             {"base", "model", "coef", "name", "method", "density", "drop", "seed", "include",
              "exclude", "shard-size", "tokenizer-from", "task-only", "dtype", "group"})
            if (args.value(option))
                throw UsageError(std::string("--recipe replays the recipe as written; --") +
                                 option + " cannot change it (edit a copy of the recipe instead)");
        if (args.flag("disjoint-mean"))
            throw UsageError("--recipe replays the recipe as written; --disjoint-mean cannot "
                             "change it");
        request = readRecipe(*recipe);
    } else {
        request.basePath = args.required("base");
        request.modelPaths = args.values("model");
        if (request.modelPaths.empty())
            throw UsageError("give at least one --model");
        request.options.groups = parseGroups(args.values("group"));
        request.coefficients = parseNumberList(args.required("coef"), "coef");
        const std::size_t columns = groupColumns(request.options.groups).size();
        if (request.coefficients.size() != request.modelPaths.size() * columns)
            throw UsageError(
                "--coef has " + std::to_string(request.coefficients.size()) + " values for " +
                std::to_string(request.modelPaths.size()) + " --model" +
                (columns == 1 ? "; give one coefficient per model"
                              : " x " + std::to_string(columns) + " group columns; give " +
                                    std::to_string(request.modelPaths.size() * columns) +
                                    ", model by model, each in the group order"));
        mergeOptionsFrom(args, request);
    }
    std::tie(request.outPath, request.adapterOutput) = outputOrAdapter(args);
    ggufTypeFrom(args, request);
    request.threads = static_cast<int>(args.unsignedNumber("threads", 0));
    request.sync = !args.flag("no-sync");
    request.origin = "mergefront-cli merge";
    for (const std::string &token : tokens)
        request.origin += " " + shellWord(token);
    return runMergeCommand(args, request, args.value("recipe-out").value_or(""));
}

} // namespace mf::cli
