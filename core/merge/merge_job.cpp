// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/merge_job.h"

#include "io/adapter.h"
#include "merge/adapter_output.h"

#include "io/model_folder.h"
#include "merge/folder_output.h"
#include "merge/gguf_output.h"
#include "merge/merge_inputs.h"
#include "merge/recipe.h"

#include "util/error.h"
#include "util/parallel.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
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

/// "models/math" for "models/math/" or "models/math".
std::string displayName(const std::string &path)
{
    fs::path p(path);
    while (!p.empty() && p.filename().empty() && p != p.root_path())
        p = p.parent_path();
    return p.filename().string();
}

/// `fingerprints`: the base's, then each task's (MergeReport::fingerprints).
Metadata provenance(const MergeRequest &request, const Checkpoint &base,
                    const std::vector<std::string> &fingerprints,
                    const std::vector<std::string> &names)
{
    Metadata metadata;
    for (const auto &[key, value] : base.metadata())
        if (key.rfind("mergefront.", 0) != 0 && key.rfind("index.", 0) != 0)
            metadata[key] = value;
    metadata.emplace("format", "pt"); // what Hugging Face loaders expect of torch weights
    const MergeOptions &o = request.options;
    const std::vector<std::string> columns = groupColumns(o.groups);
    nlohmann::json modelList = nlohmann::json::array();
    for (std::size_t t = 0; t < names.size(); ++t) {
        nlohmann::json model = {{"name", names[t]},
                                {"path", displayName(request.modelPaths[t])},
                                {"fingerprint", fingerprints[t + 1]}};
        if (o.groups.empty())
            model["coefficient"] = request.coefficients[t];
        else
            model["coefficients"] = taskRow(request.coefficients, t, columns.size());
        modelList.push_back(std::move(model));
    }
    metadata["mergefront.version"] = MERGEFRONT_VERSION;
    metadata["mergefront.method"] = methodName(o.method);
    metadata["mergefront.coefficients"] = nlohmann::json(request.coefficients).dump();
    metadata["mergefront.base"] = nlohmann::json({{"path", displayName(request.basePath)},
                                                  {"fingerprint", fingerprints.front()}})
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
    if (!o.groups.empty()) {
        metadata["mergefront.groups"] = groupsJson(o.groups).dump();
        metadata["mergefront.columns"] = nlohmann::json(columns).dump();
    }
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
    bool folder = false;         ///< the output is a model folder
    FolderFilesPlan folderFiles; ///< its non-weight files
    bool gguf = false;           ///< the output is a GGUF file
    GgufPlan ggufPlan;
    AdapterOutputPlan adapterPlan; ///< request.adapterOutput: the adapter folder
    std::vector<OutputTensor> outputs;
    MergeReport report;
};

std::string markdownEscape(const std::string &text)
{
    std::string out;
    for (char c : text) {
        if (c == '|' || c == '`')
            out += '\\';
        out += c;
    }
    return out;
}

