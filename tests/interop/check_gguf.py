# SPDX-License-Identifier: GPL-3.0-or-later
"""Mergefront's GGUF output, read by llama.cpp itself and by @huggingface/gguf.

  check_gguf.py build OUT              a base and a fine-tune of every family (the causal-LM
                                       fixtures of check_causal_lm.py: random weights, real
                                       tokenizer files), and the text data
  check_gguf.py check OUT CLI NODE     for every family: merge into GGUF (f32, q8_0, and the
                                       source dtype) and into a model folder (f32), then
                                       - llama.cpp's per-token log-probabilities of the f32 GGUF
                                         equal Mergefront's in-process forward (`CLI score
                                         --per-token`) of the folder: 1e-3;
                                       - q8_0's perplexity is within 2% of f32's, the source
                                         dtype's within 1%;
                                       - llama.cpp's tokenizer, loaded from the GGUF, gives
                                         Mergefront's ids and tokenizers.js's on a mixed corpus;
                                       - @huggingface/gguf reads the tensors and metadata that
                                         `CLI inspect --json` reports.
NODE is the folder holding node_modules with node-llama-cpp (./run.sh data puts it in the cache:
$MERGEFRONT_LLAMA_CPP_REFERENCE, else ~/.cache/mergefront/llama-cpp-reference)."""
import json
import math
import os
import shutil
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_causal_lm as fixtures  # noqa: E402
from hf_folders import save_pretrained  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COEFFICIENT = 0.7
MAX_LENGTH = 24

CORPUS = fixtures.DOCS + [
    "  leading spaces,   runs of   spaces\n\n\tand a tab",
    "numbers 1234567 3.14159 and 2026-12-03, 42x7",
    "emoji 🦙🚀 and CJK 日本語のテキスト, 한국어",
    "Ünïcödé àccents, 'quotes' \"double\" it's we'll they're I'M",
    "code: for (int i = 0; i < n; ++i) { x[i] *= 2; }  // done",
    "https://example.org/a?b=c&d=e#frag and user@example.com",
    "ALL CAPS, MiXeD cAsE, under_score and kebab-case",
]


def build(out):
    fixtures.build(out)
    for index, (family, (package, layout, dtype, config)) in enumerate(fixtures.MODELS.items()):
        base = os.path.join(out, family)
        cfg = json.load(open(os.path.join(base, "config.json")))
        vocab = cfg["vocab_size"]
        # The base again (same seed as fixtures.build), plus a small random task vector.
        weights = fixtures.random_weights(cfg, vocab, torch.Generator().manual_seed(1000 + index),
                                          torch.float64)
        delta = fixtures.random_weights(cfg, vocab, torch.Generator().manual_seed(2000 + index),
                                        torch.float64)
        task = {k: (weights[k] + 0.1 * delta[k]).to(dtype) for k in weights}
        folder = os.path.join(out, family + "-task")
        shutil.rmtree(folder, ignore_errors=True)
        save_pretrained(folder, task, cfg, fixtures.tokenizer_files(package),
                        safe_serialization=layout != "bin",
                        max_shard_size=(8_000_000 if layout == "sharded" else 5_000_000_000))


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def merge(cli, out, family, target, *extra):
    return run([cli, "merge", "--base", os.path.join(out, family), "--model",
                os.path.join(out, family + "-task"), "--coef", str(COEFFICIENT), "--out", target,
                "--quiet", "--no-sync", *extra])


