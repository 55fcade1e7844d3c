// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A merged model written as a Hugging Face model folder: weights in HF's layout, config,
// generation config and tokenizer files from the sources, a README.md model card; the whole
// folder appears at once (a temporary folder renamed into place).
#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mf {

/// HF `save_pretrained`'s default max_shard_size ("5GB", decimal).
constexpr std::uint64_t kDefaultFolderShardSize = 5'000'000'000ULL;

/// True when `out` names a model folder: it ends in '/', or it ends in none of the checkpoint
/// extensions (.safetensors, .pt, .pth, .bin) nor a common file type (.json, .txt, .gguf,
/// ...: those are refused as outputs). Dots inside a name ("Llama-3.1-merged") are fine.
bool isFolderOutput(const std::string &out);

/// "bfloat16", "float16", "float32", "float64" (config.json's torch_dtype), else "".
std::string torchDtypeName(DType dtype);

/// The dtype most floating parameters of an output have: what its config.json says.
DType dominantFloatingType(const std::vector<OutputTensor> &tensors);

/// The non-weight files of a merged folder, decided before anything is written.
struct FolderFilesPlan {
    std::vector<std::pair<std::string, std::string>> copies; ///< (source path, name) byte copies
    std::string config;                 ///< config.json to write ("" when the base has none)
    std::vector<std::string> notCopied; ///< the sources' other files, by name
    std::vector<std::string> lines;     ///< what is copied and changed, in words
};

/// config.json and generation_config.json from `baseFolder`, the tokenizer files from
/// `tokenizerFolder` (the base's or a task's, `tokenizerLabel` says which), config.json with
/// torch_dtype (and `dtype`, where present) set to `torchDtype` and tie_word_embeddings false
/// when `untie` is not empty. Either folder may be "" (a single-file source): nothing copied
/// from it. Throws mf::Error naming an invalid config.json.
FolderFilesPlan planFolderFiles(const std::string &baseFolder, const std::string &tokenizerFolder,
                                const std::string &tokenizerLabel, const std::string &torchDtype,
                                const std::vector<std::string> &untie);

/// The tokenizer files (by name) that are not byte-equal in every one of `folders` (a file
/// missing in some counts as differing). Empty when they agree or no folder has any.
std::vector<std::string> differingTokenizerFiles(const std::vector<std::string> &folders);

/// Writes `plan`'s files into `folder` (copies and config.json), unsynced or synced.
void writeFolderFiles(const FolderFilesPlan &plan, const std::string &folder, bool sync);

/// Refuses `out` as a folder output: an existing file, an existing folder that is not empty,
/// or a folder equal to or inside one of `sourceFolders`. Throws mf::Error saying which.
void checkFolderOutput(const std::string &out, const std::vector<std::string> &sourceFolders);

/// A folder that appears whole or not at all: files go into a hidden temporary folder beside
/// `out`; commit() syncs (when asked) and renames it onto `out` (an empty `out` is replaced).
/// Destroying it uncommitted removes the temporary folder and everything in it.
class FolderTransaction {
public:
    FolderTransaction(std::string out, bool sync);
    ~FolderTransaction();
    FolderTransaction(const FolderTransaction &) = delete;
    FolderTransaction &operator=(const FolderTransaction &) = delete;

    const std::string &path() const { return m_temp; } ///< where the files are written
    void writeFile(const std::string &name, const std::string &bytes);
    /// Renames the temporary folder onto `out`; returns `out`. Throws mf::Error, leaving nothing.
    std::string commit();

private:
    std::string m_out;
    std::string m_temp;
    bool m_sync;
    bool m_committed = false;
};

} // namespace mf
