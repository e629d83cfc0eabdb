"""Per-bin labels of one track: positive when its merged peaks cover > min_overlap of the bin.

The rule is DeepSEA's: the fraction of the bin's bases inside the union of the track's peaks
must be strictly greater than `min_overlap` (0.5: more than 100 of 200 bp). It equals
`bedtools merge -i peaks | bedtools coverage -a bins -b -` with positive = covered bases / bin
length > min_overlap (tests check this against pybedtools).

Computation per chromosome, on sorted intervals only: merge the peaks, list the grid bins they
touch (bin k covers [k*size, (k+1)*size)), and take each touched bin's covered length as
C(end) - C(start), where C(x) is the cumulative covered length left of x, found by
`searchsorted` over the merged starts. Work is proportional to the peaks and the bins they touch,
not to all bins of the genome. Untouched bins are negative.

Label files `results/labels/{track}.npy` hold `np.packbits(labels)`: (ceil(N / 8),) uint8,
aligned with the rows of bins.h5.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from seq2chrom.data.bins import Bins
from seq2chrom.data.peaks import Intervals, merge_intervals


def covered_length(
    merged_starts: np.ndarray, merged_ends: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """C(x): bases of the merged intervals left of each point x.

    merged_starts, merged_ends: (m,) int64, disjoint and sorted. points: (n,) int64.
    Returns (n,) int64.
    """
    before = np.zeros(merged_starts.shape[0] + 1, np.int64)
    np.cumsum(merged_ends - merged_starts, out=before[1:])
    k = np.searchsorted(merged_starts, points, side="right")  # intervals starting at or before x
    last = np.maximum(k - 1, 0)
    inside = np.clip(points - merged_starts[last], 0, merged_ends[last] - merged_starts[last])
    return np.where(k > 0, before[last] + inside, 0)


def touched_bins(starts: np.ndarray, ends: np.ndarray, size: int) -> np.ndarray:
    """Grid bins touched by disjoint, sorted, non-empty intervals: (n,) int64, increasing."""
    first = starts // size
    last = (ends - 1) // size
    counts = last - first + 1
    total = int(counts.sum())
    # first[i], first[i] + 1, ..., last[i] for every interval, without a Python loop.
    steps = np.ones(total, np.int64)
    heads = np.concatenate([[0], np.cumsum(counts)[:-1]])
    steps[heads] = first - np.concatenate([[0], last[:-1]])
    steps[0] = first[0]
    bins = np.cumsum(steps)
    keep = np.ones(total, bool)
    keep[1:] = bins[1:] != bins[:-1]
    return bins[keep]


def positive_grid_bins(
    starts: np.ndarray, ends: np.ndarray, size: int, min_overlap: float
) -> np.ndarray:
    """Grid bins of one chromosome whose covered fraction exceeds `min_overlap`.

    starts, ends: (n,) int peaks of one chromosome, sorted by start (overlaps allowed).
    Returns (p,) int64 grid indices k (bin [k*size, (k+1)*size)), increasing.
    """
    merged_starts, merged_ends = merge_intervals(starts, ends)
    nonempty = merged_ends > merged_starts
    merged_starts, merged_ends = merged_starts[nonempty], merged_ends[nonempty]
    if merged_starts.size == 0:
        return np.zeros(0, np.int64)
    candidates = touched_bins(merged_starts, merged_ends, size)
    bin_starts = candidates * size
    covered = covered_length(merged_starts, merged_ends, bin_starts + size) - covered_length(
        merged_starts, merged_ends, bin_starts
    )
    return candidates[covered / size > min_overlap]


def label_bins(bins: Bins, peaks: Mapping[str, Intervals], min_overlap: float) -> np.ndarray:
    """Labels of one track for every bin.

    bins: starts on the grid (multiples of bins.size), as written by `tile_genome`.
    peaks: {chrom: Intervals sorted by start}. Returns (N,) bool aligned with bins.
    """
    labels = np.zeros(len(bins), bool)
    for chrom, intervals in peaks.items():
        rows = bins.of(chrom)
        positive = positive_grid_bins(intervals.starts, intervals.ends, bins.size, min_overlap)
        labels[rows.start + _matches(bins.start[rows], positive * bins.size)] = True
    return labels


def _matches(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Positions in `sorted_values` of the queries present in it."""
    index = np.searchsorted(sorted_values, queries)
    present = index < sorted_values.shape[0]
    index, queries = index[present], queries[present]
    return index[sorted_values[index] == queries]


def save_labels(path: str | Path, labels: np.ndarray) -> None:
    """Write (N,) bool labels as packed bits (`np.packbits`) to an .npy file."""
    with open(path, "wb") as handle:
        np.save(handle, np.packbits(np.asarray(labels, bool)))


def load_labels(path: str | Path, n_bins: int) -> np.ndarray:
    """Read labels written by `save_labels`: (n_bins,) bool."""
    packed = np.load(path)
    if packed.dtype != np.uint8 or packed.shape != ((n_bins + 7) // 8,):
        raise ValueError(f"{path}: {packed.shape} {packed.dtype}, expected {n_bins} packed bits")
    return np.unpackbits(packed, count=n_bins).astype(bool)
