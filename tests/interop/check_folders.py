#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cross-check of model folders with Python PyTorch. Folders are written here exactly as
save_pretrained lays them out (hf_folders.py): a GPT-2-shaped family (bf16, sharded
safetensors, tied embeddings, no lm_head.weight stored), a Llama-shaped one (bf16, untied
lm_head, chat template), and a GPT-2 family saved with safe_serialization=False (sharded
pytorch_model-*.bin, lm_head.weight a second name of the embeddings' storage). mergefront-cli
merges them into model folders; the outputs are read back here: tensors equal to a reference
merge computed the way the MAP reference code does (float32 task vectors, scaled, summed,
added, cast back), config.json equal to the base's but for torch_dtype, tokenizer files
byte-equal to their source, the index consistent with the shards, the model card present.
Usage: check_folders.py MERGEFRONT_CLI WORKDIR. Exit 0 when everything matches."""
import collections
import json
import os
import subprocess
import sys

import torch

import hf_folders as hf
from safetensors_reader import read_safetensors

CLI, WORK = sys.argv[1], sys.argv[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def run(*args, expect=0):
    result = subprocess.run([CLI, *args], capture_output=True, text=True)
    check(result.returncode == expect,
          f"mergefront-cli {' '.join(args)} exited {result.returncode}, expected {expect}: {result.stderr.strip()}")
    return result


def read_folder_weights(folder):
    """The tensors of a model folder, checking the index against the shards as transformers would."""
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index_path):
        tensors, metadata = read_safetensors(os.path.join(folder, "model.safetensors"))
        check(metadata.get("format") == "pt", f"{folder}: __metadata__ format is {metadata.get('format')}")
        return tensors
    with open(index_path) as f:
        index = json.load(f)
    tensors, total = {}, 0
    for shard in sorted(set(index["weight_map"].values())):
        part, metadata = read_safetensors(os.path.join(folder, shard))
        check(metadata.get("format") == "pt", f"{shard}: __metadata__ format is {metadata.get('format')}")
        for name, t in part.items():
            check(index["weight_map"].get(name) == shard, f"{folder}: {name} is in {shard}, the index says "
                                                          f"{index['weight_map'].get(name)}")
            total += t.numel() * t.element_size()
        tensors.update(part)
    check(set(index["weight_map"]) == set(tensors), f"{folder}: the index maps {len(index['weight_map'])} "
                                                    f"tensors, the shards hold {len(tensors)}")
    check(index["metadata"]["total_size"] == total,
          f"{folder}: total_size {index['metadata']['total_size']} != {total} bytes in the shards")
    shards = [n for n in os.listdir(folder) if n.startswith("model-")]
    check(sorted(shards) == sorted(set(index["weight_map"].values())), f"{folder}: shards {shards} on disk")
    return tensors


def load_source(folder):
    """A source folder's state dict as transformers would see it (tied names filled in)."""
    names = os.listdir(folder)
    if "pytorch_model.bin.index.json" in names:
        with open(os.path.join(folder, "pytorch_model.bin.index.json")) as f:
            index = json.load(f)
        sd = {}
        for shard in sorted(set(index["weight_map"].values())):
            sd.update(torch.load(os.path.join(folder, shard), weights_only=True))
    else:
        sd = read_folder_weights(folder)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    if config.get("tie_word_embeddings", True) and "lm_head.weight" not in sd:
        sd["lm_head.weight"] = sd["transformer.wte.weight"]
    return sd


def reference_merge(base, tasks, coefs, dtype=None):
    out = collections.OrderedDict()
    for k, v in base.items():
        total = sum(c * (t[k].float() - v.float()) for c, t in zip(coefs, tasks))
        out[k] = (v.float() + total).to(dtype or v.dtype)
    return out


def compare(label, got, want):
    check(sorted(got) == sorted(want), f"{label}: tensors {sorted(set(got) ^ set(want))} differ in presence")
    for k in sorted(set(got) & set(want)):
        g, w = got[k], want[k]
        if not check(g.dtype == w.dtype and tuple(g.shape) == tuple(w.shape),
                     f"{label}: {k} is {g.dtype} {tuple(g.shape)}, expected {w.dtype} {tuple(w.shape)}"):
            continue
        check(torch.equal(g, w), f"{label}: {k} differs from the Python merge "
                                 f"(max |diff| {(g.double() - w.double()).abs().max().item()})")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_folder_files(label, out, base, tokenizer_source, dtype_name, card_words):
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(base, "config.json")) as f:
        base_config = json.load(f)
    check(config.get("torch_dtype") == dtype_name, f"{label}: torch_dtype {config.get('torch_dtype')}")
    config.pop("torch_dtype", None)
    base_config.pop("torch_dtype", None)
    check(config == base_config, f"{label}: config.json differs from the base's beyond torch_dtype")
    check(read_bytes(os.path.join(out, "generation_config.json")) ==
          read_bytes(os.path.join(base, "generation_config.json")), f"{label}: generation_config.json differs")
    for name in os.listdir(tokenizer_source):
        if hf_folder_role(name) == "tokenizer":
            check(os.path.exists(os.path.join(out, name)) and
                  read_bytes(os.path.join(out, name)) == read_bytes(os.path.join(tokenizer_source, name)),
                  f"{label}: {name} is not a byte copy of {tokenizer_source}/{name}")
    check("training_args.bin" not in os.listdir(out), f"{label}: an unknown file was copied")
    card = open(os.path.join(out, "README.md")).read()
    for word in card_words:
        check(word in card, f"{label}: the model card does not say {word!r}")
    leftovers = [n for n in os.listdir(os.path.dirname(out)) if n.startswith(".")]
    check(not leftovers, f"{label}: temporaries left beside the output: {leftovers}")


