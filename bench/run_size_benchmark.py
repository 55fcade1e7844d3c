#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The at-size merge benchmark of docs/BENCHMARKS.md (merging-at-size issue), in one run on
this machine: a real model's shape (Llama-3.2-3B by default: 3.2B parameters, bf16, 6.4 GB per
checkpoint), a base and two fine-tunes as Hugging Face sharded folders written by
`mergefront-synth --shape` (streaming, no Python), merged by mergefront-cli from a cold page
cache into a model folder, plain and block-wise.

Beside each merge, in the same run:
- the disk roofline: the input files read with 64 MB direct reads, file after file, one
  reader per checkpoint at once, and 8 readers taking the chunks in turn (a deep queue); the
  best of the three is the read bandwidth (the issue's "plain sequential reads" is the first:
  both ratios are reported); and a file of
  the output's size written sequentially (64 MB writes) and fsynced, through the page cache
  and direct (the better is the write bandwidth), from a cold cache;
  a merge cannot beat the larger of (bytes read / read bandwidth) and (bytes written / write
  bandwidth): that is the overlapped roofline, and the ratio reported is roofline / merge time.
  Beside it, the same plain reads and write run at once (what the disk gives when it must do
  both: on a disk whose bandwidth reads and writes share, the overlapped roofline cannot be
  reached by anything);
- the process's resident size, sampled every 20 ms from /proc/PID/status: RssFile (mapped
  input pages), RssAnon (heap), and their sum, whose peak is the footprint.
The page cache is dropped before every measurement (root: /proc/sys/vm/drop_caches); where it
cannot be, the report says so. Outputs are deleted after each run; the inputs stay in WORK_DIR
for the next run (MERGEFRONT_SIZE_CLEAN=1 deletes them too).

