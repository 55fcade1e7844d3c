#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the small checkpoint fixtures the tests read, with Python PyTorch (Debian's
python3-torch 1.13) and an independent pure-Python safetensors writer, plus the values
the tests expect. Run from anywhere: python3 tests/data/make_fixtures.py (the outputs are
committed; rerun only to change them)."""
import collections
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
expected = {}


def record(file, tensors):
    entry = {}
    for name, t in tensors.items():
        values = t.detach().reshape(-1)
        values = values.to(torch.float64) if values.is_floating_point() else values.to(torch.int64)
        entry[name] = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape),
                       "values": values.tolist()}
    expected[file] = entry


SAFETENSORS_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                     torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
                     torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors_independently(path, tensors, metadata):
    """A second implementation of the format, from its specification: tensors in name
    order (not the reference writer's order), JSON header padded with spaces to 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def main():
    g = torch.Generator().manual_seed(1234)

    mixed = collections.OrderedDict()
    mixed["weight"] = torch.randn(3, 5, generator=g)
    mixed["half"] = torch.randn(6, generator=g).half()
    mixed["brain"] = torch.randn(2, 3, generator=g).bfloat16()
    mixed["double"] = torch.randn(4, generator=g).double()
    mixed["ids"] = torch.tensor([1, -2, 3], dtype=torch.int64)
    mixed["mask"] = torch.tensor([True, False, True])
    mixed["scalar"] = torch.tensor(2.5)
    mixed["empty"] = torch.zeros(0, 3)
    write_safetensors_independently(os.path.join(HERE, "python_written.safetensors"), mixed,
                                    {"format": "pt", "writer": "python"})
    record("python_written.safetensors", mixed)

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                torch.nn.Embedding(5, 2))
    torch.manual_seed(7)
    torch.nn.init.normal_(model[1].weight)
    sd = model.state_dict()
    torch.save(sd, os.path.join(HERE, "state_dict.pt"))
    record("state_dict.pt", sd)

    one = {"only": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save(one, os.path.join(HERE, "one_entry.pt"))
    record("one_entry.pt", one)

    x = torch.arange(12, dtype=torch.float32)
    views = collections.OrderedDict(full=x, tail=x[2:], transposed=x.view(3, 4).t())
    torch.save(views, os.path.join(HERE, "views.pt"))
    record("views.pt", views)

    params = {"p": torch.nn.Parameter(torch.randn(2, 2, generator=g))}
    torch.save(params, os.path.join(HERE, "parameters.pt"))
    record("parameters.pt", params)

    torch.save({"state_dict": one, "epoch": 3}, os.path.join(HERE, "wrapped.pt"))
    record("wrapped.pt", one)

    dtypes = collections.OrderedDict()
    dtypes["f16"] = torch.tensor([1.5, -0.25], dtype=torch.float16)
    dtypes["bf16"] = torch.tensor([3.0, -7.5], dtype=torch.bfloat16)
    dtypes["f64"] = torch.tensor([1e-300, 2.0], dtype=torch.float64)
    dtypes["b"] = torch.tensor([True, False])
    dtypes["i8"] = torch.tensor([-5, 7], dtype=torch.int8)
    dtypes["u8"] = torch.tensor([250, 1], dtype=torch.uint8)
    dtypes["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    dtypes["i32"] = torch.tensor([-70000, 70000], dtype=torch.int32)
    dtypes["zero_d"] = torch.tensor(4.0)
    dtypes["empty"] = torch.zeros(2, 0)
    torch.save(dtypes, os.path.join(HERE, "dtypes.pt"))
    record("dtypes.pt", dtypes)

    torch.save(one, os.path.join(HERE, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(HERE, "torchscript.pt"))
    torch.save({"w": torch.zeros(2), "evil": Evil()}, os.path.join(HERE, "malicious.pt"))

    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