def hf_folder_role(name):
    return "tokenizer" if name in {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                   "vocab.json", "merges.txt", "chat_template.jinja", "added_tokens.json",
                                   "tokenizer.model"} else "other"


def fingerprint(path):
    result = subprocess.run([CLI, "inspect", path, "--json"], capture_output=True, text=True)
    return json.loads(result.stdout)["fingerprint"]


def explore_end_to_end(folders):
    """A project over model folders whose command evaluator refuses anything but a complete
    folder: explore runs end to end, and each metric is what that merge must score."""
    here = os.path.dirname(os.path.abspath(__file__))
    gpt2 = os.path.dirname(folders["base"])
    command = f"/usr/bin/python3 {here}/folder_evaluator.py {{checkpoint}} {gpt2}/{{task}}"
    evaluator = {"kind": "command", "command": command, "timeout": 300}
    project = {"format": "mergefront-project", "version": 1, "base": folders["base"],
               "tasks": [{"name": n, "checkpoint": folders[n], "metric": "closeness", "evaluator": evaluator}
                         for n in ("code", "prose")],
               "merge": {"method": "task_arithmetic"}, "map": {"mode": "plain", "budget": 6, "seed": 1}}
    path = os.path.join(WORK, "project.json")
    with open(path, "w") as f:
        json.dump(project, f, indent=2)
    run("explore", path, "--budget", "6", "--workers", "2")
    with open(path) as f:
        done = json.load(f)["evaluations"]
    check(len(done) == 6, f"explore recorded {len(done)} evaluations, not 6")
    check(all(not e["failed"] for e in done), f"failed evaluations: {[e['error'] for e in done if e['failed']]}")
    base, code = load_source(folders["base"]), load_source(folders["code"])
    prose = load_source(folders["prose"])
    for e in done[:2]:
        c = e["coefficients"]
        wte = reference_merge({"w": base["transformer.wte.weight"]},
                              [{"w": code["transformer.wte.weight"]}, {"w": prose["transformer.wte.weight"]}], c)["w"]
        want = -(wte.float() - code["transformer.wte.weight"].float()).abs().mean().item()
        check(abs(e["metrics"]["code"] - want) < 1e-6, f"closeness to code at {c}: {e['metrics']['code']} != {want}")
    # The evaluator is strict: a bare weights file or a folder without its tokenizer is refused.
    bare = subprocess.run(["/usr/bin/python3", f"{here}/folder_evaluator.py",
                           os.path.join(folders["base"], "model-00001-of-00003.safetensors"), folders["code"]],
                          capture_output=True, text=True)
    check(bare.returncode == 3, f"the evaluator took a bare file: {bare.returncode} {bare.stderr}")


