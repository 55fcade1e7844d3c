#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The MAP engine's benchmarks of docs/BENCHMARKS.md, in one run: speed of fits, fronts and
# selection for N = 2, 4, 8, and evaluations used by plain vs Bayesian MAP to reach a front
# quality on the merging-like analytic problem (brute-force grid as the truth).
# usage: bench/run_map_benchmarks.sh [BUILD_DIR]    (./run.sh bench runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
BENCH=$BUILD/bench/mergefront-bench-map
PY=/usr/bin/python3
speed=$(for _ in 1 2 3; do "$BENCH" speed; done)
efficiency=$("$BENCH" efficiency)
"$PY" - "$speed" "$efficiency" <<'PYEOF'
import json, sys
speed = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
eff = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
print("Speed (median of 3 runs; analytic `peaks` problem, N tasks = N metrics, 2P samples):\n")
print("| N | samples | surrogates | fit all surrogates (ms) | front (ms) | front points | refit + front (ms) | selection of a front point (ms) | selection on the surrogates (ms) |")
print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
for n in sorted({r["n"] for r in speed}):
    rows = sorted((r for r in speed if r["n"] == n), key=lambda r: r["refit_plus_front_ms"])
    r = rows[len(rows) // 2]
    models = ", ".join(sorted(set(r["models"].split(","))))
    print(f"| {n} | {r['samples']} | {models} | {r['fit_ms']:.2f} | {r['front_ms']:.1f} | "
          f"{r['front_points']} | {r['refit_plus_front_ms']:.1f} | {r['select_ms']:.4f} | "
          f"{r['select_surrogates_ms']:.3f} |")
print()
targets = {2: 0.01, 3: 0.05}
print("Sample efficiency (merging-like problem; fronts re-evaluated for real, IGD normalized "
      "by the grid front's range):\n")
print("| N | seed | target IGD | evaluations, plain MAP | evaluations, Bayesian MAP | grid evaluations |")
print("|---:|---:|---:|---:|---:|---:|")
for n in sorted({r["n"] for r in eff}):
    for seed in sorted({r["seed"] for r in eff if r["n"] == n}):
        rows = sorted((r for r in eff if r["n"] == n and r["seed"] == seed), key=lambda r: r["budget"])
        def first(key, evals):
            for r in rows:
                if r[key] <= targets[n]:
                    return str(r[evals])
            return f"> {rows[-1][evals]}"
        print(f"| {n} | {seed} | {targets[n]} | {first('plain_igd', 'plain_evaluations')} | "
              f"{first('bayes_igd', 'bayes_evaluations')} | {rows[0]['grid_evaluations']} |")
print()
print("IGD by budget (plain / Bayesian), seed 1:\n")
print("| N | budget | plain IGD | Bayesian IGD |")
print("|---:|---:|---:|---:|")
for r in eff:
    if r["seed"] == 1:
        print(f"| {r['n']} | {r['budget']} | {r['plain_igd']:.4f} | {r['bayes_igd']:.4f} |")
PYEOF
