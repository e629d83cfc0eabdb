"""Motif step at full DanQ size: 320 x 26 filters over 50,000 sequences (Basset's rule), Tomtom
of the 320 PWMs against the 879 JASPAR2024 CORE vertebrate motifs, and all 320 logos (goal:
< 2 min on 2 cores, first-call numba compilation reported separately).

SEQ2CHROM_BENCH_MOTIF_SEQUENCES sets the number of sequences (50000) and
SEQ2CHROM_BENCH_REPEATS how often the PWM step runs (3; the median is reported).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

THREADS = int(os.environ.get("SEQ2CHROM_BENCH_THREADS", "2"))
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))
N_SEQUENCES = int(os.environ.get("SEQ2CHROM_BENCH_MOTIF_SEQUENCES", "50000"))
REPEATS = int(os.environ.get("SEQ2CHROM_BENCH_REPEATS", "3"))


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def _repeated(function, *args, **kwargs):
    """The result and the median wall and CPU seconds (this process) of REPEATS calls."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        cpu = time.process_time()
        result, wall = _timed(function, *args, **kwargs)
        walls.append(wall)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(walls), statistics.median(cpus), walls


def main() -> None:
    from seq2chrom.motifs.jaspar import load_jaspar
    from seq2chrom.motifs.logos import draw_logos
    from seq2chrom.motifs.meme import Motif
    from seq2chrom.motifs.pwms import codes_to_one_hot, filter_pwms
    from seq2chrom.motifs.tomtom import match_table

    rng = np.random.default_rng(0)
    n_seq, length, width, n_filters = N_SEQUENCES, 1000, 26, 320
    codes = rng.integers(0, 4, (n_seq, length), dtype=np.uint8)
    kernel = rng.normal(0, 0.5, (width, 4, n_filters)).astype(np.float32)
    bias = rng.normal(0, 0.1, n_filters).astype(np.float32)
    print(f"threads {THREADS}; {n_seq} sequences x {length} bp; conv1 {n_filters} x {width}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip

    _, compile_scan = _timed(filter_pwms, codes[:4], kernel, bias)
    result, scan, scan_cpu, walls = _repeated(filter_pwms, codes, kernel, bias)
    print(f"filter -> PWM   first call (numba compile/cache load) {compile_scan:6.1f} s")
    runs = ", ".join(f"{wall:.1f}" for wall in walls)
    print(
        f"filter -> PWM   {scan:6.1f} s median of {REPEATS} ({runs}; CPU {scan_cpu:.1f} s;"
        f" {n_seq / scan:,.0f} sequences/s; Basset's rule: forward "
        f"strand, {result.n_sites.mean() / n_seq:.1f} sites per sequence per filter; "
        f"{int(result.passed.sum())} filters with >= 10 sites)"
    )

    import keras

    conv = keras.layers.Conv1D(n_filters, width, activation="relu")
    sample = codes_to_one_hot(codes[:1000])
    conv(sample[:2])
    _, keras_time = _timed(lambda: np.asarray(conv(sample)).max(axis=1))
    print(
        f"  reference: keras Conv1D ({n_filters} filters, max only) on 1,000 sequences "
        f"{keras_time:.2f} s -> {keras_time * n_seq / 1000:.0f} s for {n_seq} (one of the two "
        "passes)"
    )

    targets = load_jaspar("JASPAR2024", "CORE", "vertebrates")
    queries = [Motif(f"filter{i}", result.pwm[i]) for i in range(n_filters)]
    _, compile_tomtom = _timed(match_table, queries[:2], targets, threads=THREADS)
    table, tomtom = _timed(match_table, queries, targets, threads=THREADS)
    print(f"tomtom          first call (numba compile/cache load) {compile_tomtom:6.1f} s")
    print(
        f"tomtom          {tomtom:6.1f} s  ({n_filters} x {len(targets)} motifs, both strands; "
        f"{table['Query_ID'].nunique()} random filters with E <= 0.01; agreement with MEME: "
        "bench_tomtom)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"filter{i}.png" for i in range(n_filters)]
        titles = [f"filter{i}: CTCF (MA0139.2) E=1.0e-05" for i in range(n_filters)]
        _, logos = _timed(draw_logos, list(result.pwm), titles, paths, threads=THREADS)
        _, serial = _timed(draw_logos, list(result.pwm[:20]), titles[:20], paths[:20])
    print(
        f"logos           {logos:6.1f} s  ({n_filters} PNGs, {THREADS} processes; serial "
        f"{serial / 20 * 1000:.0f} ms/logo vs ~400 ms/logo for a logomaker loop)"
    )
    total = scan + tomtom + logos
    print(f"total (excluding first calls) {total:.1f} s  (goal < 120 s): "
          f"{'OK' if total < 120 else 'OVER'}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