def main():
    os.makedirs(WORK, exist_ok=True)
    g = torch.Generator().manual_seed(7)

    # GPT-2 family: bf16, sharded at 100 kB, tied word embeddings (no lm_head.weight stored).
    gpt2 = hf.gpt2_config(layers=2, width=64, vocab=257, positions=64)
    base_sd = hf.gpt2_state_dict(g, 2, 64, 257, 64, torch.bfloat16)
    code_sd, prose_sd = hf.fine_tune(base_sd, g, 0.05), hf.fine_tune(base_sd, g, 0.08)
    folders = {}
    for name, sd, extra in [("base", base_sd, None), ("code", code_sd, {"model_max_length": 1024}),
                            ("prose", prose_sd, None)]:
        folders[name] = os.path.join(WORK, "gpt2", name)
        hf.save_pretrained(folders[name], sd, gpt2, hf.gpt2_tokenizer_files(extra),
                           {"bos_token_id": 256, "eos_token_id": 256, "transformers_version": "4.46.3"},
                           max_shard_size=100_000)
    with open(os.path.join(folders["base"], "training_args.bin"), "wb") as f:
        f.write(b"not a model file")
    check(os.path.exists(os.path.join(folders["base"], "model.safetensors.index.json")), "fixture is not sharded")

    coefs = [0.6, 0.3]
    out = os.path.join(WORK, "out", "gpt2-merged")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    result = run("merge", "--base", folders["base"], "--model", folders["code"], "--model", folders["prose"],
                 "--coef", "0.6,0.3", "--out", out, "--shard-size", "150KB", "--json")
    report = json.loads(result.stdout or "{}")
    check(any("tied to transformer.wte.weight" in n for n in report.get("notes", []) + report.get("plan", {}).get(
        "notes", [])) or "tied" in result.stderr, "the tie was not reported")
    check("training_args.bin" in result.stderr, "the file not copied is not listed")
    merged = read_folder_weights(out)
    check("lm_head.weight" not in merged, "gpt2: lm_head.weight written although the base ties it")
    base, tasks = load_source(folders["base"]), [load_source(folders["code"]), load_source(folders["prose"])]
    want = reference_merge(base, tasks, coefs)
    want.pop("lm_head.weight")
    compare("gpt2 bf16 sharded folder", merged, want)
    check(os.path.exists(os.path.join(out, "model.safetensors.index.json")), "gpt2: output not sharded at 150KB")
    check_folder_files("gpt2", out, folders["base"], folders["base"], "bfloat16",
                       ["task_arithmetic", fingerprint(folders["base"]), fingerprint(folders["code"]), "0.6",
                        "mergefront-cli merge"])

    # The tokenizer of a task (its tokenizer_config differs), float32 output.
    out2 = os.path.join(WORK, "out", "gpt2-f32")
    run("merge", "--base", folders["base"], "--model", folders["code"], "--model", folders["prose"],
        "--coef", "0.6,0.3", "--out", out2 + "/", "--tokenizer-from", "code", "--dtype", "f32", "--quiet")
    want32 = reference_merge(base, tasks, coefs, torch.float32)
    want32.pop("lm_head.weight")
    compare("gpt2 f32 folder", read_folder_weights(out2), want32)
    check_folder_files("gpt2 --tokenizer-from code", out2, folders["base"], folders["code"], "float32",
                       ["task 'code'"])

    # Llama family: bf16, untied lm_head, a chat template file; one model.safetensors each.
    llama = hf.llama_config(layers=2, width=64, vocab=259)
    lbase = hf.llama_state_dict(g, 2, 64, 259, torch.bfloat16)
    ltasks = [hf.fine_tune(lbase, g, 0.05), hf.fine_tune(lbase, g, 0.05)]
    lfolders = []
    for name, sd in [("base", lbase), ("math", ltasks[0]), ("chat", ltasks[1])]:
        lfolders.append(os.path.join(WORK, "llama", name))
        hf.save_pretrained(lfolders[-1], sd, llama, hf.llama_tokenizer_files(),
                           {"bos_token_id": 1, "eos_token_id": 2, "do_sample": True, "temperature": 0.7})
    lout = os.path.join(WORK, "out", "llama-merged")
    run("merge", "--base", lfolders[0], "--model", lfolders[1], "--model", lfolders[2], "--coef", "0.5,0.5",
        "--out", lout, "--quiet")
    compare("llama bf16 folder", read_folder_weights(lout), reference_merge(lbase, ltasks, [0.5, 0.5]))
    check_folder_files("llama", lout, lfolders[0], lfolders[0], "bfloat16", ["math", "chat", "0.5"])
    check(not os.path.exists(os.path.join(lout, "model.safetensors.index.json")), "llama: sharded below 5 GB")

    # GPT-2 saved as sharded .bin (lm_head.weight and wte one storage), merged with the
    # safetensors family's task: a tensor tied in one and stored in another is one tensor.
    bfolder = os.path.join(WORK, "gpt2-bin", "base")
    bin_config = dict(gpt2, torch_dtype="float32")
    base32 = collections.OrderedDict((k, v.float()) for k, v in base_sd.items() if k != "lm_head.weight")
    base32["lm_head.weight"] = base32["transformer.wte.weight"]
    hf.save_pretrained(bfolder, base32, bin_config, hf.gpt2_tokenizer_files(), {"bos_token_id": 256},
                       max_shard_size=200_000, safe_serialization=False)
    check(os.path.exists(os.path.join(bfolder, "pytorch_model.bin.index.json")), "fixture .bin is not sharded")
    # One pytorch_model.bin keeps the two names on one storage (across shards they are copies).
    single = os.path.join(WORK, "gpt2-bin", "single")
    hf.save_pretrained(single, base32, bin_config, hf.gpt2_tokenizer_files(), {"bos_token_id": 256},
                       safe_serialization=False)
    want_bin = reference_merge({k: v for k, v in base32.items()}, [load_source(folders["code"])], [0.5])
    for label, source, shared in [("sharded .bin", bfolder, False), ("pytorch_model.bin", single, True)]:
        bout = os.path.join(WORK, "out", "from-" + os.path.basename(source))
        result = run("merge", "--base", source, "--model", folders["code"], "--coef", "0.5", "--out", bout)
        check(not shared or "share one storage" in result.stderr, f"{label}: the shared storage was not reported")
        check("tied to its transformer.wte.weight" in result.stderr,
              f"{label}: the task's tied lm_head was not reported: {result.stderr}")
        check("left out" not in result.stderr, f"{label}: something was left out: {result.stderr}")
        got = read_folder_weights(bout)
        if shared:  # one storage in the base, tied in the task: one tensor, stored once
            check("lm_head.weight" not in got, f"{label}: lm_head.weight stored beside its storage twin")
            compare(f"gpt2 {label} base + safetensors task", got,
                    {k: v for k, v in want_bin.items() if k != "lm_head.weight"})
        else:
            compare(f"gpt2 {label} base + safetensors task", got, want_bin)
            check(torch.equal(got["lm_head.weight"], got["transformer.wte.weight"]),
                  f"{label}: the tied pair was merged apart")
        check_folder_files(f"gpt2 from {label}", bout, source, source, "float32", ["task_arithmetic"])
    # Into one file the twin is written too, with the very values of the tensor it is (DARE's
    # mask, keyed by the tensor name, included).
    dare = os.path.join(WORK, "out", "dare.safetensors")
    run("merge", "--base", single, "--model", folders["code"], "--coef", "0.5", "--method", "dare", "--drop", "0.5",
        "--out", dare, "--quiet")
    tensors, _ = read_safetensors(dare)
    check(torch.equal(tensors["lm_head.weight"], tensors["transformer.wte.weight"]),
          "DARE merged the two names of one storage apart")

    explore_end_to_end(folders)
    print(json.dumps({"failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
