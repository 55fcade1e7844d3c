#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""LoRA adapters as tasks, against PEFT's formulas written out here (huggingface/peft,
tuners/lora/layer.py, variants.py, config.py; PEFT itself is not packaged for Debian):
ΔW = B A · lora_alpha / r (/ sqrt(r) with use_rslora), rank/alpha patterns matched as
get_pattern_key does, fan_in_fan_out and GPT-2's Conv1D transposed, embedding LoRA
(B A)ᵀ, modules_to_save, lora_bias, DoRA m (W + ΔW) / ‖W + ΔW‖ per output feature.

The adapters are built here in PEFT's file layout (adapter_config.json, adapter_model.safetensors
or .bin, keys base_model.model.<module>.lora_A.weight, ...). Checked:
- merges that mix adapters and a full fine-tune equal the reference tensor by tensor (task
  arithmetic, block-wise groups); TIES / DARE / DARE-TIES over adapters equal the same merge
  over the adapters materialized as full checkpoints;
- --out-adapter writes an adapter whose ΔW (read with the formulas above) is Σ c_t ΔW_t and
  whose application to the base is the merged model; it is refused, writing nothing, where the
  merge is not low-rank;
- bad adapters are refused naming the adapter and the module, writing nothing;
- inspect describes an adapter.
With --lm: a project over adapters evaluates (causal-lm evaluator, host and device merge) as
the same project over the adapters merged into full checkpoints.
Usage: check_adapters.py MERGEFRONT_CLI WORKDIR [--lm]. Exit 0 when everything matches.
--lm runs only the evaluator check (tst_causal_lm, where the causal-lm evaluator is built)."""
import collections
import json
import math
import os
import re
import shutil
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_folders import (dump_json, gpt2_config, gpt2_state_dict, gpt2_tokenizer_files,  # noqa: E402
                        llama_config, llama_state_dict, llama_tokenizer_files, save_pretrained,
                        write_safetensors)
from safetensors_reader import read_safetensors  # noqa: E402

CLI, WORK = sys.argv[1], sys.argv[2]
LM = "--lm" in sys.argv[3:]
failures = []
PREFIX = "base_model.model."


def fail(message):
    failures.append(message)
    print("FAIL:", message)


def run(args, ok=True):
    p = subprocess.run([CLI] + args, capture_output=True, text=True)
    if ok and p.returncode != 0:
        fail(f"{' '.join(args[:3])}... exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def load(path):
    if os.path.isdir(path):
        return read_safetensors(os.path.join(path, "model.safetensors"))[0]
    return read_safetensors(path)[0]


def compare(label, ours, ref, tol):
    for name, want in ref.items():
        if name not in ours:
            fail(f"{label}: {name} missing")
            continue
        got = ours[name].float()
        if got.shape != want.shape:
            fail(f"{label}: {name} shape {tuple(got.shape)} != {tuple(want.shape)}")
            continue
        err = (got - want.float()).abs().max().item() if got.numel() else 0.0
        if not err <= tol:
            fail(f"{label}: {name} differs by {err:.3g} (tolerance {tol})")


# -- PEFT's formulas ------------------------------------------------------------------------------

def get_pattern_key(keys, name):
    for key in keys:
        if re.match(rf"(.*\.)?({key})$", name):
            return key
    return name


def targeted(config, module):
    targets = config.get("target_modules")
    if isinstance(targets, str):
        match = targets == "all-linear" or re.fullmatch(targets, module) is not None
    elif targets:
        match = module in targets or any(module.endswith("." + t) for t in targets)
    else:
        match = True
    layers = config.get("layers_to_transform")
    if match and layers is not None:
        layers = [layers] if isinstance(layers, int) else layers
        m = re.match(r".*\.[^.]*\.(\d+)\.", module)
        match = m is not None and int(m.group(1)) in layers
    return match


def module_scale(config, module):
    r = config.get("rank_pattern", {}).get(get_pattern_key(config.get("rank_pattern", {}).keys(), module),
                                           config["r"])
    alpha = config.get("alpha_pattern", {}).get(get_pattern_key(config.get("alpha_pattern", {}).keys(), module),
                                                config["lora_alpha"])
    return r, (alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r)


def adapter_deltas(folder, base, conv1d=()):
    """{base tensor name: task vector} of a PEFT adapter folder, by PEFT's merge formulas."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        config = json.load(f)
    path = os.path.join(folder, "adapter_model.safetensors")
    sd = read_safetensors(path)[0] if os.path.exists(path) else \
        torch.load(os.path.join(folder, "adapter_model.bin"), weights_only=True)
    sd = {k[len(PREFIX):] if k.startswith(PREFIX) else k: v.float() for k, v in sd.items()}
    out = {}
    modules = sorted({k.rsplit(".lora_", 1)[0] for k in sd if ".lora_" in k})
    for module in modules:
        if not targeted(config, module):
            continue
        weight = base[module + ".weight"].float()
        r, s = module_scale(config, module)
        if module + ".lora_embedding_A" in sd:
            A, B = sd[module + ".lora_embedding_A"], sd[module + ".lora_embedding_B"]
            assert A.shape[0] == r
            delta = (B @ A).T * s
            fifo = True
        else:
            A, B = sd[module + ".lora_A.weight"], sd[module + ".lora_B.weight"]
            assert A.shape[0] == r, (module, A.shape, r)
            fifo = config.get("fan_in_fan_out", False) or any(module.endswith(c) for c in conv1d)
            delta = (B @ A) * s
            delta = delta.T if fifo else delta
        magnitude = sd.get(module + ".lora_magnitude_vector")
        if magnitude is not None:  # DoRA: norm over the input features, per output feature
            wt = weight.T if fifo else weight
            dt = delta.T if fifo else delta
            norm = torch.linalg.norm(wt + dt, dim=1)
            factor = (magnitude / norm).view(-1, 1)
            factor = factor.T if fifo else factor
            out[module + ".weight"] = factor * (weight + delta) - weight
        else:
            out[module + ".weight"] = delta
        if module + ".lora_B.bias" in sd:
            out[module + ".bias"] = sd[module + ".lora_B.bias"] * s
    for key, value in sd.items():
        if ".lora_" in key:
            continue
        name = re.sub(r"\.modules_to_save\.[^.]+\.", ".", key)
        out[name] = value.float() - base[name].float()
    return out


