#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tokenizer benchmark (docs/BENCHMARKS.md, "Tokenizers"): Mergefront's tokenizers against
tokenizers.js (@huggingface/tokenizers under node) in the same run, on a few MB of real text
(Python's standard library and the fortune cookies of Debian's `fortunes`), for the real
tokenizers of Llama 3.1, Qwen3 and Llama 2: encode throughput (tokens/s, each document encoded
on its own without special tokens, a cold cache every run, best of 3) and load time.

usage: run_tokenizer_benchmark.py BUILD_DIR [MEGABYTES]   (default 4)"""
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("MERGEFRONT_TOKENIZER_REFERENCE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "mergefront", "tokenizer-reference")


def documents(megabytes):
    texts, total = [], 0
    fortunes = sorted(f for f in glob.glob("/usr/share/games/fortunes/*")
                      if not f.endswith((".dat", ".u8")) and os.path.isfile(f))
    for name in fortunes:
        with open(name, encoding="utf-8", errors="replace") as f:
            for entry in f.read().split("\n%\n"):
                if entry.strip():
                    texts.append(entry)
                    total += len(entry.encode())
    for name in sorted(glob.glob("/usr/lib/python3.11/**/*.py", recursive=True)):
        if total >= megabytes * 1e6:
            break
        with open(name, encoding="utf-8", errors="replace") as f:
            text = f.read()
        texts.append(text)
        total += len(text.encode())
    return texts, total


def main():
    build = sys.argv[1]
    megabytes = float(sys.argv[2]) if len(sys.argv) > 2 else 4
    texts, total = documents(megabytes)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "documents.json")
        with open(corpus, "w") as f:
            json.dump(texts, f)
        print(f"{len(texts)} documents, {total / 1e6:.2f} MB (fortunes, Python's standard library)")
        print("| tokenizer | vocabulary | tokens | Mergefront tokens/s | tokenizers.js tokens/s | ratio "
              "| Mergefront load | tokenizers.js load |")
        print("|---|---|---|---|---|---|---|---|")
        for name, label in (("llama3_1", "Llama 3.1"), ("qwen3", "Qwen3"), ("llama2", "Llama 2 (32k, SentencePiece-BPE)")):
            folder = os.path.join(REFERENCE, name, "models")
            ours = json.loads(subprocess.check_output(
                [os.path.join(build, "bench", "mergefront-bench-tokenizer"), folder, corpus, "3"]))
            theirs = json.loads(subprocess.check_output(
                ["node", os.path.join(HERE, "reference_tokenize_bench.mjs"),
                 os.path.join(REFERENCE, "tokenizers"), folder, corpus, "3"]))
            if ours["tokens"] != theirs["tokens"]:
                sys.exit(f"{label}: {ours['tokens']} tokens here, {theirs['tokens']} in tokenizers.js")
            print(f"| {label} | {ours['vocabulary']:,} | {ours['tokens']:,} | {ours['tokens_per_s'] / 1e6:.2f} M "
                  f"| {theirs['tokens_per_s'] / 1e6:.2f} M | **{ours['tokens_per_s'] / theirs['tokens_per_s']:.1f}x** "
                  f"| {ours['load_s']:.3f} s | {theirs['load_s']:.3f} s |", flush=True)


if __name__ == "__main__":
    main()
