#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fronts a user can trust, on the example zoo (real MNIST / Fashion-MNIST fine-tunes), one run:
- ground truth: an 11-level grid for 2 and 3 tasks, a 7-level grid for 4, the best of 2000
  random merges for all 5 (its non-dominated set);
- MAP at the issue's budgets (2 tasks: 12, 3: 20, 4: 30; 5 tasks nested, and Bayesian at 90),
  Bayesian with expected hypervolume improvement (the default), Bayesian with today's
  uncertainty rule, and plain; seeds 1 and 2; each run in a fresh project;
- MAP-real: k points spread over each predicted front measured for real: IGD+, hypervolume
  ratio to the truth's, IGD beside its floor at k;
- calibration: the share of those measurements inside their nominal 90% interval, per task;
- task combinations tuned on (mnist + mnist-rot90 [+ fashion]) and not (the others).
Everything through mergefront-cli. usage: bench/run_trust_benchmark.py BUILD_DIR ZOO_DIR WORK_DIR
(ZOO_DIR: a zoo with all five tasks, `mergefront-cli zoo --out ZOO_DIR`)."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from example_common import (cli, configure, fresh_project, interval_coverage,  # noqa: E402
                            measure, non_dominated, predicted_front, quality, read_rows, spread,
                            write_metrics)

BUILD, ZOO, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
configure(BUILD, ZOO, WORK)
ONLY = sys.argv[4].split(",") if len(sys.argv) > 4 else None

SETTINGS = [  # name, tasks, truth, budget, points measured per run, tuned on
    ("pair", ["mnist", "mnist-rot90"], ("grid", 11), 12, 60, True),
    ("pair-b", ["fashion", "mnist-perm"], ("grid", 11), 12, 60, False),
    ("triple", ["mnist", "mnist-rot90", "fashion"], ("grid", 11), 20, 150, True),
    ("triple-b", ["mnist-perm", "fashion-coarse", "mnist-rot90"], ("grid", 11), 20, 150, False),
    ("four", ["mnist", "mnist-rot90", "fashion", "mnist-perm"], ("grid", 7), 30, 200, False),
    ("five", ["mnist", "fashion", "mnist-rot90", "mnist-perm", "fashion-coarse"],
     ("random", 2000), 90, 200, False),
]
MODES = [("bayesian", "ehvi"), ("bayesian", "uncertainty"), ("plain", None)]
SEEDS = [1, 2]


def truth_of(name, tasks, kind, size):
    """The truth's metrics (non-dominated set of the grid or the random merges) as a CSV."""
    truth_csv = os.path.join(WORK, f"{name}-truth.csv")
    all_csv = os.path.join(WORK, f"{name}-{kind}.csv")
    project = os.path.join(WORK, f"{name}-{kind}.json")
    if not os.path.exists(all_csv):
        if not os.path.exists(project):
            fresh_project(f"{name}-{kind}", tasks)
        if kind == "grid":
            print(f"[{name}] grid of {size ** len(tasks)} merges ...", file=sys.stderr)
            cli("grid", project, "--levels", str(size), "--csv", all_csv)
        else:
            rng = random.Random(7)
            points_csv = os.path.join(WORK, f"{name}-random-points.csv")
            with open(points_csv, "w") as f:
                f.write(",".join("c:" + t for t in tasks) + "\n")
                for _ in range(size):
                    f.write(",".join(repr(rng.random()) for _ in tasks) + "\n")
            print(f"[{name}] {size} random merges ...", file=sys.stderr)
            cli("evaluate", project, "--points", points_csv, "--csv", all_csv)
    rows = [[float(r[t]) for t in tasks] for r in read_rows(all_csv)]
    truth = non_dominated(rows)
    write_metrics(truth_csv, tasks, truth)
    return truth_csv, truth, len(rows)


