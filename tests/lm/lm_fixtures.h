// SPDX-License-Identifier: GPL-3.0-or-later
// Small language-model folders for the causal-LM and GGUF tests.
#pragma once

#include "fixtures.h"

#include "zoo/text.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace mftest {

inline bool havePythonTorch()
{
    return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

/// A tiny Llama (2 layers, GQA, untied head) on the byte-level tokenizer of the text example
/// (257 tokens), random weights in `dtype`; `delta` > 0 makes a fine-tune of the seed-1 base.
inline void writeLlama(const std::string &folder, std::uint64_t seed, mf::DType dtype,
                       const nlohmann::json &configChanges = nlohmann::json::object(),
                       double delta = 0)
{
    std::filesystem::create_directories(folder);
    mf::eval::Gpt2Config gpt2;
    for (const auto &[name, content] : mf::zoo::gpt2FolderFiles(gpt2))
        if (name.rfind("tokenizer", 0) == 0 || name == "special_tokens_map.json" ||
            name == "vocab.json" || name == "merges.txt")
            writeFile(folder + "/" + name, content);
    nlohmann::json config = {{"model_type", "llama"},
                             {"vocab_size", 257},
                             {"hidden_size", 32},
                             {"num_attention_heads", 4},
                             {"num_key_value_heads", 2},
                             {"num_hidden_layers", 2},
                             {"intermediate_size", 48},
                             {"rms_norm_eps", 1e-5},
                             {"rope_theta", 10000.0},
                             {"max_position_embeddings", 256},
                             {"tie_word_embeddings", false},
                             {"hidden_act", "silu"}};
    config.update(configChanges);
    writeFile(folder + "/config.json", config.dump(2));
    std::mt19937_64 base(1), noise(seed);
    std::normal_distribution<double> normal;
    std::vector<TestTensor> tensors;
    auto add = [&](const std::string &name, mf::Shape shape, double scale, double offset = 0) {
        TestTensor t{name, dtype, shape, {}};
        std::uint64_t n = 1;
        for (auto d : shape)
            n *= d;
        for (std::uint64_t i = 0; i < n; ++i)
            t.values.push_back(offset + scale * normal(base) + delta * normal(noise));
        tensors.push_back(std::move(t));
    };
    add("model.embed_tokens.weight", {257, 32}, 0.5);
    for (int l = 0; l < 2; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {32}, 0.1, 1);
        add(p + "self_attn.q_proj.weight", {32, 32}, 0.18);
        add(p + "self_attn.k_proj.weight", {16, 32}, 0.18);
        add(p + "self_attn.v_proj.weight", {16, 32}, 0.18);
        add(p + "self_attn.o_proj.weight", {32, 32}, 0.18);
        add(p + "post_attention_layernorm.weight", {32}, 0.1, 1);
        add(p + "mlp.gate_proj.weight", {48, 32}, 0.18);
        add(p + "mlp.up_proj.weight", {48, 32}, 0.18);
        add(p + "mlp.down_proj.weight", {32, 48}, 0.14);
    }
    add("model.norm.weight", {32}, 0.1, 1);
    add("lm_head.weight", {257, 32}, 0.5);
    writeCheckpoint(folder + "/model.safetensors", tensors);
}

inline std::string failureOf(const CliRun &run)
{
    return "exit " + std::to_string(run.code) + ": " + run.err;
}

/// Runs tests/interop/SCRIPT's "build DIR" then "check DIR CLI ARGS...", as Python interop
/// checks of language models go (check_causal_lm.py, check_gguf.py); the exit status of the
/// first that fails, else 0.
inline int runBuildAndCheck(const std::string &script, const std::string &dir,
                            const std::vector<std::string> &checkArgs = {})
{
    const std::string python =
        "/usr/bin/python3 " + shellQuote(MERGEFRONT_SOURCE_DIR "/tests/interop/" + script) + " ";
    if (const int code = std::system((python + "build " + shellQuote(dir)).c_str()))
        return code;
    std::string check = python + "check " + shellQuote(dir) + " " + shellQuote(MERGEFRONT_CLI);
    for (const std::string &arg : checkArgs)
        check += " " + shellQuote(arg);
    return std::system(check.c_str());
}

} // namespace mftest