def write_adapter(folder, tensors, config, use_bin=False):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    full = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 8, "bias": "none",
            "fan_in_fan_out": False, "use_rslora": False, "use_dora": False, "lora_dropout": 0.0,
            "inference_mode": True, "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": None}
    full.update(config)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(full, f, indent=2)  # insertion order: the patterns' order matters
    state = collections.OrderedDict((PREFIX + k, v.contiguous()) for k, v in tensors.items())
    if use_bin:
        torch.save(state, os.path.join(folder, "adapter_model.bin"))
    else:
        write_safetensors(os.path.join(folder, "adapter_model.safetensors"), state)


def lora(g, modules, base, r_of, dtype=torch.float32, conv1d=False, scale=0.3):
    """Random A, B for each module (B not zero: a trained adapter)."""
    out = collections.OrderedDict()
    for module in modules:
        w = base[module + ".weight"]
        rows, cols = w.shape
        out_f, in_f = (cols, rows) if conv1d else (rows, cols)
        r = r_of(module)
        out[module + ".lora_A.weight"] = (torch.randn(r, in_f, generator=g) * scale).to(dtype)
        out[module + ".lora_B.weight"] = (torch.randn(out_f, r, generator=g) * scale * 0.1).to(dtype)
    return out


def reference_merge(base, deltas, coefs):
    out = collections.OrderedDict()
    for name, value in base.items():
        total = None
        for c, d in zip(coefs, deltas):
            if name in d:
                term = c * d[name]
                total = term if total is None else total + term
        out[name] = value.float() + total if total is not None else value.float()
    return out


def materialize(folder, base_folder, base, delta, config, files, tied=("lm_head.weight",)):
    sd = collections.OrderedDict((k, (v.float() + delta[k]) if k in delta else v.float()) for k, v in base.items())
    save_pretrained(folder, sd, config, files, tied=tied)


# -- the checks ---------------------------------------------------------------------------------

