#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The LoRA adapter benchmark of docs/BENCHMARKS.md, in one run on this machine: a Llama-shaped
base of about 1.0 B parameters (24 layers, width 2048, vocab 32000, bf16, shards of 2 GB) and
three rank-16 LoRA adapters on all seven linear modules of every layer (PEFT's layout, bf16,
~25 MB each), merged by mergefront-cli (task arithmetic) into one .safetensors file
  (a) from the three adapters, their ΔW computed block by block inside the kernel,
  (b) from the same adapters materialized as three full fine-tunes (what merge_and_unload
      writes: base + ΔW in bf16, 2.1 GB each).
Measured interleaved, run by run, each from a cold page cache when the caches can be dropped
(root: /proc/sys/vm/drop_caches; otherwise the run says "warm"), the output fsynced and deleted
after each run; the median of MERGEFRONT_BENCH_RUNS (default 3). Reported: seconds, bytes read
from the disk (/proc/PID/io read_bytes: what a cold cache had to fetch), the peak resident size
(VmRSS: mapped file pages included) and the peak anonymous memory (RssAnon), polled every 10 ms.
The 8.5 GB of inputs are removed at the end unless MERGEFRONT_BENCH_KEEP=1.
usage: run_adapter_benchmark.py BUILD_DIR [WORK_DIR]   (./run.sh bench runs it)"""
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import torch  # noqa: E402

import hf_folders as hf  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/release"
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                          "mergefront-adapter-bench")
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
RUNS = int(os.environ.get("MERGEFRONT_BENCH_RUNS", "3"))
LAYERS, WIDTH, VOCAB, RANK, ALPHA = 24, 2048, 32000, 16, 32
MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
COEFS = [0.5, 0.3, -0.2]


def make_inputs():
    base_dir = os.path.join(WORK, "base")
    adapters = [os.path.join(WORK, f"adapter{t}") for t in range(3)]
    fulls = [os.path.join(WORK, f"full{t}") for t in range(3)]
    if all(os.path.exists(os.path.join(f, "model.safetensors.index.json")) for f in [base_dir] + fulls) and \
            all(os.path.exists(os.path.join(a, "adapter_config.json")) for a in adapters):
        return base_dir, adapters, fulls
    print(f"writing a base, 3 rank-{RANK} adapters and their 3 full fine-tunes "
          f"(Llama shape, {LAYERS} layers, width {WIDTH}, bf16) in {WORK}", file=sys.stderr)
    g = torch.Generator().manual_seed(9)
    config = hf.llama_config(LAYERS, WIDTH, VOCAB)
    files = hf.llama_tokenizer_files()
    base = hf.llama_state_dict(g, LAYERS, WIDTH, VOCAB, torch.bfloat16)
    shutil.rmtree(base_dir, ignore_errors=True)
    hf.save_pretrained(base_dir, base, config, files, max_shard_size=2_000_000_000)
    for adapter, full in zip(adapters, fulls):
        factors = collections.OrderedDict()
        tuned = collections.OrderedDict(base)
        for layer in range(LAYERS):
            for module in MODULES:
                name = f"model.layers.{layer}.{module}"
                out_f, in_f = base[name + ".weight"].shape
                a = (torch.randn(RANK, in_f, generator=g) * 0.02).bfloat16()
                b = (torch.randn(out_f, RANK, generator=g) * 0.02).bfloat16()
                factors["base_model.model." + name + ".lora_A.weight"] = a
                factors["base_model.model." + name + ".lora_B.weight"] = b
                delta = (b.float() @ a.float()) * (ALPHA / RANK)
                tuned[name + ".weight"] = (base[name + ".weight"].float() + delta).bfloat16()
        shutil.rmtree(adapter, ignore_errors=True)
        os.makedirs(adapter)
        hf.dump_json(os.path.join(adapter, "adapter_config.json"),
                     {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": RANK, "lora_alpha": ALPHA,
                      "target_modules": [m.split(".")[1] for m in MODULES], "lora_dropout": 0.0,
                      "bias": "none", "fan_in_fan_out": False, "use_rslora": False, "use_dora": False})
        hf.write_safetensors(os.path.join(adapter, "adapter_model.safetensors"), factors)
        shutil.rmtree(full, ignore_errors=True)
        hf.save_pretrained(full, tuned, config, files, max_shard_size=2_000_000_000)
        del tuned
    return base_dir, adapters, fulls


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def merge(base_dir, models, out):
    if os.path.exists(out):
        os.remove(out)
    cold = drop_caches()
    args = [CLI, "merge", "--base", base_dir, "--coef", ",".join(map(str, COEFS)), "--out", out,
            "--quiet", "--json"]
    for m in models:
        args += ["--model", m]
    start = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_rss = peak_anon = 0
    last_read = 0
    while p.poll() is None:
        peak_rss = max(peak_rss, status_kb(p.pid, "VmRSS"))
        peak_anon = max(peak_anon, status_kb(p.pid, "RssAnon"))
        value = read_bytes(p.pid)
        last_read = value if value is not None else last_read
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    out_text, err = p.communicate()
    if p.returncode != 0:
        sys.exit(f"merge failed: {err}")
    report = json.loads(out_text)
    os.remove(out)
    return {"seconds": seconds, "read": last_read, "rss": peak_rss * 1024, "anon": peak_anon * 1024,
            "cold": cold, "touched": report["bytes_touched"]}


def main():
    os.makedirs(WORK, exist_ok=True)
    base_dir, adapters, fulls = make_inputs()
    out = os.path.join(WORK, "merged.safetensors")
    results = {"adapters": [], "full": []}
    for _ in range(RUNS):
        results["adapters"].append(merge(base_dir, adapters, out))
        results["full"].append(merge(base_dir, fulls, out))
    cold = all(r["cold"] for rs in results.values() for r in rs)
    print(f"LoRA adapters against full fine-tunes: 1.0 B Llama-shaped bf16 base, 3 tasks, rank {RANK} "
          f"on all linear modules; {'cold' if cold else 'WARM (could not drop the page cache)'} "
          f"cache, median of {RUNS} runs, {os.cpu_count()} cores")
    print(f"{'inputs':<26}{'seconds':>9}{'read from disk':>16}{'peak RSS':>11}{'peak anon':>11}")
    summary = {}
    for label, name in (("3 adapters (25 MB each)", "adapters"), ("3 full fine-tunes (2.1 GB)", "full")):
        rs = results[name]
        s = {k: statistics.median(r[k] for r in rs) for k in ("seconds", "read", "rss", "anon")}
        summary[name] = s
        print(f"{label:<26}{s['seconds']:>9.2f}{s['read'] / 1e9:>13.2f} GB{s['rss'] / 1e9:>8.2f} GB"
              f"{s['anon'] / 1e6:>8.0f} MB")
    a, f = summary["adapters"], summary["full"]
    print(f"adapters / full: time {a['seconds'] / f['seconds']:.2f}x, bytes read "
          f"{a['read'] / max(f['read'], 1):.2f}x (1/(T+1) = {1 / 4:.2f}), peak RSS "
          f"{a['rss'] / max(f['rss'], 1):.2f}x")
    if os.environ.get("MERGEFRONT_BENCH_KEEP") != "1":
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
