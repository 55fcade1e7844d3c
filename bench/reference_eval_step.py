#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""One MAP evaluation step done in Python PyTorch, for the per-step comparison of
docs/BENCHMARKS.md: merge the example project's checkpoints with coefficients c and evaluate
every task's accuracy on its held-out images.
- "reference": the structure of the MAP reference code (after task_vectors'
  `apply_to` + `eval_single_dataset`): every step reads the checkpoints, builds the merged
  state dict, builds each task's model (torch.nn) and loads the state into it, then evaluates
  through a Dataset that transforms one image at a time and a DataLoader (batch 128,
  no workers), as torchvision data sets are read there.
- "in-memory": a tuned Python loop for context: checkpoints, models and data loaded once,
  data as ready tensors, batches of 1024; each step only merges, copies into the models and
  evaluates.
Prints one JSON line per mode: seconds per step (median of STEPS) and the metrics of the last
step. usage: reference_eval_step.py PROJECT.json THREADS STEPS (THREADS 0: torch's default,
which the reference code keeps)"""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
from safetensors_reader import read_safetensors  # noqa: E402

PROJECT, THREADS, STEPS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if THREADS > 0:
    torch.set_num_threads(THREADS)
HERE = os.path.dirname(os.path.abspath(PROJECT))
with open(PROJECT) as f:
    project = json.load(f)
TASKS = project["tasks"]


class Mlp(torch.nn.Module):
    """The zoo's architecture: pixels / 255 (floats as they are) -> Linear + ReLU layers ->
    the task's head, as the zoo's TorchScript modules compute it."""

    def __init__(self, widths, classes):
        super().__init__()
        layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        for i, layer in enumerate(layers):
            self.add_module(f"fc{i + 1}", layer)
        self.hidden = layers
        self.head = torch.nn.Linear(widths[-1], classes)

    def forward(self, x):
        h = x if x.is_floating_point() else x.float() / 255.0
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.head(h)


def path(relative):
    return os.path.join(HERE, relative)


def build_model(state, task_name, task_checkpoint):
    widths = [state["fc1.weight"].shape[1]]
    i = 1
    while f"fc{i}.weight" in state:
        widths.append(state[f"fc{i}.weight"].shape[0])
        i += 1
    head = task_checkpoint[f"heads.{task_name}.weight"]
    model = Mlp(widths, head.shape[0])
    full = dict(state)
    full["head.weight"] = head
    full["head.bias"] = task_checkpoint[f"heads.{task_name}.bias"]
    model.load_state_dict(full)
    return model.eval()


class Images(torch.utils.data.Dataset):
    """One image at a time, transformed on access (pixels to floats in [0, 1])."""

    def __init__(self, data):
        self.inputs, self.targets = data["inputs"], data["targets"]

    def __len__(self):
        return self.targets.shape[0]

    def __getitem__(self, i):
        return self.inputs[i].float() / 255.0, self.targets[i]


def loader_accuracy(model, data):
    correct, seen = 0, 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(Images(data), batch_size=128, shuffle=False):
            correct += (model(x).argmax(1) == y).sum().item()
            seen += y.shape[0]
    return correct / seen


def accuracy(model, data):
    correct = 0
    with torch.no_grad():
        for start in range(0, data["inputs"].shape[0], 1024):
            x = data["inputs"][start:start + 1024]
            correct += (model(x).argmax(1) == data["targets"][start:start + 1024]).sum().item()
    return correct / data["inputs"].shape[0]


def merge(base, tasks, c):
    return {name: value + sum(ci * (t[name] - value) for ci, t in zip(c, tasks))
            for name, value in base.items()}


def reference_step(c):
    base, _ = read_safetensors(path(project["base"]))
    checkpoints = [read_safetensors(path(t["checkpoint"]))[0] for t in TASKS]
    merged = merge(base, checkpoints, c)
    metrics = {}
    for t, task in enumerate(TASKS):
        data, _ = read_safetensors(path(task["evaluator"]["data"]))
        metrics[task["name"]] = loader_accuracy(build_model(merged, task["name"], checkpoints[t]),
                                                data)
    return metrics


base0, _ = read_safetensors(path(project["base"]))
checkpoints0 = [read_safetensors(path(t["checkpoint"]))[0] for t in TASKS]
models0 = [build_model(base0, t["name"], checkpoints0[i]) for i, t in enumerate(TASKS)]
data0 = [read_safetensors(path(t["evaluator"]["data"]))[0] for t in TASKS]


def in_memory_step(c):
    merged = merge(base0, checkpoints0, c)
    metrics = {}
    with torch.no_grad():
        for t, task in enumerate(TASKS):
            parameters = dict(models0[t].named_parameters())
            for name, value in merged.items():
                parameters[name].copy_(value)
            metrics[task["name"]] = accuracy(models0[t], data0[t])
    return metrics


n = len(TASKS)
vectors = [[((k * 7 + t * 3) % 11) / 10 for t in range(n)] for k in range(STEPS)]
for mode, step in [("reference", reference_step), ("in-memory", in_memory_step)]:
    step(vectors[0])  # warm-up (allocator, lazy initialisation)
    times = []
    for c in vectors:
        started = time.perf_counter()
        metrics = step(c)
        times.append(time.perf_counter() - started)
    print(json.dumps({"mode": mode, "threads": torch.get_num_threads(), "steps": STEPS,
                      "seconds_per_step": statistics.median(times), "last_coefficients": vectors[-1],
                      "last_metrics": metrics}))