usage: run_size_benchmark.py BUILD_DIR [WORK_DIR]
  MERGEFRONT_SIZE_SHAPE=llama-3.2-3b|llama-3-8b   MERGEFRONT_SIZE_TASKS=2
  MERGEFRONT_SIZE_COMPARE=/path/to/other/mergefront-cli  (also run another build, e.g. the
      previous release, on the same inputs in the same run)"""
import json
import mmap
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/release"
WORK = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.environ.get("TMPDIR", "/var/tmp"), "mergefront-size-bench")
SHAPE = os.environ.get("MERGEFRONT_SIZE_SHAPE", "llama-3.2-3b")
TASKS = int(os.environ.get("MERGEFRONT_SIZE_TASKS", "2"))
COMPARE = os.environ.get("MERGEFRONT_SIZE_COMPARE", "")
CLI = os.path.join(BUILD, "app", "cli", "mergefront-cli")
SYNTH = os.path.join(BUILD, "bench", "mergefront-synth")
CHUNK = 64 << 20
GB = 1e9


def drop_caches():
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def shard_files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors"))


def folder_bytes(folder):
    return sum(os.path.getsize(f) for f in shard_files(folder))


def make_inputs():
    root = os.path.join(WORK, SHAPE)
    folders = [os.path.join(root, "base")] + [os.path.join(root, f"task{t}") for t in range(1, TASKS + 1)]
    if all(os.path.exists(os.path.join(f, "model.safetensors.index.json")) for f in folders):
        return folders
    shutil.rmtree(root, ignore_errors=True)
    print(f"writing base + {TASKS} tasks of the {SHAPE} shape in {root}", file=sys.stderr)
    subprocess.run([SYNTH, "--out", root, "--shape", SHAPE, "--tasks", str(TASKS)], check=True,
                   stdout=sys.stderr)
    return folders


def timed_threads(jobs):
    """Runs the functions `jobs` on a thread each, at once; seconds until all are done."""
    threads = [threading.Thread(target=job) for job in jobs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def read_files(files):
    """Reads files one after the other with 64 MB direct reads (no page cache in the way, a
    deep request); returns the bytes read."""
    buffer = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT wants
    total = 0
    for path in files:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        try:
            while True:
                n = os.readv(fd, [buffer])
                total += max(n, 0)
                if n < CHUNK:
                    break
        finally:
            os.close(fd)
    return total


def read_bandwidth(streams):
    """The disk's read bandwidth, the better of two plain ways: every file one after the other,
    and one reader per checkpoint at once (as a merge reads). Bytes per second of each."""
    results = []
    drop_caches()
    start = time.perf_counter()
    total = read_files([f for files in streams for f in files])
    results.append(total / (time.perf_counter() - start))
    drop_caches()
    totals = [0] * len(streams)

    def reader(k):
        totals[k] = read_files(streams[k])

    seconds = timed_threads([lambda k=k: reader(k) for k in range(len(streams))])
    results.append(sum(totals) / seconds)
    # A deep queue: 8 readers taking the files' 64 MB chunks in turn (what read-ahead gives a
    # device that serves requests in parallel).
    drop_caches()
    chunks = [(path, offset) for files in streams for path in files
              for offset in range(0, os.path.getsize(path), CHUNK)]
    done = [0] * 8

    def chunk_reader(k):
        buffer = mmap.mmap(-1, CHUNK)
        for path, offset in chunks[k::8]:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
            try:
                done[k] += max(os.preadv(fd, [buffer], offset), 0)
            finally:
                os.close(fd)

    seconds = timed_threads([lambda k=k: chunk_reader(k) for k in range(8)])
    results.append(sum(done) / seconds)
    drop_caches()
    return results


def write_file(path, size, direct):
    block = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT wants
    block.write(os.urandom(CHUNK))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0), 0o644)
    try:
        written = 0
        while written < size:  # whole blocks: O_DIRECT writes whole pages
            written += os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bandwidth(size):
    """Writing the output's size (64 MB writes, fsync) through the page cache and direct;
    bytes per second of each."""
    path = os.path.join(WORK, "roofline-write.bin")
    results = []
    for direct in (False, True):
        drop_caches()
        start = time.perf_counter()
        write_file(path, size, direct)
        results.append(size / (time.perf_counter() - start))
        os.unlink(path)
    drop_caches()
    return results


def concurrent_io(streams, size, direct):
    """Plain reads and writes at once, as a merge does them: one reader per checkpoint and a
    writer of the output's size (fsynced); seconds until all are done. What the disk gives
    when reading and writing together, which the overlapped roofline assumes is free."""
    path = os.path.join(WORK, "roofline-write.bin")
    drop_caches()
    seconds = timed_threads([lambda files=files: read_files(files) for files in streams]
                            + [lambda: write_file(path, size, direct)])
    os.unlink(path)
    drop_caches()
    return seconds


def status_kb(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def run_merge(cli, args, out):
    """One cold-cache merge: seconds, peaks of RssFile, RssAnon and their sum (bytes)."""
    shutil.rmtree(out, ignore_errors=True)
    dropped = drop_caches()
    start = time.perf_counter()
    process = subprocess.Popen([cli, "merge", *args, "--out", out, "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = {"RssFile": 0, "RssAnon": 0, "sum": 0}
    while process.poll() is None:
        s = status_kb(process.pid)
        if s:
            peak["RssFile"] = max(peak["RssFile"], s.get("RssFile", 0) * 1024)
            peak["RssAnon"] = max(peak["RssAnon"], s.get("RssAnon", 0) * 1024)
            peak["sum"] = max(peak["sum"], (s.get("RssFile", 0) + s.get("RssAnon", 0)) * 1024)
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read()
    if process.returncode != 0:
        sys.exit(f"{cli} merge failed ({process.returncode}):\n{stderr}")
    return seconds, peak, dropped


def interrupted_merge(cli, args, out, after):
    """Starts a merge, interrupts it (SIGINT, as Ctrl-C or the desktop's Cancel) after `after`
    seconds; returns its exit code and what it left in the output's folder."""
    shutil.rmtree(out, ignore_errors=True)
    drop_caches()
    before = set(os.listdir(os.path.dirname(out)))
    process = subprocess.Popen([cli, "merge", *args, "--out", out, "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate()
    left = sorted(set(os.listdir(os.path.dirname(out))) - before)
    return process.returncode, left, stderr.strip().splitlines()[-1:] if stderr else []


def add_tokenizer(base):
    """Llama 3.1's tokenizer files (the tokenizer reference `./run.sh data` fetches: same
    128,256-token vocabulary) in the base folder, for the GGUF output; False when absent."""
    source = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                          "mergefront", "tokenizer-reference", "llama3_1", "models")
    if not os.path.exists(os.path.join(source, "tokenizer.json")):
        return False
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.exists(os.path.join(base, name)):
            shutil.copyfile(os.path.join(source, name), os.path.join(base, name))
    return True


def bf16_values(path, name, count):
    """The first `count` values of a bf16 tensor of a safetensors file, as floats."""
    with open(path, "rb") as f:
        header_size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_size))
        begin = header[name]["data_offsets"][0]
        f.seek(8 + header_size + begin)
        raw = f.read(2 * count)
    return [struct.unpack("<f", b"\0\0" + raw[2 * i: 2 * i + 2])[0] for i in range(count)]


