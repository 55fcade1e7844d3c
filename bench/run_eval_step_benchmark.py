#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-step time on the example project (3 tasks): Mergefront's in-process evaluation step
(merge every tensor once, write it into the loaded TorchScript modules, batched inference)
against the same step in Python PyTorch (bench/reference_eval_step.py: the MAP reference
code's way, and a tuned in-memory loop), same machine, same thread count, one run.
usage: bench/run_eval_step_benchmark.py BUILD_DIR [THREADS] [STEPS]   (THREADS 0: Mergefront's
automatic choice, docs/BENCHMARKS.md)"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

BUILD = sys.argv[1]
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # 0: each side's default
STEPS = int(sys.argv[3]) if len(sys.argv) > 3 else 15
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
HERE = os.path.dirname(os.path.abspath(__file__))
TASKS = ["mnist", "mnist-rot90", "fashion"]

with tempfile.TemporaryDirectory() as work:
    project = os.path.join(work, "step.json")
    subprocess.run([CLI, "zoo", "--out", os.path.join(BUILD, "example"), "--tasks", ",".join(TASKS),
                    "--project", project], check=True, capture_output=True)
    vectors = [[((k * 7 + t * 3) % 11) / 10 for t in range(len(TASKS))] for k in range(STEPS)]
    points = os.path.join(work, "points.csv")
    with open(points, "w") as f:
        f.write(",".join("c:" + t for t in TASKS) + "\n")
        for c in [[0.05] * len(TASKS)] + vectors:  # the first one warms up, as in Python
            f.write(",".join(str(v) for v in c) + "\n")
    subprocess.run([CLI, "evaluate", project, "--points", points] +
                   (["--threads", str(THREADS)] if THREADS else []), check=True, capture_output=True)
    with open(project) as f:
        evaluations = json.load(f)["evaluations"][1:]
    ours = statistics.median(e["seconds"] for e in evaluations)
    # The forward passes' arithmetic (2 flops per multiply-add of every Linear, every image):
    # what a step cannot avoid, to compare with the machine's floating-point rate.
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
    from safetensors_reader import read_safetensors
    with open(project) as f:
        spec = json.load(f)
    flops = 0
    for task in spec["tasks"]:
        tensors, _ = read_safetensors(os.path.join(work, task["checkpoint"]))
        data, _ = read_safetensors(os.path.join(work, task["evaluator"]["data"]))
        images = data["targets"].shape[0]
        flops += sum(2 * images * t.numel() for name, t in tensors.items() if name.endswith("weight"))
    out = {"threads": THREADS, "steps": STEPS, "tasks": TASKS, "mergefront_s": ours,
           "forward_gflop_per_step": flops / 1e9, "mergefront_gflops": flops / 1e9 / ours}
    # Python as the reference code runs it (torch's default threads: 1 on Debian's build),
    # and with all cores.
    for threads in sorted({0, os.cpu_count()}):
        python = [json.loads(line) for line in subprocess.run(
            ["/usr/bin/python3", os.path.join(HERE, "reference_eval_step.py"), project, str(threads),
             str(STEPS)], check=True, capture_output=True, text=True).stdout.splitlines()]
        for r in python:
            key = f"python_{r['mode'].replace('-', '_')}_{r['threads']}t"
            out[key + "_s"] = r["seconds_per_step"]
            out[key + "_ratio"] = r["seconds_per_step"] / ours
            # Same merge, same images: accuracies agree (an argmax tie may flip one image).
            out.setdefault("same_metrics", True)
            out["same_metrics"] &= all(abs(r["last_metrics"][t] - evaluations[-1]["metrics"][t])
                                       <= 1e-3 for t in TASKS)
    print(json.dumps(out))
