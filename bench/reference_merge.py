#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The same merge as `mergefront-cli merge`, done the way the MAP reference code and
task_vectors do it in Python PyTorch: load every state dict, build each task vector
(theta_t - theta_0), scale, sum, add to the base, torch.save the result.
usage: reference_merge.py BASE OUT C1,C2,... TASK1 TASK2 ...   (prints seconds as JSON)
MERGEFRONT_REF_THREADS=N sets torch's thread count (Debian's torch defaults to 1)."""
import json
import os
import sys
import time

import torch


def main():
    base_path, out_path, coefs = sys.argv[1], sys.argv[2], [float(c) for c in sys.argv[3].split(",")]
    task_paths = sys.argv[4:]
    if os.environ.get("MERGEFRONT_REF_THREADS"):
        torch.set_num_threads(int(os.environ["MERGEFRONT_REF_THREADS"]))
    start = time.perf_counter()
    base = torch.load(base_path)
    tasks = [torch.load(p) for p in task_paths]
    with torch.no_grad():
        vectors = []
        for t in tasks:
            vectors.append({k: t[k] - base[k] for k in base
                            if base[k].is_floating_point() and k in t and t[k].shape == base[k].shape})
        merged = {}
        for k, v in base.items():
            if all(k in tv for tv in vectors):
                merged[k] = v + sum(c * tv[k] for c, tv in zip(coefs, vectors))
            else:
                merged[k] = v
    torch.save(merged, out_path)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
