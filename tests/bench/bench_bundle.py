"""DeepSEA bundle import: conversion rate and peak memory at N and 10N samples.

Goals (issue 9): memory flat in N (10x the samples within ~1.2x the peak memory) and a rate
near disk speed. Generated bundles of the published layout (1000 bp, 919 labels, A,G,C,T,
second half reverse complements), written to a temporary folder and removed afterwards:

- train.mat, MATLAB 7.3 (HDF5, 512-byte userblock), `trainxdata` (1000, 4, 2N) gzip-chunked
  (512 samples per chunk) and contiguous (uncompressed);
- test.mat, MATLAB 5 uncompressed, `testxdata` (2N, 4, 1000): converted through a memory map.

Each conversion (`convert_split`, 2 compression threads as in the rule) runs in a fresh
process; its peak RSS is the child's VmHWM (its ru_maxrss would include the parent's RSS at
fork on Linux). For comparison, peak RSS of
`scipy.io.loadmat` on the same test.mat (what the original DanQ code does). N is
BENCH_BUNDLE_SAMPLES forward samples (default 20,000; the full bundle has 2.2M).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from tests.unit.bundle_files import AGCT, matlab_header, random_one_hot, write_mat5_streamed

N = int(os.environ.get("BENCH_BUNDLE_SAMPLES", 20_000))
N_TRACKS, LENGTH, POOL = 919, 1000, 4096

CONVERT = """
import json, resource, sys, time
def peak_mb():  # VmHWM: peak RSS of this program (ru_maxrss also counts the parent's at fork)
    try:
        status = open("/proc/self/status").read().split("VmHWM:")[1]
        return int(status.split()[0]) / 1024
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from seq2chrom.data.bundle import convert_split, read_track_table
path, split, out = sys.argv[1:4]
targets = read_track_table()
start = time.perf_counter()
n = convert_split(path, split, targets, out, threads=2)
seconds = time.perf_counter() - start
print(json.dumps({"n": n, "seconds": seconds,
                  "rss_mb": peak_mb()}))
"""
LOADMAT = """
import json, resource, sys, time
def peak_mb():  # VmHWM: peak RSS of this program (ru_maxrss also counts the parent's at fork)
    try:
        status = open("/proc/self/status").read().split("VmHWM:")[1]
        return int(status.split()[0]) / 1024
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import scipy.io
start = time.perf_counter()
data = scipy.io.loadmat(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"n": data["testxdata"].shape[0] // 2, "seconds": seconds,
                  "rss_mb": peak_mb()}))
"""


class Pool:
    """Forward samples from a fixed pool of random sequences and labels (cheap to generate)."""

    def __init__(self, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.x = random_one_hot(rng, POOL, LENGTH)
        self.y = (rng.random((POOL, N_TRACKS)) < 0.03).astype(np.uint8)

    def __call__(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(first, last) % POOL
        return self.x[rows], self.y[rows]


def write_train(path: Path, n: int, pool: Pool, chunked: bool, block: int = 4096) -> None:
    with h5py.File(path, "w", userblock_size=512) as h5:
        x = h5.create_dataset("trainxdata", shape=(LENGTH, 4, 2 * n), dtype=np.uint8,
                              chunks=(LENGTH, 4, 512) if chunked else None,
                              compression="gzip" if chunked else None)  # fmt: skip
        y = h5.create_dataset("traindata", shape=(N_TRACKS, 2 * n), dtype=np.uint8,
                              chunks=(N_TRACKS, 512) if chunked else None,
                              compression="gzip" if chunked else None)  # fmt: skip
        for first in range(0, n, block):
            last = min(first + block, n)
            forward, labels = pool(first, last)
            for offset, part in ((0, forward), (n, forward[:, ::-1, ::-1])):
                x[:, :, offset + first : offset + last] = part[:, :, AGCT].transpose(1, 2, 0)
                y[:, offset + first : offset + last] = labels.T
    with open(path, "r+b") as handle:
        handle.write(matlab_header("7.3"))


def run(script: str, *args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                            capture_output=True, text=True)  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    pool = Pool()
    layouts = {
        "train.mat 7.3 gzip-chunked": ("train", lambda p, n: write_train(p, n, pool, True)),
        "train.mat 7.3 contiguous": ("train", lambda p, n: write_train(p, n, pool, False)),
        "test.mat MATLAB 5": (
            "test",
            lambda p, n: write_mat5_streamed(p, "test", n, N_TRACKS, pool),
        ),
    }
    # warm the numba cache so compile time is not counted
    with tempfile.TemporaryDirectory(prefix="bench_bundle_") as folder:
        warm = Path(folder) / "train.mat"
        write_train(warm, 600, pool, True)
        run(CONVERT, str(warm), "train", str(Path(folder) / "warm.h5"))
    print(f"forward samples N = {N:,} and 10N = {10 * N:,}; 1000 bp, {N_TRACKS} labels; "
          "each file holds 2x that (reverse complements)")  # fmt: skip
    header = f"{'layout':28} {'samples':>9} {'file MB':>8} {'s':>6} {'samples/s':>10} "
    header += f"{'MB/s in':>8} {'out MB':>7} {'peak RSS MB':>11}"
    print(header)
    peaks: dict[str, list[float]] = {}
    rates: dict[str, float] = {}
    for name, (split, write) in [*layouts.items(), ("loadmat (scipy) test.mat", (None, None))]:
        for n in (N, 10 * N):
            with tempfile.TemporaryDirectory(prefix="bench_bundle_") as folder:
                path = Path(folder) / f"{split or 'test'}.mat"
                (write or layouts["test.mat MATLAB 5"][1])(path, n)
                out = Path(folder) / "out.h5"
                os.sync()
                if split is None:
                    result = run(LOADMAT, str(path))
                    out_mb = 0.0
                else:
                    result = run(CONVERT, str(path), split, str(out))
                    out_mb = out.stat().st_size / 1e6
                file_mb = path.stat().st_size / 1e6
            rate = result["n"] / result["seconds"]
            read_mb = file_mb / 2 / result["seconds"] if split else file_mb / result["seconds"]
            peaks.setdefault(name, []).append(result["rss_mb"])
            rates[name] = rate
            print(f"{name:28} {n:>9,} {file_mb:>8.0f} {result['seconds']:>6.1f} {rate:>10,.0f} "
                  f"{read_mb:>8.0f} {out_mb:>7.0f} {result['rss_mb']:>11.0f}",
                  flush=True)  # fmt: skip
    print("peak memory ratio 10N / N (goal <= 1.2):")
    for name, (small, large) in peaks.items():
        print(f"  {name:28} {large / small:5.2f}  ({small:.0f} -> {large:.0f} MB)")
    print("(MB/s in: bytes of the forward half read per second.) Full bundle at the 10N rates:")
    for name, (split, _) in layouts.items():
        full = {"train": 2_200_000, "test": 227_512}[split]
        print(f"  {name:28} {full:>9,} forward samples in about {full / rates[name]:.0f} s")
