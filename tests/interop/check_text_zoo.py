#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check of the text example with Python PyTorch, independent of Mergefront's C++. For a
project written by `mergefront-cli zoo --example text`:
- every model folder is a Hugging Face GPT-2 folder (config.json, the tokenizer files, the
  safetensors under GPT2LMHeadModel's names and shapes, Conv1D weights [in, out], no lm_head:
  tied);
- the held-out windows in each task's data file are the held-out text encoded with the
  folder's vocab.json (GPT-2's byte-to-unicode symbols) and cut as docs/EXAMPLE.md says;
- a GPT-2 forward written here from the transformers architecture gives, for the base, one
  fine-tune and merges (base + sum c_t (task_t - base)), the perplexities `mergefront-cli
  evaluate` reports, to 1e-4 relative; the TorchScript module's own evaluate() agrees too.
Usage: check_text_zoo.py MERGEFRONT_CLI PROJECT.json. Exit 0 when everything matches."""
import json
import os
import subprocess
import sys

import torch

from gpt2_reference import encode, perplexity
from hf_folders import byte_level_vocab
from safetensors_reader import read_safetensors

CLI, PROJECT = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(PROJECT))
failures = []

with open(PROJECT) as f:
    project = json.load(f)
tasks = project["tasks"]


def load_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    weights, metadata = read_safetensors(os.path.join(folder, "model.safetensors"))
    return config, weights, metadata


def check_folder(folder, config, weights, metadata):
    for name in ("config.json", "generation_config.json", "vocab.json", "merges.txt",
                 "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if not os.path.exists(os.path.join(folder, name)):
            failures.append(f"{folder}: no {name}")
    if config.get("model_type") != "gpt2" or config.get("architectures") != ["GPT2LMHeadModel"]:
        failures.append(f"{folder}: config.json is not a GPT2LMHeadModel's")
    if metadata.get("format") != "pt":
        failures.append(f"{folder}: safetensors metadata format is not 'pt' (from_pretrained wants it)")
    d, L, V, P = config["n_embd"], config["n_layer"], config["vocab_size"], config["n_positions"]
    expected = {"transformer.wte.weight": [V, d], "transformer.wpe.weight": [P, d],
                "transformer.ln_f.weight": [d], "transformer.ln_f.bias": [d]}
    for i in range(L):
        b = f"transformer.h.{i}."
        expected.update({b + "ln_1.weight": [d], b + "ln_1.bias": [d],
                         b + "attn.c_attn.weight": [d, 3 * d], b + "attn.c_attn.bias": [3 * d],
                         b + "attn.c_proj.weight": [d, d], b + "attn.c_proj.bias": [d],
                         b + "ln_2.weight": [d], b + "ln_2.bias": [d],
                         b + "mlp.c_fc.weight": [d, 4 * d], b + "mlp.c_fc.bias": [4 * d],
                         b + "mlp.c_proj.weight": [4 * d, d], b + "mlp.c_proj.bias": [d]})
    got = {name: list(t.shape) for name, t in weights.items()}
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
        failures.append(f"{folder}: tensors differ from GPT-2's: missing {missing[:3]}, "
                        f"extra {extra[:3]}, wrong shape {wrong[:3]}")
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    reference = byte_level_vocab()
    reference["<|endoftext|>"] = 256
    if vocab != reference or len(vocab) != V:
        failures.append(f"{folder}: vocab.json is not the byte-level vocabulary of {V} symbols")
    return vocab


base_folder = os.path.join(HERE, project["base"])
config, base, metadata = load_folder(base_folder)
vocab = check_folder(base_folder, config, base, metadata)
models = []
for task in tasks:
    folder = os.path.join(HERE, task["checkpoint"])
    task_config, weights, task_metadata = load_folder(folder)
    check_folder(folder, task_config, weights, task_metadata)
    if task_config != config:
        failures.append(f"{folder}: config.json differs from the base's")
    if task["metric"] != "perplexity" or task["direction"] != "minimize" or task["link"] != "log":
        failures.append(f"task {task['name']}: not perplexity / minimize / log")
    models.append(weights)

# The data files hold the held-out text, encoded and cut into windows of n_positions tokens
# (docs/EXAMPLE.md: spread evenly over the held-out stream when more than test_windows fit).
T = config["n_positions"]
ZOO_DIR = os.path.dirname(os.path.dirname(os.path.join(HERE, tasks[0]["evaluator"]["data"])))
with open(os.path.join(ZOO_DIR, "zoo.json")) as f:  # the zoo's manifest: its settings
    project_windows = json.load(f)["settings"]["test_windows"]
data = []
for task in tasks:
    windows, _ = read_safetensors(os.path.join(HERE, task["evaluator"]["data"]))
    text_path = os.path.join(HERE, task["evaluator"]["data"]).replace(".test.safetensors", ".test.txt")
    with open(text_path, "rb") as f:
        ids = encode(f.read(), vocab)
    n, count = windows["inputs"].shape[0], project_windows
    predicted = len(ids) - 1
    starts = [i * T for i in range(n)] if predicted // T <= count or count < 2 else \
        [i * (predicted - T) // (count - 1) for i in range(count)]
    inputs = torch.tensor([ids[s:s + T] for s in starts], dtype=torch.int64)
    targets = torch.tensor([ids[s + 1:s + T + 1] for s in starts], dtype=torch.int64)
    if list(windows["inputs"].shape) != [n, T] or not torch.equal(windows["inputs"], inputs) or \
            not torch.equal(windows["targets"], targets):
        failures.append(f"task {task['name']}: the data file's windows are not its held-out text's")
    data.append((windows["inputs"], windows["targets"]))

# The TorchScript module (LibTorch-written) computes the same perplexity with its own weights.
for t, task in enumerate(tasks):
    module = torch.jit.load(os.path.join(HERE, task["evaluator"]["module"]))
    module_sd = dict(module.named_parameters())
    for name, value in base.items():
        if not torch.equal(module_sd.get(name, torch.empty(0)), value):
            failures.append(f"task {task['name']}: module parameter {name} is not the base's")
            break
    ours = module.evaluate(*data[t]).item()
    theirs = perplexity(base, config, *data[t])
    if abs(ours - theirs) > 1e-4 * theirs:
        failures.append(f"task {task['name']}: module evaluate() {ours} vs Python {theirs}")


def merged_state(c):
    return {name: value + sum(ci * (m[name] - value) for ci, m in zip(c, models))
            for name, value in base.items()}


n = len(tasks)
vectors = [[0.0] * n, [1.0] + [0.0] * (n - 1), [round(0.7 - 0.4 * i / max(1, n - 1), 3) for i in range(n)]]
for c in vectors:
    run = subprocess.run([CLI, "evaluate", PROJECT, "--coef", ",".join(str(v) for v in c), "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        failures.append(f"evaluate {c} failed: {run.stderr.strip()}")
        continue
    ours = json.loads(run.stdout)["metrics"]
    sd = merged_state(c)
    theirs = {task["name"]: perplexity(sd, config, *data[t]) for t, task in enumerate(tasks)}
    for name, value in theirs.items():
        if abs(ours[name] - value) > 1e-4 * value:
            failures.append(f"c={c} {name}: mergefront {ours[name]} vs Python {value}")
    print(f"c={c}: mergefront {ours} / Python {theirs}")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("text zoo cross-check passed")
