#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check with Python PyTorch: checkpoints written by torch.save are merged by
mergefront-cli; the outputs are read back by torch.load(weights_only=True) and by an
independent pure-Python safetensors reader, and compared with merges computed here the
way the MAP reference code and task_vectors do (build task vectors, scale, sum, add).
Usage: check_merge.py MERGEFRONT_CLI WORKDIR. Exit 0 when everything matches."""
import collections
import json
import math
import os
import subprocess
import sys

import torch

from safetensors_reader import read_safetensors

CLI, WORK = sys.argv[1], sys.argv[2]
failures = []


def read_sharded(index_path):
    with open(index_path) as f:
        index = json.load(f)
    out = {}
    for shard in sorted(set(index["weight_map"].values())):
        tensors, _ = read_safetensors(os.path.join(os.path.dirname(index_path), shard))
        out.update(tensors)
    return out


def model(seed, head):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    sd["encoder.weight"] = torch.randn(257, 129, generator=g)
    sd["encoder.bias"] = torch.randn(257, generator=g)
    sd["norm.weight"] = torch.randn(300, generator=g).half()
    sd["proj.weight"] = torch.randn(40, 7, generator=g).bfloat16()
    sd["bn.num_batches_tracked"] = torch.tensor(seed)
    sd["head.weight"] = torch.randn(head, 257, generator=g)
    return sd


def task_arithmetic(base, tasks, coefs, merged_keys):
    """The MAP reference code's merge: base + sum_t c_t * (theta_t - base), in float32."""
    out = collections.OrderedDict()
    for k, v in base.items():
        if k not in merged_keys:
            out[k] = v
            continue
        vectors = [t[k].float() - v.float() for t in tasks]
        total = sum(c * tv for c, tv in zip(coefs, vectors))
        out[k] = (v.float() + total).to(v.dtype)
    return out


def ties(base, tasks, coefs, density, disjoint, merged_keys):
    """TIES as in METHOD.md: trim to the top ceil(k n) magnitudes, elect the sign of the sum,
    keep agreeing entries; optional disjoint mean."""
    out = collections.OrderedDict()
    for k, v in base.items():
        if k not in merged_keys:
            out[k] = v
            continue
        trimmed = []
        for t in tasks:
            tau = (t[k].float() - v.float()).flatten()
            n = tau.numel()
            keep = math.ceil(density * n)
            if keep < n:
                threshold = tau.abs().kthvalue(n - keep + 1).values
                if threshold > 0:
                    tau = torch.where(tau.abs() >= threshold, tau, torch.zeros_like(tau))
            trimmed.append(tau)
        stacked = torch.stack(trimmed)
        elected = torch.sign(stacked.sum(dim=0))
        agree = (torch.sign(stacked) == elected) & (stacked != 0)
        weights = torch.tensor(coefs, dtype=torch.float32).unsqueeze(1)
        total = (stacked * weights * agree).sum(dim=0)
        if disjoint:
            total = total / agree.sum(dim=0).clamp(min=1)
        out[k] = (v.float() + total.reshape(v.shape)).to(v.dtype)
    return out


def compare(label, got, want, exact):
    if list(got.keys()) != list(want.keys()) and sorted(got.keys()) != sorted(want.keys()):
        failures.append(f"{label}: keys {sorted(got.keys())} != {sorted(want.keys())}")
        return
    for k, w in want.items():
        g = got[k]
        if g.dtype != w.dtype or tuple(g.shape) != tuple(w.shape):
            failures.append(f"{label}: {k} is {g.dtype} {tuple(g.shape)}, expected {w.dtype} {tuple(w.shape)}")
        elif exact and not torch.equal(g, w):
            diff = (g.double() - w.double()).abs().max().item()
            failures.append(f"{label}: {k} differs from the Python merge (max |diff| {diff})")
        elif not exact and not torch.allclose(g.double(), w.double(), rtol=1e-5, atol=1e-6):
            diff = (g.double() - w.double()).abs().max().item()
            failures.append(f"{label}: {k} differs from the Python merge beyond tolerance ({diff})")


def run(*args):
    result = subprocess.run([CLI, *args, "--quiet"], capture_output=True, text=True)
    if result.returncode != 0:
        failures.append(f"mergefront-cli {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def main():
    os.makedirs(WORK, exist_ok=True)
    base = model(0, head=3)
    tasks = [model(1, head=5), model(2, head=7), model(3, head=3)]
    # Fine-tunes stay near the base, as real ones do.
    for i, t in enumerate(tasks):
        for k, v in t.items():
            if v.is_floating_point() and k != "head.weight":
                t[k] = (base[k].float() + 0.05 * (i + 1) * v.float()).to(v.dtype)
    paths = []
    torch.save(base, os.path.join(WORK, "base.pt"))
    for i, t in enumerate(tasks):
        paths.append(os.path.join(WORK, f"task{i}.pt"))
        torch.save(t, paths[-1])
    coefs = [0.3, 0.7, 0.45]
    merged_keys = {"encoder.weight", "encoder.bias", "norm.weight", "proj.weight"}  # head differs in shape
    common = ["merge", "--base", os.path.join(WORK, "base.pt")]
    for p in paths:
        common += ["--model", p]
    common += ["--coef", ",".join(map(str, coefs))]

    want = task_arithmetic(base, tasks, coefs, merged_keys)
    run(*common, "--out", os.path.join(WORK, "ta.pt"))
    compare("task arithmetic .pt", torch.load(os.path.join(WORK, "ta.pt"), weights_only=True), want, exact=True)
    run(*common, "--out", os.path.join(WORK, "ta.safetensors"))
    tensors, metadata = read_safetensors(os.path.join(WORK, "ta.safetensors"))
    compare("task arithmetic .safetensors", tensors, want, exact=True)
    if metadata.get("mergefront.method") != "task_arithmetic" or metadata.get("format") != "pt":
        failures.append(f"provenance missing from __metadata__: {metadata}")
    run(*common, "--out", os.path.join(WORK, "sharded.safetensors"), "--shard-size", "100kB")
    compare("task arithmetic, sharded", read_sharded(os.path.join(WORK, "sharded.safetensors.index.json")), want,
            exact=True)

    for density, disjoint in [(0.2, False), (0.5, True)]:
        out = os.path.join(WORK, f"ties_{density}.pt")
        extra = ["--disjoint-mean"] if disjoint else []
        run(*common, "--method", "ties", "--density", str(density), *extra, "--out", out)
        compare(f"TIES density {density} disjoint {disjoint}", torch.load(out, weights_only=True),
                ties(base, tasks, coefs, density, disjoint, merged_keys), exact=False)

    # Python reads our output as a plain dict of tensors, without unpickling any code.
    if not isinstance(torch.load(os.path.join(WORK, "ta.pt"), weights_only=True), dict):
        failures.append("torch.load did not return a dict")

    print(json.dumps({"failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