/// The README.md of a merged folder: what was merged, how, from what.
std::string modelCard(const MergeRequest &request, const OpenedMerge &opened)
{
    const MergeOptions &o = request.options;
    const std::size_t columns = groupColumns(o.groups).size();
    const Checkpoint &base = opened.inputs->base();
    std::ostringstream card;
    card << "---\n";
    if (request.adapterOutput)
        card << "library_name: peft\nbase_model: " << markdownEscape(request.basePath) << "\n";
    else if (!base.folder().empty())
        card << "library_name: transformers\n";
    card << "tags:\n- merge\n- mergefront\n- " << methodName(o.method) << "\n---\n\n";
    card << "# " << displayName(request.outPath) << "\n\n";
    if (request.adapterOutput)
        card << "A PEFT LoRA adapter that is, exactly, the merge below of " << opened.names.size()
             << " LoRA adapters: each module's factors side by side (rank Σ r_t), B scaled by "
                "c_t times its adapter's scale, lora_alpha = r, no cross terms. Load it with "
                "`PeftModel.from_pretrained(base, folder)`.\n\n";
    card << "A merge of " << opened.names.size()
         << " fine-tuned model(s) into their base, made with "
         << "Mergefront " << MERGEFRONT_VERSION
         << ": θ = θ_base + Σ c_t · τ̃_t, τ_t = θ_t − θ_base (" << methodName(o.method) << ").\n\n";
    card << "## Sources\n\n| role | name | path | fingerprint | coefficient "
            "|\n|---|---|---|---|---|\n";
    card << "| base | | "
         << markdownEscape(fs::absolute(request.basePath).lexically_normal().string()) << " | "
         << opened.report.fingerprints.front() << " | |\n";
    for (std::size_t t = 0; t < opened.names.size(); ++t)
        card << "| task | " << markdownEscape(opened.names[t]) << " | "
             << markdownEscape(fs::absolute(request.modelPaths[t]).lexically_normal().string())
             << " | " << opened.report.fingerprints[t + 1] << " | "
             << (o.groups.empty()
                     ? nlohmann::json(request.coefficients[t]).dump()
                     : nlohmann::json(taskRow(request.coefficients, t, columns)).dump())
             << " |\n";
    card << "\n## Method\n\n- method: `" << methodName(o.method) << "`\n";
    if (o.method == MergeMethod::Ties || o.method == MergeMethod::DareTies)
        card << "- density: " << nlohmann::json(o.density).dump()
             << (o.disjointMean ? " (disjoint mean)" : "") << "\n";
    if (o.method == MergeMethod::Dare || o.method == MergeMethod::DareTies)
        card << "- drop rate: " << nlohmann::json(o.dropRate).dump() << ", seed " << o.seed << "\n";
    if (!o.include.empty())
        card << "- only tensors matching `" << o.include << "`\n";
    if (!o.exclude.empty())
        card << "- never tensors matching `" << o.exclude << "`\n";
    if (!o.groups.empty()) {
        std::string list;
        for (std::size_t c = 0; c < columns; ++c)
            list += (c ? ", " : "") + groupColumns(o.groups)[c];
        card << "- block-wise: one coefficient per task and group column (" << list
             << "); the coefficients above are in that order\n";
        for (const std::string &line : describePlan(opened.inputs->merger().plan()))
            if (line.rfind("group '", 0) == 0)
                card << "  - " << markdownEscape(line) << "\n";
    }
    const MergeReport &r = opened.report;
    card << "- tensors: " << r.mergedTensors << " merged (" << r.mergedParameters
         << " parameters), " << r.copiedTensors << " copied from the base";
    if (!r.carried.empty())
        card << ", " << r.carried.size() << " carried unchanged from their task";
    card << "\n- written as " << dtypeName(dominantFloatingType(opened.outputs))
         << (request.dtype ? " (converted)" : " (the base's dtype)") << "\n";
    // A folder says which tokenizer files it carries, or that it has none (a base folder
    // without tokenizer files); other outputs name where the tokenizer comes from.
    std::vector<std::string> tokenizerFiles;
    for (const auto &[source, name] : opened.folderFiles.copies)
        if (name != "config.json" && name != "generation_config.json")
            tokenizerFiles.push_back(name);
    const std::string source = request.tokenizerFrom.empty()
                                   ? std::string("the base's")
                                   : "task '" + request.tokenizerFrom + "'";
    if (opened.folder && !request.adapterOutput && tokenizerFiles.empty())
        card << "- tokenizer: none (" << source
             << " source has no tokenizer files: add them before loading this folder)\n";
    else if (opened.folder && !request.adapterOutput) {
        std::string list;
        for (const std::string &name : tokenizerFiles)
            list += (list.empty() ? "" : ", ") + name;
        card << "- tokenizer: " << source << " (" << markdownEscape(list) << ")\n";
    } else {
        card << "- tokenizer: " << source << "\n";
    }
    for (const std::string &line : describePlan(opened.inputs->merger().plan()))
        if (line.rfind("tied: ", 0) == 0 || line.rfind("left out", 0) == 0 ||
            line.rfind("not in the output", 0) == 0 || line.rfind("carried", 0) == 0)
            card << "- " << markdownEscape(line) << "\n";
    card << "\n## How it was made\n\n";
    if (!request.origin.empty())
        card << "```\n" << request.origin << "\n```\n\n";
    card << "Provenance is also in every weight file's safetensors metadata (`mergefront.*`).\n";
    if (!request.cardExtra.empty())
        card << "\n" << request.cardExtra;
    return card.str();
}

