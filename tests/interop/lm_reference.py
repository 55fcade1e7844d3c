# SPDX-License-Identifier: GPL-3.0-or-later
"""Causal language models and their lm-evaluation-harness scoring in plain Python PyTorch,
float64, written from transformers' modeling_{llama,mistral,qwen2,qwen3,gpt2}.py (eval mode)
and lm-evaluation-harness 0.4 (HFLM: get_rolling_token_windows, make_disjoint_window,
_encode_pair, _loglikelihood_tokens), independent of Mergefront's C++. Token ids come from
Hugging Face's JavaScript tokenizers (tests/text/reference_tokenize.mjs)."""
import glob
import json
import math
import os
import re

import torch

from safetensors_reader import read_safetensors


def read_weights(folder, dtype=torch.float64):
    """{name: tensor in dtype} from model.safetensors, shards with an index, or pytorch_model*.bin."""
    out = {}
    files = sorted(glob.glob(os.path.join(folder, "*.safetensors")))
    if files:
        for f in files:
            out.update(read_safetensors(f)[0])
    else:
        for f in sorted(glob.glob(os.path.join(folder, "pytorch_model*.bin"))):
            out.update(torch.load(f, map_location="cpu"))
    return {k: v.to(dtype) for k, v in out.items()}


def inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    f = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "linear":
        f = f / scaling["factor"]
    elif kind == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / f
        scaled = torch.where(wavelen > old / low, f / factor, f)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) & ~(wavelen > old / low)
        f = torch.where(medium, smoothed, scaled)
    return f


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def causal_attention(q, k, v):
    """q [h, T, d], k/v [h, T, d]: softmax(q k^T / sqrt(d) + causal mask) v."""
    t = q.shape[1]
    w = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    w = w.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(w, dim=-1) @ v


