// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merge_job.h"

#include "merge/merge_inputs.h"

#include "util/error.h"
#include "util/parallel.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <set>
#include <unistd.h>

namespace mf {

namespace fs = std::filesystem;

namespace {

bool sameFile(const std::string &a, const std::string &b)
{
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

/// True for "<stem>-NNNNN-of-NNNNN.safetensors", the shard names a sharded output uses.
bool isShardName(const std::string &file, const std::string &stem)
{
    const std::string tail = "-00000-of-00000.safetensors";
    if (file.size() != stem.size() + tail.size() || file.compare(0, stem.size(), stem) != 0)
        return false;
    for (std::size_t i = 0; i < tail.size(); ++i) {
        const char c = file[stem.size() + i];
        if (tail[i] == '0' ? !std::isdigit(static_cast<unsigned char>(c)) : c != tail[i])
            return false;
    }
    return true;
}

/// Refuses an output whose file, shards or index would replace one of the inputs.
void refuseOverwritingInputs(const std::string &out, const std::vector<const Checkpoint *> &inputs)
{
    const fs::path outPath(out);
    const std::string stem = outPath.stem().string();
    for (const Checkpoint *input : inputs)
        for (const std::string &file : input->files()) {
            const fs::path inPath(file);
            const std::string name = inPath.filename().string();
            const bool sameFolder =
                sameFile(inPath.parent_path().empty() ? "." : inPath.parent_path().string(),
                         outPath.parent_path().empty() ? "." : outPath.parent_path().string());
            if (sameFile(out, file) || (sameFolder && (isShardName(name, stem) ||
                                                       name == stem + ".safetensors.index.json")))
                throw Error("refusing to write " + out + ": it would overwrite the input " + file);
        }
}

Metadata provenance(const MergeRequest &request, const Checkpoint &base,
                    const std::vector<Checkpoint> &models, const std::vector<std::string> &names)
{
    Metadata metadata;
    for (const auto &[key, value] : base.metadata())
        if (key.rfind("mergefront.", 0) != 0 && key.rfind("index.", 0) != 0)
            metadata[key] = value;
    metadata.emplace("format", "pt"); // what Hugging Face loaders expect of torch weights
    nlohmann::json modelList = nlohmann::json::array();
    for (std::size_t t = 0; t < models.size(); ++t)
        modelList.push_back({{"name", names[t]},
                             {"path", fs::path(request.modelPaths[t]).filename().string()},
                             {"fingerprint", models[t].fingerprint()},
                             {"coefficient", request.coefficients[t]}});
    const MergeOptions &o = request.options;
    metadata["mergefront.version"] = MERGEFRONT_VERSION;
    metadata["mergefront.method"] = methodName(o.method);
    metadata["mergefront.coefficients"] = nlohmann::json(request.coefficients).dump();
    metadata["mergefront.base"] =
        nlohmann::json({{"path", fs::path(request.basePath).filename().string()},
                        {"fingerprint", base.fingerprint()}})
            .dump();
    metadata["mergefront.models"] = modelList.dump();
    if (o.method == MergeMethod::Ties || o.method == MergeMethod::DareTies) {
        metadata["mergefront.density"] = nlohmann::json(o.density).dump();
        metadata["mergefront.disjoint_mean"] = o.disjointMean ? "true" : "false";
    }
    if (o.method == MergeMethod::Dare || o.method == MergeMethod::DareTies) {
        metadata["mergefront.drop_rate"] = nlohmann::json(o.dropRate).dump();
        metadata["mergefront.seed"] = std::to_string(o.seed);
    }
    if (!o.include.empty())
        metadata["mergefront.include"] = o.include;
    if (!o.exclude.empty())
        metadata["mergefront.exclude"] = o.exclude;
    for (const auto &[key, value] : request.extraMetadata)
        metadata[key] = value;
    return metadata;
}

} // namespace

std::vector<std::string> taskNamesFromPaths(const std::vector<std::string> &paths)
{
    std::vector<std::string> names;
    std::set<std::string> used;
    for (const std::string &path : paths) {
        fs::path p(path);
        while (!p.empty() && p.filename().empty())
            p = p.parent_path(); // trailing slash of a folder
        std::string name = p.filename().string();
        for (const char *suffix :
             {".safetensors.index.json", ".safetensors", ".pt", ".pth", ".bin"}) {
            const std::string s = suffix;
            if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
                name.resize(name.size() - s.size());
                break;
            }
        }
        if (name.empty())
            name = "task";
        std::string unique = name;
        for (int k = 2; !used.insert(unique).second; ++k)
            unique = name + "_" + std::to_string(k);
        names.push_back(unique);
    }
    return names;
}

namespace {

/// The opened inputs and the plan of a merge; filled in place (the Merger points into it).
struct OpenedMerge {
    std::unique_ptr<MergeInputs> inputs;
    std::vector<std::string> names;
    int threads = 1;
    MergeReport report;
};

void openAndPlan(const MergeRequest &request, const std::function<void(const std::string &)> &log,
                 OpenedMerge &opened)
{
    if (request.modelPaths.empty())
        throw Error("no task models given (--model)");
    if (request.coefficients.size() != request.modelPaths.size())
        throw Error("got " + std::to_string(request.coefficients.size()) + " coefficients for " +
                    std::to_string(request.modelPaths.size()) + " models; give one per --model");
    const CheckpointFormat format = outputFormatForPath(request.outPath);
    if (request.shardSize && format != CheckpointFormat::Safetensors)
        throw Error("--shard-size needs a .safetensors output");
    validateMergeOptions(request.options);
    std::error_code ec;
    if (fs::is_directory(request.outPath, ec))
        throw Error("output " + request.outPath + " is a folder; give a file name");

    opened.names =
        request.taskNames.empty() ? taskNamesFromPaths(request.modelPaths) : request.taskNames;
    opened.inputs = std::make_unique<MergeInputs>(request.basePath, request.modelPaths,
                                                  opened.names, request.options);
    refuseOverwritingInputs(request.outPath, opened.inputs->all());
    opened.threads = request.threads > 0 ? request.threads : defaultThreadCount();

    MergeReport &report = opened.report;
    const MergePlan &plan = opened.inputs->merger().plan();
    report.mergedTensors = plan.mergedTensors;
    report.mergedParameters = plan.mergedParameters;
    report.copiedTensors = plan.copiedTensors;
    for (const TensorPlan &tensor : plan.tensors)
        if (!tensor.merged)
            report.copied.push_back({tensor.base->name, tensor.reason});
    report.ignored = plan.ignoredTensors;
    report.estimate = opened.inputs->merger().estimate(opened.threads);
    report.bytesTouched = report.estimate.inputBytes + report.estimate.outputBytes;
    const std::vector<std::string> described = describePlan(plan);
    log("merge: " + std::string(methodName(request.options.method)) + " of " +
        std::to_string(request.modelPaths.size()) + " task(s) into " +
        opened.inputs->base().path() + ": " + described.front());
    for (std::size_t i = 1; i < described.size(); ++i)
        log("  " + described[i]);
    log("memory: reads " + formatBytes(report.estimate.inputBytes) + " (memory-mapped), writes " +
        formatBytes(report.estimate.outputBytes) + ", working memory about " +
        formatBytes(report.estimate.workingBytes) + " on " + std::to_string(opened.threads) +
        " thread(s)");
}

} // namespace

MergeReport planMergeOnly(const MergeRequest &request,
                          const std::function<void(const std::string &)> &log)
{
    OpenedMerge opened;
    openAndPlan(request, log, opened);
    return opened.report;
}

MergeReport runMerge(const MergeRequest &request,
                     const std::function<void(const std::string &)> &log,
                     const ProgressCallback &progress)
{
    const auto started = std::chrono::steady_clock::now();
    OpenedMerge opened;
    openAndPlan(request, log, opened);
    Merger &merger = opened.inputs->merger();
    // Map the inputs up front when they fit comfortably in memory: one call per file
    // instead of a page fault per 64 kB. Larger inputs stream through demand faults.
    const std::uint64_t memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                 static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    if (opened.report.estimate.inputBytes < memory / 2) {
        const std::vector<const Checkpoint *> inputs = opened.inputs->all();
        parallelFor(inputs.size(), opened.threads,
                    [&](std::size_t i, int) { inputs[i]->populate(); });
    }
    merger.prepare(opened.threads, progress);
    WriterOptions writerOptions;
    writerOptions.format = outputFormatForPath(request.outPath);
    writerOptions.shardSize = request.shardSize;
    writerOptions.sync = request.sync;
    CheckpointWriter writer(
        request.outPath, merger.outputTensors(),
        provenance(request, opened.inputs->base(), opened.inputs->models(), opened.names),
        writerOptions);
    merger.mergeInto(writer, request.coefficients, opened.threads, progress);
    MergeReport report = std::move(opened.report);
    report.outputs = writer.commit();
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

} // namespace mf
