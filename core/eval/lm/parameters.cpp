// SPDX-License-Identifier: GPL-3.0-or-later
#include "eval/lm/parameters.h"

#include "util/error.h"

namespace mf::eval::lm {

Network decoderParameters(const LmConfig &config, std::uint64_t seed)
{
    if (config.layout != Layout::Decoder)
        throw Error("decoderParameters: '" + config.family + "' is not a Llama-style decoder");
    const std::int64_t H = config.hidden, I = config.intermediate, hd = config.headDim;
    constexpr double std = 0.02; // initializer_range
    Network network;
    auto add = [&](const std::string &name, std::vector<std::int64_t> shape, double s,
                   double value = 0) {
        network.push_back(makeTensor(name, std::move(shape), s, value, seed));
    };
    add("model.embed_tokens.weight", {config.vocab, H}, std);
    for (int l = 0; l < config.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {H}, 0, 1);
        add(p + "self_attn.q_proj.weight", {config.heads * hd, H}, std);
        if (config.qkvBias)
            add(p + "self_attn.q_proj.bias", {config.heads * hd}, 0);
        add(p + "self_attn.k_proj.weight", {config.kvHeads * hd, H}, std);
        if (config.qkvBias)
            add(p + "self_attn.k_proj.bias", {config.kvHeads * hd}, 0);
        add(p + "self_attn.v_proj.weight", {config.kvHeads * hd, H}, std);
        if (config.qkvBias)
            add(p + "self_attn.v_proj.bias", {config.kvHeads * hd}, 0);
        add(p + "self_attn.o_proj.weight", {H, config.heads * hd}, std);
        if (config.outputBias)
            add(p + "self_attn.o_proj.bias", {H}, 0);
        if (config.qkNorm) {
            add(p + "self_attn.q_norm.weight", {hd}, 0, 1);
            add(p + "self_attn.k_norm.weight", {hd}, 0, 1);
        }
        add(p + "post_attention_layernorm.weight", {H}, 0, 1);
        add(p + "mlp.gate_proj.weight", {I, H}, std);
        add(p + "mlp.up_proj.weight", {I, H}, std);
        add(p + "mlp.down_proj.weight", {H, I}, std);
        if (config.mlpBias) {
            add(p + "mlp.gate_proj.bias", {I}, 0);
            add(p + "mlp.up_proj.bias", {I}, 0);
            add(p + "mlp.down_proj.bias", {H}, 0);
        }
    }
    add("model.norm.weight", {H}, 0, 1);
    if (!config.tiedHead)
        add("lm_head.weight", {config.vocab, H}, std);
    return network;
}

nlohmann::json decoderConfigJson(const LmConfig &config, int bosTokenId, int eosTokenId)
{
    static const std::map<std::string, std::string> architectures = {
        {"llama", "LlamaForCausalLM"},
        {"mistral", "MistralForCausalLM"},
        {"qwen2", "Qwen2ForCausalLM"},
        {"qwen3", "Qwen3ForCausalLM"}};
    nlohmann::json out = {{"architectures", {architectures.at(config.family)}},
                          {"attention_dropout", 0.0},
                          {"bos_token_id", bosTokenId},
                          {"eos_token_id", eosTokenId},
                          {"head_dim", config.headDim},
                          {"hidden_act", config.activation.empty() ? "silu" : config.activation},
                          {"hidden_size", config.hidden},
                          {"initializer_range", 0.02},
                          {"intermediate_size", config.intermediate},
                          {"max_position_embeddings", config.maxPositions},
                          {"model_type", config.family},
                          {"num_attention_heads", config.heads},
                          {"num_hidden_layers", config.layers},
                          {"num_key_value_heads", config.kvHeads},
                          {"rms_norm_eps", config.normEpsilon},
                          {"rope_scaling", nullptr},
                          {"rope_theta", config.ropeTheta},
                          {"tie_word_embeddings", config.tiedHead},
                          {"torch_dtype", "float32"},
                          {"use_cache", true},
                          {"vocab_size", config.vocab}};
    if (config.family == "llama") {
        out["attention_bias"] = config.qkvBias;
        out["mlp_bias"] = config.mlpBias;
        out["pretraining_tp"] = 1;
    }
    if (config.family == "qwen3")
        out["attention_bias"] = config.qkvBias;
    return out;
}

} // namespace mf::eval::lm
