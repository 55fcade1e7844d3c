// SPDX-License-Identifier: GPL-3.0-or-later
#include "merge/folder_output.h"

#include "io/model_folder.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <filesystem>
#include <map>
#include <random>
#include <unistd.h>

namespace mf {

namespace fs = std::filesystem;

namespace {

/// Makes a folder's entries durable (best effort, as for the writer's files' folder).
void syncFolder(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    ::fsync(fd);
    ::close(fd);
}

/// An absolute, normalized path ("a/./b/" -> "/cwd/a/b"), resolving what exists.
fs::path normalized(const std::string &path)
{
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec)
        p = fs::absolute(path).lexically_normal();
    while (!p.empty() && p.filename().empty() && p != p.root_path())
        p = p.parent_path();
    return p;
}

bool isInside(const fs::path &path, const fs::path &folder)
{
    auto p = path.begin();
    for (auto f = folder.begin(); f != folder.end(); ++f, ++p)
        if (p == path.end() || *p != *f)
            return false;
    return true;
}

} // namespace

bool isFolderOutput(const std::string &out)
{
    if (out.empty())
        return false;
    if (out.back() == '/')
        return true;
    for (const char *extension : {".safetensors", ".pt", ".pth", ".bin"})
        if (endsWith(out, extension))
            return false;
    // File types that are not ours: a typo or another tool's format, never a folder name.
    for (const char *extension :
         {".json", ".txt", ".csv", ".yaml", ".yml", ".gguf", ".ggml", ".ckpt", ".onnx", ".h5",
          ".msgpack", ".npz", ".npy", ".pkl", ".zip", ".tar", ".gz"})
        if (endsWith(out, extension))
            return false;
    return true;
}

std::string torchDtypeName(DType dtype)
{
    switch (dtype) {
    case DType::BF16:
        return "bfloat16";
    case DType::F16:
        return "float16";
    case DType::F32:
        return "float32";
    case DType::F64:
        return "float64";
    default:
        return "";
    }
}

DType dominantFloatingType(const std::vector<OutputTensor> &tensors)
{
    std::map<DType, std::uint64_t> counts;
    for (const OutputTensor &tensor : tensors)
        if (isFloating(tensor.dtype))
            counts[tensor.dtype] += elementCount(tensor.shape);
    DType best = DType::F32;
    std::uint64_t most = 0;
    for (const auto &[dtype, count] : counts)
        if (count > most) {
            best = dtype;
            most = count;
        }
    return best;
}

FolderFilesPlan planFolderFiles(const std::string &baseFolder, const std::string &tokenizerFolder,
                                const std::string &tokenizerLabel, const std::string &torchDtype,
                                const std::vector<std::string> &untie)
{
    FolderFilesPlan plan;
    std::vector<std::string> copied;
    if (!baseFolder.empty()) {
        for (const auto &[name, role] : listFolderFiles(baseFolder)) {
            const std::string path = (fs::path(baseFolder) / name).string();
            if (role == FolderFile::Config) {
                nlohmann::ordered_json config;
                try {
                    config = nlohmann::ordered_json::parse(readFile(path));
                } catch (const nlohmann::json::exception &e) {
                    throw Error(path + " is not valid JSON (" + e.what() +
                                "); refusing to write a folder that cannot be loaded");
                }
                if (!config.is_object())
                    throw Error(path + " is not a JSON object (a model config)");
                std::string changes;
                if (!torchDtype.empty()) {
                    const auto old = config.find("torch_dtype");
                    const std::string before =
                        old != config.end() && old->is_string() ? old->get<std::string>() : "";
                    config["torch_dtype"] = torchDtype;
                    if (config.contains("dtype")) // transformers >= 4.56 writes "dtype"
                        config["dtype"] = torchDtype;
                    if (before != torchDtype)
                        changes = "torch_dtype " + (before.empty() ? "(none)" : before) + " -> " +
                                  torchDtype;
                }
                if (!untie.empty()) {
                    config["tie_word_embeddings"] = false;
                    changes +=
                        std::string(changes.empty() ? "" : ", ") + "tie_word_embeddings -> false";
                }
                plan.config = config.dump(2) + "\n";
                copied.push_back("config.json" + (changes.empty() ? "" : " (" + changes + ")"));
            } else if (role == FolderFile::GenerationConfig) {
                plan.copies.emplace_back(path, name);
                copied.push_back(name);
            } else if (role == FolderFile::Other) {
                plan.notCopied.push_back(name);
            }
        }
    }
    std::vector<std::string> tokenizerFiles;
    if (!tokenizerFolder.empty())
        for (const auto &[name, role] : listFolderFiles(tokenizerFolder)) {
            if (role == FolderFile::Tokenizer) {
                plan.copies.emplace_back((fs::path(tokenizerFolder) / name).string(), name);
                tokenizerFiles.push_back(name);
            } else if (role == FolderFile::Other && tokenizerFolder != baseFolder) {
                plan.notCopied.push_back(name + " (in the tokenizer source)");
            }
        }
    auto join = [](const std::vector<std::string> &names) {
        std::string text;
        for (const std::string &name : names)
            text += (text.empty() ? "" : ", ") + name;
        return text;
    };
    if (baseFolder.empty())
        plan.lines.push_back("the base is not a model folder: no config.json or "
                             "generation_config.json to copy");
    else if (!copied.empty())
        plan.lines.push_back("copied from the base: " + join(copied));
    if (!tokenizerFiles.empty())
        plan.lines.push_back("tokenizer from " + tokenizerLabel + ": " + join(tokenizerFiles));
    else
        plan.lines.push_back("no tokenizer files in " + tokenizerLabel +
                             ": the folder has none (give --tokenizer-from NAME?)");
    if (!plan.notCopied.empty())
        plan.lines.push_back("not copied (not a config or tokenizer file): " +
                             join(plan.notCopied));
    return plan;
}

