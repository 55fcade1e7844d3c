#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The merge benchmark of docs/BENCHMARKS.md, in one run on this machine:
#  (a) mergefront-cli merge, file to file, base + 4 tasks of ~100M float32 parameters each;
#  (b) the same merge the way the MAP reference code / task_vectors do it, in Python PyTorch;
#  (c) the in-memory fused kernel against a plain streaming copy (the roofline).
# usage: bench/run_benchmarks.sh [BUILD_DIR] [WORK_DIR]    (./run.sh bench runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
WORK=${2:-${TMPDIR:-/tmp}/mergefront-bench}
CLI=$BUILD/app/cli/mergefront-cli
SYNTH=$BUILD/bench/mergefront-synth
KERNEL=$BUILD/bench/mergefront-bench-kernel
PY=/usr/bin/python3
RUNS=${MERGEFRONT_BENCH_RUNS:-3}
mkdir -p "$WORK"

if [ ! -f "$WORK/task4.pt" ] || [ ! -f "$WORK/task4.safetensors" ]; then
    echo "generating base + 4 tasks (about 100M float32 parameters each) in $WORK" >&2
    "$SYNTH" --out "$WORK" --params 1.02e8 --tasks 4 --format both >&2
fi
cat "$WORK"/base.* "$WORK"/task?.* > /dev/null   # warm page cache, as the issue asks

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
json_field() { "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

merge_seconds() { # format, extra args...
    local ext=$1; shift
    for _ in $(seq "$RUNS"); do
        "$CLI" merge --base "$WORK/base.$ext" --model "$WORK/task1.$ext" --model "$WORK/task2.$ext" \
            --model "$WORK/task3.$ext" --model "$WORK/task4.$ext" --coef 0.3,0.3,0.2,0.2 \
            --out "$WORK/merged_mf.$ext" --quiet --json "$@" | json_field seconds
    done | median
}

bytes_touched=$("$CLI" merge --base "$WORK/base.pt" --model "$WORK/task1.pt" --model "$WORK/task2.pt" \
    --model "$WORK/task3.pt" --model "$WORK/task4.pt" --coef 0.3,0.3,0.2,0.2 --out "$WORK/x.pt" \
    --dry-run --json --quiet | "$PY" -c "import json,sys; e=json.load(sys.stdin)['estimate']; print(e['input_bytes']+e['output_bytes'])")
params=$("$CLI" inspect "$WORK/base.safetensors" --json | json_field parameters)

echo "running mergefront-cli merge ($RUNS runs each)" >&2
mf_pt=$(merge_seconds pt)
mf_st=$(merge_seconds safetensors)
mf_st_nosync=$(merge_seconds safetensors --no-sync)

echo "running the Python PyTorch reference merge" >&2
ref_args=("$WORK/base.pt" "$WORK/merged_py.pt" 0.3,0.3,0.2,0.2 "$WORK/task1.pt" "$WORK/task2.pt" "$WORK/task3.pt" "$WORK/task4.pt")
py_default=$("$PY" bench/reference_merge.py "${ref_args[@]}")
py_threads=$(MERGEFRONT_REF_THREADS=$(nproc) "$PY" bench/reference_merge.py "${ref_args[@]}")
equal=$("$PY" bench/check_equal.py "$WORK/merged_mf.pt" "$WORK/merged_py.pt")

echo "running the in-memory kernel and the copy roofline" >&2
kernel=$("$KERNEL" --params 1e8 --tasks 4 --repeat 5)

"$PY" - "$bytes_touched" "$params" "$mf_pt" "$mf_st" "$mf_st_nosync" "$py_default" "$py_threads" "$equal" "$kernel" "$(nproc)" <<'PYEOF'
import json, sys
touched, params = int(sys.argv[1]), int(sys.argv[2])
mf_pt, mf_st, mf_nosync = map(float, sys.argv[3:6])
py_default, py_threads, equal, kernel = (json.loads(a) for a in sys.argv[6:10])
cores = sys.argv[10]
py_best = min(py_default["seconds"], py_threads["seconds"])
gb = lambda s: touched / s / 1e9
print(f"Base + 4 tasks, {params/1e6:.1f}M float32 parameters each; data touched per merge "
      f"{touched/1e9:.2f} GB (5 inputs read + 1 output written); {cores} cores; page cache warm.\n")
print("| what | time (s) | GB/s touched | vs Python (best) |")
print("|---|---:|---:|---:|")
print(f"| (b) Python PyTorch reference, torch {py_default['torch']}, {py_default['threads']} thread (its default) "
      f"| {py_default['seconds']:.2f} | {gb(py_default['seconds']):.2f} | |")
print(f"| (b) Python PyTorch reference, {py_threads['threads']} threads | {py_threads['seconds']:.2f} "
      f"| {gb(py_threads['seconds']):.2f} | |")
print(f"| (a) mergefront-cli merge .pt -> .pt (fsync, atomic rename) | {mf_pt:.2f} | {gb(mf_pt):.2f} | {py_best/mf_pt:.1f}x |")
print(f"| (a) mergefront-cli merge .safetensors -> .safetensors (fsync) | {mf_st:.2f} | {gb(mf_st):.2f} | {py_best/mf_st:.1f}x |")
print(f"| (a) mergefront-cli merge .safetensors, --no-sync | {mf_nosync:.2f} | {gb(mf_nosync):.2f} | {py_best/mf_nosync:.1f}x |")
print()
print("| in memory, 100M elements, 4 tasks | time (s) | GB/s | ratio to copy |")
print("|---|---:|---:|---:|")
print(f"| (c) streaming copy (memcpy, {kernel['threads']} threads): the roofline | {kernel['memcpy_s']:.4f} "
      f"| {kernel['memcpy_gb_per_s']:.2f} | 1.00 |")
print(f"| (a) fused merge kernel ({kernel['threads']} threads) | {kernel['kernel_s']:.4f} "
      f"| {kernel['kernel_gb_per_s']:.2f} | {kernel['ratio']:.2f} |")
print()
print(f"Output of (a) equal to (b), tensor by tensor (torch.equal): {equal['equal']} "
      f"(max |diff| {equal['max_abs_diff']})")
PYEOF
