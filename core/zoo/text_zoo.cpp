// SPDX-License-Identifier: GPL-3.0-or-later
// The text example (docs/EXAMPLE.md): a GPT-2 base pretrained on a mix of Debian text domains
// and one fine-tune per domain, each a Hugging Face model folder, with a perplexity module and
// held-out windows per domain, and a project over the chosen domains.
#include "zoo/zoo.h"

#include "eval/language_model.h"
#include "eval/torch_plugin.h"
#include "io/checkpoint.h"
#include "io/model_folder.h"
#include "project/project.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/text.h"
#include "zoo/text.h"
#include "zoo/zoo_detail.h"

#include <cstdio>
#include <filesystem>

namespace mf::zoo {

namespace fs = std::filesystem;
using nlohmann::json;

nlohmann::json TextZooSettings::toJson() const
{
    if (arch == "llama")
        return {{"arch", arch},
                {"hidden_size", llamaWidth},
                {"num_hidden_layers", llamaLayers},
                {"num_attention_heads", llamaHeads},
                {"num_key_value_heads", llamaKvHeads},
                {"intermediate_size", llamaInner},
                {"context", model.context},
                {"pretrain_steps", pretrainSteps},
                {"steps", steps},
                {"batch_size", batchSize},
                {"pretrain_learning_rate", pretrainLearningRate},
                {"learning_rate", learningRate},
                {"test_passages", testPassages},
                {"seed", seed}};
    return {{"vocab_size", model.vocab},
            {"n_positions", model.context},
            {"n_embd", model.width},
            {"n_layer", model.layers},
            {"n_head", model.heads},
            {"layer_norm_epsilon", model.layerNormEpsilon},
            {"pretrain_steps", pretrainSteps},
            {"steps", steps},
            {"batch_size", batchSize},
            {"pretrain_learning_rate", pretrainLearningRate},
            {"learning_rate", learningRate},
            {"test_windows", testWindows},
            {"held_out", "spread"}, // the windows' layout (text.h heldOutWindows)
            {"seed", seed}};
}

TextZooSettings miniTextZooSettings()
{
    TextZooSettings s;
    s.model.context = 32;
    s.model.width = 32;
    s.model.layers = 2;
    s.model.heads = 2;
    s.pretrainSteps = 40;
    s.steps = 25;
    s.batchSize = 8;
    s.pretrainLearningRate = 3e-3;
    s.learningRate = 2e-3;
    s.testWindows = 8;
    s.llamaWidth = 32;
    s.llamaLayers = 2;
    s.llamaHeads = 4;
    s.llamaKvHeads = 2;
    s.llamaInner = 64;
    s.testPassages = 4;
    return s;
}

namespace {

/// Files of one domain's evaluation inside the zoo folder.
struct DomainFiles {
    std::string model;  ///< the fine-tune's model folder
    std::string module; ///< the perplexity module (TorchScript)
    std::string data;   ///< held-out windows (safetensors: inputs, targets [n, T] I64)
    std::string text;   ///< the held-out documents, "<|endoftext|>" between them
};

DomainFiles domainFiles(const fs::path &out, const std::string &domain)
{
    return {(out / "models" / domain).string(), (out / "eval" / (domain + ".module.pt")).string(),
            (out / "eval" / (domain + ".test.safetensors")).string(),
            (out / "eval" / (domain + ".test.txt")).string()};
}

bool complete(const DomainFiles &files)
{
    return fs::exists(fs::path(files.model) / kFolderWeightsName) && fs::exists(files.module) &&
           fs::exists(files.data) && fs::exists(files.text);
}

/// The GPT-2 parameters of a model folder this zoo wrote.
eval::Network readModelFolder(const fs::path &folder, const eval::Gpt2Config &config)
{
    eval::Network network = eval::gpt2Parameters(config, 0); // names and shapes; values replaced
    detail::readValues(openModelFolder(folder.string()), folder.string(), network);
    return network;
}

} // namespace

namespace detail {

std::vector<std::string> textZooTasks(const ZooOptions &options)
{
    std::vector<std::string> tasks = options.tasks;
    if (tasks.empty())
        for (const TextDomain &domain : textDomainCatalog())
            tasks.push_back(domain.name);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        textDomain(tasks[i]); // throws for unknown names
        for (std::size_t j = 0; j < i; ++j)
            if (tasks[i] == tasks[j])
                throw Error("domain '" + tasks[i] + "' is listed twice");
    }
    for (const auto &[name, folder] : options.textFolders)
        textDomain(name);
    return tasks;
}

std::vector<DomainText> readTextDomains(const ZooOptions &options, std::size_t minimumBytes,
                                        std::string &fingerprints)
{
    std::vector<DomainText> domains;
    for (const TextDomain &domain : textDomainCatalog()) {
        const auto folder = options.textFolders.find(domain.name);
        domains.push_back(readDomain(domain,
                                     folder == options.textFolders.end() ? "" : folder->second,
                                     options.text.seed, minimumBytes));
        fingerprints += domain.name + "=" + domains.back().fingerprint + ";";
    }
    return domains;
}

std::function<bool(int, double)> stepLogger(const ZooOptions &options, const std::string &what,
                                            int steps)
{
    return [&options, what, steps](int step, double loss) {
        char line[200];
        std::snprintf(line, sizeof line,
                      "zoo: %s step %d/%d: loss %.4f nats/token (perplexity %.2f)", what.c_str(),
                      step, steps, loss, std::exp(loss));
        if (options.log)
            options.log(line);
        return !(options.cancelled && options.cancelled());
    };
}

} // namespace detail

