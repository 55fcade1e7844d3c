#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluations through Slurm against the local runner (docs/BENCHMARKS.md, "Slurm").

Starts a private single-node Slurm (tests/cluster/slurm_cluster.sh) declared with 16 CPUs
(config_overrides: short sleeping jobs stand in for a wider cluster), then:
  (a) one project, Bayesian explore of 12 evaluations whose command sleeps 1 s per task (2 s
      per merge): the local runner with 2 workers against Slurm with max_jobs 2, wall times;
      and per evaluation the scheduling overhead: submission to result collected minus the
      evaluation's own seconds (what sbatch, the queue, the node's CLI start-up, the shared file
      system and the poll add);
  (b) throughput: 16 merges of 5 s each (2.5 s per task) on 16 slots with max_jobs 16.
Usage: python3 bench/run_slurm_benchmark.py BUILD_DIR [WORK_DIR]"""
import json
import os
import shlex
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)


def write_safetensors(path, values):
    raw = struct.pack("<%df" % len(values), *values)
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(raw)]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + raw)


def make_project(folder, command, runner):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "base.safetensors"), [0, 0])
    write_safetensors(os.path.join(folder, "a.safetensors"), [1, 0])
    write_safetensors(os.path.join(folder, "b.safetensors"), [0, 1])
    evaluator = {"kind": "command", "command": command, "timeout": 600}
    project = {
        "format": "mergefront-project", "version": 1, "base": "base.safetensors",
        "tasks": [{"name": t, "checkpoint": t + ".safetensors", "metric": "accuracy", "evaluator": evaluator}
                  for t in ("a", "b")],
        "map": {"mode": "bayesian", "budget": 12, "seed": 1},
    }
    if runner:
        project["runner"] = runner
    path = os.path.join(folder, "project.json")
    with open(path, "w") as f:
        json.dump(project, f, indent=1)
    return path


def timed(command, env):
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(command), result.stderr[-2000:]))
    return seconds


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    work = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="mf-slurm-bench-")
    cli = os.path.join(build, "app/cli/mergefront-cli")
    tool = os.path.join(build, "tests/metric_tool")
    cluster_dir = os.path.join(work, "cluster")
    script = os.path.join(SOURCE, "tests/cluster/slurm_cluster.sh")
    env = dict(os.environ, MERGEFRONT_SLURM_CPUS="16")
    started = subprocess.run([script, "start", cluster_dir, str(os.getpid())], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if started.returncode != 0:
        sys.exit("the benchmark cluster did not start:\n" + started.stdout)
    env["SLURM_CONF"] = os.path.join(cluster_dir, "slurm.conf")
    try:
        peaks = shlex.quote(tool) + " peaks {checkpoint} {task}"
        slurm = {"kind": "slurm", "cli": shlex.quote(cli), "max_jobs": 2, "poll_seconds": 5}
        local_project = make_project(os.path.join(work, "local"), "sleep 1; " + peaks, None)
        slurm_project = make_project(os.path.join(work, "slurm"), "sleep 1; " + peaks, slurm)
        local = timed([cli, "explore", local_project, "--workers", "2"], env)
        through = timed([cli, "explore", slurm_project], env)
        with open(slurm_project) as f:
            evaluations = json.load(f)["evaluations"]
        overhead = [e["slurm"]["submit_to_collect_seconds"] - e["seconds"] for e in evaluations]
        own = [e["seconds"] for e in evaluations]
        print("(a) Bayesian explore, 12 evaluations of about %.1f s, 2 at a time" % statistics.median(own))
        print("    local runner, 2 workers : %6.1f s" % local)
        print("    Slurm, max_jobs 2       : %6.1f s   (%.2fx the local wall time)" % (through, through / local))
        print("    overhead per evaluation : median %.2f s, max %.2f s (submission to result "
              "collected, minus the evaluation's own time)" % (statistics.median(overhead), max(overhead)))

        wide = dict(slurm, max_jobs=16)
        wide_project = make_project(os.path.join(work, "wide"), "sleep 2.5; " + peaks, wide)
        points = os.path.join(work, "wide", "points.csv")
        with open(points, "w") as f:
            f.write("c:a,c:b\n")
            for i in range(16):
                f.write("%r,%r\n" % (i / 15, 1 - i / 15))
        wall = timed([cli, "evaluate", wide_project, "--points", points, "--csv", points + ".out"], env)
        print("(b) 16 merges of 5 s on 16 slots, max_jobs 16: %.1f s (serially: 80 s)" % wall)
    finally:
        subprocess.run([script, "stop", cluster_dir], env=env)


if __name__ == "__main__":
    main()