def build_llama():
    """The Llama-shaped base, its adapters and a full fine-tune, and each adapter materialized
    as a full checkpoint (NAME_full)."""
    g = torch.Generator().manual_seed(7)
    config = llama_config(2, 32, 320)
    config["torch_dtype"] = "float32"
    config["_name_or_path"] = "example/llama-tiny"
    base = llama_state_dict(g, 2, 32, 320, torch.float32)
    files = llama_tokenizer_files()
    base_dir = os.path.join(WORK, "base")
    save_pretrained(base_dir, base, config, files)
    layers = range(2)
    mods = lambda *names: [f"model.layers.{i}.{n}" for i in layers for n in names]  # noqa: E731

    plain = os.path.join(WORK, "plain")
    write_adapter(plain, lora(g, mods("self_attn.q_proj", "self_attn.v_proj"), base, lambda m: 4),
                  {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
                   "base_model_name_or_path": "example/llama-tiny"})

    rs = os.path.join(WORK, "rslora")
    rank_pattern = {"o_proj": 2, "layers.1.mlp.down_proj": 6}
    alpha_pattern = {"gate_proj": 3.0}
    cfg_rs = {"r": 8, "lora_alpha": 16, "use_rslora": True, "rank_pattern": rank_pattern,
              "alpha_pattern": alpha_pattern, "layers_to_transform": [0, 1],
              "target_modules": ["q_proj", "k_proj", "o_proj", "gate_proj", "down_proj"]}
    rs_modules = mods("self_attn.q_proj", "self_attn.k_proj", "self_attn.o_proj", "mlp.gate_proj",
                      "mlp.down_proj", "mlp.up_proj")  # up_proj: in the file, not targeted
    write_adapter(rs, lora(g, rs_modules, base,
                           lambda m: cfg_rs["rank_pattern"].get(get_pattern_key(rank_pattern.keys(), m), 8),
                           dtype=torch.bfloat16),
                  cfg_rs, use_bin=True)

    emb = os.path.join(WORK, "embedding")
    t = collections.OrderedDict()
    t["model.embed_tokens.lora_embedding_A"] = torch.randn(4, 320, generator=g) * 0.3
    t["model.embed_tokens.lora_embedding_B"] = torch.randn(32, 4, generator=g) * 0.03
    t["lm_head.weight"] = base["lm_head.weight"] + torch.randn(320, 32, generator=g) * 0.01
    write_adapter(emb, t, {"r": 4, "lora_alpha": 4, "target_modules": ["embed_tokens"],
                           "modules_to_save": ["lm_head"]})

    dora = os.path.join(WORK, "dora")
    t = lora(g, mods("self_attn.q_proj", "self_attn.v_proj"), base, lambda m: 4)
    for m in mods("self_attn.q_proj", "self_attn.v_proj"):
        w = base[m + ".weight"].float()
        delta = t[m + ".lora_B.weight"] @ t[m + ".lora_A.weight"] * 2
        t[m + ".lora_magnitude_vector"] = torch.linalg.norm(w + delta, dim=1) * \
            (1 + 0.2 * torch.rand(w.shape[0], generator=g))
    write_adapter(dora, t, {"r": 4, "lora_alpha": 8, "use_dora": True, "target_modules": ["q_proj", "v_proj"]})

    full_delta = {k: torch.randn(v.shape, generator=g) * 0.004 for k, v in base.items()}
    full = os.path.join(WORK, "full")
    materialize(full, base_dir, base, full_delta, config, files)

    deltas = {name: adapter_deltas(os.path.join(WORK, name), base)
              for name in ("plain", "rslora", "embedding", "dora")}
    deltas["full"] = full_delta
    if any(k.endswith("up_proj.weight") for k in deltas["rslora"]):
        fail("reference: an untargeted module was applied")
    for name, d in deltas.items():
        if name != "full" and not d:
            fail(f"reference: adapter {name} has no delta")
    # The same adapters as full fine-tunes.
    for name in ("plain", "rslora", "embedding", "dora"):
        materialize(os.path.join(WORK, name + "_full"), base_dir, base, deltas[name], config, files)
    return g, base_dir, base, deltas, mods


