// SPDX-License-Identifier: GPL-3.0-or-later
// config.json per family, as transformers' <Family>Config reads it (its defaults where a key
// is absent), with the keys that would change the arithmetic refused unless implemented.
#include "eval/lm/config.h"

#include "text/json_path.h"
#include "util/error.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace mf::eval::lm {

namespace fs = std::filesystem;
using nlohmann::json;
using text::JsonPath;

namespace {

struct Family {
    const char *name;
    std::function<void(const json &, const JsonPath &, LmConfig &)> read;
};

int positive(const json &config, const char *key, const JsonPath &path,
             std::optional<std::uint64_t> fallback = std::nullopt)
{
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) {
        if (!fallback)
            (path / key).fail("missing (a size the model needs)");
        return static_cast<int>(*fallback);
    }
    const auto value = text::nonNegative(*it);
    if (!value || *value == 0 || *value > (1u << 30))
        (path / key).fail("expected a positive integer, not " + text::brief(*it));
    return static_cast<int>(*value);
}

double number(const json &config, const char *key, const JsonPath &path, double fallback)
{
    const auto it = config.find(key);
    if (it == config.end() || it->is_null())
        return fallback;
    if (!it->is_number())
        (path / key).fail("expected a number, not " + text::brief(*it));
    return it->get<double>();
}

/// Keys no family here implements: soft-capping, quantized weights, partial rotation.
void refuseCommon(const json &config, const JsonPath &path)
{
    for (const char *key : {"final_logit_softcapping", "attn_logit_softcapping"})
        if (config.contains(key) && !config[key].is_null())
            (path / key)
                .fail("logit soft-capping is not implemented (refused rather than "
                      "computing something else)");
    if (config.contains("quantization_config"))
        (path / "quantization_config")
            .fail("quantized weights are not supported: give the model in bf16, f16 or f32");
    if (number(config, "partial_rotary_factor", path, 1.0) != 1.0)
        (path / "partial_rotary_factor").fail("a partial rotary embedding is not implemented");
    if (config.value("is_encoder_decoder", false))
        (path / "is_encoder_decoder").fail("encoder-decoder models are not causal language models");
}

void readRopeScaling(const json &config, const JsonPath &path, LmConfig &lm)
{
    lm.ropeTheta = number(config, "rope_theta", path, lm.ropeTheta);
    const auto it = config.find("rope_scaling");
    if (it == config.end() || it->is_null())
        return;
    const JsonPath at = path / "rope_scaling";
    if (!it->is_object())
        at.fail("expected an object or null, not " + text::brief(*it));
    const char *typeKey = it->contains("rope_type") ? "rope_type" : "type";
    const std::string type = text::stringMember(*it, typeKey, at, std::string("default"));
    if (type == "default")
        return;
    if (type != "linear" && type != "llama3")
        (at / typeKey)
            .fail("rope scaling '" + type +
                  "' is not implemented (linear and llama3 "
                  "are); refused rather than computing another model");
    lm.ropeScaling = type;
    lm.ropeFactor = number(*it, "factor", at, 0);
    if (!(lm.ropeFactor > 0))
        (at / "factor").fail("expected a positive number");
    if (type == "llama3") {
        lm.lowFreqFactor = number(*it, "low_freq_factor", at, 0);
        lm.highFreqFactor = number(*it, "high_freq_factor", at, 0);
        lm.originalMaxPositions = number(*it, "original_max_position_embeddings", at, 0);
        if (!(lm.lowFreqFactor > 0) || !(lm.highFreqFactor > lm.lowFreqFactor) ||
            !(lm.originalMaxPositions > 0))
            at.fail("llama3 scaling needs low_freq_factor > 0, high_freq_factor above it and "
                    "original_max_position_embeddings");
    }
}

