# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the example benchmarks: mergefront-cli calls, fresh projects over the
example zoo, CSV rows, non-dominated sets, front points spread for measuring, front quality and
the IGD floor at k measured points."""
import csv
import json
import os
import subprocess
import sys

CLI = None
ZOO = None
WORK = None
EXAMPLE = "images"
ARCH = None


def configure(build, zoo, work, example="images", arch=None):
    """example: the zoo's kind ("images" or "text", as `zoo --example` takes it); arch: the
    text example's architecture (`zoo --arch`: gpt2, llama), None for the default."""
    global CLI, ZOO, WORK, EXAMPLE, ARCH
    CLI = os.path.join(build, "app", "cli", "mergefront-cli")
    ZOO, WORK, EXAMPLE, ARCH = zoo, work, example, arch
    os.makedirs(WORK, exist_ok=True)


def cli(*args, capture=True):
    run = subprocess.run([CLI, *args], capture_output=capture, text=True)
    if run.returncode != 0:
        sys.exit(f"mergefront-cli {' '.join(args)} failed: {run.stderr}")
    return run.stdout


def fresh_project(name, tasks, seed=1):
    path = os.path.join(WORK, name + ".json")
    if os.path.exists(path):
        os.remove(path)
    cli("zoo", "--example", EXAMPLE, *(["--arch", ARCH] if ARCH else []), "--out", ZOO, "--tasks",
        ",".join(tasks), "--project", path)
    with open(path) as f:
        project = json.load(f)
    project["map"]["seed"] = seed
    with open(path, "w") as f:
        json.dump(project, f, indent=2)
    return path


def read_rows(path_or_text, is_text=False):
    lines = path_or_text.splitlines() if is_text else open(path_or_text).read().splitlines()
    return list(csv.DictReader(lines))


def non_dominated(points):
    """The points no other point beats in every coordinate (all maximized)."""
    return [p for p in points
            if not any(all(q[k] >= p[k] for k in range(len(p))) and q != p for q in points)]


def write_metrics(path, tasks, points):
    with open(path, "w") as f:
        f.write(",".join(tasks) + "\n")
        for p in points:
            f.write(",".join(repr(v) for v in p) + "\n")


def spread(points, k):
    """Indices of k points spread over the front: each metric's best first, then greedily the
    point farthest (range-normalized) from those chosen, as a user sampling the front would."""
    dims = range(len(points[0]))
    lo = [min(p[d] for p in points) for d in dims]
    span = [max(p[d] for p in points) - lo[d] or 1.0 for d in dims]
    scaled = [[(p[d] - lo[d]) / span[d] for d in dims] for p in points]
    chosen = []
    for d in dims:
        best = max(range(len(points)), key=lambda i: points[i][d])
        if best not in chosen:
            chosen.append(best)
    distance = [min(sum((a - b) ** 2 for a, b in zip(scaled[i], scaled[j])) for j in chosen)
                for i in range(len(points))]
    while len(chosen) < min(k, len(points)):
        far = max(range(len(points)), key=lambda i: distance[i])
        chosen.append(far)
        distance = [min(distance[i], sum((a - b) ** 2 for a, b in zip(scaled[i], scaled[far])))
                    for i in range(len(points))]
    return chosen


def quality(front_csv, truth_csv):
    return json.loads(cli("quality", "--front", front_csv, "--truth", truth_csv, "--json"))


def floor_igd(truth, k):
    """IGD against the truth of the truth's own best-spread k points: what any front measured
    at k points cannot beat (the measurement's resolution, not MAP's error)."""
    dims = range(len(truth[0]))
    lo = [min(p[d] for p in truth) for d in dims]
    span = [max(p[d] for p in truth) - lo[d] or 1.0 for d in dims]
    scaled = [[(p[d] - lo[d]) / span[d] for d in dims] for p in truth]
    subset = [scaled[i] for i in spread(truth, k)]
    return sum(min(sum((a - b) ** 2 for a, b in zip(t, s)) ** 0.5 for s in subset)
               for t in scaled) / len(scaled)


def predicted_front(project, tasks):
    """The project's predicted front (`front --csv` rows) and its predicted metrics."""
    front = read_rows(cli("front", project, "--csv"), is_text=True)
    return front, [[float(r[t]) for t in tasks] for r in front]


def interval_coverage(chosen, real, tasks):
    """Each verification measurement (`real`, measure()'s rows) against the 90% interval its
    front row (`chosen`, front --csv rows) predicted: per task, how many fell inside, how many
    were counted (both ends and the measurement known), and the intervals' summed width."""
    by_coef = {tuple(round(float(r["c:" + t]), 12) for t in tasks): r for r in real}
    inside = {t: 0 for t in tasks}
    counted = {t: 0 for t in tasks}
    width = {t: 0.0 for t in tasks}
    for r in chosen:
        measured = by_coef[tuple(round(float(r["c:" + t]), 12) for t in tasks)]
        for t in tasks:
            if r["lower:" + t] == "" or measured[t] == "":
                continue
            lo, hi, y = float(r["lower:" + t]), float(r["upper:" + t]), float(measured[t])
            counted[t] += 1
            inside[t] += lo <= y <= hi
            width[t] += hi - lo
    return inside, counted, width


def measure(project, tasks, rows, points_csv):
    """Measures the merges of `rows` (their c:<task> columns, written to points_csv) for real;
    returns `evaluate --points`' rows."""
    with open(points_csv, "w") as f:
        f.write(",".join("c:" + t for t in tasks) + "\n")
        for r in rows:
            f.write(",".join(r["c:" + t] for t in tasks) + "\n")
    return read_rows(cli("evaluate", project, "--points", points_csv), is_text=True)