def llama_checks(g, base_dir, base, deltas, mods):
    full, dora = os.path.join(WORK, "full"), os.path.join(WORK, "dora")
    plain, rs = os.path.join(WORK, "plain"), os.path.join(WORK, "rslora")

    order = ["plain", "rslora", "full", "embedding", "dora"]
    coefs = [0.7, -0.4, 0.5, 1.1, 0.6]
    coef_text = ",".join(map(str, coefs))
    models = sum((["--model", os.path.join(WORK, n)] for n in order), [])
    full_models = sum((["--model", os.path.join(WORK, n if n == "full" else n + "_full")] for n in order), [])

    # Task arithmetic, mixed: against the formulas, tensor by tensor.
    out = os.path.join(WORK, "ta.safetensors")
    p = run(["merge", "--base", base_dir] + models + ["--coef", coef_text, "--out", out])
    if p.returncode == 0:
        ref = reference_merge(base, [deltas[n] for n in order], coefs)
        compare("task arithmetic over adapters + a full fine-tune", load(out), ref, 3e-6)
        for needle in ("task 'rslora': adapter", "rank: 2 (2 modules), 6 (1 module), 8 (7 modules)",
                       "rsLoRA", "DoRA on 4 modules", "saved whole (modules_to_save): lm_head.weight",
                       "2 modules in the file but not in target_modules"):
            if needle not in p.stderr:
                fail(f"merge's plan does not describe the adapters ({needle!r} missing): {p.stderr[-1500:]}")
    # DoRA on an embedding: the norm per embedding dimension (a column), as DoraEmbeddingLayer.
    dora_emb = os.path.join(WORK, "dora_embedding")
    t = collections.OrderedDict()
    t["model.embed_tokens.lora_embedding_A"] = torch.randn(4, 320, generator=g) * 0.3
    t["model.embed_tokens.lora_embedding_B"] = torch.randn(32, 4, generator=g) * 0.03
    w = base["model.embed_tokens.weight"].float()
    d = (t["model.embed_tokens.lora_embedding_B"] @ t["model.embed_tokens.lora_embedding_A"]).T
    t["model.embed_tokens.lora_magnitude_vector"] = torch.linalg.norm(w + d, dim=0) * \
        (1 + 0.2 * torch.rand(32, generator=g))
    write_adapter(dora_emb, t, {"r": 4, "lora_alpha": 4, "use_dora": True, "target_modules": ["embed_tokens"]})
    out = os.path.join(WORK, "dora_embedding.safetensors")
    if run(["merge", "--base", base_dir, "--model", dora_emb, "--coef", "0.8", "--out", out,
            "--quiet"]).returncode == 0:
        compare("DoRA on an embedding", load(out),
                reference_merge(base, [adapter_deltas(dora_emb, base)], [0.8]), 3e-6)
    # Block-wise groups.
    out = os.path.join(WORK, "groups.safetensors")
    group_coefs = [0.7, 0.2, -0.4, 0.3, 0.5, 0.5, 1.1, 0.9, 0.6, -0.2]
    p = run(["merge", "--base", base_dir] + models + ["--group", "attn=self_attn", "--group", "rest=",
                                                      "--coef", ",".join(map(str, group_coefs)), "--out", out,
                                                      "--quiet"])
    if p.returncode == 0:
        ours = load(out)
        ref = collections.OrderedDict()
        for name, value in base.items():
            column = 0 if "self_attn" in name else 1
            c = [group_coefs[2 * t + column] for t in range(len(order))]
            ref[name] = reference_merge({name: value}, [deltas[n] for n in order], c)[name]
        compare("block-wise over adapters", ours, ref, 3e-6)
    # TIES, DARE, DARE-TIES: the adapters' merge is the merge of their materialized weights.
    for method in (["--method", "ties", "--density", "0.5"], ["--method", "dare", "--drop", "0.5", "--seed", "3"],
                   ["--method", "dare_ties", "--drop", "0.3", "--density", "0.6", "--disjoint-mean"]):
        a = os.path.join(WORK, method[1] + "_adapters.safetensors")
        b = os.path.join(WORK, method[1] + "_full.safetensors")
        pa = run(["merge", "--base", base_dir] + models + ["--coef", coef_text, "--out", a, "--quiet"] + method)
        pb = run(["merge", "--base", base_dir] + full_models + ["--coef", coef_text, "--out", b, "--quiet"] + method)
        if pa.returncode or pb.returncode:
            continue
        ours, theirs = load(a), load(b)
        total = differing = 0
        for name, value in theirs.items():
            diff = (ours[name].float() - value.float()).abs()
            total += diff.numel()
            differing += int((diff > 1e-5).sum())
        # Float rounding of W + ΔW may move an entry across TIES's magnitude threshold.
        if differing > max(2, total // 2000):
            fail(f"{method[1]} over adapters differs from over their full checkpoints in "
                 f"{differing} of {total} entries")

    # --out-adapter: exact, low-rank, refusals write nothing.
    lora_order = ["plain", "rslora", "embedding"]
    lora_coefs = [0.7, -0.4, 1.1]
    merged_adapter = os.path.join(WORK, "merged_adapter")
    lora_models = sum((["--model", os.path.join(WORK, n)] for n in lora_order), [])
    p = run(["merge", "--base", base_dir] + lora_models + ["--coef", ",".join(map(str, lora_coefs)),
                                                           "--out-adapter", merged_adapter, "--quiet"])
    if p.returncode == 0:
        with open(os.path.join(merged_adapter, "adapter_config.json")) as f:
            written_config = json.load(f)
        written = adapter_deltas(merged_adapter, base)
        want = {}
        for c, n in zip(lora_coefs, lora_order):
            for k, v in deltas[n].items():
                want[k] = want.get(k, 0) + c * v
        if set(written) != set(want):
            fail(f"--out-adapter: tensors {sorted(set(written) ^ set(want))} differ in presence")
        compare("--out-adapter's ΔW against Σ c ΔW", written, {k: v for k, v in want.items() if k in written}, 2e-6)
        sd = read_safetensors(os.path.join(merged_adapter, "adapter_model.safetensors"))[0]
        rank = sd[PREFIX + "model.layers.0.self_attn.q_proj.lora_A.weight"].shape[0]
        if rank != 4 + 8:
            fail(f"--out-adapter: q_proj of layer 0 has rank {rank}, expected 4 + 8")
        for module in ("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"):
            r, s = module_scale(written_config, module)
            if abs(s - 1) > 1e-12:
                fail(f"--out-adapter: {module} has scale {s}, expected 1")
        if written_config.get("modules_to_save") != ["lm_head"]:
            fail(f"--out-adapter: modules_to_save {written_config.get('modules_to_save')}")
        # The adapter applied to the base is the merged model.
        merged = os.path.join(WORK, "lora_merge.safetensors")
        if run(["merge", "--base", base_dir] + lora_models + ["--coef", ",".join(map(str, lora_coefs)),
                                                              "--out", merged, "--quiet"]).returncode == 0:
            applied = collections.OrderedDict((k, v.float() + written.get(k, 0)) for k, v in base.items())
            compare("base + --out-adapter against the merge", load(merged), applied, 3e-6)
        p = run(["inspect", merged_adapter, "--json"])
        if p.returncode == 0 and json.loads(p.stdout)["adapter"]["modules"] < 10:
            fail("inspect of the written adapter: " + p.stdout[:400])
    for label, extra, tasks, needle in (("ties", ["--method", "ties"], 3, "task arithmetic"),
                                        ("full", ["--model", full], 4, "full fine-tune"),
                                        ("dora", ["--model", dora], 4, "DoRA")):
        target = os.path.join(WORK, "refused_" + label)
        p = run(["merge", "--base", base_dir] + lora_models + extra +
                ["--coef", ",".join(["0.5"] * tasks), "--out-adapter", target, "--quiet"], ok=False)
        if p.returncode != 1 or needle not in p.stderr or os.path.exists(target):
            fail(f"--out-adapter with {label}: exit {p.returncode}, {p.stderr[-600:]!r}, "
                 f"written: {os.path.exists(target)}")

    # Bad adapters: named, nothing written.
    def refused(label, tensors, config, needles):
        folder = os.path.join(WORK, "bad_" + label)
        write_adapter(folder, tensors, config)
        target = os.path.join(WORK, "bad_" + label + ".safetensors")
        p = run(["merge", "--base", base_dir, "--model", folder, "--coef", "1", "--out", target, "--quiet"],
                ok=False)
        missing = [n for n in needles + [folder] if n not in p.stderr]
        if p.returncode != 1 or missing or os.path.exists(target):
            fail(f"bad adapter {label}: exit {p.returncode}, missing {missing} in {p.stderr[-600:]!r}")
    ghost = lora(g, mods("self_attn.q_proj"), base, lambda m: 4)
    ghost = {k.replace("layers.1.", "layers.7."): v for k, v in ghost.items()}
    refused("module", ghost, {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]},
            ["model.layers.7.self_attn.q_proj", "not in the base"])
    wrong = lora(g, mods("self_attn.q_proj"), base, lambda m: 4)
    wrong["model.layers.0.self_attn.q_proj.lora_A.weight"] = torch.randn(4, 31, generator=g)
    refused("shape", wrong, {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]},
            ["model.layers.0.self_attn.q_proj", "does not fit"])
    refused("loha", lora(g, mods("self_attn.q_proj"), base, lambda m: 4), {"peft_type": "LOHA"}, ["LOHA"])
    biased = lora(g, mods("mlp.up_proj"), base, lambda m: 4)
    biased["model.layers.0.mlp.up_proj.lora_B.bias"] = torch.randn(64, generator=g)
    refused("bias", biased, {"r": 4, "lora_alpha": 8, "target_modules": ["up_proj"], "lora_bias": True},
            ["model.layers.0.mlp.up_proj.bias"])
    refused("rank", lora(g, mods("self_attn.q_proj"), base, lambda m: 4), {"r": 16, "target_modules": ["q_proj"]},
            ["model.layers.0.self_attn.q_proj", "rank 4"])
    # A differing base name is a warning only.
    other = os.path.join(WORK, "other_base_name")
    write_adapter(other, lora(g, mods("self_attn.q_proj"), base, lambda m: 4),
                  {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "base_model_name_or_path": "someone/else"})
    p = run(["merge", "--base", base_dir, "--model", other, "--coef", "1", "--out",
             os.path.join(WORK, "other.safetensors")])
    if p.returncode == 0 and not ("warning" in p.stderr and "someone/else" in p.stderr):
        fail("a differing base_model_name_or_path is not warned about: " + p.stderr[-800:])

    # inspect
    p = run(["inspect", rs, "--json"])
    if p.returncode == 0:
        a = json.loads(p.stdout)["adapter"]
        want_ranks = {"8": 7, "2": 2, "6": 1}
        if a["ranks"] != want_ranks or a["lora_alpha"] != 16 or not a["use_rslora"] or \
                "gate_proj" not in a["targets"] or "up_proj" in a["targets"]:
            fail("inspect --json of the rsLoRA adapter: " + json.dumps(a)[:600])
    p = run(["inspect", plain])
    if p.returncode == 0 and not all(n in p.stdout for n in ("rank: 4", "q_proj", "example/llama-tiny",
                                                              "parameters")):
        fail("inspect of an adapter: " + p.stdout[:600])