std::vector<std::string> differingTokenizerFiles(const std::vector<std::string> &folders)
{
    std::map<std::string, std::vector<std::string>> contents; // name -> bytes per folder
    for (std::size_t f = 0; f < folders.size(); ++f) {
        if (folders[f].empty())
            continue;
        for (const auto &[name, role] : listFolderFiles(folders[f]))
            if (role == FolderFile::Tokenizer) {
                auto &list = contents[name];
                list.resize(folders.size());
                list[f] = readFile((fs::path(folders[f]) / name).string());
            }
    }
    std::vector<std::string> differing;
    for (auto &[name, list] : contents) {
        list.resize(folders.size());
        for (std::size_t f = 1; f < list.size(); ++f)
            if (list[f] != list[0]) {
                differing.push_back(name);
                break;
            }
    }
    return differing;
}

void writeFolderFiles(const FolderFilesPlan &plan, const std::string &folder, bool sync)
{
    for (const auto &[source, name] : plan.copies)
        writeFile((fs::path(folder) / name).string(), readFile(source), sync);
    if (!plan.config.empty())
        writeFile((fs::path(folder) / "config.json").string(), plan.config, sync);
}

void checkFolderOutput(const std::string &out, const std::vector<std::string> &sourceFolders)
{
    std::error_code ec;
    const fs::file_status status = fs::status(out, ec);
    if (fs::exists(status)) {
        if (!fs::is_directory(status))
            throw Error("output " + out + " exists and is not a folder; refusing to replace it");
        if (!fs::is_empty(out, ec))
            throw Error("output folder " + out +
                        " exists and is not empty; refusing to write into it (give a new name, "
                        "or empty it first)");
    }
    const fs::path target = normalized(out);
    if (!fs::is_directory(target.parent_path(), ec))
        throw Error("cannot create " + out + ": the folder " + target.parent_path().string() +
                    " does not exist");
    for (const std::string &source : sourceFolders) {
        if (source.empty())
            continue;
        const fs::path folder = normalized(source);
        if (isInside(target, folder))
            throw Error("refusing to write " + out + ": it is " +
                        (target == folder ? "the source folder " : "inside the source folder ") +
                        source);
    }
}

FolderTransaction::FolderTransaction(std::string out, bool sync)
    : m_out(std::move(out))
    , m_sync(sync)
{
    while (m_out.size() > 1 && m_out.back() == '/')
        m_out.pop_back();
    const fs::path target(m_out);
    static std::mt19937_64 random{std::random_device{}()};
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".tmp-%d-%08llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(random() & 0xffffffffULL));
    const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec))
        throw Error("cannot create " + m_out + ": the folder " + parent.string() +
                    " does not exist");
    m_temp = (parent / ("." + target.filename().string() + suffix)).string();
    if (::mkdir(m_temp.c_str(), 0755) != 0)
        throw Error("cannot create " + m_out + ": " + systemErrorText(errno));
}

FolderTransaction::~FolderTransaction()
{
    if (!m_committed) {
        std::error_code ec;
        fs::remove_all(m_temp, ec);
    }
}

void FolderTransaction::writeFile(const std::string &name, const std::string &bytes)
{
    mf::writeFile((fs::path(m_temp) / name).string(), bytes, m_sync);
}

std::string FolderTransaction::commit()
{
    if (m_sync)
        syncFolder(m_temp);
    // rename(2) replaces an empty folder; a folder made meanwhile and not empty fails here.
    if (::rename(m_temp.c_str(), m_out.c_str()) != 0)
        throw Error("cannot rename into " + m_out + ": " + systemErrorText(errno));
    m_committed = true;
    if (m_sync) {
        const fs::path parent = fs::path(m_out).parent_path();
        syncFolder(parent.empty() ? "." : parent.string());
    }
    return m_out;
}

} // namespace mf
