"""Exact per-track AUROC and AUPRC over (N, T) label and score matrices, vectorised.

Both metrics equal scikit-learn's `roc_auc_score` and `average_precision_score` (ties handled
the same way: ROC as a trapezoid over distinct thresholds, AP as a step sum over distinct
thresholds) but need only one value sort per track, no argsort:

- AUROC is the Mann-Whitney statistic. With `s` the sorted scores of a track and `p` the sorted
  scores of its positives, `left`/`right` = `searchsorted(s, p, "left"/"right")` count the
  samples below / not above each positive, so
  ``AUROC = (sum(left) + sum(right) - P**2) / (2 * P * Nneg)`` (ties count one half), in exact
  integer arithmetic up to one division.
- AP sums, over the positives, ``precision at the positive's score / P``, where the precision at
  score ``v`` is ``#positives >= v / #samples >= v``; positives sharing a score share a threshold,
  which is scikit-learn's step-wise definition over distinct thresholds.

Tracks run in blocks on a thread pool: numpy releases the GIL while sorting and searching.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

METRICS_COLUMNS = ["track", "assay", "cell_type", "n_pos", "auroc", "auprc", "status"]
# A model that predicts one number for every window ranks nothing; its AUROC of 0.5 comes from
# ties alone and is no result. A dead network's float32 sigmoids spread by exactly 0 over the
# windows, while a model that learned anything spreads its predictions by 1e-2 or more: a
# standard deviation below CONSTANT_SPREAD marks the track (status "constant_predictions"), and
# the trainer's collapse stop uses the same test on the validation split.
CONSTANT_SPREAD = 1e-4
_BLOCK = 32  # tracks copied out together, a few rows at a time (cache-friendly transpose)
_ROW_CHUNK = 1024


@dataclass(frozen=True)
class TrackCurves:
    """ROC and precision-recall curve points of one track, at up to `n_points` thresholds.

    fpr, tpr: (K,) float64, from (0, 0) to (1, 1). recall, precision: (K,) float64, recall
    increasing from 0 (where precision is 1 by convention) to 1.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    recall: np.ndarray
    precision: np.ndarray


