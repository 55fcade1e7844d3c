// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-synth: writes a synthetic base checkpoint and task fine-tunes of it, shaped
// like a small transformer (embedding, attention and MLP blocks, norms, an integer
// buffer, and a per-task classification head whose size differs between tasks), for the
// demo and the benchmarks. Values are deterministic in --seed.
//
// usage: mergefront-synth --out DIR [--params N] [--tasks K] [--dtype F32|F16|BF16]
//                         [--format safetensors|pt|both] [--seed S]
#include "io/checkpoint_writer.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/parallel.h"
#include "util/text.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string out;
    std::uint64_t params = 5'000'000;
    int tasks = 3;
    mf::DType dtype = mf::DType::F32;
    std::string format = "safetensors";
    std::uint64_t seed = 1;
};

/// Layer list with about `params` parameters: d_model chosen so that 12 layers fit.
std::vector<mf::OutputTensor> layout(std::uint64_t params, mf::DType dtype, int headClasses)
{
    const std::int64_t vocab = 1000;
    // per layer ~ 12 d^2 (attention 4 d^2 + MLP 8 d^2); embedding vocab * d.
    std::int64_t d = 64;
    while (12 * 12 * (d + 64) * (d + 64) + vocab * (d + 64) <= static_cast<std::int64_t>(params))
        d += 64;
    std::vector<mf::OutputTensor> tensors;
    tensors.push_back({"embed.weight", dtype, {vocab, d}});
    for (int layer = 0; layer < 12; ++layer) {
        const std::string p = "layers." + std::to_string(layer) + ".";
        for (const char *name :
             {"attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.o.weight"})
            tensors.push_back({p + name, dtype, {d, d}});
        tensors.push_back({p + "mlp.up.weight", dtype, {4 * d, d}});
        tensors.push_back({p + "mlp.up.bias", dtype, {4 * d}});
        tensors.push_back({p + "mlp.down.weight", dtype, {d, 4 * d}});
        tensors.push_back({p + "norm.weight", dtype, {d}});
    }
    tensors.push_back({"final_norm.weight", dtype, {d}});
    tensors.push_back({"position_ids", mf::DType::I64, {512}});
    tensors.push_back({"head.weight", dtype, {headClasses, d}});
    return tensors;
}

/// Uniform in [-1, 1) from a counter: fast, reproducible, thread-independent.
inline float noise(std::uint64_t key, std::uint64_t index)
{
    const std::uint64_t bits = mf::mix64(key ^ (index * 0x9e3779b97f4a7c15ULL));
    return static_cast<float>(static_cast<double>(bits >> 40) * (2.0 / 16777216.0) - 1.0);
}

void writeModel(const std::string &path, const std::vector<mf::OutputTensor> &tensors,
                std::uint64_t seed, int task, const Options &options)
{
    mf::WriterOptions writerOptions;
    writerOptions.format = mf::outputFormatForPath(path);
    writerOptions.sync = false;
    mf::CheckpointWriter writer(
        path, tensors, {{"format", "pt"}, {"synthetic", "mergefront-synth"}}, writerOptions);
    struct Item {
        std::size_t tensor;
        std::uint64_t start, count;
    };
    std::vector<Item> items;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const std::uint64_t n = mf::elementCount(tensors[i].shape);
        for (std::uint64_t s = 0; s < n; s += 1 << 20)
            items.push_back({i, s, std::min<std::uint64_t>(1 << 20, n - s)});
    }
    mf::parallelFor(items.size(), mf::defaultThreadCount(), [&](std::size_t k, int) {
        const Item &item = items[k];
        const mf::OutputTensor &t = tensors[item.tensor];
        const std::uint64_t nameKey = mf::hashString(t.name, seed);
        std::vector<float> values(item.count);
        if (t.dtype == mf::DType::I64) {
            std::vector<std::int64_t> ids(item.count);
            for (std::uint64_t i = 0; i < item.count; ++i)
                ids[i] = static_cast<std::int64_t>(item.start + i);
            writer.write(item.tensor, item.start * 8, ids.data(), ids.size() * 8);
            return;
        }
        const bool head = t.name == "head.weight";
        const float scale = 0.02f;
        for (std::uint64_t i = 0; i < item.count; ++i) {
            const std::uint64_t index = item.start + i;
            float value = (head ? noise(nameKey + static_cast<std::uint64_t>(task), index)
                                : noise(nameKey, index)) *
                          scale;
            if (task > 0 && !head) // the fine-tune: a small task-specific update
                value +=
                    0.002f * noise(nameKey ^ mf::mix64(static_cast<std::uint64_t>(task)), index);
            values[i] = value;
        }
        std::vector<std::byte> bytes(item.count * mf::dtypeSize(t.dtype));
        mf::convertFromFloat(t.dtype, values.data(), bytes.data(), item.count);
        writer.write(item.tensor, item.start * mf::dtypeSize(t.dtype), bytes.data(), bytes.size());
    });
    writer.commit();
    (void)options;
}

int run(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw mf::Error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--out")
            options.out = next();
        else if (arg == "--params")
            options.params = static_cast<std::uint64_t>(std::stod(next()));
        else if (arg == "--tasks")
            options.tasks = std::stoi(next());
        else if (arg == "--dtype")
            options.dtype = mf::parseDTypeName(next(), "--dtype");
        else if (arg == "--format")
            options.format = next();
        else if (arg == "--seed")
            options.seed = std::stoull(next());
        else
            throw mf::Error("unknown option " + arg);
    }
    if (options.out.empty())
        throw mf::Error("usage: mergefront-synth --out DIR [--params N] [--tasks K] [--dtype F32] "
                        "[--format safetensors|pt|both] [--seed S]");
    std::filesystem::create_directories(options.out);
    std::vector<std::string> extensions;
    if (options.format == "safetensors" || options.format == "both")
        extensions.push_back(".safetensors");
    if (options.format == "pt" || options.format == "both")
        extensions.push_back(".pt");
    for (int task = 0; task <= options.tasks; ++task) {
        // Tasks 1 and 3 get a 10-class head, task 2 a 5-class one: a per-task head.
        const auto tensors = layout(options.params, options.dtype, task == 2 ? 5 : 10);
        const std::string name = task == 0 ? "base" : "task" + std::to_string(task);
        for (const std::string &extension : extensions) {
            const std::string path = options.out + "/" + name + extension;
            writeModel(path, tensors, options.seed, task, options);
            std::uint64_t params = 0;
            for (const auto &t : tensors)
                params += mf::elementCount(t.shape);
            std::printf("wrote %s (%llu parameters)\n", path.c_str(),
                        static_cast<unsigned long long>(params));
        }
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mergefront-synth: error: %s\n", e.what());
        return 1;
    }
}