def llama_cpp(node, request, out, name):
    """check.mjs on `request`: a copy of it beside a link to NODE's node_modules (Node.js looks
    for packages from the script's folder up)."""
    runner = os.path.join(out, "llama_cpp")
    os.makedirs(runner, exist_ok=True)
    shutil.copy(os.path.join(HERE, "llama_cpp", "check.mjs"), runner)
    link = os.path.join(runner, "node_modules")
    if not os.path.islink(link):
        os.symlink(os.path.join(os.path.abspath(node), "node_modules"), link)
    path = os.path.join(out, name + ".request.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(request, f, ensure_ascii=False)
    env = dict(os.environ, NODE_LLAMA_CPP_SKIP_DOWNLOAD="true")
    return json.loads(run(["node", os.path.join(runner, "check.mjs"), path], env=env))


def perplexity(logprobs):
    flat = [x for sequence in logprobs for x in sequence]
    return math.exp(-sum(flat) / len(flat))


def check_family(family, out, cli, node, failures):
    folder = os.path.join(out, family + "-merged")
    shutil.rmtree(folder, ignore_errors=True)
    merge(cli, out, family, folder, "--dtype", "f32")
    scored = json.loads(run([cli, "score", folder, "--data", os.path.join(out, "text.jsonl"),
                             "--max-length", str(MAX_LENGTH), "--json", "--per-token"]))
    sequences = [{"tokens": r["tokens"], "targets": r["targets"]} for r in scored["requests"]]
    ours = [r["logprobs"] for r in scored["requests"]]

    results = {}
    source_is_f32 = fixtures.MODELS[family][2] == torch.float32  # the same file as f32's
    for kind in ("f32", "q8_0") if source_is_f32 else ("f32", "q8_0", "source"):
        target = os.path.join(out, f"{family}-{kind}.gguf")
        if os.path.exists(target):
            os.remove(target)
        merge(cli, out, family, target, *([] if kind == "source" else ["--gguf-type", kind]))
        request = {"model": target, "kv_type": "F32", "context": 2 * MAX_LENGTH,
                   "sequences": sequences, "texts": CORPUS if kind == "f32" else []}
        results[kind] = llama_cpp(node, request, out, f"{family}-{kind}")

    # 1. llama.cpp's forward of the f32 file = Mergefront's in-process forward of the same merge.
    # Relative to the log-probability's size (these random models are sure of little: -10 to
    # -30 nats a token), as check_causal_lm.py measures against its reference. GPT-2's GELU is
    # ggml's f16 lookup table, which costs ~2e-3 absolute here.
    pairs = [(a, b) for x, y in zip(ours, results["f32"]["logprobs"]) for a, b in zip(x, y)]
    worst = max(abs(a - b) for a, b in pairs)
    relative = max(abs(a - b) / max(1.0, abs(b)) for a, b in pairs)
    print(f"  {family}: {len(sequences)} sequences, {len(pairs)} tokens: llama.cpp (f32 GGUF) vs "
          f"Mergefront's forward: worst per-token log-prob difference {worst:.1e} "
          f"({relative:.1e} relative)")
    if relative > 1e-3 or len(results["f32"]["logprobs"]) != len(ours) or \
            len(pairs) != sum(len(x) for x in ours):
        failures.append(f"{family}: llama.cpp's log-probabilities differ from Mergefront's by "
                        f"{relative:.2e} relative (1e-3 allowed)")

    # 2. Quantized and source-dtype files score close to f32.
    ppl = {kind: perplexity(r["logprobs"]) for kind, r in results.items()}
    for kind, allowed in (("q8_0", 0.02), ("source", 0.01)):
        if kind not in ppl:
            continue
        change = ppl[kind] / ppl["f32"] - 1
        print(f"  {family}: perplexity f32 {ppl['f32']:.4f}, {kind} {ppl[kind]:.4f} "
              f"({100 * change:+.3f}%)")
        if abs(change) > allowed:
            failures.append(f"{family}: {kind} perplexity {ppl[kind]:.4f} is {100 * change:+.2f}% "
                            f"from f32's {ppl['f32']:.4f} ({100 * allowed:.0f}% allowed)")

    # 3. The tokenizer llama.cpp builds from the file = Mergefront's = tokenizers.js's.
    reference = fixtures.tokenize_all(os.path.join(out, family), CORPUS)
    mismatches = 0
    for text, theirs in zip(CORPUS, results["f32"]["ids"]):
        mine = json.loads(run([cli, "tokenize", os.path.join(out, family), "--text", text,
                               "--json"]))["ids"]
        if not (mine == theirs == reference[text]):
            mismatches += 1
            failures.append(f"{family}: {text[:40]!r}: llama.cpp {theirs[:12]}, Mergefront "
                            f"{mine[:12]}, tokenizers.js {reference[text][:12]}")
    print(f"  {family}: {len(CORPUS)} texts tokenized: llama.cpp = Mergefront = tokenizers.js "
          f"on {len(CORPUS) - mismatches}")

    # 4. The second reader sees what `inspect` says was written.
    for kind, result in results.items():
        path = os.path.join(out, f"{family}-{kind}.gguf")
        inspected = json.loads(run([cli, "inspect", path, "--json"]))
        mine = [(t["name"], t["dims"], t["type"], t["offset"]) for t in inspected["tensors"]]
        theirs = [(t["name"], t["dims"], TYPE_NAMES.get(t["type"], t["type"]), t["offset"])
                  for t in result["gguf"]["tensors"]]
        if mine != theirs:
            failures.append(f"{family}-{kind}: @huggingface/gguf reads tensors {theirs[:3]}..., "
                            f"inspect says {mine[:3]}...")
        for key, value in inspected["metadata"].items():
            other = result["gguf"]["metadata"].get(key)
            if isinstance(other, dict) and "array" in other:
                if not (isinstance(value, str) and value.startswith(f"[{other['array']} ")) and \
                        not (isinstance(value, list) and len(value) == other["array"]):
                    failures.append(f"{family}-{kind}: {key}: {other['array']} items, "
                                    f"inspect says {value!r:.60}")
            elif isinstance(value, float):
                if other is None or abs(other - value) > 1e-6 * max(1, abs(value)):
                    failures.append(f"{family}-{kind}: {key} = {other}, inspect says {value}")
            elif other != value:
                failures.append(f"{family}-{kind}: {key} = {other!r:.60}, inspect says "
                                f"{value!r:.60}")
        arch = inspected["metadata"]["general.architecture"]
        names = {t[0] for t in mine}
        tied = json.load(open(os.path.join(out, family, "config.json"))).get(
            "tie_word_embeddings", family == "gpt2")
        if tied == ("output.weight" in names):
            failures.append(f"{family}-{kind}: tied head {tied}, output.weight written "
                            f"{'output.weight' in names}")
        if kind == "f32":
            print(f"  {family}: {arch}, {len(mine)} tensors, read alike by @huggingface/gguf")


# @huggingface/gguf's GGMLQuantizationType numbers, by name (its dtype field is the number).
TYPE_NAMES = {0: "F32", 1: "F16", 8: "Q8_0", 30: "BF16"}


def check(out, cli, node):
    failures = []
    only = os.environ.get("MERGEFRONT_GGUF_FAMILIES")  # e.g. "llama,gpt2" while debugging
    for family in fixtures.MODELS:
        if not only or family in only.split(","):
            check_family(family, out, cli, node, failures)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("every family: llama.cpp loads, tokenizes and scores Mergefront's GGUF as Mergefront does")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        build(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        print(__doc__)
        sys.exit(2)
