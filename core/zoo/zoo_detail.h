// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What the example zoos (zoo.cpp: images, text_zoo.cpp: text, llama_zoo.cpp: its Llama
// variant) share; not a public API.
#include "eval/torchscript_evaluator.h"
#include "io/checkpoint.h"
#include "io/dtype.h"
#include "project/project.h"
#include "zoo/text.h"
#include "zoo/zoo.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mf::zoo::detail {

struct RawTensor {
    std::string name;
    DType dtype;
    Shape shape;
    const void *bytes;
};

/// Writes a safetensors file atomically (CheckpointWriter).
void writeSafetensors(const std::string &path, const std::vector<RawTensor> &tensors,
                      const Metadata &metadata);
/// Writes the network's float32 tensors as safetensors.
void writeNetwork(const std::string &path, const eval::Network &network, const Metadata &metadata);

/// Fills `network`'s values (its names and shapes as the zoo made them) from `checkpoint`;
/// mf::Error naming `where` and the tensor when one is missing or of another shape or dtype.
void readValues(const Checkpoint &checkpoint, const std::string &where, eval::Network &network);

/// OUT/zoo.json: empty when absent; mf::Error when it is not a zoo manifest, or the manifest
/// of the other example's zoo ("images" or "text"; one zoo folder holds one example).
nlohmann::json readManifest(const std::string &path, const std::string &example);
void saveManifest(const std::string &path, const nlohmann::json &manifest);

/// Each task's metric with the task's own model (its coefficient 1, the others 0) and at the
/// base (all 0), through the in-process evaluator a project uses.
struct Measured {
    double own = 0, base = 0;
};
std::vector<Measured> measureModels(const std::string &base,
                                    const std::vector<std::string> &checkpoints,
                                    const std::vector<eval::TorchTask> &tasks, int threads);

/// One task's files in a zoo (absolute or relative to the working folder).
struct ZooTaskFiles {
    std::string name, checkpoint, module, data;
};

/// Writes the project over `tasks` unless `projectPath` exists (then it is kept: it holds
/// evaluations) and returns whether it wrote it. Each task is `prototype` (its metric,
/// direction, link, evaluator settings) with its name, checkpoint and TorchScript module and
/// data; every path relative to the project's folder. Saved with saveNew: read back, so the
/// file a user gets loads.
bool writeZooProject(const std::string &projectPath, const std::string &base,
                     const std::vector<ZooTaskFiles> &tasks, const project::TaskEntry &prototype);

/// $XDG_CACHE_HOME (or ~/.cache, else /tmp)/mergefront: where `./run.sh data` unpacks MNIST
/// and the tokenizer reference.
std::string cacheFolder();

/// Writes a model folder as a whole or not at all: `files` (name -> contents) and the network
/// as model.safetensors (metadata format: pt, mergefront: `what`), staged beside the folder,
/// then renamed into place.
void writeModelFolder(const std::string &folder, const std::map<std::string, std::string> &files,
                      const eval::Network &network, const std::string &what);

// The text zoos (text_zoo.cpp).

/// The project's domains: options.tasks, or every domain; an unknown or repeated name, or a
/// --text-folder for no domain, throws mf::Error.
std::vector<std::string> textZooTasks(const ZooOptions &options);
/// Every domain (each feeds the base's mix), from its --text-folder or default folder, each
/// needing `minimumBytes` of training and held-out text; appends each one's fingerprint to
/// `fingerprints` ("name=hex;").
std::vector<DomainText> readTextDomains(const ZooOptions &options, std::size_t minimumBytes,
                                        std::string &fingerprints);
/// The trainer's progress callback: logs "zoo: WHAT step i/N: loss ... (perplexity ...)" and
/// says false once the build is cancelled.
std::function<bool(int, double)> stepLogger(const ZooOptions &options, const std::string &what,
                                            int steps);

/// mf::Error when `projectPath` exists over other tasks than `tasks` (its evaluations would be
/// lost): before any work.
void refuseOtherProject(const std::string &projectPath, const std::vector<std::string> &tasks);

} // namespace mf::zoo::detail
