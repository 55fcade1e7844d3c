// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Hugging Face model folders, as `save_pretrained` lays them out: config.json,
// generation_config.json, tokenizer files, and the weights in one of four layouts
// (model.safetensors; model-0000k-of-0000n.safetensors + model.safetensors.index.json;
// pytorch_model.bin; pytorch_model-0000k-of-0000n.bin + pytorch_model.bin.index.json).
#include "io/checkpoint.h"

#include <string>
#include <vector>

namespace mf {

/// The weights file a sharded or single safetensors folder output is written as.
constexpr const char *kFolderWeightsName = "model.safetensors";

/// What a file of a model folder is, by its name.
enum class FolderFile {
    Weights,          ///< the four layouts' files and indexes: rewritten, never copied
    Config,           ///< config.json: copied from the base, torch_dtype set to the output's
    GenerationConfig, ///< generation_config.json: copied from the base
    Tokenizer,        ///< tokenizer.json, vocab.json, merges.txt, chat templates, ...
    ModelCard,        ///< README.md: the merged folder gets its own
    Other,            ///< not copied, listed (training_args.bin, optimizer.pt, ...)
};
FolderFile classifyFolderFile(const std::string &name);

/// Opens a folder as a checkpoint. A Hugging Face folder: safetensors before `.bin`, a single
/// file before a sharded set of the same format (as `from_pretrained` prefers), with a note
/// saying which was taken; every other weight set present must hold the same tensors (names
/// and shapes), else mf::Error naming both. An index naming a missing shard, a shard file
/// beside an index that does not name it, and shards without their index are errors naming the
/// file. config.json, when present, must be a JSON object (mf::Error naming it otherwise); its
/// `tie_word_embeddings` (true unless it says false, as in transformers) ties an absent
/// `lm_head.weight` to the one input-embedding tensor. A folder with none of the four layouts
/// falls back to exactly one `*.index.json` or one `.safetensors` file in it.
Checkpoint openModelFolder(const std::string &folder);

/// The plain-folder fallback: the path of the one index or `.safetensors` file in `folder`.
std::string resolvePlainFolder(const std::string &folder);

/// The non-weight files of a model folder by name, sorted, with their roles.
std::vector<std::pair<std::string, FolderFile>> listFolderFiles(const std::string &folder);

} // namespace mf