/// The GGUF file of a merge: the base folder's config.json, the tokenizer of the base (or of
/// --tokenizer-from's task), the weights in --gguf-type (or --dtype, or the base's dtype).
void planGgufOutput(const MergeRequest &request, OpenedMerge &opened)
{
    const Merger &merger = opened.inputs->merger();
    std::string tokenizerFolder = opened.inputs->base().folder();
    if (!request.tokenizerFrom.empty()) {
        const auto it = std::find(opened.names.begin(), opened.names.end(), request.tokenizerFrom);
        if (it == opened.names.end())
            throw Error("--tokenizer-from '" + request.tokenizerFrom + "' is not a task");
        tokenizerFolder =
            opened.inputs->models()[static_cast<std::size_t>(it - opened.names.begin())].folder();
        if (tokenizerFolder.empty())
            throw Error("--tokenizer-from '" + request.tokenizerFrom +
                        "' is not a model folder, so it has no tokenizer files");
    }
    GgmlType type = GgmlType::F32;
    if (request.ggufType) {
        type = *request.ggufType;
    } else {
        const DType dtype = request.dtype ? *request.dtype : dominantFloatingType(opened.outputs);
        type = dtype == DType::F16    ? GgmlType::F16
               : dtype == DType::BF16 ? GgmlType::BF16
                                      : GgmlType::F32;
    }
    opened.outputs = merger.outputTensors(std::nullopt, /*omitDuplicates=*/true);
    const Metadata metadata =
        provenance(request, opened.inputs->base(), opened.report.fingerprints, opened.names);
    opened.ggufPlan =
        planGguf(opened.inputs->base().folder(), tokenizerFolder, opened.outputs,
                 merger.plan().untied, type, fs::path(request.outPath).stem().string(), metadata);
    opened.report.notes.push_back("gguf: " + opened.ggufPlan.architecture + ", weights " +
                                  ggufWeightTypeName(type) +
                                  (request.ggufType ? "" : " (the source's dtype)") + ", " +
                                  std::to_string(opened.ggufPlan.tensors.size()) + " tensors, " +
                                  formatBytes(opened.ggufPlan.fileSize()));
    for (const std::string &line : opened.ggufPlan.lines)
        opened.report.notes.push_back("gguf: " + line);
}