def gpt2_checks():
    g = torch.Generator().manual_seed(11)
    width, vocab = 32, 300
    config = gpt2_config(2, width, vocab, 64)
    config["torch_dtype"] = "float32"
    base = gpt2_state_dict(g, 2, width, vocab, 64, torch.float32)
    base_dir = os.path.join(WORK, "gpt2")
    save_pretrained(base_dir, base, config, gpt2_tokenizer_files())
    base.pop("lm_head.weight")
    conv = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
    mods = [f"transformer.h.{i}.{n}" for i in range(2) for n in conv]
    t = lora(g, mods, base, lambda m: 4, conv1d=True)
    for m in mods:  # lora_bias: lora_B's bias, scaled as its weight
        t[m + ".lora_B.bias"] = torch.randn(base[m + ".weight"].shape[1], generator=g) * 0.01
    a = os.path.join(WORK, "gpt2_fifo")
    write_adapter(a, t, {"r": 4, "lora_alpha": 8, "fan_in_fan_out": True, "lora_bias": True,
                         "target_modules": ["c_attn", "c_proj", "c_fc"]}, use_bin=True)
    # fan_in_fan_out left false: PEFT sets it for Conv1D (attn.c_proj is square: only the
    # module type can tell).
    mods2 = [f"transformer.h.{i}.{n}" for i in range(2) for n in ("attn.c_attn", "attn.c_proj")]
    b = os.path.join(WORK, "gpt2_nofifo")
    write_adapter(b, lora(g, mods2, base, lambda m: 2, conv1d=True),
                  {"r": 2, "lora_alpha": 2, "target_modules": ["c_attn", "c_proj"]})
    conv_names = (".c_attn", ".c_proj", ".c_fc")
    # DoRA on Conv1D weights ([in, out]): the norm per output feature, a column.
    dora = os.path.join(WORK, "gpt2_dora")
    t = lora(g, mods2, base, lambda m: 2, conv1d=True)
    for m in mods2:
        w = base[m + ".weight"].float()
        d = (t[m + ".lora_B.weight"] @ t[m + ".lora_A.weight"]).T
        t[m + ".lora_magnitude_vector"] = torch.linalg.norm(w + d, dim=0) * \
            (1 + 0.2 * torch.rand(w.shape[1], generator=g))
    write_adapter(dora, t, {"r": 2, "lora_alpha": 2, "use_dora": True, "fan_in_fan_out": True,
                            "target_modules": ["c_attn", "c_proj"]})
    out = os.path.join(WORK, "gpt2_dora.safetensors")
    if run(["merge", "--base", base_dir, "--model", dora, "--coef", "0.9", "--out", out,
            "--quiet"]).returncode == 0:
        compare("DoRA on GPT-2's Conv1D", load(out),
                reference_merge(base, [adapter_deltas(dora, base, conv_names)], [0.9]), 3e-6)
    deltas = [adapter_deltas(a, base, conv_names), adapter_deltas(b, base, conv_names)]
    coefs = [0.8, -0.5]
    out = os.path.join(WORK, "gpt2_merge.safetensors")
    if run(["merge", "--base", base_dir, "--model", a, "--model", b, "--coef", "0.8,-0.5", "--out", out,
            "--quiet"]).returncode == 0:
        compare("GPT-2 Conv1D adapters", load(out), reference_merge(base, deltas, coefs), 3e-6)
    target = os.path.join(WORK, "gpt2_adapter")
    if run(["merge", "--base", base_dir, "--model", a, "--model", b, "--coef", "0.8,-0.5",
            "--out-adapter", target, "--quiet"]).returncode == 0:
        with open(os.path.join(target, "adapter_config.json")) as f:
            written_config = json.load(f)
        if not written_config["fan_in_fan_out"] or not written_config["lora_bias"]:
            fail(f"GPT-2 --out-adapter config: {written_config}")
        written = adapter_deltas(target, base, conv_names)
        want = {}
        for c, d in zip(coefs, deltas):
            for k, v in d.items():
                want[k] = want.get(k, 0) + c * v
        compare("GPT-2 --out-adapter against Σ c ΔW", written, want, 2e-6)


