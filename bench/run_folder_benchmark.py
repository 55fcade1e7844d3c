#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model-folder benchmark of docs/BENCHMARKS.md, in one run on this machine: a GPT-2-shaped
base and two fine-tunes, bf16, about 1.2 GB of weights each, saved as save_pretrained lays
them out (sharded at 500 MB, tied embeddings, config, tokenizer files), merged by
(a) mergefront-cli into a model folder (one model.safetensors: the 5 GB default shard size),
(b) the same into a sharded model folder (--shard-size 500MB),
(c) the same into one .safetensors file (the baseline the folder must stay within 10% of),
(d) Python PyTorch the way the MAP reference code does it: load every state dict, build the
    task vectors, scale, sum, add, cast, and save the folder (shards + index + config +
    tokenizer), at torch's default thread count and at all cores.
Every output is fsynced (mergefront's default; the reference fsyncs its files too), the page
cache is warm; mergefront's three outputs are measured interleaved, run by run, each after an
os.sync() (so no run pays for the previous output's writeback), the median of
MERGEFRONT_BENCH_RUNS (default 5) runs; the Python reference, the median of two.
usage: run_folder_benchmark.py BUILD_DIR [WORK_DIR]   (./run.sh bench runs it)"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
import torch  # noqa: E402

import hf_folders as hf  # noqa: E402
from safetensors_reader import read_safetensors  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/release"
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.environ.get("TMPDIR", "/tmp"), "mergefront-folder-bench")
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
RUNS = int(os.environ.get("MERGEFRONT_BENCH_RUNS", "5"))
LAYERS, WIDTH, VOCAB, POSITIONS = 10, 2048, 50257, 1024
COEFS = [0.6, 0.4]


def make_inputs():
    folders = [os.path.join(WORK, name) for name in ("base", "task1", "task2")]
    if all(os.path.exists(os.path.join(f, "model.safetensors.index.json")) for f in folders):
        return folders
    print(f"writing base + 2 tasks (GPT-2 shape, {LAYERS} layers, width {WIDTH}, bf16) in {WORK}", file=sys.stderr)
    g = torch.Generator().manual_seed(3)
    config = hf.gpt2_config(LAYERS, WIDTH, VOCAB, POSITIONS)
    base = hf.gpt2_state_dict(g, LAYERS, WIDTH, VOCAB, POSITIONS, torch.bfloat16)
    for folder, step in zip(folders, (None, 0.05, 0.08)):
        shutil.rmtree(folder, ignore_errors=True)
        sd = base if step is None else hf.fine_tune(base, g, step)
        hf.save_pretrained(folder, sd, config, hf.gpt2_tokenizer_files(), {"bos_token_id": 256},
                           max_shard_size=500_000_000)
        del sd
    return folders


def read_folder(folder):
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for shard in sorted(set(index["weight_map"].values())):
        out.update(read_safetensors(os.path.join(folder, shard))[0])
    return out


def fsync_tree(folder):
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def python_reference(folders, out, threads):
    """Returns seconds for the reference-code way, writing a complete folder."""
    torch.set_num_threads(threads)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    base = read_folder(folders[0])
    tasks = [read_folder(f) for f in folders[1:]]
    with torch.no_grad():
        vectors = [{k: t[k].float() - base[k].float() for k in base} for t in tasks]
        merged = {k: (v.float() + sum(c * tv[k] for c, tv in zip(COEFS, vectors))).to(v.dtype)
                  for k, v in base.items()}
    del vectors, tasks
    with open(os.path.join(folders[0], "config.json")) as f:
        config = json.load(f)
    tokenizer = {}
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        with open(os.path.join(folders[0], name)) as f:
            tokenizer[name] = f.read()
    hf.save_pretrained(out, merged, config, tokenizer, {"bos_token_id": 256}, max_shard_size=5_000_000_000)
    fsync_tree(out)
    return time.perf_counter() - start


def mergefront_once(folders, out, *extra):
    """Seconds and bytes touched of one merge into `out` (removed first, then synced away)."""
    shutil.rmtree(out, ignore_errors=True)
    if os.path.isfile(out):
        os.remove(out)
    os.sync()  # the previous output's writeback must not land in this run's fsync
    args = [CLI, "merge", "--base", folders[0], "--model", folders[1], "--model", folders[2],
            "--coef", ",".join(map(str, COEFS)), "--out", out, "--quiet", "--json", *extra]
    report = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    return report["seconds"], report["bytes_touched"]


def mergefront(folders):
    """The three outputs, interleaved run by run so that they see the same disk."""
    cases = {"file": (os.path.join(WORK, "merged.safetensors"),),
             "folder": (os.path.join(WORK, "merged"),),
             "sharded": (os.path.join(WORK, "merged-sharded"), "--shard-size", "500MB")}
    times = {name: [] for name in cases}
    touched = {}
    for _ in range(RUNS):
        for name, args in cases.items():
            seconds, touched[name] = mergefront_once(folders, *args)
            times[name].append(seconds)
    return {name: (statistics.median(t), touched[name]) for name, t in times.items()}


def main():
    os.makedirs(WORK, exist_ok=True)
    folders = make_inputs()
    for folder in folders:  # warm the page cache
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                while f.read(1 << 24):
                    pass
    weights = sum(os.path.getsize(os.path.join(folders[0], n)) for n in os.listdir(folders[0])
                  if n.endswith(".safetensors"))
    print("running mergefront-cli merge", file=sys.stderr)
    measured = mergefront(folders)
    folder_s, touched = measured["folder"]
    sharded_s, _ = measured["sharded"]
    file_s, file_touched = measured["file"]
    print("running the Python PyTorch reference", file=sys.stderr)
    cores = os.cpu_count()
    py = {}
    for threads in sorted({torch.get_num_threads(), cores}):
        py[threads] = statistics.median(python_reference(folders, os.path.join(WORK, "merged-py"), threads)
                                        for _ in range(min(RUNS, 2)))
    # The merges agree: mergefront's folder against the reference's, tensor by tensor.
    ours = read_safetensors(os.path.join(WORK, "merged", "model.safetensors"))[0]
    theirs = read_safetensors(os.path.join(WORK, "merged-py", "model.safetensors"))[0]
    equal = sorted(ours) == sorted(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    best = min(py.values())
    gb = lambda s: touched / s / 1e9  # noqa: E731
    print(f"Base + 2 tasks, GPT-2 shape ({LAYERS} layers, width {WIDTH}, vocab {VOCAB}), bf16, "
          f"{weights / 1e9:.2f} GB of weights each, sharded at 500 MB; data touched per merge "
          f"{touched / 1e9:.2f} GB (3 inputs read + 1 output written); {cores} cores; page cache warm; "
          f"median of {RUNS} interleaved runs (Python: of 2); every output fsynced. Outputs equal to the reference: {equal}.\n")
    print("| what | time (s) | GB/s touched | vs one file | vs Python (best) |")
    print("|---|---:|---:|---:|---:|")
    for threads, seconds in py.items():
        print(f"| (d) Python PyTorch reference, torch {torch.__version__}, {threads} thread(s), writes the folder "
              f"| {seconds:.2f} | {gb(seconds):.2f} | | |")
    print(f"| (c) mergefront-cli merge -> one .safetensors file | {file_s:.2f} | {file_touched / file_s / 1e9:.2f} "
          f"| 1.00 | {best / file_s:.1f}x |")
    print(f"| (a) mergefront-cli merge -> model folder (config, tokenizer, card) | {folder_s:.2f} | {gb(folder_s):.2f} "
          f"| {folder_s / file_s:.2f} | {best / folder_s:.1f}x |")
    print(f"| (b) mergefront-cli merge -> model folder, --shard-size 500MB | {sharded_s:.2f} | {gb(sharded_s):.2f} "
          f"| {sharded_s / file_s:.2f} | {best / sharded_s:.1f}x |")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
