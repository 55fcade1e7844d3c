#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The text example's benchmarks of docs/BENCHMARKS.md, one run, everything through
mergefront-cli as a user would run it (perplexity: lower is better):
1. the evaluation step (merge into the loaded modules + perplexity on 3 domains) against the
   same step in Python PyTorch (bench/reference_text_step.py: the MAP reference code's way,
   and a tuned in-memory loop), same machine, median of STEPS;
2. the merge of the base and three fine-tunes into a Hugging Face model folder
   (`mergefront-cli merge ... --out DIR/`) against Python PyTorch doing the same (read, task
   vectors, sum, save the folder with its config and tokenizer files), median of 5;
3. MAP against an 11-level grid on 2 and 3 domains, tuned-on and untuned combinations: surrogate
   R2, IGD+, hypervolume ratio and IGD of MAP-real (k points spread over the predicted front,
   measured) beside their floors at k, the 90% intervals' coverage, evaluations used.
usage: bench/run_text_benchmarks.py BUILD_DIR ZOO_DIR WORK_DIR [SETTING,...]
(ZOO_DIR: `mergefront-cli zoo --example text --out ZOO_DIR`, all four domains; with
MERGEFRONT_BENCH_ARCH=llama, the Llama variant's zoo (`--arch llama`): its MAP settings alone,
e.g. pair,pair-b: the step and folder benchmarks are the GPT-2's)"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
from safetensors_reader import read_safetensors  # noqa: E402
from example_common import (cli, configure, fresh_project, interval_coverage,  # noqa: E402
                            measure, non_dominated, predicted_front, read_rows, spread,
                            write_metrics)

BUILD, ZOO, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
ONLY = sys.argv[4].split(",") if len(sys.argv) > 4 else None
ARCH = os.environ.get("MERGEFRONT_BENCH_ARCH")
configure(BUILD, ZOO, WORK, example="text", arch=ARCH)
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
STEPS = 10

SETTINGS = [  # name, domains, grid levels, budgets, points measured per run, tuned on
    ("pair", ["c", "python"], 11, [12], 60, True),
    ("pair-b", ["prose", "cmake"], 11, [12], 60, False),
    ("triple", ["c", "python", "prose"], 11, [20, 30], 100, True),
    ("triple-b", ["python", "prose", "cmake"], 11, [20, 30], 100, False),
]
MODES = ["bayesian", "plain"]
SEEDS = [1, 2]


def objectives(points):
    """Perplexities as objectives to maximize (the helpers' convention): their negatives."""
    return [[-v for v in p] for p in points]


def quality(front_csv, truth_csv, tasks):
    args = ["quality", "--front", front_csv, "--truth", truth_csv, "--json"]
    for t in tasks:
        args += ["--minimize", t]
    return json.loads(cli(*args))


def step_benchmark():
    tasks = ["c", "python", "prose"]
    project = fresh_project("step", tasks)
    vectors = [[((k * 7 + t * 3) % 11) / 10 for t in range(len(tasks))] for k in range(STEPS)]
    points = os.path.join(WORK, "step-points.csv")
    with open(points, "w") as f:
        f.write(",".join("c:" + t for t in tasks) + "\n")
        for c in [[0.05] * len(tasks)] + vectors:  # the first one warms up, as in Python
            f.write(",".join(str(v) for v in c) + "\n")
    cli("evaluate", project, "--points", points)
    with open(project) as f:
        evaluations = json.load(f)["evaluations"][1:]
    out = {"tasks": tasks, "steps": STEPS,
           "mergefront_s": statistics.median(e["seconds"] for e in evaluations)}
    for threads in sorted({0, os.cpu_count()}):
        lines = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "reference_text_step.py"),
                                project, str(threads), str(STEPS)], check=True,
                               capture_output=True, text=True).stdout.splitlines()
        for r in map(json.loads, lines):
            key = f"python_{r['mode'].replace('-', '_')}_{r['threads']}t"
            out[key + "_s"] = r["seconds_per_step"]
            out[key + "_ratio"] = r["seconds_per_step"] / out["mergefront_s"]
            out.setdefault("same_metrics", True)
            out["same_metrics"] &= all(
                abs(r["last_metrics"][t] - evaluations[-1]["metrics"][t]) <= 1e-4 * r["last_metrics"][t]
                for t in tasks)
    return out


