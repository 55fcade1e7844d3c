#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The causal-lm evaluator's benchmark of docs/BENCHMARKS.md, one run, through mergefront-cli:
a synthetic Llama of 124 M parameters (hidden 768, 12 layers, 12 heads / 4 kv, SwiGLU 2048,
Llama 2's 32k vocabulary, untied, bf16) as a base and two fine-tunes, scored on held-out text
(4 documents of this repository's docs, about 3.5 k tokens, max_length 512):

1. one MAP evaluation step in process: merge into the live weights + score both tasks (the
   project's recorded seconds, median of steps 2-4; MERGEFRONT_LM_TIMING=1 splits merge and
   scoring);
2. the command-evaluator path on the same model and data: `mergefront-cli merge` into a model
   folder, then a fresh process that loads it and scores the data: `mergefront-cli score`, or
   the Python reference (Debian's python3-torch, float32, tests/interop/lm_reference.py:
   read the folder, the forward written from transformers, lm-evaluation-harness' windows);
3. the forward's tokens/s, Mergefront's scoring against the Python reference's.
usage: bench/run_lm_benchmark.py BUILD_DIR WORK_DIR"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
import check_causal_lm  # noqa: E402
import lm_reference as ref  # noqa: E402
import torch  # noqa: E402

BUILD, WORK = sys.argv[1], sys.argv[2]
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
MAX_LENGTH = 512


def run(args, env=None):
    started = time.time()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {done.returncode}: {done.stderr}")
    return done, time.time() - started


def main():
    os.makedirs(WORK, exist_ok=True)
    data = os.path.join(WORK, "held-out.jsonl")
    docs = []
    for name in ("MAP.md", "PROJECT.md", "FORMATS.md", "TOKENIZERS.md"):
        text = open(os.path.join(ROOT, "docs", name), encoding="utf-8").read()
        docs.append(text[:3000])
    with open(data, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps({"text": doc}) + "\n")
    synth = os.path.join(WORK, "synth")
    if not os.path.exists(os.path.join(synth, "b", "model.safetensors")):
        run([sys.executable, os.path.join(HERE, "gpu_lm_check.py"), "synth", synth, "100m",
             os.path.join(check_causal_lm.REFERENCE, "llama2", "models"), data, str(MAX_LENGTH)])
    project = os.path.join(synth, "project.json")
    p = json.load(open(project))
    p["evaluations"] = []
    p["device"] = "cpu"
    json.dump(p, open(project, "w"), indent=2)
    points = os.path.join(WORK, "points.csv")
    with open(points, "w") as f:
        f.write("c:a,c:b\n0.5,0.5\n0.7,0.2\n0.2,0.8\n0.9,0.4\n")

    env = dict(os.environ, MERGEFRONT_LM_TIMING="1")
    done, whole = run([CLI, "evaluate", project, "--points", points, "--csv",
                       os.path.join(WORK, "steps.csv")], env)
    steps = [e["seconds"] for e in json.load(open(project))["evaluations"]]
    timing = [tuple(map(float, m)) for m in
              re.findall(r"timing: merge ([\d.]+) s \(\w+\), scoring ([\d.]+) s", done.stderr)]
    step = statistics.median(steps[1:])
    merge_s = statistics.median(t[0] for t in timing[1:])
    score_s = statistics.median(t[1] for t in timing[1:])
    plan = [line for line in done.stderr.splitlines() if "memory plan" in line or "causal-lm:" in line]

    merged = os.path.join(WORK, "merged")
    merges, scores, pythons, loads, python_scores = [], [], [], [], []
    for repeat in range(3):
        subprocess.run(["rm", "-rf", merged])
        _, t = run([CLI, "merge", "--base", os.path.join(synth, "base"), "--model",
                    os.path.join(synth, "a"), "--model", os.path.join(synth, "b"), "--coef",
                    "0.7,0.2", "--method", "ties", "--density", "0.5", "--out", merged + "/"])
        merges.append(t)
        done, t = run([CLI, "score", merged, "--data", data, "--max-length", str(MAX_LENGTH),
                       "--device", "cpu", "--json"])
        scores.append(t)
        ours = json.loads(done.stdout)
        # The Python reference in a fresh process's place: read the folder, score, float32.
        ids = check_causal_lm.tokenize_all(merged, docs)
        started = time.time()
        sd = ref.read_weights(merged, torch.float32)
        cfg = json.load(open(os.path.join(merged, "config.json")))
        loaded = time.time()
        theirs = ref.score_text(sd, cfg, lambda s: list(ids[s]), check_causal_lm.prefix_token(merged),
                                MAX_LENGTH, docs)
        finished = time.time()
        loads.append(loaded - started)
        python_scores.append(finished - loaded)
        pythons.append(finished - started)
    recorded = json.load(open(project))["evaluations"]
    in_process = [e for e in recorded if e["coefficients"] == [0.7, 0.2]][0]["metrics"]
    tokens = ours["tokens"]
    result = {
        "parameters": "124 M", "tokens_per_task": tokens, "max_length": MAX_LENGTH,
        "step_seconds": step, "step_merge_seconds": merge_s, "step_scoring_seconds": score_s,
        "steps": steps, "plan": plan,
        "merge_command_seconds": statistics.median(merges),
        "score_process_seconds": statistics.median(scores),
        "python_process_seconds": statistics.median(pythons),
        "python_load_seconds": statistics.median(loads),
        "python_score_seconds": statistics.median(python_scores),
        "perplexity_in_process": in_process["a"], "perplexity_score": ours["perplexity"],
        "perplexity_python": theirs["perplexity"],
        "tokens_per_second_mergefront": 2 * tokens / score_s,
        "tokens_per_second_python": tokens / statistics.median(python_scores),
        "torch_threads_python": torch.get_num_threads(),
    }
    json.dump(result, open(os.path.join(WORK, "results.json"), "w"), indent=2)
    command_mf = result["merge_command_seconds"] + 2 * result["score_process_seconds"]
    command_py = result["merge_command_seconds"] + 2 * result["python_process_seconds"]
    print(json.dumps(result, indent=2))
    print(f"| in process, one step (2 tasks) | {step:.2f} s | merge {merge_s:.2f} s, scoring {score_s:.2f} s |")
    print(f"| merge + 2 x score (fresh processes) | {command_mf:.2f} s | {command_mf / step:.1f}x the step |")
    print(f"| merge + 2 x Python reference | {command_py:.2f} s | {command_py / step:.1f}x the step |")


main()
