// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront-synth: writes a synthetic base checkpoint and task fine-tunes of it, shaped
// like a small transformer (embedding, attention and MLP blocks, norms, an integer
// buffer, and a per-task classification head whose size differs between tasks), for the
// demo and the benchmarks. Values are deterministic in --seed.
//
// With --shape, it writes Hugging Face model folders instead (base/, task1/, ...): the exact
// tensor list of a real model (llama-3.2-3b: 3.2B parameters, tied embeddings;
// llama-3-8b: 8.0B), bf16, config.json, shards of at most 5 GB split in state-dict order as
// save_pretrained splits them, and model.safetensors.index.json. Streaming: 14 GB or 48 GB
// of checkpoints take a few MB of memory.
//
// usage: mergefront-synth --out DIR [--params N] [--tasks K] [--dtype F32|F16|BF16]
//                         [--format safetensors|pt|both] [--seed S]
//        mergefront-synth --out DIR --shape llama-3.2-3b|llama-3-8b [--tasks K] [--seed S]
#include "io/checkpoint_writer.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/parallel.h"
#include "util/text.h"

#include <nlohmann/json.hpp>

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
    std::string shape; ///< "llama-3.2-3b", "llama-3-8b": Hugging Face folders of that model
};

/// A Llama configuration (the published config.json of the model).
struct LlamaShape {
    std::int64_t vocab, hidden, intermediate, layers, heads, kvHeads;
    bool tied;
    double ropeTheta;
};

LlamaShape llamaShape(const std::string &name)
{
    if (name == "llama-3.2-3b")
        return {128256, 3072, 8192, 28, 24, 8, true, 500000.0};
    if (name == "llama-3-8b")
        return {128256, 4096, 14336, 32, 32, 8, false, 500000.0};
    throw mf::Error("unknown --shape '" + name + "' (llama-3.2-3b, llama-3-8b)");
}

/// The model's state dict, in its order.
std::vector<mf::OutputTensor> llamaTensors(const LlamaShape &m)
{
    const mf::DType bf16 = mf::DType::BF16;
    const std::int64_t headDim = m.hidden / m.heads, kv = m.kvHeads * headDim;
    std::vector<mf::OutputTensor> tensors;
    tensors.push_back({"model.embed_tokens.weight", bf16, {m.vocab, m.hidden}});
    for (std::int64_t layer = 0; layer < m.layers; ++layer) {
        const std::string p = "model.layers." + std::to_string(layer) + ".";
        tensors.push_back({p + "self_attn.q_proj.weight", bf16, {m.hidden, m.hidden}});
        tensors.push_back({p + "self_attn.k_proj.weight", bf16, {kv, m.hidden}});
        tensors.push_back({p + "self_attn.v_proj.weight", bf16, {kv, m.hidden}});
        tensors.push_back({p + "self_attn.o_proj.weight", bf16, {m.hidden, m.hidden}});
        tensors.push_back({p + "mlp.gate_proj.weight", bf16, {m.intermediate, m.hidden}});
        tensors.push_back({p + "mlp.up_proj.weight", bf16, {m.intermediate, m.hidden}});
        tensors.push_back({p + "mlp.down_proj.weight", bf16, {m.hidden, m.intermediate}});
        tensors.push_back({p + "input_layernorm.weight", bf16, {m.hidden}});
        tensors.push_back({p + "post_attention_layernorm.weight", bf16, {m.hidden}});
    }
    tensors.push_back({"model.norm.weight", bf16, {m.hidden}});
    if (!m.tied)
        tensors.push_back({"lm_head.weight", bf16, {m.vocab, m.hidden}});
    return tensors;
}

nlohmann::ordered_json llamaConfig(const LlamaShape &m)
{
    return {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"hidden_size", m.hidden},
            {"intermediate_size", m.intermediate},
            {"num_hidden_layers", m.layers},
            {"num_attention_heads", m.heads},
            {"num_key_value_heads", m.kvHeads},
            {"head_dim", m.hidden / m.heads},
            {"vocab_size", m.vocab},
            {"hidden_act", "silu"},
            {"max_position_embeddings", 131072},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", m.ropeTheta},
            {"tie_word_embeddings", m.tied},
            {"torch_dtype", "bfloat16"},
            {"bos_token_id", 128000},
            {"eos_token_id", 128001}};
}

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

/// A Hugging Face folder as save_pretrained writes it: shards of at most 5 GB in state-dict
/// order (each file sorted by the safetensors writer), the index, config.json.
void writeFolder(const std::string &folder, const LlamaShape &shape, std::uint64_t seed, int task,
                 const Options &options)
{
    constexpr std::uint64_t kShardBytes = 5'000'000'000ULL;
    const std::vector<mf::OutputTensor> tensors = llamaTensors(shape);
    std::vector<std::vector<mf::OutputTensor>> shards(1);
    std::uint64_t filled = 0, total = 0;
    for (const mf::OutputTensor &t : tensors) {
        if (filled > 0 && filled + t.byteSize() > kShardBytes) {
            shards.emplace_back();
            filled = 0;
        }
        shards.back().push_back(t);
        filled += t.byteSize();
        total += t.byteSize();
    }
    std::filesystem::create_directories(folder);
    nlohmann::ordered_json weightMap = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < shards.size(); ++k) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, shards.size());
        writeModel(folder + "/" + name, shards[k], seed, task, options);
        for (const mf::OutputTensor &t : shards[k])
            weightMap[t.name] = name;
    }
    const nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}},
                                          {"weight_map", weightMap}};
    mf::writeFileAtomically(folder + "/model.safetensors.index.json", index.dump(2) + "\n", false);
    mf::writeFileAtomically(folder + "/config.json", llamaConfig(shape).dump(2) + "\n", false);
    std::uint64_t params = 0;
    for (const auto &t : tensors)
        params += mf::elementCount(t.shape);
    std::printf("wrote %s (%llu parameters, %zu shard(s), %.2f GB)\n", folder.c_str(),
                static_cast<unsigned long long>(params), shards.size(),
                static_cast<double>(total) / 1e9);
    std::fflush(stdout);
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
        else if (arg == "--shape")
            options.shape = next();
        else
            throw mf::Error("unknown option " + arg);
    }
    if (options.out.empty())
        throw mf::Error("usage: mergefront-synth --out DIR [--params N] [--tasks K] [--dtype F32] "
                        "[--format safetensors|pt|both] [--seed S], or --out DIR --shape "
                        "llama-3.2-3b|llama-3-8b [--tasks K] [--seed S]");
    std::filesystem::create_directories(options.out);
    if (!options.shape.empty()) {
        const LlamaShape shape = llamaShape(options.shape);
        for (int task = 0; task <= options.tasks; ++task)
            writeFolder(options.out + "/" + (task == 0 ? "base" : "task" + std::to_string(task)),
                        shape, options.seed, task, options);
        return 0;
    }
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
