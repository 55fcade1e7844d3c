// SPDX-License-Identifier: GPL-3.0-or-later
#include "io/checkpoint.h"

#include "io/adapter.h" // TensorDelta, for the fingerprint
#include "io/mapped_file.h"
#include "io/model_folder.h"
#include "io/pt_archive.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/text.h"
#include "util/hash.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mf {

namespace fs = std::filesystem;

std::uint64_t elementCount(const Shape &shape)
{
    std::uint64_t count = 1;
    for (std::int64_t dim : shape)
        count *= static_cast<std::uint64_t>(dim);
    return count;
}

Checkpoint::Checkpoint() = default;
Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint &&) noexcept = default;
Checkpoint &Checkpoint::operator=(Checkpoint &&) noexcept = default;

std::string resolvePlainFolder(const std::string &folderPath)
{
    const fs::path folder(folderPath);
    std::vector<fs::path> indexes, singles;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (endsWith(name, ".safetensors.index.json") || endsWith(name, ".bin.index.json"))
            indexes.push_back(entry.path());
        else if (endsWith(name, ".safetensors"))
            singles.push_back(entry.path());
    }
    if (ec)
        throw Error("cannot list folder " + folder.string() + ": " + ec.message());
    if (indexes.size() == 1)
        return indexes.front().string();
    if (indexes.size() > 1)
        throw Error("folder " + folder.string() +
                    " holds several shard index files (*.index.json); name one of them");
    if (singles.size() == 1)
        return singles.front().string();
    if (singles.empty())
        throw Error("folder " + folder.string() +
                    " holds no .safetensors file and no *.safetensors.index.json");
    throw Error("folder " + folder.string() +
                " holds several .safetensors files and no index; name one of them");
}

Checkpoint Checkpoint::open(const std::string &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        throw Error("cannot open " + path + ": no such file or folder");
    if (fs::is_directory(status))
        return openModelFolder(path);
    Checkpoint checkpoint;
    if (endsWith(path, ".index.json")) {
        checkpoint = openShardIndex(path);
    } else {
        // Decide by content, not by extension: a zip is a PyTorch archive.
        auto file = std::make_shared<MappedFile>(path);
        if (file->size() >= 4 && std::memcmp(file->data(), "GGUF", 4) == 0)
            throw Error(path + " is a GGUF file: an output for llama.cpp, not a merge input "
                               "(its weights may be quantized). Merge the model folders it was "
                               "made from; `inspect` reads it");
        checkpoint = looksLikePyTorchFile(*file) ? openPyTorch(std::move(file))
                                                 : openSafetensors(std::move(file));
    }
    checkpoint.detectSharedStorage();
    return checkpoint;
}

const TensorRef *Checkpoint::findOrTied(const std::string &name) const
{
    if (const TensorRef *stored = find(name))
        return stored;
    const auto tie = m_tied.find(name);
    return tie == m_tied.end() ? nullptr : find(tie->second);
}

void Checkpoint::detectSharedStorage()
{
    std::map<std::pair<const std::byte *, DType>, std::string> first;
    for (const TensorRef &tensor : m_tensors) {
        if (tensor.byteSize == 0)
            continue;
        const auto [it, inserted] =
            first.emplace(std::make_pair(tensor.data, tensor.dtype), tensor.name);
        if (inserted)
            continue;
        const TensorRef *other = find(it->second);
        if (other->shape != tensor.shape)
            continue; // a view of part of a storage, not a tie
        m_tied[tensor.name] = other->name;
        m_notes.push_back(tensor.name + " and " + other->name +
                          " share one storage in the file (tied weights): one tensor");
    }
}

