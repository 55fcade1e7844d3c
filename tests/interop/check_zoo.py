#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check of the example zoo with Python PyTorch. For a project written by
`mergefront-cli zoo`: each task's TorchScript module (written by LibTorch) loads in Python and
computes exactly the MLP its checkpoint describes; merges built here the reference-code way
(read the checkpoints, base + sum c_t (task_t - base) over the shared backbone, load them into
the module, evaluate on the held-out images) give the accuracies `mergefront-cli evaluate`
reports. Usage: check_zoo.py MERGEFRONT_CLI PROJECT.json. Exit 0 when everything matches."""
import json
import os
import subprocess
import sys

import torch

from safetensors_reader import read_safetensors

CLI, PROJECT = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(PROJECT))
failures = []

with open(PROJECT) as f:
    project = json.load(f)
base, _ = read_safetensors(os.path.join(HERE, project["base"]))
tasks = project["tasks"]
checkpoints = [read_safetensors(os.path.join(HERE, t["checkpoint"]))[0] for t in tasks]
modules = [torch.jit.load(os.path.join(HERE, t["evaluator"]["module"])) for t in tasks]
data = [read_safetensors(os.path.join(HERE, t["evaluator"]["data"]))[0] for t in tasks]

# The module computes the MLP of its checkpoint: pixels / 255, ReLU layers, its own head.
for t, task in enumerate(tasks):
    sd, module = checkpoints[t], modules[t]
    x = data[t]["inputs"][:64]
    h = x.float() / 255.0
    layer = 1
    while f"fc{layer}.weight" in sd:
        h = torch.relu(h @ sd[f"fc{layer}.weight"].T + sd[f"fc{layer}.bias"])
        layer += 1
    head = f"heads.{task['name']}."
    expected = h @ sd[head + "weight"].T + sd[head + "bias"]
    got = module(x)
    if not torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
        failures.append(f"{task['name']}: module logits differ from the checkpoint's MLP")
    if "head.weight" in base or head + "weight" in base:
        failures.append("the base checkpoint holds a head (heads must not be merged)")


def python_accuracies(c):
    """The reference-code way: merged backbone -> each task's module -> accuracy."""
    merged = {}
    for name, value in base.items():
        delta = sum(ci * (ckpt[name] - value) for ci, ckpt in zip(c, checkpoints))
        merged[name] = value + delta
    out = {}
    with torch.no_grad():
        for t, task in enumerate(tasks):
            module = modules[t]
            for name, parameter in module.named_parameters():
                if name in merged:
                    parameter.copy_(merged[name])
            logits = module(data[t]["inputs"])
            out[task["name"]] = (logits.argmax(1) == data[t]["targets"]).float().mean().item()
    return out


n = len(tasks)
vectors = [[0.0] * n, [1.0] + [0.0] * (n - 1), [0.5] * n, [round(0.2 + 0.6 * i / n, 3) for i in range(n)]]
for c in vectors:
    run = subprocess.run([CLI, "evaluate", PROJECT, "--coef", ",".join(str(v) for v in c), "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        failures.append(f"evaluate {c} failed: {run.stderr.strip()}")
        continue
    ours = json.loads(run.stdout)["metrics"]
    theirs = python_accuracies(c)
    for name, value in theirs.items():
        images = data[[t["name"] for t in tasks].index(name)]["targets"].numel()
        # Float sums in another order may flip an argmax that sits on a tie: one image at most.
        if abs(ours[name] - value) > 1.0 / images + 1e-9:
            failures.append(f"c={c} {name}: mergefront {ours[name]} vs Python {value}")
    print(f"c={c}: mergefront {ours} / Python {theirs}")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("zoo cross-check passed")
