#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GGUF benchmark of docs/BENCHMARKS.md, in one run on this machine: a Llama-shaped base and
two fine-tunes of about 1.0 B parameters (24 layers, width 2048, Llama 2's 32k tokenizer), bf16,
saved as save_pretrained lays them out (shards of 2 GB), merged file to file by mergefront-cli
(task arithmetic, 2 tasks) into
  (a) one .safetensors file (bf16): the reference,
  (b) GGUF bf16 (the source dtype: bytes copied through the kernel, Q/K rows permuted),
  (c) GGUF f16, (d) GGUF q8_0 (quantized block by block while merging).
Every output is fsynced; the page cache is warm (the inputs); the four are measured interleaved,
run by run, each after an os.sync() and with the previous output deleted (no output's pages
evict the inputs'), the median of MERGEFRONT_BENCH_RUNS (default 5) runs. Reported: seconds,
GB/s of data touched (inputs read + output written) and each GGUF's time over the safetensors
merge's.
usage: run_gguf_benchmark.py BUILD_DIR [WORK_DIR]   (./run.sh bench runs it)"""
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
                                                          "mergefront-gguf-bench")
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
RUNS = int(os.environ.get("MERGEFRONT_BENCH_RUNS", "5"))
LAYERS, WIDTH, VOCAB = 24, 2048, 32000
COEFS = [0.6, 0.4]
TOKENIZER = os.path.join(os.environ.get("MERGEFRONT_TOKENIZER_REFERENCE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mergefront",
    "tokenizer-reference"), "llama2", "models")


def make_inputs():
    folders = [os.path.join(WORK, name) for name in ("base", "task1", "task2")]
    if all(os.path.exists(os.path.join(f, "model.safetensors.index.json")) for f in folders):
        return folders
    print(f"writing base + 2 tasks (Llama shape, {LAYERS} layers, width {WIDTH}, bf16) in {WORK}",
          file=sys.stderr)
    tokenizer = {name: open(os.path.join(TOKENIZER, name), encoding="utf-8").read()
                 for name in ("tokenizer.json", "tokenizer_config.json")}
    g = torch.Generator().manual_seed(5)
    config = hf.llama_config(LAYERS, WIDTH, VOCAB)
    base = hf.llama_state_dict(g, LAYERS, WIDTH, VOCAB, torch.bfloat16)
    for folder, step in zip(folders, (None, 0.05, 0.08)):
        shutil.rmtree(folder, ignore_errors=True)
        sd = base if step is None else hf.fine_tune(base, g, step)
        hf.save_pretrained(folder, sd, config, tokenizer, max_shard_size=2_000_000_000)
        del sd
    return folders


def merge(folders, out, extra):
    if os.path.exists(out):
        os.remove(out)
    os.sync()
    started = time.perf_counter()
    result = subprocess.run([CLI, "merge", "--base", folders[0], "--model", folders[1], "--model",
                             folders[2], "--coef", ",".join(map(str, COEFS)), "--out", out,
                             "--quiet", "--json", *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"merge into {out} failed:\n{result.stderr}")
    size = os.path.getsize(out)
    os.remove(out)  # every case starts from the same page cache: the inputs, no other output
    return seconds, json.loads(result.stdout)["bytes_touched"], size


def main():
    os.makedirs(WORK, exist_ok=True)
    folders = make_inputs()
    cases = [("safetensors bf16", "merged.safetensors", []),
             ("GGUF bf16 (source dtype)", "merged-bf16.gguf", []),
             ("GGUF f16", "merged-f16.gguf", ["--gguf-type", "f16"]),
             ("GGUF q8_0", "merged-q8_0.gguf", ["--gguf-type", "q8_0"])]
    times = {name: [] for name, _, _ in cases}
    sizes = {}
    merge(folders, os.path.join(WORK, cases[0][1]), cases[0][2])  # warm the page cache
    for _ in range(RUNS):
        for name, out, extra in cases:
            seconds, touched, size = merge(folders, os.path.join(WORK, out), extra)
            times[name].append(seconds)
            sizes[name] = (touched, size)
    reference = statistics.median(times[cases[0][0]])
    print(f"GGUF benchmark: Llama shape, {LAYERS} layers, width {WIDTH}, vocab {VOCAB}, "
          f"base + 2 tasks in bf16, {os.cpu_count()} cores, median of {RUNS}")
    print(f"{'output':28} {'seconds':>8} {'GB/s':>6} {'size':>9} {'vs safetensors':>15}")
    for name, _, _ in cases:
        median = statistics.median(times[name])
        touched, size = sizes[name]
        print(f"{name:28} {median:8.2f} {touched / median / 1e9:6.2f} {size / 1e9:7.2f}GB "
              f"{median / reference:14.2f}x")


if __name__ == "__main__":
    main()