def floors_at(name, tasks, truth, truth_csv, k):
    """What any front measured at k points cannot beat: the truth's own best-spread k points
    against the whole truth (IGD, IGD+, hypervolume ratio): the measurement's resolution."""
    subset_csv = os.path.join(WORK, f"{name}-truth-{k}.csv")
    write_metrics(subset_csv, tasks, [truth[i] for i in spread(truth, k)])
    q = quality(subset_csv, truth_csv)
    return {"igd": q["igd"], "igd_plus": q["igd_plus"],
            "hv_ratio": q["hypervolume"] / q["hypervolume_truth"]}


def run(name, tasks, mode, acquisition, budget, seed, k, truth_csv, truth):
    label = f"{name}-{mode}{'-' + acquisition if acquisition else ''}-{budget}-s{seed}"
    cached = os.path.join(WORK, label + "-result.json")
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    project = fresh_project(label, tasks, seed)
    args = ["explore", project, "--budget", str(budget), "--mode", mode, "--json"]
    if acquisition:
        args += ["--acquisition", acquisition]
    explored = json.loads(cli(*args))
    front, predicted = predicted_front(project, tasks)
    chosen = [front[i] for i in spread(predicted, k)]
    real = measure(project, tasks, chosen, os.path.join(WORK, label + "-points.csv"))
    # Calibration: each verification measurement against its predicted 90% interval.
    inside, counted, width = interval_coverage(chosen, real, tasks)
    real_front = non_dominated([[float(r[t]) for t in tasks] for r in real if all(r[t] for t in tasks)])
    real_csv = os.path.join(WORK, label + "-real.csv")
    write_metrics(real_csv, tasks, real_front)
    q = quality(real_csv, truth_csv)
    result = {
        "setting": name, "tasks": tasks, "mode": mode, "acquisition": acquisition,
        "budget": budget, "seed": seed, "evaluations": explored["evaluations"],
        "provisional": explored.get("provisional"),
        "models": {s["metric"]: s["model"] for s in explored["surrogates"]},
        "loo": {s["metric"]: s["loo_rmse"] for s in explored["surrogates"]},
        "loo_quadratic": {s["metric"]: s["loo_rmse_quadratic"] for s in explored["surrogates"]},
        "front_points": len(front), "measured": len(chosen),
        "igd_plus": q["igd_plus"], "igd": q["igd"], "hv": q["hypervolume"],
        "hv_truth": q["hypervolume_truth"], "hv_ratio": q["hypervolume"] / q["hypervolume_truth"],
        "coverage": {t: inside[t] / counted[t] if counted[t] else None for t in tasks},
        "counted": counted,
        # How far the predicted front claims beyond the best the truth reached, per task
        # (all metrics here are accuracies, maximized).
        "overclaim": {t: max(p[j] for p in predicted) - max(p[j] for p in truth)
                      for j, t in enumerate(tasks)},
        "width": {t: width[t] / counted[t] if counted[t] else None for t in tasks},
    }
    with open(cached, "w") as f:
        json.dump(result, f)
    print(json.dumps(result), file=sys.stderr)
    return result


results, floors, truths = [], {}, {}
for name, tasks, (kind, size), budget, k, tuned in SETTINGS:
    if ONLY and name not in ONLY:
        continue
    truth_csv, truth, measured = truth_of(name, tasks, kind, size)
    truths[name] = (kind, measured, len(truth))
    floors[name] = floors_at(name, tasks, truth, truth_csv, k)
    modes = MODES if name != "five" else [("nested", None), ("bayesian", "ehvi")]
    for mode, acquisition in modes:
        for seed in SEEDS:
            results.append(run(name, tasks, mode, acquisition, budget, seed, k, truth_csv, truth))

with open(os.path.join(WORK, "trust-results.json"), "w") as f:
    json.dump({"runs": results, "floors": floors, "truths": truths}, f, indent=1)

print("| tasks | tuned on | truth | mode | evaluations | IGD+ MAP-real (floor at k) | HV ratio (at k) "
      "| IGD (floor at k) | k | 90% coverage per task | surrogates |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---|---|")