def tensor_file(folder, name):
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        return os.path.join(folder, json.load(f)["weight_map"][name])


def check_output(folders, out, coefs, name):
    """The merge of a tensor's first values, against base + Σ c (task - base) by hand."""
    count = 4096
    base = bf16_values(tensor_file(folders[0], name), name, count)
    tasks = [bf16_values(tensor_file(f, name), name, count) for f in folders[1:]]
    merged = bf16_values(tensor_file(out, name), name, count)
    worst = 0.0
    for i in range(count):
        want = base[i] + sum(c * (t[i] - base[i]) for c, t in zip(coefs, tasks))
        worst = max(worst, abs(merged[i] - want) / max(abs(want), 1e-6))
    if worst > 2 ** -8:  # bf16 has 8 significant bits
        sys.exit(f"merged {name} differs from base + Σ c τ by {worst:.3g} (relative)")
    return worst


def main():
    os.makedirs(WORK, exist_ok=True)
    folders = make_inputs()
    in_bytes = sum(folder_bytes(f) for f in folders)
    out_bytes = folder_bytes(folders[0])
    free = shutil.disk_usage(WORK).free
    if free < 2 * out_bytes + (1 << 30):
        sys.exit(f"not enough free disk in {WORK}: {free / GB:.1f} GB, need {2 * out_bytes / GB:.1f} GB")
    if os.environ.get("MERGEFRONT_SIZE_ROOFLINE_ONLY") == "1":
        print([round(b / GB, 2) for b in read_bandwidth([shard_files(folder) for folder in folders])])
        return
    coefs = [round(1.0 / TASKS, 4)] * TASKS
    common = ["--base", folders[0]]
    for f in folders[1:]:
        common += ["--model", f]
    plain = common + ["--coef", ",".join(str(c) for c in coefs)]
    # Block-wise: attention and MLP get their own coefficient, the rest (embeddings, norms) a third.
    groups = ["--group", "attn=self_attn", "--group", "mlp=mlp", "--group", "rest="]
    blockwise = common + groups + ["--coef", ",".join(str(c) for c in coefs for _ in range(3))]
    out = os.path.join(WORK, "merged")

    sequential, concurrent, deep = read_bandwidth([shard_files(folder) for folder in folders])
    buffered, direct = write_bandwidth(out_bytes)
    read_bw, write_bw = max(sequential, concurrent, deep), max(buffered, direct)
    # The definition: plain sequential reads (file after file) and writes; and the
    # strict one: the best read of the three.
    plain_roofline = max(in_bytes / sequential, out_bytes / write_bw)
    together = concurrent_io([shard_files(folder) for folder in folders], out_bytes, direct > buffered)
    dropped = drop_caches()
    roofline = max(in_bytes / read_bw, out_bytes / write_bw)

    rows = []
    variants = [("mergefront-cli merge into a model folder", CLI, plain, True),
                ("mergefront-cli merge, block-wise (3 groups), into a model folder", CLI, blockwise, False)]
    if COMPARE:
        variants.append((f"the same plain merge by {COMPARE}", COMPARE, plain, True))
    for label, cli, args, check in variants:
        seconds, peak, _ = run_merge(cli, args, out)
        if check:
            check_output(folders, out, coefs, "model.layers.0.self_attn.q_proj.weight")
        rows.append((label, seconds, peak))
        shutil.rmtree(out, ignore_errors=True)
        drop_caches()
    gguf = None
    if add_tokenizer(folders[0]):
        seconds, peak, _ = run_merge(CLI, plain + ["--gguf-type", "q8_0"], out + ".gguf")
        gguf = (seconds, peak, os.path.getsize(out + ".gguf"))
        os.unlink(out + ".gguf")
        drop_caches()
    cancel = interrupted_merge(CLI, plain, out, rows[0][1] / 2)
    if os.environ.get("MERGEFRONT_SIZE_CLEAN") == "1":
        shutil.rmtree(os.path.join(WORK, SHAPE), ignore_errors=True)

    with open(os.path.join(folders[0], "config.json")) as f:
        config = json.load(f)
    params = out_bytes / 2  # bf16
    print(f"{SHAPE} shape ({config['num_hidden_layers']} layers, hidden {config['hidden_size']}), "
          f"{params / 1e9:.2f}B parameters, bf16: base + {TASKS} task folders, "
          f"{in_bytes / GB:.1f} GB read, {out_bytes / GB:.1f} GB written; "
          f"{os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB memory; "
          + ("page cache dropped before every measurement" if dropped else
             "**the page cache could not be dropped (not root): these are warm or partly warm figures**")
          + ".\n")
    print(f"Disk, same run, {CHUNK >> 20} MB direct reads: {sequential / GB:.2f} GB/s file after file, "
          f"{concurrent / GB:.2f} GB/s with one reader per checkpoint at once, "
          f"{deep / GB:.2f} GB/s with 8 readers taking 64 MB chunks in turn; the best, "
          f"**{read_bw / GB:.2f} GB/s**, is the read bandwidth. "
          f"Sequential 64 MB writes + fsync: {buffered / GB:.2f} GB/s through the page cache, {direct / GB:.2f} GB/s direct; "
          f"the better, **{write_bw / GB:.2f} GB/s**, is the write bandwidth. "
          f"Roofline: reading {in_bytes / read_bw:.1f} s, writing {out_bytes / write_bw:.1f} s, "
          f"one after the other {in_bytes / read_bw + out_bytes / write_bw:.1f} s, "
          f"overlapped (the larger) **{roofline:.1f} s**; with the sequential read alone (file after file, "
          f"{sequential / GB:.2f} GB/s) **{plain_roofline:.1f} s**. "
          f"Plain reads and the write at once (one reader per checkpoint, a writer, fsync): **{together:.1f} s**.\n")
    print("| merge (cold cache) | time (s) | sequential roofline / time | best-read roofline / time | plain I/O at once / time | peak resident (file + anon) | peak RssFile | peak RssAnon |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, seconds, peak in rows:
        print(f"| {label} | {seconds:.1f} | **{plain_roofline / seconds:.2f}** | {roofline / seconds:.2f} | "
              f"{together / seconds:.2f} | **{peak['sum'] / GB:.2f} GB** | {peak['RssFile'] / GB:.2f} GB | "
              f"{peak['RssAnon'] / 1e6:.0f} MB |")
    if gguf:
        seconds, peak, size = gguf
        print(f"| the same merge into GGUF q8_0 ({size / GB:.1f} GB; quantized while merging) | {seconds:.1f} | "
              f"({max(in_bytes / sequential, size / write_bw) / seconds:.2f}) | "
              f"({max(in_bytes / read_bw, size / write_bw) / seconds:.2f}) | | **{peak['sum'] / GB:.2f} GB** | "
              f"{peak['RssFile'] / GB:.2f} GB | {peak['RssAnon'] / 1e6:.0f} MB |")
    print("\nThe merged q_proj of layer 0 was checked against base + Σ c τ computed here by hand (within bf16's rounding).")
    code, left, last = cancel
    print(f"Interrupted halfway (SIGINT at {rows[0][1] / 2:.1f} s, as Ctrl-C; the desktop's Cancel takes the same path): "
          f"exit code {code}, {'nothing left behind' if not left else 'LEFT BEHIND: ' + ', '.join(left)}"
          + (f" ({last[0]})" if last else "") + ".")


if __name__ == "__main__":
    main()