void openAndPlan(const MergeRequest &request, const std::function<void(const std::string &)> &log,
                 OpenedMerge &opened)
{
    if (request.modelPaths.empty())
        throw Error("no task models given (--model)");
    const std::size_t columns = groupColumns(request.options.groups).size();
    if (request.coefficients.size() != request.modelPaths.size() * columns)
        throw Error("got " + std::to_string(request.coefficients.size()) + " coefficients for " +
                    std::to_string(request.modelPaths.size()) + " models" +
                    (columns == 1 ? "; give one per --model"
                                  : " and " + std::to_string(columns) + " group columns; give " +
                                        std::to_string(request.modelPaths.size() * columns) +
                                        ", task by task"));
    if (!request.expectedFingerprints.empty() &&
        request.expectedFingerprints.size() != request.modelPaths.size() + 1)
        throw Error("internal: expected fingerprints for the base and every model");
    opened.gguf = !request.adapterOutput && isGgufOutput(request.outPath);
    opened.folder = !request.adapterOutput && !opened.gguf && isFolderOutput(request.outPath);
    if (request.adapterOutput) {
        if (request.shardSize || request.ggufType || !request.tokenizerFrom.empty())
            throw Error("--shard-size, --gguf-type and --tokenizer-from do not apply to an "
                        "adapter output");
        checkFolderOutput(request.outPath, {});
    } else if (opened.gguf) {
        if (request.shardSize)
            throw Error("--shard-size does not apply to a .gguf output (one file)");
        std::error_code ec;
        if (fs::is_directory(request.outPath, ec))
            throw Error("output " + request.outPath + " is a folder; give a file name");
        if (request.ggufType && request.dtype)
            throw Error("give --gguf-type or --dtype for a .gguf output, not both");
    } else if (request.ggufType) {
        throw Error("--gguf-type needs a .gguf output (got " + request.outPath + ")");
    } else if (opened.folder) {
        checkFolderOutput(request.outPath, {});
    } else {
        const CheckpointFormat format = outputFormatForPath(request.outPath);
        if (request.shardSize && format != CheckpointFormat::Safetensors)
            throw Error("--shard-size needs a .safetensors output (or a model folder)");
        if (!request.tokenizerFrom.empty())
            throw Error("--tokenizer-from needs a model folder output (a path with no "
                        "checkpoint extension)");
        std::error_code ec;
        if (fs::is_directory(request.outPath, ec))
            throw Error("output " + request.outPath + " is a folder; give a file name");
    }
    if (request.dtype && !isFloating(*request.dtype))
        throw Error("the output dtype must be floating point (bf16, f16, f32)");
    validateMergeOptions(request.options);

    opened.names =
        request.taskNames.empty() ? taskNamesFromPaths(request.modelPaths) : request.taskNames;
    opened.inputs = std::make_unique<MergeInputs>(request.basePath, request.modelPaths,
                                                  opened.names, request.options);
    const std::vector<const Checkpoint *> inputs = opened.inputs->all();
    MergeReport &report = opened.report;
    for (const Checkpoint *input : inputs)
        report.fingerprints.push_back(input->fingerprint());
    // A replayed recipe: every source must be the one it was made from.
    std::vector<std::string> changed;
    for (std::size_t i = 0; i < request.expectedFingerprints.size(); ++i)
        if (request.expectedFingerprints[i] != report.fingerprints[i])
            changed.push_back(
                (i == 0 ? std::string("base") : "task '" + opened.names[i - 1] + "'") + " (" +
                inputs[i]->path() + ": fingerprint " + report.fingerprints[i] +
                ", the recipe says " + request.expectedFingerprints[i] + ")");
    if (!changed.empty()) {
        std::string list;
        for (const std::string &c : changed)
            list += (list.empty() ? "" : "; ") + c;
        throw Error("refusing to replay: " + std::to_string(changed.size()) +
                    " source(s) changed since the recipe was written: " + list);
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
        for (const std::string &note : inputs[i]->notes())
            report.notes.push_back(
                (i == 0 ? std::string("base") : "task '" + opened.names[i - 1] + "'") + ": " +
                note);
    opened.threads = request.threads > 0 ? request.threads : defaultThreadCount();
    const Merger &merger = opened.inputs->merger();
    opened.outputs = merger.outputTensors(request.dtype, /*omitDuplicates=*/opened.folder);

    if (opened.folder || request.adapterOutput) {
        std::vector<std::string> sourceFolders;
        for (const Checkpoint *input : inputs)
            sourceFolders.push_back(input->folder());
        checkFolderOutput(request.outPath, sourceFolders);
    }
    if (request.adapterOutput) {
        std::vector<const Checkpoint *> tasks;
        for (const Checkpoint &model : opened.inputs->models())
            tasks.push_back(&model);
        // base_model_name_or_path: the adapters' own (the hub name PEFT loads), else the base's.
        std::string baseModel;
        for (const Checkpoint *task : tasks)
            if (baseModel.empty() && task->format() == "peft-lora")
                baseModel = readAdapterConfig(task->folder()).baseModel;
        if (baseModel.empty())
            baseModel = fs::absolute(request.basePath).lexically_normal().string();
        opened.adapterPlan = planAdapterOutput(
            merger, tasks, opened.names, request.dtype ? *request.dtype : DType::F32, baseModel);
        for (const std::string &line : opened.adapterPlan.lines)
            report.notes.push_back(line);
        opened.outputs = opened.adapterPlan.tensors;
    } else if (opened.folder) {
        std::string tokenizerFolder = opened.inputs->base().folder();
        std::string label = "the base";
        if (!request.tokenizerFrom.empty()) {
            const auto it =
                std::find(opened.names.begin(), opened.names.end(), request.tokenizerFrom);
            if (it == opened.names.end()) {
                std::string known;
                for (const std::string &name : opened.names)
                    known += (known.empty() ? "" : ", ") + name;
                throw Error("--tokenizer-from '" + request.tokenizerFrom +
                            "' is not a task (the tasks: " + known + ")");
            }
            const Checkpoint &source =
                opened.inputs->models()[static_cast<std::size_t>(it - opened.names.begin())];
            if (source.folder().empty())
                throw Error("--tokenizer-from '" + request.tokenizerFrom + "': " + source.path() +
                            " is not a model folder, so it has no tokenizer files");
            tokenizerFolder = source.folder();
            label = "task '" + request.tokenizerFrom + "'";
        }
        opened.folderFiles = planFolderFiles(opened.inputs->base().folder(), tokenizerFolder, label,
                                             torchDtypeName(dominantFloatingType(opened.outputs)),
                                             merger.plan().untied);
        for (const std::string &line : opened.folderFiles.lines)
            report.notes.push_back("folder: " + line);
    } else {
        refuseOverwritingInputs(request.outPath, inputs);
    }
    if (opened.gguf)
        planGgufOutput(request, opened);

    const MergePlan &plan = merger.plan();
    report.mergedTensors = plan.mergedTensors;
    report.mergedParameters = plan.mergedParameters;
    report.copiedTensors = plan.copiedTensors;
    for (const TensorPlan &tensor : plan.tensors) {
        if (tensor.taskOnly >= 0)
            report.carried.push_back(tensor.name + " (task '" +
                                     opened.names[static_cast<std::size_t>(tensor.taskOnly)] +
                                     "')");
        else if (!tensor.merged)
            report.copied.push_back({tensor.name, tensor.reason});
    }
    report.ignored = plan.ignoredTensors;
    report.estimate = merger.estimate(opened.threads);
    report.estimate.outputBytes = 0;
    for (const OutputTensor &tensor : opened.outputs)
        report.estimate.outputBytes += tensor.byteSize();
    if (opened.gguf)
        report.estimate.outputBytes = opened.ggufPlan.fileSize();
    report.bytesTouched = report.estimate.inputBytes + report.estimate.outputBytes;
    const std::vector<std::string> described = describePlan(plan);
    log("merge: " + std::string(methodName(request.options.method)) + " of " +
        std::to_string(request.modelPaths.size()) + " task(s) onto the base " +
        opened.inputs->base().path() + ", into " + request.outPath + ": " + described.front());
    for (std::size_t i = 1; i < described.size(); ++i)
        log("  " + described[i]);
    for (const std::string &note : report.notes)
        log("  " + note);
    log("memory: reads " + formatBytes(report.estimate.inputBytes) + ", writes " +
        formatBytes(report.estimate.outputBytes) + "; resident at most about " +
        formatBytes(report.estimate.residentBytes()) + " (" +
        (streamsInputs(report.estimate.inputBytes)
             ? "inputs stream through " + formatBytes(report.estimate.mappedBytes) +
                   " mapped at once, "
             : std::string("inputs mapped whole: under an eighth of the memory, ")) +
        formatBytes(report.estimate.workingBytes) + " working memory on " +
        std::to_string(opened.threads) + " thread(s))" +
        (largerThanMemory(report.estimate)
             ? "; larger than half the memory, so what it reads and writes leaves the page cache "
               "as it goes"
             : ""));
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
    // Inputs small enough to stay mapped are mapped up front: one call per file instead of a
    // page fault per 64 kB. Larger ones stream through the merge (io/read_ahead.h).
    if (!streamsInputs(opened.report.estimate.inputBytes)) {
        const std::vector<const Checkpoint *> inputs = opened.inputs->all();
        parallelFor(inputs.size(), opened.threads,
                    [&](std::size_t i, int) { inputs[i]->populate(); });
    }
    merger.prepare(opened.threads, progress);
    const Metadata metadata =
        provenance(request, opened.inputs->base(), opened.report.fingerprints, opened.names);
    WriterOptions writerOptions;
    writerOptions.sync = request.sync;
    writerOptions.dropWritten = largerThanMemory(opened.report.estimate);
    MergeReport report;
    if (opened.folder) {
        FolderTransaction folder(request.outPath, request.sync);
        writerOptions.format = CheckpointFormat::Safetensors;
        writerOptions.shardSize = request.shardSize ? request.shardSize : kDefaultFolderShardSize;
        std::vector<std::string> written;
        {
            CheckpointWriter writer(folder.path() + "/" + kFolderWeightsName, opened.outputs,
                                    metadata, writerOptions);
            merger.mergeInto(writer, request.coefficients, opened.threads, progress);
            written = writer.commit();
        }
        writeFolderFiles(opened.folderFiles, folder.path(), request.sync);
        folder.writeFile("README.md", modelCard(request, opened));
        const std::string out = folder.commit();
        report = std::move(opened.report);
        for (const std::string &file : written)
            report.outputs.push_back((fs::path(out) / fs::path(file).filename()).string());
        for (const auto &copy : opened.folderFiles.copies)
            report.outputs.push_back((fs::path(out) / copy.second).string());
        if (!opened.folderFiles.config.empty())
            report.outputs.push_back((fs::path(out) / "config.json").string());
        report.outputs.push_back((fs::path(out) / "README.md").string());
        report.outputs.push_back(out);
    } else if (request.adapterOutput) {
        std::string card = modelCard(request, opened);
        report = std::move(opened.report);
        report.outputs = writeAdapterOutput(merger, opened.adapterPlan, request.outPath,
                                            request.coefficients, metadata, card, request.sync);
    } else if (opened.gguf) {
        const std::string written =
            writeGguf(merger, opened.ggufPlan, request.outPath, request.coefficients,
                      opened.threads, request.sync, progress);
        report = std::move(opened.report);
        report.outputs = {written};
    } else {
        writerOptions.format = outputFormatForPath(request.outPath);
        writerOptions.shardSize = request.shardSize;
        CheckpointWriter writer(request.outPath, opened.outputs, metadata, writerOptions);
        merger.mergeInto(writer, request.coefficients, opened.threads, progress);
        report = std::move(opened.report);
        report.outputs = writer.commit();
    }
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

} // namespace mf
