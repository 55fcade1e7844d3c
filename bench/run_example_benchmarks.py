#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""MAP end to end on the example project (real MNIST / Fashion-MNIST fine-tunes), in one run:
an 11-level grid as ground truth; plain and Bayesian MAP at several budgets and seeds, each in
a fresh project (no evaluation shared); surrogate R2; IGD and hypervolume of MAP's predicted
front and of the same front points measured for real ("MAP, real") against the grid's
non-dominated set. Everything goes through mergefront-cli, as a user would run it.
usage: bench/run_example_benchmarks.py BUILD_DIR [WORK_DIR]   (./run.sh bench runs it)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from example_common import (cli, configure, floor_igd, fresh_project, measure,  # noqa: E402
                            non_dominated, predicted_front, quality, read_rows, spread,
                            write_metrics)

BUILD = sys.argv[1]
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(BUILD, "bench-example")
ZOO = os.path.join(BUILD, "example")
configure(BUILD, ZOO, WORK)
LEVELS = 11
REAL_POINTS = {2: 60, 3: 100}  # front points measured for real per run (IGD needs a dense front)
DENSE_POINTS = {2: 150, 3: 400}  # and once, densely
SETTINGS = {
    "two": (["mnist", "mnist-rot90"], [6, 9, 12]),
    "three": (["mnist", "mnist-rot90", "fashion"], [10, 20, 30, 45]),
}
SEEDS = [1, 2, 3]

def map_run(setting, tasks, mode, budget, seed, real_points, truth_csv, grid, grid_seconds):
    name = f"{setting}-{mode}-{budget}-s{seed}-k{real_points}"
    cached = os.path.join(WORK, name + "-result.json")
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    project = fresh_project(name, tasks, seed)
    explored = json.loads(cli("explore", project, "--budget", str(budget), "--mode", mode, "--json"))
    front, predicted = predicted_front(project, tasks)
    predicted_csv = os.path.join(WORK, name + "-predicted.csv")
    write_metrics(predicted_csv, tasks, predicted)
    chosen = [front[i] for i in spread(predicted, real_points)]
    real = measure(project, tasks, chosen, os.path.join(WORK, name + "-points.csv"))
    real_points_found = non_dominated([[float(r[t]) for t in tasks] for r in real])
    real_csv = os.path.join(WORK, name + "-real.csv")
    write_metrics(real_csv, tasks, real_points_found)
    q_pred, q_real = quality(predicted_csv, truth_csv), quality(real_csv, truth_csv)
    result = {"setting": setting, "tasks": tasks, "mode": mode, "budget": budget, "seed": seed,
              "evaluations": explored["evaluations"],
              "r2": {s["metric"]: s["r2"] for s in explored["surrogates"]},
              "front_points": len(front), "real_points": len(chosen),
              "igd_predicted": q_pred["igd"], "hv_predicted": q_pred["hypervolume"],
              "igd_real": q_real["igd"], "hv_real": q_real["hypervolume"],
              "hv_truth": q_real["hypervolume_truth"], "grid_evaluations": len(grid),
              "grid_seconds_median": sorted(grid_seconds)[len(grid_seconds) // 2]}
    with open(cached, "w") as f:
        json.dump(result, f)
    print(json.dumps(result), file=sys.stderr)
    return result


results, dense, floors = [], [], {}
for setting, (tasks, budgets) in SETTINGS.items():
    grid_project = os.path.join(WORK, f"{setting}-grid.json")
    grid_csv = os.path.join(WORK, f"{setting}-grid.csv")
    if not os.path.exists(grid_csv):
        if not os.path.exists(grid_project):  # else: resume, the project caches what was done
            fresh_project(f"{setting}-grid", tasks)
        print(f"[{setting}] grid of {LEVELS ** len(tasks)} evaluations ...", file=sys.stderr)
        cli("grid", grid_project, "--levels", str(LEVELS), "--csv", grid_csv)
    grid = [[float(r[t]) for t in tasks] for r in read_rows(grid_csv)]
    truth = non_dominated(grid)
    truth_csv = os.path.join(WORK, f"{setting}-truth.csv")
    write_metrics(truth_csv, tasks, truth)
    with open(grid_project) as f:
        grid_seconds = [e["seconds"] for e in json.load(f)["evaluations"] if e["kind"] == "grid"]
    k = REAL_POINTS[len(tasks)]
    floors[setting] = {k: floor_igd(truth, k)}
    for mode in ["plain", "bayesian"]:
        for budget in budgets:
            for seed in SEEDS:
                results.append(map_run(setting, tasks, mode, budget, seed, k, truth_csv, grid,
                                       grid_seconds))
    # The same MAP front measured densely (DENSE_POINTS front points, seed 1, Bayesian at the
    # largest budget tried): how close MAP-real gets once the measurement resolves it.
    kd = DENSE_POINTS[len(tasks)]
    floors[setting][kd] = floor_igd(truth, kd)
    dense.append(map_run(setting, tasks, "bayesian", budgets[-1], 1, kd, truth_csv, grid,
                         grid_seconds))

with open(os.path.join(WORK, "results.json"), "w") as f:
    json.dump({"runs": results, "dense": dense, "floors": floors}, f, indent=1)

print("| tasks | mode | MAP evaluations | seeds | R² per task (mean) | IGD predicted | IGD MAP-real "
      "(k points) | floor at k | HV predicted | HV MAP-real | HV grid front | grid evaluations |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for setting, (tasks, budgets) in SETTINGS.items():
    for mode in ["plain", "bayesian"]:
        for budget in budgets:
            rows = [r for r in results if r["setting"] == setting and r["mode"] == mode
                    and r["budget"] == budget]
            mean = lambda key: sum(r[key] for r in rows) / len(rows)
            worst_igd = max(r["igd_real"] for r in rows)
            r2 = ", ".join(f"{t} {sum(r['r2'][t] for r in rows) / len(rows):.3f}" for t in tasks)
            k = rows[0]["real_points"]
            print(f"| {' + '.join(tasks)} | {mode} | {budget} | {len(rows)} | {r2} | "
                  f"{mean('igd_predicted'):.4f} | {mean('igd_real'):.4f} (worst {worst_igd:.4f}, "
                  f"k = {k}) | {floors[setting][REAL_POINTS[len(tasks)]]:.4f} | "
                  f"{mean('hv_predicted'):.4f} | {mean('hv_real'):.4f} | {rows[0]['hv_truth']:.4f} | "
                  f"{rows[0]['grid_evaluations']} |")
print()
print("Measured densely (Bayesian, seed 1):\n")
print("| tasks | MAP evaluations | front points measured | IGD MAP-real | floor at that k | "
      "HV MAP-real | HV grid front |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in dense:
    print(f"| {' + '.join(r['tasks'])} | {r['evaluations']} | {r['real_points']} | "
          f"{r['igd_real']:.4f} | {floors[r['setting']][r['real_points']]:.4f} | "
          f"{r['hv_real']:.4f} | {r['hv_truth']:.4f} |")
