"""Assembling: bin selection rules, chromosome/region split, labels.h5 matrix in sheet order."""

import h5py
import numpy as np
import pytest
from seq2chrom.data.assemble import (
    assemble_labels,
    assign_splits,
    overlaps_held_out,
    parse_region,
    selection_mask,
)
from seq2chrom.data.bins import Bins
from seq2chrom.data.labels import save_labels
from seq2chrom.data.tracksheet import read_track_sheet
from seq2chrom.errors import InputError
from seq2chrom.splitfile import SPLITS

# Three chromosomes, four bins each: starts 0, 200, 400, 600.
BINS = Bins(
    chroms=["chr1", "chr2", "chr3"],
    chrom_lengths=np.array([800, 800, 800]),
    chrom_offsets=np.array([0, 4, 8, 12]),
    start=np.tile(np.arange(0, 800, 200), 3),
    size=200,
    window=200,
)
#               chr1        chr2        chr3
LABELS = {
    "tf1": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    "dnase": [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
    "tf2": [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
}
ASSAYS = {"tf1": "TF", "dnase": "DNase", "tf2": "TF"}


def matrix():
    return np.array(list(LABELS.values()), bool)


@pytest.mark.parametrize(
    "select, expected",
    [
        ("tf_positive", [0, 5, 8]),
        ("any_positive", [0, 1, 5, 8, 10]),
        ("all", list(range(12))),
    ],
)
def test_selection_rules(select, expected):
    loaded = []

    def load(i):
        loaded.append(i)
        return matrix()[i]

    keep = selection_mask(load, list(ASSAYS.values()), select, 12)
    assert np.flatnonzero(keep).tolist() == expected
    assert loaded == {"tf_positive": [0, 2], "any_positive": [0, 1, 2], "all": []}[select]


def test_regions_are_one_based_inclusive():
    assert parse_region("chr7") == ("chr7", None, None)
    assert parse_region("chr7:1,001-2,000") == ("chr7", 1000, 2000)
    for bad in ["chr7:0-10", "chr7:20-10", "chr7:1-"]:
        with pytest.raises(InputError, match="split.valid"):
            parse_region(bad)


def test_split_by_chromosome_and_region():
    split = assign_splits(BINS, test=["chr3"], valid=["chr2:201-400", "chr1:800-800"])
    names = [SPLITS[code] for code in split]
    # chr2:201-400 is 0-based [200, 400): bin 200 only; chr1:800-800 is base 799: bin 600.
    assert names[:4] == ["train", "train", "train", "valid"]
    assert names[4:8] == ["train", "valid", "train", "train"]
    assert names[8:] == ["test"] * 4
    whole = assign_splits(BINS, test=[], valid=["chr1"])
    assert [SPLITS[code] for code in whole[:5]] == ["valid"] * 4 + ["train"]


@pytest.mark.parametrize(
    "test, valid, message",
    [
        (["chrX"], [], "split.test: chromosome 'chrX' is not in the genome"),
        ([], ["chrY:1-10"], "split.valid: chromosome 'chrY' is not in the genome"),
        (["chr3"], ["chr3:1-100"], "lies on test chromosome chr3"),
    ],
)
def test_bad_split_settings(test, valid, message):
    with pytest.raises(InputError, match=message):
        assign_splits(BINS, test, valid)


def write_inputs(tmp_path, names=("tf1", "dnase", "tf2")):
    sheet = tmp_path / "tracks.tsv"
    rows = [f"{name}\t{ASSAYS[name]}\tK562\tpeaks/{name}.bed" for name in names]
    sheet.write_text("name\tassay\tcell_type\tpath\n" + "\n".join(rows) + "\n")
    paths = []
    for name in names:
        paths.append(tmp_path / f"{name}.npy")
        save_labels(paths[-1], np.array(LABELS[name], bool))
    return sheet, paths


def test_labels_h5_holds_selected_bins_in_sheet_order(tmp_path):
    sheet, paths = write_inputs(tmp_path)
    tracks = read_track_sheet(sheet)
    counts = assemble_labels(
        BINS, tracks, paths[::-1], "any_positive", ["chr3"], ["chr2"], tmp_path / "labels.h5"
    )
    assert counts == {"train": 2, "valid": 1, "test": 2}
    with h5py.File(tmp_path / "labels.h5") as h5:
        assert list(h5["tracks"].asstr()[:]) == ["tf1", "dnase", "tf2"]
        assert list(h5["assays"].asstr()[:]) == ["TF", "DNase", "TF"]
        assert h5["bin_index"][:].tolist() == [0, 1, 5, 8, 10]
        assert h5["chrom_index"][:].tolist() == [0, 0, 1, 2, 2]
        assert h5["start"][:].tolist() == [0, 200, 200, 0, 400]
        assert [SPLITS[c] for c in h5["split"][:]] == ["train", "train", "valid", "test", "test"]
        np.testing.assert_array_equal(h5["y"][:], matrix()[:, [0, 1, 5, 8, 10]].T)
        assert h5["y"].dtype == np.uint8
        assert (h5.attrs["bin_size"], h5.attrs["select"]) == (200, "any_positive")


def test_many_rows_are_written_block_by_block(tmp_path):
    n = 70_001  # more than one 65,536-row block and not a multiple of 8
    bins = Bins(["chr1"], np.array([n * 10]), np.array([0, n]), np.arange(n) * 10, 10, 10)
    labels = np.random.default_rng(0).random((2, n)) < 0.3
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text("name\tassay\tcell_type\tpath\na\tTF\tX\ta.bed\nb\tDNase\tX\tb.bed\n")
    for name, row in zip("ab", labels, strict=True):
        save_labels(tmp_path / f"{name}.npy", row)
    paths = [tmp_path / "a.npy", tmp_path / "b.npy"]
    assemble_labels(bins, read_track_sheet(sheet), paths, "all", [], [], tmp_path / "l.h5")
    with h5py.File(tmp_path / "l.h5") as h5:
        np.testing.assert_array_equal(h5["y"][:], labels.T)


def test_tf_positive_without_tf_tracks_is_an_error(tmp_path):
    sheet, paths = write_inputs(tmp_path, names=("dnase",))
    with pytest.raises(InputError, match="no track has assay TF.*any_positive"):
        assemble_labels(
            BINS, read_track_sheet(sheet), paths, "tf_positive", [], [], tmp_path / "l.h5"
        )


def test_missing_label_file_and_bad_sheet(tmp_path):
    sheet, paths = write_inputs(tmp_path)
    with pytest.raises(InputError, match=r"no label file for track\(s\) \['tf2'\]"):
        assemble_labels(BINS, read_track_sheet(sheet), paths[:2], "all", [], [], tmp_path / "l.h5")
    sheet.write_text("name\tassay\tcell_type\tpath\na\tTF\tX\tp\na\tTF\tY\tq\n")
    with pytest.raises(InputError, match=r"tracks.tsv:3: duplicate track name 'a'"):
        read_track_sheet(sheet)
    sheet.write_text("name\tassay\n")
    with pytest.raises(InputError, match=r"missing column"):
        read_track_sheet(sheet)


def test_chromosome_pieces_follow_their_chromosome_but_not_a_region():
    bins = Bins(
        chroms=["chr1", "chr1_random", "chr2", "chr2_alt", "chr10"],
        chrom_lengths=np.full(5, 400),
        chrom_offsets=np.arange(0, 11, 2),
        start=np.tile([0, 200], 5),
        size=200,
        window=200,
    )
    split = assign_splits(bins, test=["chr1"], valid=["chr2:1-200"])
    names = [SPLITS[code] for code in split]
    assert names == ["test"] * 4 + ["valid", "train", "train", "train", "train", "train"]
    whole = assign_splits(bins, test=[], valid=["chr2"])
    assert [SPLITS[code] for code in whole][4:8] == ["valid"] * 4  # chr10 is not chr1_...


def _windows_overlap(a_chrom, a_start, b_chrom, b_start, window):
    """Brute force: (len(a), len(b)) bool, windows [start - margin, + window) overlapping."""
    margin = (window - 200) // 2
    a_lo, b_lo = a_start[:, None] - margin, b_start[None, :] - margin
    same = a_chrom[:, None] == b_chrom[None, :]
    return same & (a_lo < b_lo + window) & (b_lo < a_lo + window)


def test_deepsea_split_leaves_out_training_bins_next_to_the_valid_region(tmp_path):
    # chr7 of 40 bins (200 bp, 1000 bp windows) and chr8; valid is chr7:2,001-3,000
    # (bins 2000..2800); training bins whose window touches a valid window are left out:
    # starts within 1000 bp, i.e. 1200..1800 and 3000..3600.
    starts = np.arange(400, 7600, 200)
    bins = Bins(
        ["chr7", "chr8"],
        np.array([8000, 8000]),
        np.array([0, starts.size, 2 * starts.size]),
        np.concatenate([starts, starts]),
        200,
        1000,
    )
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text("name\tassay\tcell_type\tpath\na\tTF\tX\ta.bed\n")
    save_labels(tmp_path / "a.npy", np.ones(len(bins), bool))
    counts = assemble_labels(
        bins,
        read_track_sheet(sheet),
        [tmp_path / "a.npy"],
        "all",
        ["chr8"],
        ["chr7:2,001-3,000"],
        tmp_path / "labels.h5",
    )
    with h5py.File(tmp_path / "labels.h5") as h5:
        chrom, start, split = h5["chrom_index"][:], h5["start"][:], h5["split"][:]
    train = split == SPLITS.index("train")
    assert start[split == SPLITS.index("valid")].tolist() == [2000, 2200, 2400, 2600, 2800]
    left_out = sorted(set(starts.tolist()) - set(start[chrom == 0].tolist()))
    assert left_out == [1200, 1400, 1600, 1800, 3000, 3200, 3400, 3600]
    assert counts == {"train": starts.size - 13, "valid": 5, "test": starts.size}
    held = ~train
    overlap = _windows_overlap(chrom[train], start[train], chrom[held], start[held], 1000)
    assert not overlap.any()


def test_no_training_window_overlaps_a_held_out_window_on_random_bins():
    rng = np.random.default_rng(3)
    n = 3000
    chrom = rng.integers(0, 3, n)
    start = rng.choice(np.arange(0, 1_000_000, 200), n, replace=False)
    split = rng.choice([0, 0, 0, 0, 1, 2], n).astype(np.uint8)
    for window in (200, 1000, 1001):
        leaking = overlaps_held_out(chrom, start, split, window)
        train = (split == 0) & ~leaking
        held = split != 0
        overlap = _windows_overlap(chrom[train], start[train], chrom[held], start[held], window)
        assert not overlap.any()
        # and nothing is left out that did not touch a held-out window
        dropped = leaking
        touching = _windows_overlap(
            chrom[dropped], start[dropped], chrom[held], start[held], window
        )
        assert touching.any(axis=1).all()
        assert not leaking[split != 0].any()
        assert leaking.any() == (window > 200)  # equal bins and windows never overlap
