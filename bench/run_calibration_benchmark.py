#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Intervals run by run (calibration issue): on both examples, task pairs at 12 evaluations and
triples at 20, seeds 1-3, Bayesian MAP (the default) in a fresh project per run; then K points
spread over each predicted front measured for real. Per task and run:
- coverage: the share of the K measurements inside their predicted 90% interval;
- width / RMS: the mean interval width over the run's RMS prediction error (measured minus
  predicted) at those points (a Gaussian 90% interval is 3.3 sigma wide);
- the leave-one-out coverage the run reported (`status --json`), when the build reports it;
- how many of the K points the front flagged as extrapolated, and their share of the misses.
Task combinations tuned on (the ones earlier benchmarks and the development of the intervals
used) and not (held out until the final run). Everything through mergefront-cli; results cached
per run in WORK.
usage: bench/run_calibration_benchmark.py BUILD_DIR IMAGE_ZOO TEXT_ZOO WORK_DIR [SETTING,...]
(IMAGE_ZOO: `mergefront-cli zoo --out DIR` (all five tasks); TEXT_ZOO: `mergefront-cli zoo
--example text --out DIR`)"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_common as common  # noqa: E402

BUILD, IMAGE_ZOO, TEXT_ZOO, WORK = sys.argv[1:5]
ONLY = sys.argv[5].split(",") if len(sys.argv) > 5 else None
K = 40
SEEDS = [1, 2, 3]
BUDGET = {2: 12, 3: 20}

SETTINGS = [  # name, example, tasks, tuned on
    ("img-pair", "images", ["mnist", "mnist-rot90"], True),
    ("img-pair-b", "images", ["fashion", "mnist-perm"], True),
    ("img-triple", "images", ["mnist", "mnist-rot90", "fashion"], True),
    ("img-pair-c", "images", ["fashion", "mnist-rot90"], False),
    ("img-pair-d", "images", ["mnist", "fashion-coarse"], False),
    ("img-pair-e", "images", ["mnist-perm", "fashion-coarse"], False),
    ("img-triple-c", "images", ["mnist", "fashion", "mnist-perm"], False),
    ("img-triple-d", "images", ["fashion", "fashion-coarse", "mnist-rot90"], False),
    ("text-pair", "text", ["c", "python"], True),
    ("text-pair-b", "text", ["prose", "cmake"], True),
    ("text-triple", "text", ["c", "python", "prose"], True),
    ("text-pair-c", "text", ["c", "cmake"], False),
    ("text-pair-d", "text", ["python", "prose"], False),
    ("text-triple-c", "text", ["c", "prose", "cmake"], False),
]


def use(example):
    zoo = IMAGE_ZOO if example == "images" else TEXT_ZOO
    common.configure(BUILD, zoo, os.path.join(WORK, example), example=example)


