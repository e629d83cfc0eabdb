"""Attributions and TF-MoDISco speed: windows/s of each method on the demo's small DanQ and
DeepSEA (1000 bp, 21 tracks), and TF-MoDISco's time for one track's 500 windows.

Weights are random: a model's speed does not depend on them. Rates count windows explained on
one track, each on both strands (what `seq2chrom attribute` does per window). `gpu_rates`
measures the full-size models' `gradient` rate; `make bench-gpu` (tests/bench/bench_gpu.py)
prints it on a GPU node (goal: full DanQ >= 5,000 windows/s on one A100/H100-class GPU).

SEQ2CHROM_BENCH_ATTR_WINDOWS sets the windows per gradient measurement (512).
"""

from __future__ import annotations

import os
import time

import numpy as np

THREADS = int(os.environ.get("SEQ2CHROM_BENCH_THREADS", "2"))
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))
WINDOWS = int(os.environ.get("SEQ2CHROM_BENCH_ATTR_WINDOWS", "512"))
GPU_GOAL = 5_000  # full DanQ, gradient, windows/s on one A100/H100-class GPU


def _windows(n: int, length: int, seed: int = 0) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 4, (n, length))
    return np.eye(4, dtype=np.uint8)[codes]


def method_rate(model, x: np.ndarray, settings) -> tuple[float, float]:
    """Windows/s of `settings` on output 0 of `model` for `x`, after one warm-up call, and the
    CPU seconds per window (all threads of this process: the rate a loaded machine hides)."""
    from seq2chrom.attribution.methods import attribute, gradient_function, logit_model

    model = logit_model(model)
    gradient = gradient_function(model) if settings.method != "ism" else None
    rng = np.random.default_rng(0)
    attribute(model, x[: min(len(x), settings.batch_size)], 0, settings, rng, gradient)
    started, cpu = time.perf_counter(), time.process_time()
    attribute(model, x, 0, settings, rng, gradient)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(x) / wall, cpu / len(x)


def gpu_rates(preset: str = "full", windows: int = 20_000, batch: int = 1024) -> dict:
    """`gradient` windows/s of DanQ and DeepSEA (919 tracks, 1000 bp) at `preset`."""
    import keras
    from seq2chrom.attribution.methods import Settings
    from seq2chrom.models import build_model

    rates = {}
    keras.mixed_precision.set_global_policy("float32")
    for name in ("danq", "deepsea"):
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        model = build_model(name, 919, 1000, preset)
        rates[name] = method_rate(model, _windows(windows, 1000), Settings("gradient", batch))[0]
    return rates


def modisco_seconds(n: int = 500, length: int = 1000) -> tuple[float, int]:
    """TF-MoDISco's seconds on `n` windows whose scores reward one planted CTCF site each
    (the central 400 bp, the default), and the patterns found."""
    from seq2chrom.attribution.methods import centred
    from seq2chrom.attribution.modisco import ModiscoSettings, find_patterns
    from seq2chrom.demo.motifs import load_factor_motifs, sample_instances

    rng = np.random.default_rng(0)
    pfm = load_factor_motifs()["CTCF"].pfm
    codes = rng.integers(0, 4, (n, length))
    width = len(pfm)
    where = rng.integers(length // 2 - 150, length // 2 + 150 - width, n)
    for i, site in enumerate(sample_instances(pfm, n, rng)):
        codes[i, where[i] : where[i] + width] = site
    x = np.eye(4, dtype=np.float32)[codes]
    hypothetical = rng.normal(0, 0.02, x.shape)
    for i in range(n):
        hypothetical[i, where[i] : where[i] + width] += 0.5 * x[i, where[i] : where[i] + width]
    started = time.perf_counter()
    positive, negative = find_patterns(x, centred(hypothetical), ModiscoSettings())
    found = len(positive or []) + len(negative or [])
    return time.perf_counter() - started, found


def main() -> None:
    import keras
    from seq2chrom.attribution.methods import Settings
    from seq2chrom.models import build_model

    print(
        f"threads {THREADS}; backend {keras.backend.backend()}; random weights, 1000 bp, 21 "
        f"tracks; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    plans = [
        (Settings("gradient", 128), WINDOWS),
        (Settings("expected_gradients", 128, references=10, steps=20), 8),
        (Settings("ism", 1000), 2),
    ]
    for name in ("danq", "deepsea"):
        keras.utils.set_random_seed(1)
        model = build_model(name, 21, 1000, "small")
        for settings, n in plans:
            rate, cpu = method_rate(model, _windows(n, 1000), settings)
            print(f"{name:8} small  {settings.method:19} {rate:9.1f} windows/s, "
                  f"{cpu * 1000:8.1f} CPU ms/window ({n} windows)")  # fmt: skip
    seconds, found = modisco_seconds()
    print(f"TF-MoDISco (modisco-lite) 500 windows, central 400 bp: {seconds:.1f} s, "
          f"{found} patterns (numba kernels from the cache after the first run)")  # fmt: skip


if __name__ == "__main__":
    main()
