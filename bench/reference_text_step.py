#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""One MAP evaluation step of the text example done in Python PyTorch, for the per-step
comparison of docs/BENCHMARKS.md: merge the GPT-2 folders with coefficients c and measure every
domain's perplexity on its held-out windows.
- "reference": the structure of the MAP reference code (task_vectors' `apply_to`, then an
  evaluation per task) on Hugging Face folders: every step reads the base and task folders'
  safetensors, builds the merged state dict (base + sum c_t (task_t - base)), builds each
  task's model and loads the state into it (fresh tensors, as load_state_dict into a new
  GPT2LMHeadModel copies them), then computes the perplexity in batches of 16 windows.
- "in-memory": a tuned Python loop for context: folders and windows loaded once; each step
  merges in place into one model (the merged weights are the same for every domain) and
  evaluates every domain.
The GPT-2 forward is tests/interop/gpt2_reference.py (eager, from the transformers
architecture). Prints one JSON line per mode: seconds per step (median of STEPS) and the last
step's perplexities. usage: reference_text_step.py PROJECT.json THREADS STEPS"""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
from gpt2_reference import perplexity  # noqa: E402
from safetensors_reader import read_safetensors  # noqa: E402

PROJECT, THREADS, STEPS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if THREADS > 0:
    torch.set_num_threads(THREADS)
HERE = os.path.dirname(os.path.abspath(PROJECT))
with open(PROJECT) as f:
    project = json.load(f)
TASKS = project["tasks"]
NAMES = [t["name"] for t in TASKS]


def path(relative):
    return os.path.join(HERE, relative)


def weights(folder):
    return read_safetensors(os.path.join(path(folder), "model.safetensors"))[0]


with open(os.path.join(path(project["base"]), "config.json")) as f:
    CONFIG = json.load(f)
VECTORS = [[((k * 7 + t * 3) % 11) / 10 for t in range(len(TASKS))] for k in range(STEPS)]


def reference_step(c):
    base = weights(project["base"])
    tasks = [weights(t["checkpoint"]) for t in TASKS]
    merged = {name: value + sum(ci * (m[name] - value) for ci, m in zip(c, tasks))
              for name, value in base.items()}
    out = {}
    with torch.no_grad():
        for t in TASKS:
            model = {name: torch.empty_like(v).copy_(v) for name, v in merged.items()}
            data = read_safetensors(path(t["evaluator"]["data"]))[0]
            out[t["name"]] = perplexity(model, CONFIG, data["inputs"], data["targets"])
    return out


BASE = weights(project["base"])
VECTORS_IN = [{n: m[n] - BASE[n] for n in BASE} for m in (weights(t["checkpoint"]) for t in TASKS)]
DATA = [read_safetensors(path(t["evaluator"]["data"]))[0] for t in TASKS]
MODEL = {n: v.clone() for n, v in BASE.items()}


def in_memory_step(c):
    with torch.no_grad():
        for n, value in BASE.items():
            MODEL[n].copy_(value)
            for ci, vector in zip(c, VECTORS_IN):
                MODEL[n].add_(vector[n], alpha=ci)
        return {t["name"]: perplexity(MODEL, CONFIG, d["inputs"], d["targets"])
                for t, d in zip(TASKS, DATA)}


for mode, step in (("reference", reference_step), ("in-memory", in_memory_step)):
    step([0.05] * len(TASKS))  # warm-up, as on the C++ side
    seconds, last = [], None
    for c in VECTORS:
        started = time.perf_counter()
        last = step(c)
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"mode": mode, "threads": torch.get_num_threads(),
                      "seconds_per_step": statistics.median(seconds), "last_metrics": last}))
