"""Labels: merged-peak coverage > min_overlap, checked by hand and against bedtools (pybedtools)."""

import numpy as np
import pandas as pd
import pybedtools
import pytest
from seq2chrom.data.bins import Bins
from seq2chrom.data.labels import (
    covered_length,
    label_bins,
    load_labels,
    positive_grid_bins,
    save_labels,
    touched_bins,
)
from seq2chrom.data.peaks import Intervals, parse_peaks

SIZES = {"chr1": 50_123, "chr2": 31_999, "chrM": 16_571}


def grid_bins(sizes, size=200, keep=None):
    """All full grid bins of each chromosome; `keep` (N,) bool drops some, as filtering does."""
    starts = [np.arange(0, length - size + 1, size, dtype=np.int64) for length in sizes.values()]
    counts = [len(s) for s in starts]
    start = np.concatenate(starts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if keep is not None:
        kept_per_chrom = [keep[offsets[i] : offsets[i + 1]].sum() for i in range(len(counts))]
        start = start[keep]
        offsets = np.concatenate([[0], np.cumsum(kept_per_chrom)])
    return Bins(list(sizes), np.array(list(sizes.values())), offsets, start, size, 1000)


def bins_frame(bins):
    chroms = np.array(bins.chroms)[bins.chrom_index()]
    return pd.DataFrame({"chrom": chroms, "start": bins.start, "end": bins.start + bins.size})


def random_peaks_text(seed):
    """Realistic peaks: narrow and broad, overlapping and nested, at chromosome starts and ends."""
    rng = np.random.default_rng(seed)
    lines = []
    for chrom, length in SIZES.items():
        n = rng.integers(30, 120)
        starts = rng.integers(0, length, n)
        widths = np.where(rng.random(n) < 0.8, rng.integers(1, 400, n), rng.integers(400, 5000, n))
        ends = np.minimum(starts + widths, length)
        clusters = rng.integers(0, length - 300, 10)  # piles of overlapping peaks
        halves = rng.integers(0, length // 200 - 1, 8) * 200 + 1000  # exactly half of a bin
        starts = np.concatenate([starts, clusters, clusters + 37, clusters + 150, [0, length - 90]])
        ends = np.concatenate([ends, clusters + 120, clusters + 90, clusters + 290, [77, length]])
        starts, ends = np.concatenate([starts, halves]), np.concatenate([ends, halves + 100])
        pairs = zip(starts, ends, strict=True)
        lines += [f"{chrom}\t{s}\t{e}\tpeak\t0\t.\t1\t-1\t-1\t50" for s, e in pairs]
    rng.shuffle(lines)  # unsorted input
    return "\r\n".join(["track name=random", "browser hide all", *lines]) + "\r\n"


def bedtools_labels(bins, peaks_path, min_overlap):
    """The same rule with bedtools: merge the peaks, then bases covered per bin."""
    a = pybedtools.BedTool.from_dataframe(bins_frame(bins))
    merged = pybedtools.BedTool(str(peaks_path)).sort().merge()
    coverage = a.coverage(merged).to_dataframe(
        header=None, names=["chrom", "start", "end", "count", "covered", "length", "fraction"]
    )
    assert coverage[["chrom", "start"]].equals(bins_frame(bins)[["chrom", "start"]])
    by_coverage = (coverage["covered"] / coverage["length"] > min_overlap).to_numpy()
    overlaps = a.intersect(merged, wao=True).to_dataframe(header=None, disable_auto_names=True)
    summed = overlaps.groupby([0, 1], sort=False)[overlaps.columns[-1]].sum()
    by_intersect = summed.to_numpy() / bins.size > min_overlap
    np.testing.assert_array_equal(by_coverage, by_intersect)
    return by_coverage


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("min_overlap", [0.5, 0.0, 0.3, 0.995])
def test_labels_equal_bedtools_coverage_of_merged_peaks(tmp_path, seed, min_overlap):
    text = random_peaks_text(seed)
    path = tmp_path / "peaks.narrowPeak"
    path.write_text(text)
    n_bins = len(grid_bins(SIZES))
    bins = grid_bins(
        SIZES, keep=np.random.default_rng(seed).random(n_bins) > 0.2
    )  # some bins filtered out, as N/blacklist do
    ours = label_bins(bins, parse_peaks(path, text, SIZES), min_overlap)
    theirs = bedtools_labels(bins, path, min_overlap)
    assert ours.sum() > 20  # the comparison has positives
    np.testing.assert_array_equal(ours, theirs)


def test_strictly_more_than_half_and_union_of_peaks():
    def positives(starts, ends):
        return positive_grid_bins(np.array(starts), np.array(ends), 200, 0.5).tolist()

    assert positives([0], [100]) == []  # exactly half: negative
    assert positives([0], [101]) == [0]
    assert positives([0, 120], [60, 180]) == [0]  # 60 + 60 bp in one bin
    assert positives([0, 20], [80, 90]) == []  # overlapping peaks count once: 90 bp
    assert positives([150], [1050]) == [1, 2, 3, 4]  # bin 0 has 50 bp, bin 5 has 50 bp
    assert positives([0, 10], [5, 10]) == []  # zero-length peaks cover nothing
    assert positives([], []) == []


def test_covered_length_is_cumulative():
    starts, ends = np.array([10, 50]), np.array([20, 60])
    points = np.array([0, 10, 15, 20, 55, 60, 100])
    assert covered_length(starts, ends, points).tolist() == [0, 0, 5, 10, 15, 20, 20]


def test_touched_bins_lists_each_bin_once():
    starts, ends = np.array([0, 250, 399, 1000]), np.array([10, 399, 401, 1001])
    assert touched_bins(starts, ends, 200).tolist() == [0, 1, 2, 5]


def test_peaks_on_chromosomes_without_bins_and_bins_filtered_out():
    bins = grid_bins({"chr1": 1000, "tiny": 50})
    peaks = {
        "chr1": Intervals(np.array([200]), np.array([400])),
        "tiny": Intervals(np.array([0]), np.array([50])),
    }
    assert label_bins(bins, peaks, 0.5).tolist() == [False, True, False, False, False]
    dropped = grid_bins({"chr1": 1000, "tiny": 50}, keep=np.array([1, 0, 1, 1, 1], bool))
    assert label_bins(dropped, peaks, 0.5).tolist() == [False, False, False, False]


def test_packed_labels_round_trip(tmp_path):
    labels = np.random.default_rng(0).random(1001) < 0.1
    save_labels(tmp_path / "t.npy", labels)
    assert np.load(tmp_path / "t.npy").shape == (126,)
    np.testing.assert_array_equal(load_labels(tmp_path / "t.npy", 1001), labels)
    with pytest.raises(ValueError, match="expected 2000"):
        load_labels(tmp_path / "t.npy", 2000)
