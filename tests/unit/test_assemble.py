"""Assembling: bin selection rules, chromosome/region split, labels.h5 matrix in sheet order."""

import h5py
import numpy as np
import pytest
from seq2chrom.data.assemble import (
    SPLITS,
    assemble_labels,
    assign_splits,
    parse_region,
    read_track_sheet,
    selection_mask,
)
from seq2chrom.data.bins import Bins
from seq2chrom.data.labels import save_labels
from seq2chrom.errors import InputError

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
