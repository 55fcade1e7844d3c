#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the TorchScript evaluator's test, written by Python PyTorch (Debian's
python3-torch 1.13): a base MLP and two fine-tunes with their own heads (3 and 2 classes),
as state dicts, as TorchScript modules (architecture + the task's own head), evaluation data
as safetensors (inputs, targets), the accuracies Python computes for known merges, and a
module that fails on every merge (refusing.module.pt, b's weights).
Run: python3 tests/data/make_torch_fixtures.py (outputs are committed)."""
import json
import os
import struct

import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
os.makedirs(HERE, exist_ok=True)


class Net(torch.nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.body = torch.nn.Linear(6, 16)
        self.head = torch.nn.Linear(16, classes)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))

    @torch.jit.export
    def evaluate(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (self.forward(inputs).argmax(1) == targets).float().mean() * 100.0


class Refusing(Net):
    """An evaluator module that fails on every merge (how an evaluator with a bug looks from
    Mergefront: the interpreter raises). The GUI test runs a project with it."""

    @torch.jit.export
    def evaluate(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if bool(inputs.numel() > 0):
            raise RuntimeError("refusing module: it fails on every merge (a test fixture)")
        return inputs.sum()


def write_refusing_module(model):
    refusing = Refusing(model.head.out_features)
    refusing.load_state_dict(model.state_dict())
    torch.jit.save(torch.jit.script(refusing), os.path.join(HERE, "refusing.module.pt"))


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(0)
    base = Net(4)
    tasks = {"a": 3, "b": 2}
    data, models = {}, {}
    for i, (name, classes) in enumerate(tasks.items()):
        g = torch.Generator().manual_seed(10 + i)
        x = torch.randn(300, 6, generator=g)
        w = torch.randn(6, classes, generator=g)
        y = (x @ w).argmax(1)
        model = Net(classes)
        model.body.load_state_dict(base.body.state_dict())
        opt = torch.optim.SGD(model.parameters(), lr=0.2)
        for _ in range(150):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        torch.save(model.state_dict(), os.path.join(HERE, f"{name}.pt"))
        torch.jit.save(torch.jit.script(model), os.path.join(HERE, f"{name}.module.pt"))
        save_safetensors(os.path.join(HERE, f"{name}.data.safetensors"), {"inputs": x, "targets": y})
        data[name], models[name] = (x, y), model
    torch.save({k: v for k, v in base.state_dict().items()}, os.path.join(HERE, "base.pt"))
    write_refusing_module(models["b"])

    # Expected metrics of merges: body = base + Σ c_t (body_t − base); each task keeps its head.
    expected = {}
    for coefficients in ([1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 0.0]):
        key = ",".join(str(c) for c in coefficients)
        expected[key] = {}
        for name in tasks:
            model = Net(tasks[name])
            model.load_state_dict(models[name].state_dict())
            with torch.no_grad():
                for param in ("weight", "bias"):
                    b = getattr(base.body, param)
                    merged = b + sum(c * (getattr(models[t].body, param) - b) for c, t in zip(coefficients, tasks))
                    getattr(model.body, param).copy_(merged)
                x, y = data[name]
                logits = model(x)
                expected[key][name] = {
                    "accuracy": (logits.argmax(1) == y).float().mean().item(),
                    "cross_entropy": torch.nn.functional.cross_entropy(logits, y).item(),
                    "evaluate": model.evaluate(x, y).item(),
                }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
