#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does block-wise merging pay? (docs/BENCHMARKS.md, "Block-wise coefficients".) For pairs of
tasks of the image example (groups: its two backbone layers fc1 / fc2, D = 4) and of the text
example (groups: embeddings / lower blocks h.0-1 / upper blocks h.2-3 and ln_f, D = 6), through
mergefront-cli as a user runs it:
- the truth: a task-wise grid (11 levels) and a block-wise grid (LEVELS per coefficient where
  affordable), and their union's front;
- MAP-real fronts (Bayesian, seeds 1 and 2, k points spread over the predicted front,
  measured): task-wise with a budget of B evaluations, block-wise with the same B, block-wise
  with its own 3P (Bayesian MAP may stop before its budget: the samples it used are reported);
- per front: its hypervolume over the union truth's (normalized as `quality` does), IGD+.
The text example also with the blocks as one layer ramp (embeddings / ramp / ln_f, D = 8).
usage: bench/run_blockwise_benchmark.py BUILD_DIR IMAGE_ZOO TEXT_ZOO WORK_DIR [images|text|text-ramp]"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import example_common as common  # noqa: E402

BUILD, IMAGE_ZOO, TEXT_ZOO, WORK = sys.argv[1:5]
ONLY = sys.argv[5] if len(sys.argv) > 5 else None
K = 20  # verification points per MAP run
SEEDS = [1, 2]

EXAMPLES = {
    "images": dict(zoo=IMAGE_ZOO, minimize=False,
                   groups=[{"name": "fc1", "include": "^fc1\\."}, {"name": "fc2", "include": "^fc2\\."}],
                   pairs=[("mnist", "fashion"), ("mnist-rot90", "mnist-perm")], block_levels=[6, 0],
                   budget=30),
    "text": dict(zoo=TEXT_ZOO, minimize=True,
                 groups=[{"name": "embeddings", "include": "^transformer\\.w[tp]e\\."},
                         {"name": "lower", "include": "^transformer\\.h\\.[01]\\."},
                         {"name": "upper", "include": ""}],
                 pairs=[("c", "python"), ("prose", "cmake")], block_levels=[3, 0], budget=30),
    # mergekit's gradient: the blocks as one linear ramp (first and last layer), D = 2 x 4 = 8.
    "text-ramp": dict(zoo=TEXT_ZOO, minimize=True, kind="text",
                      groups=[{"name": "embeddings", "include": "^transformer\\.w[tp]e\\."},
                              {"name": "blocks", "include": "^transformer\\.h\\.", "ramp": True},
                              {"name": "rest", "include": ""}],
                      pairs=[("c", "python")], block_levels=[0], budget=30),
}


def cached(path, make):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    value = make()
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)
    return value


def project(name, tasks, groups, budget, seed=1):
    path = common.fresh_project(name, list(tasks))
    with open(path) as f:
        p = json.load(f)
    if groups:
        p["merge"]["groups"] = groups
    p["map"].update({"mode": "bayesian", "budget": budget, "seed": seed})
    with open(path, "w") as f:
        json.dump(p, f, indent=2)
    return path


def metric_rows(rows, tasks):
    return [[float(r[t]) for t in tasks] for r in rows if all(r[t] != "" for t in tasks)]


def grid_points(name, tasks, groups, levels):
    def make():
        path = project(name, tasks, groups, 0)
        csv = os.path.join(common.WORK, name + "-grid.csv")
        common.cli("grid", path, "--levels", str(levels), "--csv", csv)
        return metric_rows(common.read_rows(csv), tasks)
    return cached(os.path.join(common.WORK, name + "-grid.json"), make)