PYTHON_FOLDER_MERGE = r"""
import json, os, shutil, sys, time
sys.path.insert(0, sys.argv[1])
import torch
import hf_folders as hf
from safetensors_reader import read_safetensors
base_dir, out, c = sys.argv[2], sys.argv[3], [float(v) for v in sys.argv[4].split(",")]
tasks = sys.argv[5:]
started = time.perf_counter()
base, meta = read_safetensors(os.path.join(base_dir, "model.safetensors"))
models = [read_safetensors(os.path.join(t, "model.safetensors"))[0] for t in tasks]
merged = {n: v + sum(ci * (m[n] - v) for ci, m in zip(c, models)) for n, v in base.items()}
with open(os.path.join(base_dir, "config.json")) as f:
    config = json.load(f)
files = {n: open(os.path.join(base_dir, n), encoding="utf-8").read()
         for n in ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")}
hf.save_pretrained(out, merged, config, files)
for name in os.listdir(out):
    with open(os.path.join(out, name), "rb+") as f:
        os.fsync(f.fileno())
print(time.perf_counter() - started)
"""


def folder_merge_benchmark():
    models = [os.path.join(ZOO, "models", d) for d in ("c", "python", "prose")]
    base = os.path.join(ZOO, "base")
    c = "0.6,0.5,0.4"
    ours, theirs = [], []
    for _ in range(5):
        out = os.path.join(WORK, "merged-folder")
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        started = time.perf_counter()
        args = [CLI, "merge", "--base", base, "--coef", c, "--out", out + "/"]
        for m in models:
            args += ["--model", m]
        subprocess.run(args, check=True, capture_output=True)
        ours.append(time.perf_counter() - started)
        reference = os.path.join(WORK, "merged-folder-python")
        shutil.rmtree(reference, ignore_errors=True)
        os.sync()
        started = time.perf_counter()
        run = subprocess.run(["/usr/bin/python3", "-c", PYTHON_FOLDER_MERGE,
                              os.path.join(HERE, "..", "tests", "interop"), base, reference, c,
                              *models], check=True, capture_output=True, text=True)
        theirs.append(time.perf_counter() - started)  # with the interpreter's and torch's start
        inside = float(run.stdout.strip())
    size = os.path.getsize(os.path.join(base, "model.safetensors"))
    ours_t = read_safetensors(os.path.join(WORK, "merged-folder", "model.safetensors"))[0]
    theirs_t = read_safetensors(os.path.join(WORK, "merged-folder-python", "model.safetensors"))[0]
    worst = max((ours_t[n] - theirs_t[n]).abs().max().item() for n in theirs_t) \
        if sorted(ours_t) == sorted(theirs_t) else float("inf")
    return {"model_bytes": size, "mergefront_s": statistics.median(ours),
            "python_s": statistics.median(theirs), "python_inside_s": inside,
            "ratio": statistics.median(theirs) / statistics.median(ours),
            "same_names": sorted(ours_t) == sorted(theirs_t), "max_abs_diff": worst}


def truth_of(name, tasks, levels):
    grid_csv = os.path.join(WORK, f"{name}-grid.csv")
    project = os.path.join(WORK, f"{name}-grid.json")
    if not os.path.exists(grid_csv):
        if not os.path.exists(project):  # else: resume, the project caches what was done
            fresh_project(f"{name}-grid", tasks)
        print(f"[{name}] grid of {levels ** len(tasks)} merges ...", file=sys.stderr)
        cli("grid", project, "--levels", str(levels), "--csv", grid_csv)
    rows = [[float(r[t]) for t in tasks] for r in read_rows(grid_csv)]
    truth = [[-v for v in p] for p in non_dominated(objectives(rows))]
    truth_csv = os.path.join(WORK, f"{name}-truth.csv")
    write_metrics(truth_csv, tasks, truth)
    with open(project) as f:
        seconds = [e["seconds"] for e in json.load(f)["evaluations"] if e["kind"] == "grid"]
    return truth_csv, truth, len(rows), statistics.median(seconds)


def floors_at(name, tasks, truth, truth_csv, k):
    subset_csv = os.path.join(WORK, f"{name}-truth-{k}.csv")
    write_metrics(subset_csv, tasks, [truth[i] for i in spread(objectives(truth), k)])
    q = quality(subset_csv, truth_csv, tasks)
    return {"igd": q["igd"], "igd_plus": q["igd_plus"],
            "hv_ratio": q["hypervolume"] / q["hypervolume_truth"]}


