#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A command evaluator that accepts only what transformers' from_pretrained would load: a
model folder with a valid config.json, generation_config.json, tokenizer files, and weights
(model.safetensors, or shards consistent with model.safetensors.index.json). It then reads the
weights and prints {"closeness": -mean |wte - target|}, the target being the task's own
folder's word embeddings: the merge's metric for that task.
Usage: folder_evaluator.py MERGED_FOLDER TASK_FOLDER. Exit 3 on anything incomplete."""
import json
import os
import sys

from safetensors_reader import read_safetensors


def refuse(why):
    print(f"not a complete model folder: {why}", file=sys.stderr)
    sys.exit(3)


def weights(folder):
    if not os.path.isdir(folder):
        refuse(f"{folder} is not a folder")
    names = set(os.listdir(folder))
    for required in ("config.json", "generation_config.json", "tokenizer_config.json"):
        if required not in names:
            refuse(f"no {required}")
    if "tokenizer.json" not in names and not {"vocab.json", "merges.txt"} <= names:
        refuse("no tokenizer files")
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    if "model_type" not in config or "torch_dtype" not in config:
        refuse("config.json has no model_type or torch_dtype")
    if "model.safetensors" in names:
        return read_safetensors(os.path.join(folder, "model.safetensors"))[0], config
    if "model.safetensors.index.json" not in names:
        refuse("no weights")
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        index = json.load(f)
    tensors = {}
    for shard in sorted(set(index["weight_map"].values())):
        if shard not in names:
            refuse(f"the index names {shard}, which is missing")
        tensors.update(read_safetensors(os.path.join(folder, shard))[0])
    if set(tensors) != set(index["weight_map"]):
        refuse("the index does not match the shards")
    return tensors, config


merged, config = weights(sys.argv[1])
target, _ = weights(sys.argv[2])
if config["torch_dtype"] != "bfloat16" or merged["transformer.wte.weight"].dtype.__str__() != "torch.bfloat16":
    refuse("config.json's torch_dtype does not match the weights")
distance = (merged["transformer.wte.weight"].float() - target["transformer.wte.weight"].float()).abs().mean()
print(json.dumps({"closeness": -distance.item()}))
