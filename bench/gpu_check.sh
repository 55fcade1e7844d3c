#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The causal-lm evaluator's CUDA path, checked in minutes whenever a GPU machine is at hand
# (docs/LANGUAGE_MODELS.md; the figures go to docs/BENCHMARKS.md).
#
#   bench/gpu_check.sh pack          on the development machine: gathers into .gpu-check/
#                                    (git-ignored) what a bare GPU machine lacks: Debian's
#                                    nlohmann-json, Eigen, Oniguruma, utf8proc and zlib
#                                    development files (unpacked) and the tokenizer files
#   bench/gpu_check.sh run OUT [SIZE]   on the GPU machine (carry .gpu-check): builds the core
#                                    and the CLI (no Qt) against the PyTorch LibTorch it finds,
#                                    scores the reference models of every family on cuda and cpu
#                                    and compares them, then times evaluation steps (merge in
#                                    place + score) of a synthetic Llama: SIZE 1b (default) or
#                                    small. Without CUDA it runs the cpu half (a dry run).
# Results: OUT/gpu_check.log and OUT/*.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
DEPS="$HERE/.gpu-check"
PY="${PYTHON:-python3}"  # the Python that has torch

pack() {
    mkdir -p "$DEPS/debs" "$DEPS/root" "$DEPS/reference"
    (cd "$DEPS/debs" && apt-get download nlohmann-json3-dev libeigen3-dev libonig-dev libonig5 \
        libutf8proc-dev libutf8proc2 zlib1g-dev)
    for deb in "$DEPS"/debs/*.deb; do dpkg -x "$deb" "$DEPS/root"; done
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/mergefront/tokenizer-reference"
    for name in llama3_1 qwen3 llama2; do
        mkdir -p "$DEPS/reference/$name/models"
        cp "$cache/$name/models/"tokenizer*.json "$DEPS/reference/$name/models/"
    done
    # .gpu-check/ is in .gitignore; the device tool carries it when named in `carry`.
    du -sh "$DEPS"
}

run() {
    local out="$1" size="${2:-1b}"
    mkdir -p "$out"
    exec > >(tee "$out/gpu_check.log") 2>&1
    local cuda=0 prefix
    "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' && cuda=1
    prefix="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
    [ -d "$prefix" ] || prefix=""   # Debian's python3-torch: the system LibTorch
    echo "== LibTorch ${prefix:-from the system}, CUDA: $cuda"
    local arch=x86_64-linux-gnu
    if [ -d "$DEPS/root" ]; then
        export CMAKE_PREFIX_PATH="${prefix:+$prefix;}$DEPS/root/usr"
        export PKG_CONFIG_PATH="$DEPS/root/usr/lib/$arch/pkgconfig:$DEPS/root/usr/share/pkgconfig"
        export PKG_CONFIG_SYSROOT_DIR="$DEPS/root"
        export LD_LIBRARY_PATH="$DEPS/root/usr/lib/$arch:${LD_LIBRARY_PATH:-}"
        export CPATH="$DEPS/root/usr/include:${CPATH:-}"
        export MERGEFRONT_TOKENIZER_REFERENCE="$DEPS/reference"
    elif [ -n "$prefix" ]; then
        export CMAKE_PREFIX_PATH="$prefix"
    fi
    local build="$HERE/build/gpu"
    local started=$SECONDS
    cmake -S "$HERE" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMERGEFRONT_WITH_QT=OFF \
        -DMERGEFRONT_BUILD_TESTS=OFF -DMERGEFRONT_BUILD_BENCH=OFF -DMERGEFRONT_LIBFUZZER=OFF >/dev/null
    cmake --build "$build" --target mergefront-cli mergefront_torch -- -j"$(nproc)"
    echo "== built in $((SECONDS - started)) s"
    local cli="$build/app/cli/mergefront-cli" status=0

    echo "== every family, cuda against cpu"
    "$PY" "$HERE/tests/interop/check_causal_lm.py" build "$out/families" >/dev/null
    for family in llama mistral qwen2 qwen3 gpt2; do
        for format in text:text.jsonl multiple-choice:choices.jsonl completion:completions.jsonl; do
            local name="${format%%:*}" data="${format##*:}"
            for device in cpu $([ $cuda = 1 ] && echo cuda); do
                "$cli" score "$out/families/$family" --data "$out/families/$data" --format "$name" \
                    --max-length 24 --device "$device" --json --per-token \
                    > "$out/$family-$name-$device.json"
            done
            if [ $cuda = 1 ]; then  # bf16 models run in bf16 on the GPU: half-precision tolerance
                "$PY" "$HERE/bench/gpu_lm_check.py" compare "$out/$family-$name-cuda.json" \
                    "$out/$family-$name-cpu.json" 0.05 || status=1
            fi
        done
    done

    echo "== evaluation steps of a synthetic Llama ($size)"
    mkdir -p "$out/data"
    cp "$HERE"/docs/{MAP,PROJECT,FORMATS,TOKENIZERS}.md "$out/data/"
    "$PY" "$HERE/bench/gpu_lm_check.py" synth "$out/synth" "$size" \
        "${MERGEFRONT_TOKENIZER_REFERENCE:-$HOME/.cache/mergefront/tokenizer-reference}/llama2/models" \
        "$out/data"
    printf 'c:a,c:b\n0.5,0.5\n0.7,0.2\n0.2,0.8\n0.9,0.9\n' > "$out/points.csv"
    for stream in 0 1; do
        [ $cuda = 1 ] || [ $stream = 0 ] || continue
        rm -f "$out/synth/project.json.lock"
        "$PY" - "$out/synth/project.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); p["evaluations"] = []; json.dump(p, open(sys.argv[1], "w"), indent=2)
PY
        started=$SECONDS
        MERGEFRONT_STREAM_TASK_VECTORS=$stream "$cli" evaluate "$out/synth/project.json" \
            --points "$out/points.csv" --csv "$out/steps-stream$stream.csv"
        echo "   stream=$stream: whole command $((SECONDS - started)) s"
        "$PY" - "$out/synth/project.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluations"]
print("   per step (s):", [round(x["seconds"], 3) for x in e], "device", e[0].get("device"))
print("   perplexities:", [x["metrics"] for x in e])
PY
    done
    if [ $cuda = 1 ] && "$PY" -c 'import transformers' 2>/dev/null; then
        echo "== transformers on the merged folder, same windows"
        "$cli" merge --base "$out/synth/base" --model "$out/synth/a" --model "$out/synth/b" \
            --coef 0.5,0.5 --method ties --density 0.5 --out "$out/synth/merged" >/dev/null
        "$cli" score "$out/synth/merged" --data "$out/data" --max-length 1024 --device cuda --json \
            | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("   mergefront score:", r["perplexity"])'
        "$PY" "$HERE/bench/gpu_lm_check.py" transformers "$out/synth/merged" "$out/data" 1024
    fi
    echo "== done (status $status)"
    return $status
}

case "${1:-}" in
pack) pack ;;
run) shift; run "$@" ;;
*) sed -n '3,19p' "$0"; exit 2 ;;
esac