const TensorRef *Checkpoint::find(const std::string &name) const
{
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::uint64_t Checkpoint::parameterCount() const
{
    std::uint64_t count = 0;
    for (const auto &tensor : m_tensors)
        count += tensor.numel();
    return count;
}

std::uint64_t Checkpoint::byteSize() const
{
    std::uint64_t bytes = 0;
    for (const auto &tensor : m_tensors)
        bytes += tensor.byteSize;
    return bytes;
}

void Checkpoint::populate() const
{
    for (const auto &mapping : m_mappings)
        mapping->populate();
}

namespace {

/// hashBytes of `size` bytes at `data`; read with pread when they lie in a mapped file, so
/// that sampling a cold multi-GB checkpoint reads kilobytes, not a fault's read-around.
std::uint64_t hashSample(const std::byte *data, std::uint64_t size, std::uint64_t h)
{
    std::uint64_t offset = 0;
    const MappedFile *file = MappedFile::containing(data, &offset);
    if (!file)
        return hashBytes(data, size, h);
    std::byte bytes[4096];
    file->read(offset, size, bytes);
    return hashBytes(bytes, size, h);
}

} // namespace

std::string Checkpoint::fingerprint() const
{
    // Table of names, dtypes and shapes, plus up to 4 kB from the start, middle and end of
    // every tensor: changes when a checkpoint is retrained or replaced, costs microseconds.
    std::uint64_t h = 0x6d657267;
    if (m_format == "peft-lora") // an adapter's config changes its ΔW as its factors do
        for (const auto &[key, value] : m_metadata)
            h = hashString(value, hashString(key, h));
    for (const auto &tensor : m_tensors) {
        h = hashString(tensor.name, h);
        h = hashString(dtypeName(tensor.dtype), h);
        h = hashBytes(tensor.shape.data(), tensor.shape.size() * sizeof(std::int64_t), h);
        const std::uint64_t sample =
            tensor.data ? std::min<std::uint64_t>(tensor.byteSize, 4096) : 0;
        if (const TensorDelta *d = tensor.delta) { // a bound adapter's: its factors
            for (const std::vector<float> *v : {&d->left, &d->right, &d->bias})
                if (!v->empty()) {
                    const std::uint64_t bytes = v->size() * sizeof(float);
                    const auto *p = reinterpret_cast<const std::byte *>(v->data());
                    const std::uint64_t part = std::min<std::uint64_t>(bytes, 4096);
                    h = hashBytes(p, part, h);
                    h = hashBytes(p + (bytes - part) / 2, part, h);
                    h = hashBytes(p + bytes - part, part, h);
                }
            h = hashBytes(&d->scale, sizeof d->scale, h);
            if (!d->factor.empty())
                h = hashBytes(d->factor.data(), d->factor.size() * sizeof(double), h);
        }
        if (sample)
            for (const std::uint64_t at :
                 {std::uint64_t{0}, (tensor.byteSize - sample) / 2, tensor.byteSize - sample})
                h = hashSample(tensor.data + at, sample, h);
    }
    return hexDigits(h);
}

void Checkpoint::setSource(std::string path, std::string format)
{
    m_path = std::move(path);
    m_format = std::move(format);
}

void Checkpoint::addFile(std::shared_ptr<MappedFile> file)
{
    m_files.push_back(file->path());
    m_mappings.push_back(std::move(file));
}

void Checkpoint::addTensor(TensorRef tensor)
{
    if (!m_index.emplace(tensor.name, m_tensors.size()).second)
        throw Error("tensor '" + tensor.name + "' appears twice in " + m_path);
    m_tensors.push_back(std::move(tensor));
}

void Checkpoint::adopt(Checkpoint &&other)
{
    for (auto &file : other.m_files)
        m_files.push_back(std::move(file));
    for (auto &mapping : other.m_mappings)
        m_mappings.push_back(std::move(mapping));
    for (auto &buffer : other.m_ownedBuffers)
        m_ownedBuffers.push_back(std::move(buffer));
    for (auto &delta : other.m_deltas)
        m_deltas.push_back(std::move(delta));
    other = Checkpoint();
}

const TensorDelta *Checkpoint::ownDelta(std::shared_ptr<const TensorDelta> delta)
{
    m_deltas.push_back(std::move(delta));
    return m_deltas.back().get();
}

const std::byte *Checkpoint::ownCopy(std::unique_ptr<std::byte[]> bytes)
{
    m_ownedBuffers.push_back(std::move(bytes));
    return m_ownedBuffers.back().get();
}

} // namespace mf