for name, tasks, (kind, size), budget, k, tuned in SETTINGS:
    if name not in truths:
        continue
    modes = MODES if name != "five" else [("nested", None), ("bayesian", "ehvi")]
    for mode, acquisition in modes:
        rows = [r for r in results if r["setting"] == name and r["mode"] == mode
                and r["acquisition"] == acquisition]
        if not rows:
            continue
        fmt = lambda key: "/".join(f"{r[key]:.4f}" for r in rows)
        coverage = ", ".join(
            f"{t} " + "/".join("-" if r["coverage"][t] is None else f"{100 * r['coverage'][t]:.0f}%"
                               for r in rows) for t in tasks)
        models = ", ".join(sorted({m for r in rows for m in r["models"].values()}))
        truth_text = (f"{size}-level grid ({truths[name][1]})" if kind == "grid"
                      else f"best of {truths[name][1]} random")
        label = mode + (f" ({acquisition})" if acquisition else "")
        evaluations = "/".join(str(r["evaluations"]) for r in rows)
        print(f"| {' + '.join(tasks)} | {'yes' if tuned else 'no'} | {truth_text} | {label} | "
              f"{evaluations} | {fmt('igd_plus')} ({floors[name]['igd_plus']:.4f}) | "
              f"{fmt('hv_ratio')} ({floors[name]['hv_ratio']:.4f}) | {fmt('igd')} "
              f"({floors[name]['igd']:.4f}) | {k} | {coverage} | {models} |")

# Calibration pooled per task (every run and mode of a setting) and per task count.
print()
print("| tasks | task | measurements | inside the 90% interval | mean interval width |")
print("|---|---|---:|---:|---:|")
for name, tasks, *_ in SETTINGS:
    rows = [r for r in results if r["setting"] == name]
    for t in tasks if rows else []:
        n = sum(r["counted"][t] for r in rows)
        inside = sum((r["coverage"][t] or 0) * r["counted"][t] for r in rows)
        width = sum((r["width"][t] or 0) * r["counted"][t] for r in rows)
        print(f"| {' + '.join(tasks)} | {t} | {n} | {100 * inside / n:.1f}% | {width / n:.4f} |")
print()
print("| tasks | runs | measurements | inside the 90% interval | per task (min-max over runs) |")
print("|---:|---:|---:|---:|---|")
for count in sorted({len(r["tasks"]) for r in results}):
    rows = [r for r in results if len(r["tasks"]) == count]
    total = sum(sum(r["counted"].values()) for r in rows)
    inside = sum(sum((r["coverage"][t] or 0) * r["counted"][t] for t in r["tasks"]) for r in rows)
    shares = [r["coverage"][t] for r in rows for t in r["tasks"] if r["coverage"][t] is not None]
    print(f"| {count} | {len(rows)} | {total} | {100 * inside / total:.1f}% | "
          f"{100 * min(shares):.0f}%-{100 * max(shares):.0f}% |")

# Ends of the predicted fronts against the truth's best per task.
print()
print("| tasks | largest predicted minus the truth's best, per task (max over runs and modes) |")
print("|---|---|")
for name, tasks, *_ in SETTINGS:
    rows = [r for r in results if r["setting"] == name]
    if rows:
        print(f"| {' + '.join(tasks)} | " + ", ".join(
            f"{t} {max(r['overclaim'][t] for r in rows):+.4f}" for t in tasks) + " |")

# The acquisitions on equal budgets: mean over seeds, per setting.
print()
print("| tasks | budget | IGD+ EHVI / uncertainty / plain | HV ratio EHVI / uncertainty / plain |")
print("|---|---:|---|---|")
for name, tasks, truth, budget, k, tuned in SETTINGS:
    cells = {}
    for mode, acquisition in MODES:
        rows = [r for r in results if r["setting"] == name and r["mode"] == mode
                and r["acquisition"] == acquisition]
        if rows:
            cells[(mode, acquisition)] = (sum(r["igd_plus"] for r in rows) / len(rows),
                                          sum(r["hv_ratio"] for r in rows) / len(rows))
    if len(cells) == len(MODES):
        igd = " / ".join(f"{cells[m][0]:.4f}" for m in MODES)
        hv = " / ".join(f"{cells[m][1]:.4f}" for m in MODES)
        print(f"| {' + '.join(tasks)} | {budget} | {igd} | {hv} |")
