#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check of block-wise merges with Python PyTorch: a GPT-2-named base and three fine-tunes
(torch.save state dicts) merged by mergefront-cli with coefficient groups (regexes, a layer ramp,
the rest) and compared with a merge computed here from the groups' definition: every tensor
takes its group's coefficient per task, or on a ramp first + (last - first) * (layer - l0) /
(l1 - l0), in float32 and cast back as the CLI does: equal bit for bit.
Usage: check_blockwise.py MERGEFRONT_CLI WORKDIR. Exit 0 when everything matches."""
import collections
import os
import re
import subprocess
import sys

import torch

from check_merge import CLI, WORK, compare, failures, run  # one CLI runner, one comparison
from safetensors_reader import read_safetensors

LAYERS = 4


def gpt2(seed):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    sd["transformer.wte.weight"] = torch.randn(50, 16, generator=g)
    sd["transformer.wpe.weight"] = torch.randn(32, 16, generator=g)
    for layer in range(LAYERS):
        p = f"transformer.h.{layer}."
        sd[p + "ln_1.weight"] = torch.randn(16, generator=g)
        sd[p + "attn.c_attn.weight"] = torch.randn(16, 48, generator=g)
        sd[p + "attn.c_attn.bias"] = torch.randn(48, generator=g)
        sd[p + "mlp.c_fc.weight"] = torch.randn(16, 64, generator=g).half()
        sd[p + "attn.bias"] = torch.tril(torch.ones(4, 4, dtype=torch.bool))  # a buffer
    sd["transformer.ln_f.weight"] = torch.randn(16, generator=g)
    sd["transformer.ln_f.bias"] = torch.randn(16, generator=g)
    return sd


def layer_of(name):
    match = re.search(r"\.(\d+)(\.|$)", name)
    return int(match.group(1)) if match else -1


def reference(base, tasks, groups, matrix):
    """groups: [(name, regex or None for the rest, ramp)]; matrix: one row per task over the
    columns (a ramp has two: first, last)."""
    columns, first = [], {}
    for name, _, ramp in groups:
        first[name] = len(columns)
        columns += [name + ":first", name + ":last"] if ramp else [name]
    assign = {}
    for key, value in base.items():
        if not value.is_floating_point():
            continue
        hits = [g for g in groups if g[1] is not None and re.search(g[1], key)]
        assign[key] = hits[0] if hits else next(g for g in groups if g[1] is None)
    span = {}
    for key, group in assign.items():
        if group[2]:
            low, high = span.get(group[0], (layer_of(key), layer_of(key)))
            span[group[0]] = (min(low, layer_of(key)), max(high, layer_of(key)))
    out = collections.OrderedDict()
    for key, value in base.items():
        if key not in assign:
            out[key] = value
            continue
        name, _, ramp = assign[key]
        column = first[name]
        coefficients = []
        for row in matrix:
            if ramp:
                low, high = span[name]
                position = (layer_of(key) - low) / (high - low) if high > low else 0.0
                coefficients.append(row[column] + (row[column + 1] - row[column]) * position)
            else:
                coefficients.append(row[column])
        total = sum(c * (t[key].float() - value.float()) for c, t in zip(coefficients, tasks))
        out[key] = (value.float() + total).to(value.dtype)
    return out


def main():
    os.makedirs(WORK, exist_ok=True)
    base = gpt2(0)
    tasks = []
    for i in range(3):
        noise = gpt2(i + 1)
        tasks.append(collections.OrderedDict(
            (k, (v.float() + 0.1 * (i + 1) * noise[k].float()).to(v.dtype) if v.is_floating_point() else v)
            for k, v in base.items()))
    torch.save(base, os.path.join(WORK, "base.pt"))
    paths = []
    for i, t in enumerate(tasks):
        paths.append(os.path.join(WORK, f"task{i}.pt"))
        torch.save(t, paths[-1])
    common = ["merge", "--base", os.path.join(WORK, "base.pt")]
    for p in paths:
        common += ["--model", p]

    # Embeddings, a ramp over the blocks, the rest (ln_f).
    groups = [("embeddings", r"^transformer\.w[tp]e\.", False), ("blocks", r"^transformer\.h\.", True),
              ("rest", None, False)]
    matrix = [[0.3, 0.1, 0.9, 0.5], [0.6, 0.8, 0.0, 0.25], [0.05, 0.4, 0.4, 1.0]]
    flags = ["--group", "embeddings=^transformer\\.w[tp]e\\.", "--group", "blocks=ramp:^transformer\\.h\\.",
             "--group", "rest="]
    coef = ",".join(str(c) for row in matrix for c in row)
    out = os.path.join(WORK, "ramp.safetensors")
    run(*common, *flags, "--coef", coef, "--out", out)
    tensors, metadata = read_safetensors(out)
    compare("ramp groups", tensors, reference(base, tasks, groups, matrix), exact=True)
    if "blocks" not in metadata.get("mergefront.groups", ""):
        failures.append(f"the groups are not in the provenance: {metadata}")

    # Halves as regex groups (the New dialog's preset), to a .pt file.
    groups = [("embeddings", r"^transformer\.w[tp]e\.", False), ("lower", r"^transformer\.h\.[01]\.", False),
              ("upper", r"^transformer\.h\.[23]\.", False), ("head", None, False)]
    matrix = [[1.0, 0.2, 0.7, 0.0], [0.0, 0.5, 0.5, 0.3], [0.25, 0.9, 0.1, 0.6]]
    flags = []
    for name, regex, _ in groups:
        flags += ["--group", f"{name}={regex or ''}"]
    out = os.path.join(WORK, "halves.pt")
    run(*common, *flags, "--coef", ",".join(str(c) for row in matrix for c in row), "--out", out)
    compare("halves", torch.load(out, weights_only=True), reference(base, tasks, groups, matrix),
            exact=True)

    # A wrong coefficient count is refused naming the shape; nothing written.
    result = subprocess.run([CLI, *common, *flags, "--coef", "0.5,0.5,0.5", "--out",
                             os.path.join(WORK, "bad.pt")], capture_output=True, text=True)
    if result.returncode != 2 or "x 4 group columns; give 12" not in result.stderr:
        failures.append(f"a 3-value --coef for 4 group columns: {result.returncode} {result.stderr}")
    if os.path.exists(os.path.join(WORK, "bad.pt")):
        failures.append("a refused merge left bad.pt behind")

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("block-wise merges match the Python reference")


main()
