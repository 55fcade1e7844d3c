// SPDX-License-Identifier: GPL-3.0-or-later
#include "fixtures.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace mftest {

TempDir::TempDir()
{
    std::random_device random;
    for (int attempt = 0; attempt < 100; ++attempt) {
        const fs::path candidate =
            fs::temp_directory_path() / ("mergefront-test-" + std::to_string(random()));
        std::error_code ec;
        if (fs::create_directory(candidate, ec)) {
            m_path = candidate.string();
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir()
{
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

std::vector<std::string> TempDir::entries() const
{
    return listFolder(m_path);
}

std::vector<std::string> listFolder(const std::string &path)
{
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(path))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

void writeFile(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

namespace {

std::vector<std::byte> encode(const TestTensor &tensor)
{
    const std::size_t n = tensor.values.size();
    std::vector<std::byte> bytes(n * mf::dtypeSize(tensor.dtype));
    auto put = [&](std::size_t i, auto value) {
        std::memcpy(bytes.data() + i * sizeof value, &value, sizeof value);
    };
    for (std::size_t i = 0; i < n; ++i) {
        const double v = tensor.values[i];
        switch (tensor.dtype) {
        case mf::DType::F64:
            put(i, v);
            break;
        case mf::DType::F32:
            put(i, static_cast<float>(v));
            break;
        case mf::DType::F16:
            put(i, mf::floatToHalf(static_cast<float>(v)));
            break;
        case mf::DType::BF16:
            put(i, mf::floatToBf16(static_cast<float>(v)));
            break;
        case mf::DType::I64:
            put(i, static_cast<std::int64_t>(v));
            break;
        case mf::DType::I32:
            put(i, static_cast<std::int32_t>(v));
            break;
        case mf::DType::I16:
            put(i, static_cast<std::int16_t>(v));
            break;
        case mf::DType::I8:
            put(i, static_cast<std::int8_t>(v));
            break;
        case mf::DType::U8:
            put(i, static_cast<std::uint8_t>(v));
            break;
        case mf::DType::Bool:
            put(i, static_cast<std::uint8_t>(v != 0));
            break;
        }
    }
    return bytes;
}

} // namespace

void writeCheckpoint(const std::string &path, const std::vector<TestTensor> &tensors,
                     const mf::Metadata &metadata, std::uint64_t shardSize)
{
    std::vector<mf::OutputTensor> outputs;
    for (const TestTensor &t : tensors) {
        if (t.values.size() != mf::elementCount(t.shape))
            throw std::runtime_error("test tensor " + t.name + " has the wrong number of values");
        outputs.push_back({t.name, t.dtype, t.shape});
    }
    mf::WriterOptions options;
    options.format = mf::outputFormatForPath(path);
    options.shardSize = shardSize;
    options.sync = false;
    mf::CheckpointWriter writer(path, outputs, metadata, options);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto bytes = encode(tensors[i]);
        writer.write(i, 0, bytes.data(), bytes.size());
    }
    writer.commit();
}

std::vector<double> valuesOf(const mf::TensorRef &tensor)
{
    const std::uint64_t n = tensor.numel();
    std::vector<double> values(n);
    if (mf::isFloating(tensor.dtype)) {
        mf::convertToDouble(tensor.dtype, tensor.data, values.data(), n);
        return values;
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::byte *p = tensor.data + i * mf::dtypeSize(tensor.dtype);
        auto get = [p](auto sample) {
            std::memcpy(&sample, p, sizeof sample);
            return static_cast<double>(sample);
        };
        switch (tensor.dtype) {
        case mf::DType::I64:
            values[i] = get(std::int64_t{});
            break;
        case mf::DType::I32:
            values[i] = get(std::int32_t{});
            break;
        case mf::DType::I16:
            values[i] = get(std::int16_t{});
            break;
        case mf::DType::I8:
            values[i] = get(std::int8_t{});
            break;
        default:
            values[i] = get(std::uint8_t{});
            break;
        }
    }
    return values;
}

std::string dataPath(const std::string &name)
{
    return std::string(MERGEFRONT_TEST_DATA) + "/" + name;
}

std::string shellQuote(const std::string &text)
{
    std::string quoted = "'";
    for (char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

CliRun runCli(const TempDir &dir, const std::vector<std::string> &args)
{
    std::string command = shellQuote(MERGEFRONT_CLI);
    for (const std::string &arg : args)
        command += " " + shellQuote(arg);
    const std::string outFile = dir.path() + "/.stdout", errFile = dir.path() + "/.stderr";
    command += " >" + shellQuote(outFile) + " 2>" + shellQuote(errFile) + " </dev/null";
    const int status = std::system(command.c_str());
    CliRun run;
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = readFile(outFile);
    run.err = readFile(errFile);
    std::remove(outFile.c_str());
    std::remove(errFile.c_str());
    return run;
}

void writeCommandProject(const TempDir &dir, const std::string &command)
{
    writeCheckpoint(dir.file("base.safetensors"),
                    {{"w", mf::DType::F32, {2}, {0, 0}}, {"steps", mf::DType::I64, {1}, {5}}});
    writeCheckpoint(dir.file("a.safetensors"),
                    {{"w", mf::DType::F32, {2}, {1, 0}}, {"steps", mf::DType::I64, {1}, {5}}});
    writeCheckpoint(dir.file("b.pt"),
                    {{"w", mf::DType::F32, {2}, {0, 1}}, {"steps", mf::DType::I64, {1}, {5}}});
    const nlohmann::json evaluator = {{"kind", "command"}, {"command", command}, {"timeout", 900}};
    const nlohmann::json project = {{"format", "mergefront-project"},
                                    {"version", 1},
                                    {"base", "base.safetensors"},
                                    {"tasks",
                                     {{{"name", "a"},
                                       {"checkpoint", "a.safetensors"},
                                       {"metric", "accuracy"},
                                       {"evaluator", evaluator}},
                                      {{"name", "b"},
                                       {"checkpoint", "b.pt"},
                                       {"metric", "accuracy"},
                                       {"evaluator", evaluator}}}},
                                    {"merge", {{"method", "task_arithmetic"}}},
                                    {"map", {{"mode", "plain"}, {"budget", 12}, {"seed", 1}}}};
    writeFile(dir.file("project.json"), project.dump(2));
}

void writeSharedCommandProject(const TempDir &dir, const std::string &command)
{
    writeCommandProject(dir, command);
    auto project = nlohmann::json::parse(readFile(dir.file("project.json")));
    project["evaluator"] = project["tasks"][0]["evaluator"];
    for (auto &task : project["tasks"])
        task.erase("evaluator");
    writeFile(dir.file("project.json"), project.dump(2));
}

void writeBlockwiseProject(const TempDir &dir, const std::string &command)
{
    for (const auto &[file, w] : std::vector<std::pair<std::string, std::vector<double>>>{
             {"base.safetensors", {0, 0}}, {"a.safetensors", {1, 0}}, {"b.safetensors", {0, 1}}})
        writeCheckpoint(dir.file(file), {{"layers.0.w", mf::DType::F32, {2}, w},
                                         {"layers.1.w", mf::DType::F32, {2}, w}});
    const nlohmann::json evaluator = {{"kind", "command"}, {"command", command}};
    const nlohmann::json project = {
        {"format", "mergefront-project"},
        {"version", 1},
        {"base", "base.safetensors"},
        {"tasks",
         {{{"name", "a"}, {"checkpoint", "a.safetensors"}, {"evaluator", evaluator}},
          {{"name", "b"}, {"checkpoint", "b.safetensors"}, {"evaluator", evaluator}}}},
        {"merge",
         {{"method", "task_arithmetic"},
          {"groups",
           {{{"name", "lower"}, {"include", "^layers\\.0\\."}},
            {{"name", "upper"}, {"include", "^layers\\.1\\."}}}}}},
        {"map", {{"mode", "bayesian"}, {"budget", 40}, {"seed", 1}}}};
    writeFile(dir.file("project.json"), project.dump(2));
}

nlohmann::json torchScriptTask(const std::string &name, const std::string &module,
                               const std::string &metric)
{
    const std::string data = dataPath("torch/");
    return {{"name", name},
            {"checkpoint", data + name + ".pt"},
            {"metric", metric},
            {"evaluator",
             {{"kind", "torchscript"},
              {"module", data + (module.empty() ? name + ".module.pt" : module)},
              {"data", data + name + ".data.safetensors"}}}};
}

} // namespace mftest
