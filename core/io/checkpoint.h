// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "io/dtype.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mf {

class MappedFile;
struct TensorDelta;

using Shape = std::vector<std::int64_t>;
using Metadata = std::map<std::string, std::string>;

/// Number of elements of a shape (1 for a 0-d tensor); the shape was validated on load.
std::uint64_t elementCount(const Shape &shape);

/// One tensor of a loaded checkpoint: contiguous row-major bytes, aligned to the element
/// size, usually pointing straight into a memory-mapped file (zero copy).
struct TensorRef {
    std::string name;
    DType dtype = DType::F32;
    Shape shape;
    const std::byte *data = nullptr; ///< valid while the owning Checkpoint lives
    std::uint64_t byteSize = 0;      ///< elementCount(shape) * dtypeSize(dtype)
    /// Set (and `data` null) for a tensor of a bound LoRA adapter: its values are computed
    /// from the base's and the low-rank factors (io/adapter.h readValues), never stored.
    const TensorDelta *delta = nullptr;
    std::uint64_t numel() const { return elementCount(shape); }
};

/// A checkpoint opened from disk in any supported format. Tensors keep the order of the
/// file(s); the checkpoint owns the mappings their bytes live in. Move-only.
class Checkpoint {
public:
    /// Opens a `.safetensors` file, a `*.safetensors.index.json`, a PyTorch state dict
    /// (`.pt`/`.pth`/`.bin`), or a folder: a Hugging Face model folder in any layout
    /// `save_pretrained` writes (io/model_folder.h), else a folder holding exactly one index or
    /// one `.safetensors` file. Throws mf::Error with one line naming the file, tensor or key
    /// at fault.
    static Checkpoint open(const std::string &path);

    Checkpoint();
    ~Checkpoint();
    Checkpoint(Checkpoint &&) noexcept;
    Checkpoint &operator=(Checkpoint &&) noexcept;

    const std::string &path() const { return m_path; }
    const std::string &format() const { return m_format; } ///< "safetensors", "pytorch", ...
    const std::vector<TensorRef> &tensors() const { return m_tensors; }
    const Metadata &metadata() const { return m_metadata; }
    const std::vector<std::string> &files() const { return m_files; }
    const TensorRef *find(const std::string &name) const;
    /// The model folder this checkpoint was opened as ("" when it was opened as a file).
    const std::string &folder() const { return m_folder; }
    /// What opening decided, in words ("took model.safetensors; pytorch_model.bin ...").
    const std::vector<std::string> &notes() const { return m_notes; }
    /// Tied names: a name the checkpoint does not store (or stores as the same storage as
    /// another) -> the stored tensor it is ("lm_head.weight" -> "transformer.wte.weight" when
    /// config.json ties the word embeddings; two names of one storage in a `.bin`).
    const std::map<std::string, std::string> &tied() const { return m_tied; }
    /// find(name), else the tensor `name` is tied to; nullptr when neither exists.
    const TensorRef *findOrTied(const std::string &name) const;
    std::uint64_t parameterCount() const;
    std::uint64_t byteSize() const;

    /// Maps all of the checkpoint's pages now (see MappedFile::populate).
    void populate() const;

    /// Cheap content fingerprint (hex): the tensor table plus sampled bytes of every tensor.
    std::string fingerprint() const;

    // Used by the format loaders.
    void setSource(std::string path, std::string format);
    void addFile(std::shared_ptr<MappedFile> file);
    void addTensor(TensorRef tensor);
    /// Copies bytes that are misaligned or strided in the file into memory owned here.
    const std::byte *ownCopy(std::unique_ptr<std::byte[]> bytes);
    Metadata &mutableMetadata() { return m_metadata; }
    void setFolder(std::string folder) { m_folder = std::move(folder); }
    void addNote(std::string note) { m_notes.push_back(std::move(note)); }
    void addTie(const std::string &name, const std::string &storedAs) { m_tied[name] = storedAs; }
    /// Records names that share one storage (a `.bin` written from a model with tied
    /// weights) as tied to the first of them, with a note.
    void detectSharedStorage();
    /// Takes over another checkpoint's files and owned bytes (sharded loading).
    void adopt(Checkpoint &&other);
    /// Keeps a bound adapter tensor's delta alive as long as the checkpoint (io/adapter.h).
    const TensorDelta *ownDelta(std::shared_ptr<const TensorDelta> delta);

private:
    std::string m_path;
    std::string m_format;
    std::vector<std::string> m_files;
    std::vector<std::shared_ptr<MappedFile>> m_mappings;
    std::vector<std::unique_ptr<std::byte[]>> m_ownedBuffers;
    std::vector<std::shared_ptr<const TensorDelta>> m_deltas;
    std::vector<TensorRef> m_tensors;
    std::unordered_map<std::string, std::size_t> m_index;
    Metadata m_metadata;
    std::string m_folder;
    std::vector<std::string> m_notes;
    std::map<std::string, std::string> m_tied;
};

} // namespace mf
