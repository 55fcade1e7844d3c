# SPDX-License-Identifier: GPL-3.0-or-later
"""GPT-2 in plain Python PyTorch, written from the Hugging Face transformers architecture
(GPT2LMHeadModel in eval mode: learned positions, pre-LayerNorm blocks, Conv1D weights [in, out]
applied with addmm, causal attention masked with the dtype's minimum, gelu_new, lm_head tied to
wte), independent of Mergefront's C++. Used by the text example's cross-check
(check_text_zoo.py) and the text benchmark's Python reference (bench/reference_text_step.py).
A state dict is {HF name: tensor}; config is config.json's dict."""
import math

import torch

from hf_folders import byte_level_vocab


def encode(text_bytes, vocab):
    """GPT2Tokenizer with no merges: <|endoftext|> is its special id, every other byte its symbol."""
    symbols = {b: s for s, b in byte_level_vocab().items()}
    ids = []
    for i, piece in enumerate(text_bytes.split(b"<|endoftext|>")):
        if i:
            ids.append(vocab["<|endoftext|>"])
        ids.extend(vocab[symbols[b]] for b in piece)
    return ids


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_logits(sd, config, ids):
    """GPT2LMHeadModel.forward in eval mode, from the transformers architecture."""
    n, t = ids.shape
    d, heads, eps = config["n_embd"], config["n_head"], config["layer_norm_epsilon"]
    hd = d // heads
    h = sd["transformer.wte.weight"][ids] + sd["transformer.wpe.weight"][torch.arange(t)]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(config["n_layer"]):
        p = lambda name: sd[f"transformer.h.{i}.{name}"]
        a = torch.nn.functional.layer_norm(h, (d,), p("ln_1.weight"), p("ln_1.bias"), eps)
        qkv = torch.addmm(p("attn.c_attn.bias"), a.reshape(-1, d), p("attn.c_attn.weight")).view(n, t, 3 * d)
        q, k, v = (x.view(n, t, heads, hd).permute(0, 2, 1, 3) for x in qkv.split(d, dim=2))
        w = torch.matmul(q, k.transpose(-1, -2)) / (float(v.size(-1)) ** 0.5)
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        w = torch.softmax(w, dim=-1)
        y = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(n, t, d)
        h = h + torch.addmm(p("attn.c_proj.bias"), y.reshape(-1, d), p("attn.c_proj.weight")).view(n, t, d)
        m = torch.nn.functional.layer_norm(h, (d,), p("ln_2.weight"), p("ln_2.bias"), eps)
        m = gelu_new(torch.addmm(p("mlp.c_fc.bias"), m.reshape(-1, d), p("mlp.c_fc.weight")))
        h = h + torch.addmm(p("mlp.c_proj.bias"), m, p("mlp.c_proj.weight")).view(n, t, d)
    h = torch.nn.functional.layer_norm(h, (d,), sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"], eps)
    return h @ sd["transformer.wte.weight"].T  # lm_head tied to wte


def perplexity(sd, config, inputs, targets):
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, inputs.shape[0], 16):
            logits = gpt2_logits(sd, config, inputs[start:start + 16]).double()
            y = targets[start:start + 16].reshape(-1)
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y,
                                                       reduction="sum").item()
            count += y.numel()
    return math.exp(total / count)