/// What the Llama-style families share (LlamaConfig's keys and defaults).
void readDecoder(const json &config, const JsonPath &path, LmConfig &lm, int defaultVocab,
                 int defaultPositions, std::optional<int> defaultKvHeads = std::nullopt)
{
    lm.layout = Layout::Decoder;
    lm.vocab = positive(config, "vocab_size", path, defaultVocab);
    lm.hidden = positive(config, "hidden_size", path);
    lm.layers = positive(config, "num_hidden_layers", path);
    lm.heads = positive(config, "num_attention_heads", path);
    lm.kvHeads = positive(config, "num_key_value_heads", path, defaultKvHeads.value_or(lm.heads));
    lm.intermediate = positive(config, "intermediate_size", path);
    lm.maxPositions = positive(config, "max_position_embeddings", path, defaultPositions);
    lm.normEpsilon = number(config, "rms_norm_eps", path, 1e-6);
    lm.tiedHead = text::boolMember(config, "tie_word_embeddings", path, false);
    lm.activation = text::stringMember(config, "hidden_act", path, std::string("silu"));
    if (lm.activation != "silu")
        (path / "hidden_act")
            .fail("'" + lm.activation + "' is not implemented for " + lm.family + " (silu is)");
    readRopeScaling(config, path, lm);
    if (config.contains("layer_types") && config["layer_types"].is_array())
        for (const json &type : config["layer_types"])
            if (type != "full_attention") {
                lm.slidingWindow = positive(config, "sliding_window", path);
                lm.slidingWindowKey = "layer_types";
            }
}

void readHeadDim(const json &config, const JsonPath &path, LmConfig &lm,
                 std::optional<int> fallback = std::nullopt)
{
    if (!fallback && lm.hidden % lm.heads != 0 && !config.contains("head_dim"))
        (path / "num_attention_heads").fail("does not divide hidden_size; give head_dim");
    lm.headDim = positive(config, "head_dim", path, fallback.value_or(lm.hidden / lm.heads));
}

void readLlama(const json &config, const JsonPath &path, LmConfig &lm)
{
    readDecoder(config, path, lm, 32000, 2048);
    readHeadDim(config, path, lm);
    lm.qkvBias = lm.outputBias = text::boolMember(config, "attention_bias", path, false);
    lm.mlpBias = text::boolMember(config, "mlp_bias", path, false);
}

void readMistral(const json &config, const JsonPath &path, LmConfig &lm)
{
    readDecoder(config, path, lm, 32000, 4096 * 32, 8);
    readHeadDim(config, path, lm);
    const auto window = config.find("sliding_window");
    if (window != config.end() && !window->is_null()) {
        lm.slidingWindow = positive(config, "sliding_window", path);
        lm.slidingWindowKey = "sliding_window";
    }
}

/// Qwen2's and Qwen3's sliding window: only with use_sliding_window (on layers from
/// max_window_layers); refused by length then.
void readQwenWindow(const json &config, const JsonPath &path, LmConfig &lm)
{
    if (text::boolMember(config, "use_sliding_window", path, false)) {
        lm.slidingWindow = positive(config, "sliding_window", path, 4096);
        lm.slidingWindowKey = "use_sliding_window";
    }
}

void readQwen2(const json &config, const JsonPath &path, LmConfig &lm)
{
    readDecoder(config, path, lm, 151936, 32768);
    readHeadDim(config, path, lm);
    lm.qkvBias = true; // Qwen2Attention: q/k/v with bias, o_proj without
    readQwenWindow(config, path, lm);
}

void readQwen3(const json &config, const JsonPath &path, LmConfig &lm)
{
    readDecoder(config, path, lm, 151936, 32768);
    readHeadDim(config, path, lm, 128); // Qwen3Config's default, not hidden / heads
    lm.qkvBias = lm.outputBias = text::boolMember(config, "attention_bias", path, false);
    lm.qkNorm = true;
    readQwenWindow(config, path, lm);
}