def map_real(name, tasks, groups, budget, seed):
    name += "" if seed == 1 else f"-s{seed}"

    def make():
        path = project(name, tasks, groups, budget, seed)
        common.cli("explore", path)
        front = common.read_rows(common.cli("front", path, "--csv"), is_text=True)
        predicted = [[float(r[t]) for t in tasks] for r in front]
        sign = -1 if EX["minimize"] else 1
        chosen = [front[i] for i in common.spread([[sign * v for v in p] for p in predicted], K)]
        columns = [c for c in front[0].keys() if c.startswith("c:")]
        points = os.path.join(common.WORK, name + "-points.csv")
        with open(points, "w") as f:
            f.write(",".join(columns) + "\n")
            for r in chosen:
                f.write(",".join(r[c] for c in columns) + "\n")
        real = common.read_rows(common.cli("evaluate", path, "--points", points), is_text=True)
        with open(path) as f:
            evaluations = sum(1 for e in json.load(f)["evaluations"] if e.get("kind") == "sample")
        return {"real": metric_rows(real, tasks), "samples": evaluations, "measured": len(real)}
    return cached(os.path.join(common.WORK, name + "-map.json"), make)


def quality(points, truth, tasks, label):
    label = "".join(c if c.isalnum() else "-" for c in label)
    front = os.path.join(common.WORK, label + "-front.csv")
    truth_csv = os.path.join(common.WORK, label + "-truth.csv")
    common.write_metrics(front, tasks, points)
    common.write_metrics(truth_csv, tasks, truth)
    args = ["quality", "--front", front, "--truth", truth_csv, "--json"]
    for t in tasks if EX["minimize"] else []:
        args += ["--minimize", t]
    q = json.loads(common.cli(*args))
    return {"hv_ratio": q["hypervolume"] / q["hypervolume_truth"], "igd_plus": q["igd_plus"]}


def front_of(points):
    sign = -1 if EX["minimize"] else 1
    kept = common.non_dominated([[sign * v for v in p] for p in points])
    return [[sign * v for v in p] for p in kept]


results = {}
for example, EX in EXAMPLES.items():
    if ONLY and example != ONLY:
        continue
    common.configure(BUILD, EX["zoo"], os.path.join(WORK, example), example=EX.get("kind", example))
    for (a, b), levels in zip(EX["pairs"], EX["block_levels"]):
        tasks = [a, b]
        key = f"{example}:{a}+{b}"
        truth_task = grid_points(f"{a}-{b}-taskwise", tasks, None, 11)
        truth_block = grid_points(f"{a}-{b}-blockwise", tasks, EX["groups"], levels) if levels else []
        d = 2 * sum(2 if g.get("ramp") else 1 for g in EX["groups"])
        own = 3 * (d + 1) * (d + 2) // 2
        runs = {}
        for seed in SEEDS:
            runs[f"task-wise MAP, seed {seed}"] = map_real(f"{a}-{b}-taskwise-map", tasks, None,
                                                           EX["budget"], seed)
            runs[f"block-wise MAP, same budget, seed {seed}"] = map_real(
                f"{a}-{b}-blockwise-map", tasks, EX["groups"], EX["budget"], seed)
            runs[f"block-wise MAP, its 3P, seed {seed}"] = map_real(
                f"{a}-{b}-blockwise-map-{own}", tasks, EX["groups"], own, seed)
        union = front_of(truth_task + truth_block + [p for r in runs.values() for p in r["real"]])
        row = {"truth points": len(union), "block-wise grid levels": levels}
        row["task-wise grid (121)"] = quality(front_of(truth_task), union, tasks, key + "-tg")
        if truth_block:
            row[f"block-wise grid ({len(truth_block)})"] = quality(front_of(truth_block), union, tasks,
                                                                key + "-bg")
        for name, run in runs.items():
            row[name] = dict(quality(front_of(run["real"]), union, tasks, key + "-" + name),
                             samples=run["samples"], measured=run["measured"])
        results[key] = row
        print(key, json.dumps(row, indent=1), flush=True)

with open(os.path.join(WORK, "results-" + (ONLY or "all") + ".json"), "w") as f:
    json.dump(results, f, indent=2)
