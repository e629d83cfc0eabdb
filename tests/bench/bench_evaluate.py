"""Evaluation at DeepSEA's scale: 919 tracks x 455,024 test samples, goal < 30 s on 2 cores.

Times the vectorised `track_metrics` (AUROC and AUPRC together) against a per-track loop of
scikit-learn's `roc_auc_score` + `average_precision_score` on the same synthetic data (~2%
positives, float32 scores from a logistic model with a per-track separation, so AUROCs range
from about 0.6 to 0.99 like real tracks). The scikit-learn loop is slow, so by default it runs on
every SKLEARN_STRIDE-th track and its time is extrapolated to all tracks (printed as such).

Environment: BENCH_EVALUATE_SAMPLES, BENCH_EVALUATE_TRACKS, BENCH_EVALUATE_STRIDE,
BENCH_EVALUATE_REPEATS override the sizes (e.g. for a quick check).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
from seq2chrom.evaluate.metrics import available_threads, track_curves, track_metrics

N_SAMPLES = int(os.environ.get("BENCH_EVALUATE_SAMPLES", 455_024))
N_TRACKS = int(os.environ.get("BENCH_EVALUATE_TRACKS", 919))
SKLEARN_STRIDE = int(os.environ.get("BENCH_EVALUATE_STRIDE", 20))
REPEATS = int(os.environ.get("BENCH_EVALUATE_REPEATS", 3))
GOAL_S = 30.0


def synthetic_test_set(
    n_samples: int, n_tracks: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """y_true (N, T) uint8 with ~2% positives; y_score (N, T) float32 sigmoid outputs."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.005, 0.04, n_tracks).astype(np.float32)  # ~2% on average
    separation = rng.uniform(0.4, 3.5, n_tracks).astype(np.float32)
    y_true = np.empty((n_samples, n_tracks), dtype=np.uint8)
    y_score = np.empty((n_samples, n_tracks), dtype=np.float32)
    for start in range(0, n_samples, 16_384):
        rows = slice(start, min(start + 16_384, n_samples))
        n = rows.stop - rows.start
        labels = rng.random((n, n_tracks), dtype=np.float32) < rate
        logits = rng.standard_normal((n, n_tracks), dtype=np.float32) - 4.0
        logits += separation * labels
        y_true[rows] = labels
        y_score[rows] = 1.0 / (1.0 + np.exp(-logits))
    return y_true, y_score


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    threads = min(2, available_threads())
    print(f"data: {N_SAMPLES:,} samples x {N_TRACKS} tracks (synthetic), float32 scores")
    started = time.perf_counter()
    y_true, y_score = synthetic_test_set(N_SAMPLES, N_TRACKS)
    print(
        f"  generated in {time.perf_counter() - started:.1f} s; "
        f"positives {y_true.mean():.2%} of labels; usable cores {available_threads()}"
    )

    vector_s, (roc, ap, _) = timed(lambda: track_metrics(y_true, y_score, threads=threads), REPEATS)
    single_s, _ = timed(lambda: track_metrics(y_true, y_score, threads=1), 1)
    curves_s, _ = timed(lambda: track_curves(y_true, y_score, threads=threads), 1)

    subset = np.arange(0, N_TRACKS, SKLEARN_STRIDE)

    def sklearn_loop() -> tuple[np.ndarray, np.ndarray]:
        ref_roc = np.array([roc_auc_score(y_true[:, j], y_score[:, j]) for j in subset])
        ref_ap = np.array([average_precision_score(y_true[:, j], y_score[:, j]) for j in subset])
        return ref_roc, ref_ap

    sklearn_subset_s, (ref_roc, ref_ap) = timed(sklearn_loop, 1)
    sklearn_all_s = sklearn_subset_s * N_TRACKS / len(subset)
    difference = max(np.max(np.abs(roc[subset] - ref_roc)), np.max(np.abs(ap[subset] - ref_ap)))

    print(
        f"vectorised AUROC+AUPRC, {threads} threads: {vector_s:8.2f} s "
        f"(median of {REPEATS}; goal < {GOAL_S:.0f} s: {'met' if vector_s < GOAL_S else 'MISSED'})"
    )
    print(f"vectorised AUROC+AUPRC, 1 thread:  {single_s:8.2f} s")
    print(f"curve points (200 per track), {threads} threads: {curves_s:8.2f} s")
    print(
        f"scikit-learn loop, {len(subset)} of {N_TRACKS} tracks: {sklearn_subset_s:8.2f} s "
        f"-> extrapolated to {N_TRACKS} tracks: {sklearn_all_s:8.1f} s"
    )
    print(f"speed-up vs scikit-learn (extrapolated): {sklearn_all_s / vector_s:8.1f}x")
    print(f"max |difference| vs scikit-learn on those {len(subset)} tracks: {difference:.2e}")
    print(f"AUROC range {np.nanmin(roc):.3f}-{np.nanmax(roc):.3f}, median {np.nanmedian(roc):.3f}")


if __name__ == "__main__":
    main()
