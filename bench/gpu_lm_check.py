#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of bench/gpu_check.sh (the causal-lm evaluator on a GPU machine).

  gpu_lm_check.py synth OUT SIZE TOKENIZER_DIR DATA_DIR
      a synthetic Llama base and two fine-tunes (bf16 safetensors, random weights; SIZE 1b:
      hidden 2048, 16 layers, 32 heads / 8 kv, SwiGLU 8192, about 1.1 B parameters; small:
      hidden 256, 4 layers), a project over them scoring DATA_DIR's files as text
  gpu_lm_check.py compare A.json B.json TOLERANCE
      two `score --json --per-token` outputs: the same sequences, per-token log-probabilities
      within TOLERANCE (relative to max(1, |x|)); prints the largest difference
  gpu_lm_check.py transformers MODEL DATA_DIR MAX_LENGTH
      the same text scored by transformers' LlamaForCausalLM (bf16, cuda) with the windows of
      tests/interop/lm_reference.py, timed: an independent check where transformers is there"""
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
from hf_folders import save_pretrained  # noqa: E402

SIZES = {"1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
                    num_key_value_heads=8, intermediate_size=8192),
         "100m": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      num_key_value_heads=4, intermediate_size=2048),
         "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=8,
                       num_key_value_heads=2, intermediate_size=768)}


def synth(out, size, tokenizer_dir, data_dir, max_length=1024):
    files = {n: open(os.path.join(tokenizer_dir, n), encoding="utf-8").read()
             for n in ("tokenizer.json", "tokenizer_config.json")}
    vocab = json.loads(files["tokenizer.json"])["model"]["vocab"]
    cfg = dict(SIZES[size], model_type="llama", vocab_size=len(vocab), rms_norm_eps=1e-5,
               rope_theta=10000.0, max_position_embeddings=4096, tie_word_embeddings=False,
               hidden_act="silu", torch_dtype="bfloat16", architectures=["LlamaForCausalLM"])
    d, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    hd = d // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    inner = cfg["intermediate_size"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator(device=device).manual_seed(1)

    def rand(*shape, std):
        return (torch.randn(*shape, generator=g, device=device) * std).to(torch.bfloat16)

    shapes = {"model.embed_tokens.weight": (len(vocab), d), "model.norm.weight": (d,),
              "lm_head.weight": (len(vocab), d)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                       p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (kv, d),
                       p + "self_attn.v_proj.weight": (kv, d), p + "self_attn.o_proj.weight": (d, d),
                       p + "mlp.gate_proj.weight": (inner, d), p + "mlp.up_proj.weight": (inner, d),
                       p + "mlp.down_proj.weight": (d, inner)})
    base = {}
    for name, shape in shapes.items():
        base[name] = (torch.ones(shape, dtype=torch.bfloat16, device=device) if len(shape) == 1
                      else rand(*shape, std=1.0 / math.sqrt(shape[-1])))
    names = ["base", "a", "b"]
    for k, name in enumerate(names):
        sd = base if k == 0 else {n: (t + rand(*t.shape, std=0.002)) for n, t in base.items()}
        save_pretrained(os.path.join(out, name), {n: t.cpu() for n, t in sd.items()}, cfg, files)
    project = {"format": "mergefront-project", "version": 1, "base": "base", "device": "auto",
               "tasks": [{"name": t, "checkpoint": t, "metric": "perplexity", "direction": "minimize",
                          "link": "log", "evaluator": {"kind": "causal-lm", "data": os.path.abspath(data_dir),
                                                       "format": "text", "max_length": int(max_length)}}
                         for t in ("a", "b")],
               "merge": {"method": "ties", "density": 0.5}}
    with open(os.path.join(out, "project.json"), "w") as f:
        json.dump(project, f, indent=2)
    print(f"{size}: {sum(t.numel() for t in base.values()) / 1e9:.2f} B parameters in {out}")


def compare(a_path, b_path, tolerance):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    worst = 0.0
    for x, y in zip(a["requests"], b["requests"]):
        assert x["tokens"] == y["tokens"] and x["targets"] == y["targets"], "different sequences"
        for p, q in zip(x["logprobs"], y["logprobs"]):
            worst = max(worst, abs(p - q) / max(1.0, abs(q)))
    metric = "perplexity" if "perplexity" in a else ("acc" if "acc" in a else "completion_nll")
    print(f"  {os.path.basename(a_path)} vs {os.path.basename(b_path)}: worst per-token "
          f"difference {worst:.2e}, {metric} {a[metric]:.6g} vs {b[metric]:.6g}")
    return 0 if worst <= tolerance else 1


def with_transformers(model, data_dir, max_length):
    import transformers  # the GPU machine's; never a Mergefront dependency
    import lm_reference as ref
    tokenizer = transformers.AutoTokenizer.from_pretrained(model)
    lm = transformers.AutoModelForCausalLM.from_pretrained(model, torch_dtype=torch.bfloat16).cuda().eval()
    docs = [open(os.path.join(data_dir, f), encoding="utf-8").read() for f in sorted(os.listdir(data_dir))]
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    torch.cuda.synchronize()
    start = time.time()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for doc in docs:
            ids = tokenizer(doc, add_special_tokens=False)["input_ids"]
            tokens += len(ids)
            for context, cont in map(ref.make_disjoint_window,
                                     ref.get_rolling_token_windows(ids, prefix, max_length, 1)):
                seq = (context + cont)[-(max_length + 1):]
                logits = lm(torch.tensor([seq[:-1]], device="cuda")).logits[0].float()
                lp = torch.log_softmax(logits, -1)
                n = len(cont)
                total += lp[len(seq) - 1 - n:, :].gather(1, torch.tensor(cont, device="cuda")[:, None]).sum().item()
    torch.cuda.synchronize()
    print(json.dumps({"transformers_perplexity": math.exp(-total / tokens), "tokens": tokens,
                      "seconds": time.time() - start}))


if __name__ == "__main__":
    if sys.argv[1] == "synth":
        synth(*sys.argv[2:])
    elif sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    else:
        with_transformers(sys.argv[2], sys.argv[3], int(sys.argv[4]))