def decoder_hidden(sd, cfg, ids):
    """LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM."""
    family = cfg["model_type"]
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", 128 if family == "qwen3" else d // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    t = len(ids)
    h = sd["model.embed_tokens.weight"][ids]
    angles = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq(cfg, hd))
    cos = torch.cat((angles, angles), -1).cos().to(h.dtype)
    sin = torch.cat((angles, angles), -1).sin().to(h.dtype)

    def lin(x, name, bias):
        y = x @ sd[name + ".weight"].T
        return y + sd[name + ".bias"] if bias else y

    qkv_bias = family == "qwen2" or cfg.get("attention_bias", False)
    o_bias = family != "qwen2" and cfg.get("attention_bias", False)
    mlp_bias = cfg.get("mlp_bias", False)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, sd[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj", qkv_bias).view(t, nh, hd)
        k = lin(x, p + "self_attn.k_proj", qkv_bias).view(t, nkv, hd)
        v = lin(x, p + "self_attn.v_proj", qkv_bias).view(t, nkv, hd)
        if family == "qwen3":
            q = rms_norm(q, sd[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, sd[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        y = causal_attention(q, k, v).transpose(0, 1).reshape(t, nh * hd)
        h = h + lin(y, p + "self_attn.o_proj", o_bias)
        m = rms_norm(h, sd[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(m, p + "mlp.gate_proj", mlp_bias))
        h = h + lin(g * lin(m, p + "mlp.up_proj", mlp_bias), p + "mlp.down_proj", mlp_bias)
    h = rms_norm(h, sd["model.norm.weight"], eps)
    head = sd["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else sd["lm_head.weight"]
    return h @ head.T


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def gpt2_hidden(sd, cfg, ids):
    pre = "transformer." if "transformer.wte.weight" in sd else ""
    d, nh, eps = cfg["n_embd"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
    t = len(ids)
    h = sd[pre + "wte.weight"][ids] + sd[pre + "wpe.weight"][:t]
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (d,), sd[n + ".weight"], sd[n + ".bias"], eps)
    conv = lambda x, n: x @ sd[n + ".weight"] + sd[n + ".bias"]
    for i in range(cfg["n_layer"]):
        p = f"{pre}h.{i}."
        qkv = conv(ln(h, p + "ln_1"), p + "attn.c_attn")
        q, k, v = (z.view(t, nh, d // nh).transpose(0, 1) for z in qkv.split(d, dim=-1))
        h = h + conv(causal_attention(q, k, v).transpose(0, 1).reshape(t, d), p + "attn.c_proj")
        h = h + conv(gelu_new(conv(ln(h, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    h = ln(h, pre + "ln_f")
    head = sd[pre + "wte.weight"] if cfg.get("tie_word_embeddings", True) else sd["lm_head.weight"]
    return h @ head.T


def log_probs(sd, cfg, ids):
    """log p(. | ids[:i+1]) for every position: [len(ids), vocab], float64."""
    with torch.no_grad():
        logits = (gpt2_hidden if cfg["model_type"] == "gpt2" else decoder_hidden)(sd, cfg, ids)
    return torch.log_softmax(logits.to(torch.float64), dim=-1)


# --- lm-evaluation-harness 0.4 ------------------------------------------------------------

def get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len):
    assert 1 <= context_len <= max_seq_len
    if not token_list:
        return
    pred_len = max_seq_len - context_len + 1
    predicted = 0
    first_seq_len = min(max_seq_len, len(token_list))
    yield [prefix_token] + token_list[: first_seq_len - 1], token_list[:first_seq_len]
    predicted += first_seq_len
    while predicted < len(token_list):
        window_pred_len = min(len(token_list) - predicted, pred_len)
        window_end = predicted + window_pred_len
        yield (token_list[window_end - max_seq_len - 1: window_end - 1],
               token_list[window_end - window_pred_len: window_end])
        predicted += window_pred_len


def make_disjoint_window(pair):
    a, b = pair
    return a[: len(a) - (len(b) - 1)], b


def encode_pair(encode, context, continuation):
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    context_enc = encode(context)
    return context_enc, whole[len(context_enc):]


def loglikelihood_tokens(sd, cfg, max_length, context_enc, continuation_enc):
    """(sum, per-token log-probs, the tokens read + the last target) as _loglikelihood_tokens."""
    seq = (context_enc + continuation_enc)[-(max_length + 1):]
    inp = seq[:-1]
    lp = log_probs(sd, cfg, inp)
    n = len(continuation_enc)
    picked = [lp[len(inp) - n + j, continuation_enc[j]].item() for j in range(n)]
    return sum(picked), picked, seq


def score_text(sd, cfg, encode, prefix, max_length, docs):
    total, tokens, requests = 0.0, 0, []
    for doc in docs:
        ids = encode(doc)
        tokens += len(ids)
        for context, cont in map(make_disjoint_window,
                                 get_rolling_token_windows(ids, prefix, max_length, 1)):
            ll, picked, seq = loglikelihood_tokens(sd, cfg, max_length, context, cont)
            total += ll
            requests.append({"tokens": seq, "targets": len(cont), "logprobs": picked})
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    words = sum(len(re.split(r"\s+", d)) for d in docs)
    return {"format": "text", "documents": len(docs), "tokens": tokens, "bytes": nbytes,
            "words": words, "loglikelihood": total, "perplexity": math.exp(-total / tokens),
            "byte_perplexity": math.exp(-total / nbytes), "bits_per_byte": -total / nbytes / math.log(2),
            "word_perplexity": math.exp(-total / words), "requests": requests}


def pair_request(sd, cfg, encode, prefix, max_length, context, continuation):
    if context == "":
        context_enc, cont_enc = [prefix], encode(continuation)
    else:
        context_enc, cont_enc = encode_pair(encode, context, continuation)
    ll, picked, seq = loglikelihood_tokens(sd, cfg, max_length, context_enc, cont_enc)
    return ll, {"tokens": seq, "targets": len(cont_enc), "logprobs": picked}


def score_choices(sd, cfg, encode, prefix, max_length, items):
    acc = acc_norm = 0
    details, requests = [], []
    for item in items:
        delimiter = item.get("delimiter", " ")
        lls = []
        for choice in item["choices"]:
            ll, request = pair_request(sd, cfg, encode, prefix, max_length, item["context"],
                                       delimiter + choice)
            lls.append(ll)
            requests.append(request)
        norm = [ll / len(c) for ll, c in zip(lls, item["choices"])]
        acc += int(max(range(len(lls)), key=lambda i: (lls[i], -i)) == item["gold"])
        acc_norm += int(max(range(len(norm)), key=lambda i: (norm[i], -i)) == item["gold"])
        details.append({"loglikelihoods": lls, "gold": item["gold"]})
    return {"format": "multiple-choice", "items": len(items), "acc": acc / len(items),
            "acc_norm": acc_norm / len(items), "details": details, "requests": requests}


def score_completions(sd, cfg, encode, prefix, max_length, items):
    total, tokens, nbytes, requests = 0.0, 0, 0, []
    for item in items:
        ll, request = pair_request(sd, cfg, encode, prefix, max_length, item["prompt"],
                                   item["completion"])
        total += ll
        tokens += request["targets"]
        nbytes += len(item["completion"].encode("utf-8"))
        requests.append(request)
    return {"format": "completion", "items": len(items), "tokens": tokens, "bytes": nbytes,
            "loglikelihood": total, "completion_nll": -total / tokens,
            "completion_bits_per_byte": -total / nbytes / math.log(2), "requests": requests}