void readGpt2(const json &config, const JsonPath &path, LmConfig &lm)
{
    lm.layout = Layout::Gpt2;
    lm.vocab = positive(config, "vocab_size", path, 50257);
    lm.hidden = positive(config, "n_embd", path, 768);
    lm.layers = positive(config, "n_layer", path, 12);
    lm.heads = positive(config, "n_head", path, 12);
    lm.kvHeads = lm.heads;
    if (lm.hidden % lm.heads != 0)
        (path / "n_head").fail("does not divide n_embd");
    lm.headDim = lm.hidden / lm.heads;
    lm.intermediate = positive(config, "n_inner", path, 4u * lm.hidden);
    lm.maxPositions = positive(config, "n_positions", path, 1024);
    lm.normEpsilon = number(config, "layer_norm_epsilon", path, 1e-5);
    lm.tiedHead = text::boolMember(config, "tie_word_embeddings", path, true);
    lm.activation =
        text::stringMember(config, "activation_function", path, std::string("gelu_new"));
    if (lm.activation == "gelu_pytorch_tanh")
        lm.activation = "gelu_new"; // the same tanh approximation
    if (lm.activation != "gelu_new" && lm.activation != "gelu" && lm.activation != "relu" &&
        lm.activation != "silu")
        (path / "activation_function")
            .fail("'" + lm.activation + "' is not implemented (gelu_new, gelu, relu, silu are)");
    if (!text::boolMember(config, "scale_attn_weights", path, true))
        (path / "scale_attn_weights").fail("unscaled attention is not implemented");
    for (const char *key : {"scale_attn_by_inverse_layer_idx", "add_cross_attention"})
        if (text::boolMember(config, key, path, false))
            (path / key).fail("is not implemented (refused rather than computing another model)");
    lm.qkvBias = lm.outputBias = lm.mlpBias = true;
}

const std::vector<Family> &families()
{
    static const std::vector<Family> list = {
        {"llama", readLlama}, {"mistral", readMistral}, {"qwen2", readQwen2},
        {"qwen3", readQwen3}, {"gpt2", readGpt2},
    };
    return list;
}

std::string configFile(const std::string &path)
{
    return fs::is_directory(path) ? (fs::path(path) / "config.json").string() : path;
}

json parseConfig(const std::string &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(file + ": cannot read the model's config (a causal language model folder "
                           "has config.json)");
    try {
        return json::parse(in);
    } catch (const json::exception &e) {
        throw Error(file + ": not valid JSON (" + e.what() + ")");
    }
}

} // namespace

const std::vector<std::string> &lmFamilies()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> list;
        for (const Family &family : families())
            list.push_back(family.name);
        return list;
    }();
    return names;
}

LmConfig readLmConfig(const std::string &path)
{
    LmConfig lm;
    lm.file = configFile(path);
    const json config = parseConfig(lm.file);
    const JsonPath at(lm.file);
    if (!config.is_object())
        at.fail("expected a JSON object");
    lm.family = text::stringMember(config, "model_type", at);
    const Family *family = nullptr;
    for (const Family &candidate : families())
        if (lm.family == candidate.name)
            family = &candidate;
    if (!family) {
        std::string known;
        for (const std::string &name : lmFamilies())
            known += (known.empty() ? "" : ", ") + name;
        (at / "model_type")
            .fail("'" + lm.family + "' is not a causal language model family " +
                  "Mergefront evaluates (" + known + ")");
    }
    refuseCommon(config, at);
    family->read(config, at, lm);
    if (lm.heads % lm.kvHeads != 0)
        (at / "num_key_value_heads").fail("must divide num_attention_heads");
    if (lm.layout == Layout::Decoder && lm.headDim % 2 != 0)
        (at / "head_dim").fail("must be even for the rotary embedding");
    return lm;
}

bool isLanguageModelFolder(const std::string &path)
{
    std::error_code error;
    if (!fs::is_directory(path, error))
        return false;
    try {
        const json config = parseConfig(configFile(path));
        const std::string type = config.value("model_type", "");
        for (const std::string &name : lmFamilies())
            if (type == name)
                return true;
    } catch (const std::exception &) {
    }
    return false;
}

void LmConfig::checkLength(int length) const
{
    if (slidingWindow > 0 && length > slidingWindow)
        throw Error(file + ": " + slidingWindowKey + ": attention over a sliding window of " +
                    std::to_string(slidingWindow) +
                    " tokens is not implemented, and sequences of " + std::to_string(length) +
                    " tokens would need it (give max_length <= " + std::to_string(slidingWindow) +
                    ")");
}

std::string LmConfig::describe() const
{
    std::ostringstream out;
    out << family << ", " << layers << " layers, hidden " << hidden << ", " << heads << " heads";
    if (kvHeads != heads)
        out << " (" << kvHeads << " kv)";
    out << ", vocab " << vocab << ", " << (tiedHead ? "tied" : "untied") << " head";
    if (ropeScaling != "default")
        out << ", " << ropeScaling << " rope scaling";
    return out.str();
}

} // namespace mf::eval::lm
