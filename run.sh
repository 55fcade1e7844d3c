#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Mergefront's one entry point on a fresh Debian 12 machine:
#   ./run.sh demo    install what is missing, build (Release), run the example job
#   ./run.sh test    install what is missing, build, run the whole test suite (ctest),
#                    then build core + CLI + core tests without Qt and run those too
#   ./run.sh bench   install, build, run the benchmarks of docs/BENCHMARKS.md
#   ./run.sh build   install, build
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${MERGEFRONT_BUILD_DIR:-build/release}
HEADLESS_DIR=${MERGEFRONT_HEADLESS_BUILD_DIR:-build/headless}
JOBS=$(nproc)

# Everything comes from Debian packages. Build: compiler, CMake, Ninja, ccache, Qt 6,
# QCustomPlot (Qt 6), LibTorch, Eigen, nlohmann_json, zlib; clang + its runtime for the
# libFuzzer test. Runtime and reference: OpenBLAS (LibTorch is ~5x slower on the reference
# BLAS), Debian's python3-torch (the Python cross-check and benchmark reference only), the
# Fashion-MNIST data set (the example project).
PACKAGES=(
    g++ cmake ninja-build ccache pkg-config
    qt6-base-dev libqcustomplot-dev libtorch-dev libeigen3-dev nlohmann-json3-dev zlib1g-dev
    clang libclang-rt-14-dev
    libopenblas0-pthread python3 python3-torch python3-numpy dataset-fashion-mnist
)

ensure_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "run.sh: installing Debian packages: ${missing[*]}" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

configure_and_build() { # dir, extra cmake args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >&2
    cmake --build "$dir" -j "$JOBS" >&2
}

demo() {
    local cli=$BUILD_DIR/app/cli/mergefront-cli
    local example=${MERGEFRONT_EXAMPLE_DIR:-$BUILD_DIR/example}
    if [ ! -f "$example/task3.safetensors" ]; then
        echo "== generating the example checkpoints (base + 3 task fine-tunes, ~5M parameters)"
        "$BUILD_DIR/bench/mergefront-synth" --out "$example" --params 6e6 --tasks 3 --format both
    fi
    echo
    echo "== inspect the base checkpoint (first lines)"
    "$cli" inspect "$example/base.safetensors" | sed -n 1,12p
    echo
    echo "== task arithmetic, safetensors in, safetensors out"
    "$cli" merge --base "$example/base.safetensors" --model "$example/task1.safetensors" \
        --model "$example/task2.safetensors" --model "$example/task3.safetensors" \
        --coef 0.4,0.3,0.3 --out "$example/merged.safetensors"
    echo
    echo "== TIES (density 0.2), PyTorch state dicts in, .pt out, readable by torch.load(weights_only=True)"
    "$cli" merge --base "$example/base.pt" --model "$example/task1.pt" --model "$example/task2.pt" \
        --model "$example/task3.pt" --coef 0.6,0.5,0.5 --method ties --density 0.2 \
        --out "$example/merged_ties.pt"
    echo
    echo "== DARE-TIES, mixed inputs, sharded safetensors output"
    "$cli" merge --base "$example/base.safetensors" --model "$example/task1.pt" \
        --model "$example/task2.safetensors" --coef 0.7,0.7 --method dare_ties --drop 0.5 \
        --density 0.5 --seed 7 --shard-size 8MB --out "$example/merged_dare_ties.safetensors"
    echo
    echo "== the merged checkpoint's provenance"
    "$cli" inspect "$example/merged.safetensors" --json | python3 -c \
        'import json,sys; m=json.load(sys.stdin)["metadata"]; [print(f"  {k} = {v}") for k,v in sorted(m.items())]'
}

run_tests() {
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS")
    # The same core tests, built with no Qt at all (as on a GPU box or cluster node).
    configure_and_build "$HEADLESS_DIR" -DMERGEFRONT_WITH_QT=OFF -DMERGEFRONT_BUILD_BENCH=OFF \
        -DMERGEFRONT_LIBFUZZER=OFF
    (cd "$HEADLESS_DIR" && ctest --output-on-failure -j "$JOBS" -E fuzz)
}

command=${1:-}
case "$command" in
    demo)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        demo
        ;;
    test)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        run_tests
        ;;
    bench)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        bench/run_benchmarks.sh "$BUILD_DIR" ${2:+"$2"}
        bench/run_map_benchmarks.sh "$BUILD_DIR"
        ;;
    build)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        ;;
    *)
        echo "usage: ./run.sh demo|test|bench|build" >&2
        exit 2
        ;;
esac