ZooReport buildTextZoo(const ZooOptions &options)
{
    if (options.text.arch == "llama")
        return buildLlamaTextZoo(options);
    if (options.text.arch != "gpt2")
        throw Error("text example architecture '" + options.text.arch +
                    "' (expected gpt2 or llama)");
    const TextZooSettings &s = options.text;
    auto log = [&](const std::string &line) {
        if (options.log)
            options.log(line);
    };
    auto checkCancel = [&] {
        if (options.cancelled && options.cancelled())
            throw Cancelled();
    };
    if (options.out.empty())
        throw Error("the zoo needs an output folder");
    s.model.validate();
    if (s.pretrainSteps <= 0 || s.steps <= 0 || s.batchSize <= 0 || s.testWindows <= 0)
        throw Error("text zoo settings must be positive");
    const std::vector<std::string> tasks = detail::textZooTasks(options);
    const fs::path out = options.out;
    const fs::path projectPath =
        options.project.empty() ? out / "project.json" : fs::path(options.project);
    detail::refuseOtherProject(projectPath.string(), tasks);

    // Every domain feeds the base's mix, so every domain is read (a few MB, under a second).
    log("zoo: reading the text domains");
    std::string fingerprints;
    const std::vector<DomainText> domains = detail::readTextDomains(
        options, static_cast<std::size_t>(s.model.context) + 1, fingerprints);
    const std::string key = hexDigits(hashString(s.toJson().dump() + fingerprints, 0x7e47ULL));
    checkCancel();

    const std::string manifestPath = (out / "zoo.json").string();
    json manifest = detail::readManifest(manifestPath, "text"); // before anything is written
    fs::create_directories(out / "models");
    fs::create_directories(out / "eval");
    if (!manifest.empty() && manifest.value("key", "") != key) {
        log("zoo: settings or text differ from the models in " + out.string() + ": retraining");
        manifest = json::object();
    }
    if (manifest.empty()) {
        json sources = json::object();
        for (const DomainText &d : domains)
            sources[d.name] = {{"folder", d.folder},
                               {"package", textDomain(d.name).package},
                               {"fingerprint", d.fingerprint},
                               {"train_bytes", d.trainBytes()},
                               {"test_bytes", d.testBytes()},
                               {"train_documents", d.trainDocuments.size()},
                               {"test_documents", d.testDocuments.size()}};
        manifest = {{"format", "mergefront-zoo"}, {"version", 1},
                    {"example", "text"},          {"key", key},
                    {"settings", s.toJson()},     {"sources", sources},
                    {"tasks", json::object()}};
    }

    eval::LanguageTrainOptions train;
    train.batchSize = s.batchSize;
    train.threads = options.threads;

    ZooReport report;
    const fs::path baseFolder = out / "base";
    eval::Network base;
    if (manifest.contains("base") && fs::exists(baseFolder / kFolderWeightsName)) {
        base = readModelFolder(baseFolder, s.model);
    } else {
        std::vector<eval::TokenStream> mix;
        for (const DomainText &d : domains) {
            checkCancel(); // tokenizing a domain takes seconds: Cancel is heard between them
            mix.push_back({d.name, tokenize(d.trainDocuments)});
        }
        log("zoo: pretraining the GPT-2 base (" + std::to_string(s.model.layers) +
            " layers, width " + std::to_string(s.model.width) + ") on a mix of " +
            std::to_string(mix.size()) + " domains");
        base = eval::gpt2Parameters(s.model, s.seed);
        train.steps = s.pretrainSteps;
        train.learningRate = s.pretrainLearningRate;
        train.warmupSteps = std::max(1, s.pretrainSteps / 20);
        train.seed = s.seed;
        train.progress = detail::stepLogger(options, "base", s.pretrainSteps);
        const eval::LanguageTrainReport trained =
            eval::trainLanguageModel(base, s.model, mix, train);
        checkCancel();
        detail::writeModelFolder(baseFolder.string(), gpt2FolderFiles(s.model), base,
                                 "text example base");
        manifest["base"] = {{"folder", "base"},
                            {"device", trained.device},
                            {"train_loss", trained.loss},
                            {"steps", trained.steps},
                            {"seconds", trained.seconds}};
        manifest["tasks"] = json::object(); // fine-tunes of an older base are stale
        detail::saveManifest(manifestPath, manifest);
        report.baseTrained = true;
    }

    for (const std::string &name : tasks) {
        const DomainText &text = *std::find_if(domains.begin(), domains.end(),
                                               [&](const DomainText &d) { return d.name == name; });
        const DomainFiles files = domainFiles(out, name);
        ZooTask result;
        result.name = name;
        result.metric = "perplexity";
        if (!manifest["tasks"].contains(name) || !complete(files)) {
            checkCancel();
            const std::vector<std::int32_t> tokens = tokenize(text.trainDocuments);
            log("zoo: fine-tuning on " + name + " (" + textDomain(name).description + ", " +
                std::to_string(tokens.size()) + " training tokens)");
            // The module carries the base's weights; an evaluation writes the merge into it.
            writeFileAtomically(files.module, eval::languageModelModule(base, s.model));
            eval::Network network = base;
            train.steps = s.steps;
            train.learningRate = s.learningRate;
            train.warmupSteps = std::max(1, s.steps / 20);
            train.seed = hashString(name, s.seed);
            train.progress = detail::stepLogger(options, name, s.steps);
            const eval::LanguageTrainReport trained =
                eval::trainLanguageModel(network, s.model, {{name, tokens}}, train);
            checkCancel();
            detail::writeModelFolder(files.model, gpt2FolderFiles(s.model), network,
                                     "text example fine-tune: " + name);

            const TokenWindows windows =
                heldOutWindows(tokenize(text.testDocuments), s.model.context, s.testWindows);
            detail::writeSafetensors(
                files.data,
                {{"inputs", DType::I64, {windows.count, windows.length}, windows.inputs.data()},
                 {"targets", DType::I64, {windows.count, windows.length}, windows.targets.data()}},
                {{"mergefront", "text example evaluation data"},
                 {"domain", name},
                 {"windows", "window i: inputs are held-out tokens [i T, i T + T), targets "
                             "[i T + 1, i T + T + 1)"}});
            std::string joined;
            for (std::size_t i = 0; i < text.testDocuments.size(); ++i)
                joined += (i ? kEndOfTextSymbol : "") + text.testDocuments[i];
            writeFileAtomically(files.text, joined);
            manifest["tasks"][name] = {{"description", textDomain(name).description},
                                       {"model", relativePath(files.model, out.string())},
                                       {"module", relativePath(files.module, out.string())},
                                       {"data", relativePath(files.data, out.string())},
                                       {"text", relativePath(files.text, out.string())},
                                       {"train_tokens", tokens.size()},
                                       {"test_windows", windows.count},
                                       {"test_documents", text.testNames},
                                       {"train_loss", trained.loss},
                                       {"device", trained.device},
                                       {"steps", trained.steps},
                                       {"seconds", trained.seconds}};
            detail::saveManifest(manifestPath, manifest);
            result.trained = true;
            result.seconds = trained.seconds;
        }
        report.tasks.push_back(result);
    }

    std::vector<std::string> unmeasured, checkpoints;
    std::vector<eval::TorchTask> specs;
    for (const std::string &name : tasks)
        if (!manifest["tasks"][name].contains("test_perplexity")) {
            const DomainFiles files = domainFiles(out, name);
            unmeasured.push_back(name);
            checkpoints.push_back(files.model);
            eval::TorchTask task;
            task.name = name;
            task.module = files.module;
            task.data = files.data;
            task.metric = "perplexity";
            specs.push_back(task);
        }
    if (!unmeasured.empty()) {
        log("zoo: measuring the base and the fine-tuned models on held-out text");
        const auto measured =
            detail::measureModels(baseFolder.string(), checkpoints, specs, options.threads);
        for (std::size_t t = 0; t < unmeasured.size(); ++t) {
            manifest["tasks"][unmeasured[t]]["test_perplexity"] = measured[t].own;
            manifest["tasks"][unmeasured[t]]["base_perplexity"] = measured[t].base;
        }
        detail::saveManifest(manifestPath, manifest);
    }
    for (ZooTask &result : report.tasks) {
        result.value = manifest["tasks"][result.name].value("test_perplexity", 0.0);
        result.baseValue = manifest["tasks"][result.name].value("base_perplexity", 0.0);
    }

    report.project = projectPath.string();
    std::vector<detail::ZooTaskFiles> files;
    for (const std::string &name : tasks) {
        const DomainFiles f = domainFiles(out, name);
        files.push_back({name, f.model, f.module, f.data});
    }
    project::TaskEntry prototype;
    prototype.metric = "perplexity";
    prototype.direction = map::Direction::Minimize;
    prototype.link = map::Link::Log;
    report.projectWritten =
        detail::writeZooProject(projectPath.string(), baseFolder.string(), files, prototype);
    return report;
}

} // namespace mf::zoo
