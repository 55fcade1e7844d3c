// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the core tests: temporary folders, raw files, small checkpoints.
#pragma once

#include "io/checkpoint.h"
#include "io/checkpoint_writer.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mftest {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return m_path; }
    std::string file(const std::string &name) const { return m_path + "/" + name; }
    /// Names of the entries in the folder, sorted (to check no temporaries are left).
    std::vector<std::string> entries() const;

private:
    std::string m_path;
};

void writeFile(const std::string &path, const std::string &bytes);
/// `text` quoted for /bin/sh.
std::string shellQuote(const std::string &text);
/// Names of the entries in a folder, sorted.
std::vector<std::string> listFolder(const std::string &path);
std::string readFile(const std::string &path);

/// A tensor given as floats, stored in `dtype` (or as raw bytes for integer dtypes).
struct TestTensor {
    std::string name;
    mf::DType dtype = mf::DType::F32;
    mf::Shape shape;
    std::vector<double> values; ///< row-major; converted to dtype when written
};

/// Writes tensors through mf::CheckpointWriter (format from the extension).
void writeCheckpoint(const std::string &path, const std::vector<TestTensor> &tensors,
                     const mf::Metadata &metadata = {}, std::uint64_t shardSize = 0);

/// A tensor's values as doubles (any dtype).
std::vector<double> valuesOf(const mf::TensorRef &tensor);

/// The message of the mf::Error that `action` throws, or "" when it throws none.
template<typename Action>
std::string errorOf(Action action)
{
    try {
        action();
    } catch (const mf::Error &e) {
        return e.what();
    }
    return "";
}

/// Data folder (tests/data), from a compile definition.
std::string dataPath(const std::string &name);

/// What a run of the built mergefront-cli did.
struct CliRun {
    int code = -1;
    std::string out;
    std::string err;
};

/// Runs mergefront-cli with `args` (no shell interpretation of them), stdin from /dev/null,
/// capturing stdout and stderr through files in `dir`.
CliRun runCli(const TempDir &dir, const std::vector<std::string> &args);

/// A two-task project in `dir` (project.json): base w = (0, 0) and an integer buffer; task
/// a moves w to (1, 0) (safetensors), task b to (0, 1) (.pt), so a merge's w is (c_a, c_b);
/// both tasks are evaluated by the command evaluator with `command`; plain MAP, budget 12.
void writeCommandProject(const TempDir &dir, const std::string &command);
/// The same project with one project-level command evaluator (top-level "evaluator") serving
/// both tasks, which have none of their own.
void writeSharedCommandProject(const TempDir &dir, const std::string &command);

/// A block-wise two-task project in `dir` (project.json): tensors layers.0.w and layers.1.w,
/// base (0, 0) in both, task a moves both to (1, 0), task b to (0, 1), so a merge's layers.g.w
/// is (C[a][g], C[b][g]); groups "lower" (layers.0) and "upper" (layers.1): D = 4; both tasks
/// evaluated by the command evaluator with `command` (metric_tool's `blocks` mode scores them);
/// Bayesian MAP, budget 40.
void writeBlockwiseProject(const TempDir &dir, const std::string &command);

/// A task of the TorchScript fixtures (tests/data/torch, make_torch_fixtures.py): checkpoint
/// NAME.pt, `module` (default NAME.module.pt) and NAME.data.safetensors, all absolute.
nlohmann::json torchScriptTask(const std::string &name, const std::string &module = "",
                               const std::string &metric = "accuracy");

} // namespace mftest