def run(name, example, tasks, seed):
    use(example)
    label = f"{name}-s{seed}"
    cached = os.path.join(common.WORK, label + "-result.json")
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    budget = BUDGET[len(tasks)]
    project = common.fresh_project(label, tasks, seed)
    explored = json.loads(common.cli("explore", project, "--budget", str(budget), "--json"))
    status = json.loads(common.cli("status", project, "--json"))
    front = common.read_rows(common.cli("front", project, "--csv"), is_text=True)
    sign = -1 if example == "text" else 1  # perplexities: lower is better
    predicted = [[sign * float(r[t]) for t in tasks] for r in front]
    chosen = [front[i] for i in common.spread(predicted, K)]
    real = common.measure(project, tasks, chosen, os.path.join(common.WORK, label + "-points.csv"))
    by_coef = {tuple(round(float(r["c:" + t]), 12) for t in tasks): r for r in real}
    per_task = {}
    for t in tasks:
        rows = []
        for r in chosen:
            m = by_coef[tuple(round(float(r["c:" + t]), 12) for t in tasks)]
            if r.get("lower:" + t, "") == "" or m[t] == "":
                continue
            rows.append((float(r[t]), float(r["lower:" + t]), float(r["upper:" + t]), float(m[t]),
                         r.get("extrapolated:" + t, "") in ("1", "true", "yes")))
        n = len(rows)
        inside = sum(lo <= y <= hi for _, lo, hi, y, _ in rows)
        rms = math.sqrt(sum((y - mu) ** 2 for mu, _, _, y, _ in rows) / n) if n else None
        width = sum(hi - lo for _, lo, hi, _, _ in rows) / n if n else None
        extrapolated = sum(e for *_, e in rows)
        missed_extrapolated = sum(e and not lo <= y <= hi for _, lo, hi, y, e in rows)
        surrogate = next((s for s in status.get("surrogates", []) if s.get("metric") == t), {})
        per_task[t] = {
            "counted": n, "coverage": inside / n if n else None, "rms": rms, "width": width,
            "ratio": width / rms if n and rms else None, "extrapolated": extrapolated,
            "missed_extrapolated": missed_extrapolated,
            "loo_inside": surrogate.get("loo_inside"), "loo_count": surrogate.get("loo_count"),
            "interval": surrogate.get("interval"), "model": surrogate.get("model"),
        }
    result = {"setting": name, "example": example, "tasks": tasks, "seed": seed,
              "budget": budget, "evaluations": explored["evaluations"],
              "provisional": explored.get("provisional"), "front_points": len(front),
              "measured": len(chosen), "per_task": per_task}
    with open(cached + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(cached + ".tmp", cached)
    print(json.dumps(result), file=sys.stderr)
    return result


results = []
for name, example, tasks, tuned in SETTINGS:
    if ONLY and name not in ONLY:
        continue
    for seed in SEEDS:
        r = run(name, example, tasks, seed)
        r["tuned"] = tuned
        results.append(r)
with open(os.path.join(WORK, "calibration-results.json"), "w") as f:
    json.dump(results, f, indent=1)


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


print("| example | tasks | tuned on | seed | evaluations | per task: coverage of K, width / RMS "
      "(width, RMS), LOO inside | extrapolated of K | provisional |")
print("|---|---|---|---:|---:|---|---:|---|")
for r in results:
    cells = []
    for t in r["tasks"]:
        p = r["per_task"][t]
        loo = (f", LOO {p['loo_inside']}/{p['loo_count']}" if p["loo_count"] is not None else "")
        ratio = "-" if p["ratio"] is None else f"{p['ratio']:.1f}"
        cells.append(f"{t} {pct(p['coverage'])}, {ratio} ({p['width']:.4g}, {p['rms']:.3g}){loo}")
    extrapolated = "/".join(str(r["per_task"][t]["extrapolated"]) for t in r["tasks"])
    print(f"| {r['example']} | {' + '.join(r['tasks'])} | {'yes' if r['tuned'] else 'no'} | "
          f"{r['seed']} | {r['evaluations']} | {'; '.join(cells)} | {extrapolated} | "
          f"{'yes' if r['provisional'] else 'no'} |")

print()
print("| task-runs | count | coverage >= 80% | lowest coverage | width / RMS <= 6 | "
      "median width / RMS | largest width / RMS |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, keep in [("all", lambda r: True), ("tuned on", lambda r: r["tuned"]),
                    ("not tuned on", lambda r: not r["tuned"]),
                    ("images", lambda r: r["example"] == "images"),
                    ("text", lambda r: r["example"] == "text"),
                    ("pairs (12 evaluations)", lambda r: len(r["tasks"]) == 2),
                    ("triples (20 evaluations)", lambda r: len(r["tasks"]) == 3)]:
    cells = [r["per_task"][t] for r in results if keep(r) for t in r["tasks"]]
    cells = [c for c in cells if c["coverage"] is not None]
    if not cells:
        continue
    ratios = sorted(c["ratio"] for c in cells if c["ratio"] is not None)
    good = sum(c["coverage"] >= 0.8 for c in cells)
    narrow = sum(x <= 6 for x in ratios)
    print(f"| {label} | {len(cells)} | {good} ({pct(good / len(cells))}) | "
          f"{pct(min(c['coverage'] for c in cells))} | {narrow} ({pct(narrow / len(ratios))}) | "
          f"{ratios[len(ratios) // 2]:.1f} | {ratios[-1]:.1f} |")
