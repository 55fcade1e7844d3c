#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs the libFuzzer build of the harness for a bounded time on a scratch copy of the seeds.
# Usage: run_libfuzzer.sh FUZZER SECONDS SEED_DIR
set -eu
fuzzer=$1 seconds=$2 seeds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$seeds"/* "$work"/
cd "$work"
"$fuzzer" -max_total_time="$seconds" -seed=1 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "$work"