def lm_checks(base_dir):
    """A project over adapters evaluates as over the adapters merged into full checkpoints."""
    text = os.path.join(WORK, "doc.txt")
    with open(text, "w") as f:
        f.write("The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.\n")
    for merge_on in ("host", "device"):
        results = {}
        for variant in ("adapters", "full"):
            tasks = []
            for name, metric in (("plain", "perplexity"), ("dora", "perplexity")):
                path = os.path.join(WORK, name if variant == "adapters" else name + "_full")
                tasks.append({"name": name, "checkpoint": path, "metric": metric, "direction": "minimize",
                              "evaluator": {"kind": "causal-lm", "data": text, "format": "text",
                                            "merge_on": merge_on}})
            project = {"format": "mergefront-project", "version": 1, "base": base_dir, "tasks": tasks,
                       "merge": {"method": "task_arithmetic"}, "device": "cpu"}
            path = os.path.join(WORK, f"project_{variant}_{merge_on}.json")
            dump_json(path, project)
            p = run(["evaluate", path, "--coef", "0.6,0.8", "--json"])
            if p.returncode == 0:
                results[variant] = json.loads(p.stdout)["metrics"]
        if len(results) == 2:
            for name in ("plain", "dora"):
                ours, theirs = results["adapters"][name], results["full"][name]
                if not abs(ours - theirs) <= 1e-5 * abs(theirs):
                    fail(f"{merge_on} merge: perplexity {ours} over adapters, {theirs} over full "
                         f"checkpoints ({name})")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    g, base_dir, base, deltas, mods = build_llama()
    if LM:
        lm_checks(base_dir)
    else:
        llama_checks(g, base_dir, base, deltas, mods)
        gpt2_checks()
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
