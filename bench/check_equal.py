#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks that two .pt merges hold the same tensors with equal values (torch.equal).
usage: check_equal.py A.pt B.pt -> prints {"equal": true|false, "max_abs_diff": x}"""
import json
import sys

import torch

a = torch.load(sys.argv[1], weights_only=True)
b = torch.load(sys.argv[2])
worst = 0.0
equal = sorted(a) == sorted(b)
for k in a:
    if k in b:
        if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape:
            equal = False
            continue
        if not torch.equal(a[k], b[k]):
            equal = False
            if a[k].is_floating_point():
                worst = max(worst, (a[k].double() - b[k].double()).abs().max().item())
print(json.dumps({"equal": equal, "max_abs_diff": worst}))