def auroc(y_true: np.ndarray, y_score: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """Area under the ROC curve of every track, equal to scikit-learn's `roc_auc_score`.

    Parameters
    ----------
    y_true : (N, T) or (N,) array of 0/1 (bool or integer)
    y_score : (N, T) or (N,) float array, same shape; float32 stays float32 (no copy)
    threads : worker threads; default `available_threads()`

    Returns
    -------
    (T,) float64; NaN for tracks without both positives and negatives.
    """
    return track_metrics(y_true, y_score, threads=threads)[0]


def auprc(y_true: np.ndarray, y_score: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """Average precision of every track, equal to scikit-learn's `average_precision_score`.

    Same parameters as `auroc`. Returns (T,) float64; NaN for tracks without positives.
    """
    return track_metrics(y_true, y_score, threads=threads)[1]


def track_metrics(
    y_true: np.ndarray, y_score: np.ndarray, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUROC, AUPRC and positive count of every track, from one sort per track.

    Parameters
    ----------
    y_true : (N, T) or (N,) array of 0/1 (bool or integer)
    y_score : (N, T) or (N,) float array of the same shape, finite
    threads : worker threads; default `available_threads()`

    Returns
    -------
    auroc : (T,) float64, NaN where a track has no positives or no negatives
    auprc : (T,) float64, NaN where a track has no positives
    n_pos : (T,) int64
    """
    y_true, y_score = _check(y_true, y_score)
    n_tracks = y_true.shape[1]
    out = np.full((3, n_tracks), np.nan)

    def work(start: int, stop: int) -> None:
        for j, labels, scores in _columns(y_true, y_score, start, stop):
            out[:, j] = _column_metrics(labels, scores, column=j)

    _run_blocks(work, n_tracks, threads)
    return out[0], out[1], out[2].astype(np.int64)


def track_curves(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    n_points: int = 200,
    threads: int | None = None,
) -> list[TrackCurves | None]:
    """ROC and precision-recall curve points of every track, for plotting.

    The points are exact curve points at up to `n_points` thresholds spread evenly over the
    ranks of each track's scores (plus the end points), so thin lines drawn through them follow
    the full curves closely. Tracks without both classes give None.

    Parameters
    ----------
    y_true : (N, T) or (N,) 0/1 array
    y_score : (N, T) or (N,) float array, same shape
    n_points : thresholds per track (>= 2)
    threads : worker threads; default `available_threads()`
    """
    y_true, y_score = _check(y_true, y_score)
    curves: list[TrackCurves | None] = [None] * y_true.shape[1]

    def work(start: int, stop: int) -> None:
        for j, labels, scores in _columns(y_true, y_score, start, stop):
            curves[j] = _column_curves(labels, scores, n_points)

    _run_blocks(work, y_true.shape[1], threads)
    return curves


def prediction_spread(y_score: np.ndarray) -> np.ndarray:
    """(T,) float64: each track's standard deviation of (N, T) scores over the N windows,
    a block of tracks at a time (no float64 copy of the whole matrix)."""
    y_score = np.asarray(y_score)
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    stds = [
        np.std(y_score[:, start : start + _BLOCK], axis=0, dtype=np.float64)
        for start in range(0, y_score.shape[1], _BLOCK)
    ]
    return np.concatenate(stds) if stds else np.zeros(0)


def constant_tracks(y_score: np.ndarray, spread: float = CONSTANT_SPREAD) -> np.ndarray:
    """(T,) bool: the tracks of (N, T) scores whose `prediction_spread` is below `spread`."""
    return prediction_spread(y_score) < spread


def metrics_table(
    y_true: np.ndarray,
    y_score: np.ndarray,
    tracks: pd.DataFrame,
    *,
    min_positives: int,
    threads: int | None = None,
) -> pd.DataFrame:
    """Per-track metrics table with columns `track, assay, cell_type, n_pos, auroc, auprc, status`.

    Parameters
    ----------
    y_true : (N, T) 0/1 array; y_score : (N, T) float array
    tracks : T rows with columns `track, assay, cell_type`, in the column order of the arrays
    min_positives : tracks with fewer positives keep `n_pos` but get NaN metrics and
        `status` "too_few_positives" (otherwise "ok"); a track without negatives gets NaN and
        "no_negatives"; a track whose scores are constant (`constant_tracks`: a collapsed
        model) gets NaN and "constant_predictions"
    """
    auroc_values, auprc_values, n_pos = track_metrics(y_true, y_score, threads=threads)
    if len(tracks) != len(n_pos):
        raise ValueError(f"{len(tracks)} track rows for {len(n_pos)} score columns")
    n_samples = y_true.shape[0]
    status = np.where(
        n_pos < min_positives,
        "too_few_positives",
        np.where(
            n_pos == n_samples,
            "no_negatives",
            np.where(constant_tracks(y_score), "constant_predictions", "ok"),
        ),
    )
    ok = status == "ok"
    table = tracks[["track", "assay", "cell_type"]].reset_index(drop=True).copy()
    table["n_pos"] = n_pos
    table["auroc"] = np.where(ok, auroc_values, np.nan)
    table["auprc"] = np.where(ok, auprc_values, np.nan)
    table["status"] = status
    return table[METRICS_COLUMNS]


def available_threads() -> int:
    """Cores this process may use (respects CPU affinity and cgroup-limited runners)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _check(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise ValueError(f"y_true {y_true.shape} and y_score {y_score.shape} must be equal (N, T)")
    if not np.issubdtype(y_score.dtype, np.floating):
        y_score = y_score.astype(np.float64)
    if y_true.dtype != np.bool_:
        if not np.issubdtype(y_true.dtype, np.integer) and not np.issubdtype(
            y_true.dtype, np.floating
        ):
            raise ValueError(f"y_true must be 0/1, got dtype {y_true.dtype}")
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1 or not _is_binary(y_true)):
            raise ValueError("y_true must contain only 0 and 1")
    return y_true, y_score


def _is_binary(y: np.ndarray) -> bool:
    if np.issubdtype(y.dtype, np.integer):
        return True  # 0 <= y <= 1 already checked
    return bool(np.all((y == 0) | (y == 1)))


def _run_blocks(work: Callable[[int, int], None], n_tracks: int, threads: int | None) -> None:
    threads = available_threads() if threads is None else max(1, threads)
    blocks = [(start, min(start + _BLOCK, n_tracks)) for start in range(0, n_tracks, _BLOCK)]
    if threads == 1 or len(blocks) <= 1:
        for start, stop in blocks:
            work(start, stop)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(work, start, stop) for start, stop in blocks]:
            future.result()


def _columns(
    y_true: np.ndarray, y_score: np.ndarray, start: int, stop: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (column index, labels (N,) bool, scores (N,) contiguous) for columns start:stop.

    Copies the block transposed, a few thousand rows at a time, which reads the (N, T) matrix
    far faster than one strided column at a time.
    """
    n_samples = y_true.shape[0]
    width = stop - start
    scores = np.empty((width, n_samples), dtype=y_score.dtype)
    labels = np.empty((width, n_samples), dtype=np.bool_)
    for row in range(0, n_samples, _ROW_CHUNK):
        rows = slice(row, row + _ROW_CHUNK)
        scores[:, rows] = y_score[rows, start:stop].T
        labels[:, rows] = y_true[rows, start:stop].T
    for offset in range(width):
        yield start + offset, labels[offset], scores[offset]


def _column_metrics(labels: np.ndarray, scores: np.ndarray, *, column: int) -> np.ndarray:
    """[auroc, auprc, n_pos] of one track; labels (N,) bool, scores (N,) float."""
    sorted_all = np.sort(scores)
    if sorted_all.size and not (np.isfinite(sorted_all[0]) and np.isfinite(sorted_all[-1])):
        raise ValueError(f"y_score column {column} has NaN or infinite values")
    positives = np.sort(scores[labels])
    n_all = sorted_all.size
    n_pos = positives.size
    n_neg = n_all - n_pos
    if n_pos == 0:
        return np.array([np.nan, np.nan, 0.0])
    left = np.searchsorted(sorted_all, positives, side="left")
    right = np.searchsorted(sorted_all, positives, side="right")
    if n_neg == 0:
        roc = np.nan
    else:
        twice_u = int(left.sum(dtype=np.int64)) + int(right.sum(dtype=np.int64)) - n_pos * n_pos
        roc = twice_u / (2.0 * n_pos * n_neg)
    positives_at_or_above = n_pos - np.searchsorted(positives, positives, side="left")
    samples_at_or_above = n_all - left
    average_precision = float(np.sum(positives_at_or_above / samples_at_or_above)) / n_pos
    return np.array([roc, average_precision, float(n_pos)])


def _column_curves(labels: np.ndarray, scores: np.ndarray, n_points: int) -> TrackCurves | None:
    sorted_all = np.sort(scores)
    positives = np.sort(scores[labels])
    n_all, n_pos = sorted_all.size, positives.size
    n_neg = n_all - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # thresholds from the highest score down; "score >= t" counts from searchsorted "left"
    ranks = np.unique(np.linspace(n_all - 1, 0, max(2, n_points)).round().astype(np.int64))[::-1]
    thresholds = np.unique(sorted_all[ranks])[::-1]
    predicted = n_all - np.searchsorted(sorted_all, thresholds, side="left")
    true_pos = n_pos - np.searchsorted(positives, thresholds, side="left")
    false_pos = predicted - true_pos
    fpr = np.concatenate([[0.0], false_pos / n_neg])
    tpr = np.concatenate([[0.0], true_pos / n_pos])
    recall = np.concatenate([[0.0], true_pos / n_pos])
    precision = np.concatenate([[1.0], true_pos / predicted])
    return TrackCurves(fpr=fpr, tpr=tpr, recall=recall, precision=precision)