def run(name, tasks, mode, budget, seed, k, truth_csv):
    label = f"{name}-{mode}-{budget}-s{seed}"
    cached = os.path.join(WORK, label + "-result.json")
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    project = fresh_project(label, tasks, seed)
    explored = json.loads(cli("explore", project, "--budget", str(budget), "--mode", mode, "--json"))
    front, predicted = predicted_front(project, tasks)
    chosen = [front[i] for i in spread(objectives(predicted), k)]
    real = measure(project, tasks, chosen, os.path.join(WORK, label + "-points.csv"))
    inside, counted, _ = interval_coverage(chosen, real, tasks)
    measured_points = [[float(r[t]) for t in tasks] for r in real if all(r[t] for t in tasks)]
    real_front = [[-v for v in p] for p in non_dominated(objectives(measured_points))]
    real_csv = os.path.join(WORK, label + "-real.csv")
    write_metrics(real_csv, tasks, real_front)
    q = quality(real_csv, truth_csv, tasks)
    predicted_csv = os.path.join(WORK, label + "-predicted.csv")
    write_metrics(predicted_csv, tasks, predicted)
    qp = quality(predicted_csv, truth_csv, tasks)
    result = {"setting": name, "tasks": tasks, "mode": mode, "budget": budget, "seed": seed,
              "evaluations": explored["evaluations"], "provisional": explored.get("provisional"),
              "r2": {s["metric"]: s["r2"] for s in explored["surrogates"]},
              "models": {s["metric"]: s["model"] for s in explored["surrogates"]},
              "front_points": len(front), "measured": len(chosen),
              "igd_plus": q["igd_plus"], "igd": q["igd"],
              "hv_ratio": q["hypervolume"] / q["hypervolume_truth"],
              "igd_plus_predicted": qp["igd_plus"],
              "hv_ratio_predicted": qp["hypervolume"] / qp["hypervolume_truth"],
              "coverage": {t: inside[t] / counted[t] if counted[t] else None for t in tasks}}
    with open(cached, "w") as f:
        json.dump(result, f)
    print(json.dumps(result), file=sys.stderr)
    return result


report = {}
cli("zoo", "--example", "text", *(["--arch", ARCH] if ARCH else []), "--out", ZOO)  # every model (reused)
if not ONLY or "step" in ONLY:
    report["step"] = step_benchmark()
    print(json.dumps(report["step"]), file=sys.stderr)
if not ONLY or "folder" in ONLY:
    report["folder"] = folder_merge_benchmark()
    print(json.dumps(report["folder"]), file=sys.stderr)
results, floors, truths = [], {}, {}
for name, tasks, levels, budgets, k, tuned in SETTINGS:
    if ONLY and name not in ONLY:
        continue
    truth_csv, truth, evaluated, seconds = truth_of(name, tasks, levels)
    truths[name] = {"grid": evaluated, "front": len(truth), "seconds_median": seconds}
    floors[name] = floors_at(name, tasks, truth, truth_csv, k)
    for mode in MODES:
        for budget in budgets:
            for seed in SEEDS:
                results.append(run(name, tasks, mode, budget, seed, k, truth_csv))
report.update({"runs": results, "floors": floors, "truths": truths})
with open(os.path.join(WORK, "results.json"), "w") as f:
    json.dump(report, f, indent=1)

if "step" in report:
    s = report["step"]
    print(f"Evaluation step ({' + '.join(s['tasks'])}): Mergefront {s['mergefront_s']:.3f} s; " +
          ", ".join(f"{k[7:-2]} {v:.3f} s" for k, v in s.items()
                    if k.startswith("python_") and k.endswith("_s")) +
          f"; same perplexities: {s['same_metrics']}\n")
if "folder" in report:
    f_ = report["folder"]
    print(f"Folder merge (base + 3, {f_['model_bytes'] / 1e6:.1f} MB each): Mergefront "
          f"{f_['mergefront_s']:.3f} s, Python {f_['python_s']:.3f} s "
          f"({f_['python_inside_s']:.3f} s after start-up), largest difference "
          f"{f_['max_abs_diff']:.2g}\n")
print("| domains | tuned on | mode | evaluations | seeds | R² per domain (mean) | IGD+ MAP-real | "
      "floor | HV ratio MAP-real | floor | IGD MAP-real | floor | 90% coverage | grid |")
print("|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|")
for name, tasks, levels, budgets, k, tuned in SETTINGS:
    if name not in floors:
        continue
    fl = floors[name]
    for mode in MODES:
        for budget in budgets:
            rows = [r for r in results if r["setting"] == name and r["mode"] == mode
                    and r["budget"] == budget]
            mean = lambda key: sum(r[key] for r in rows) / len(rows)
            r2 = ", ".join(f"{t} {sum(r['r2'][t] for r in rows) / len(rows):.3f}" for t in tasks)
            cov = ", ".join(f"{t} {sum(r['coverage'][t] or 0 for r in rows) / len(rows):.0%}"
                            for t in tasks)
            print(f"| {' + '.join(tasks)} | {'yes' if tuned else 'no'} | {mode} | "
                  f"{rows[0]['evaluations']} | {len(rows)} | {r2} | "
                  f"{mean('igd_plus'):.4f} (worst {max(r['igd_plus'] for r in rows):.4f}) | "
                  f"{fl['igd_plus']:.4f} | {mean('hv_ratio'):.4f} (worst "
                  f"{min(r['hv_ratio'] for r in rows):.4f}) | {fl['hv_ratio']:.4f} | "
                  f"{mean('igd'):.4f} | {fl['igd']:.4f} | {cov} | {truths[name]['grid']} |")
