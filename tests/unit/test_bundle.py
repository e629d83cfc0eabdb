"""Import of the DeepSEA bundle: files with the published layout, written here from known
sequences, converted and checked base by base; every malformed-file case fails with one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
from seq2chrom.cli import main
from seq2chrom.data.bundle import (
    agct_to_acgt,
    build_track_table,
    convert_split,
    default_track_table_path,
    read_track_table,
    summarize_splits,
)
from seq2chrom.data.matfile import mat5_array, mat5_variables, mat_version
from seq2chrom.errors import InputError

from tests.unit.bundle_files import (
    bundle_layout,
    matlab_header,
    random_one_hot,
    write_mat5,
    write_mat5_streamed,
    write_mat73,
)

SHARED_AUCS = (
    Path(__file__).resolve().parents[3] / "shared/data/deepsea_919_targets_published_aucs.tsv"
)
LENGTH = 20  # short windows keep the files tiny; the code takes L from the file
SEQUENCES = [  # known forward sequences; N is all zeros
    "ACGTACGTNNACGTTTGCAA",
    "GGGGCCCCAAAATTTTACGT",
    "TNGCATGCATGCATGCAAAA",
    "CACACACAGTGTGTGTNNNN",
    "AAAAAAAAAAAAAAAAAAAC",
]
LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]], dtype=np.uint8)  # (5, 3)
TARGETS = pd.DataFrame(
    {
        "track": ["DNase_K562", "CTCF_K562", "H3K4me3_K562"],
        "assay": ["DNase", "TF", "Histone"],
        "cell_type": ["K562"] * 3,
    }
)


def one_hot(sequences: list[str]) -> np.ndarray:
    """(n, L, 4) uint8 A,C,G,T, written independently of the package."""
    x = np.zeros((len(sequences), len(sequences[0]), 4), np.uint8)
    for i, sequence in enumerate(sequences):
        for j, base in enumerate(sequence):
            if base in "ACGT":
                x[i, j, "ACGT".index(base)] = 1
    return x


def decode(x: np.ndarray) -> list[str]:
    return ["".join("ACGT"[row.argmax()] if row.any() else "N" for row in sample) for sample in x]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """train.mat (MATLAB 7.3), valid.mat and test.mat (MATLAB 5) from SEQUENCES and LABELS."""
    x = one_hot(SEQUENCES)
    folder = tmp_path / "bundle"
    folder.mkdir()
    write_mat73(folder / "train.mat", x, LABELS)
    write_mat5(folder / "valid.mat", x[:2], LABELS[:2], split="valid")
    write_mat5(folder / "test.mat", x, LABELS, split="test")
    return folder


def read_split(path: Path) -> dict:
    with h5py.File(path, "r") as h5:
        return {
            "x": h5["x"][:],
            "y": h5["y"][:],
            "tracks": list(h5["tracks"].asstr()[:]),
            "assays": list(h5["assays"].asstr()[:]),
            "cell_types": list(h5["cell_types"].asstr()[:]),
            "chrom": list(h5["chrom"].asstr()[:]),
            "start": h5["start"][:],
            "attrs": dict(h5.attrs),
            "x_chunks": h5["x"].chunks,
        }


# --- the generated files really have the published layout -----------------------------------


def test_generated_files_have_the_published_layout(bundle: Path):
    with open(bundle / "train.mat", "rb") as handle:
        assert handle.read(10) == b"MATLAB 7.3"
    with h5py.File(bundle / "train.mat", "r") as h5:
        assert h5.userblock_size == 512
        assert h5["trainxdata"].shape == (LENGTH, 4, 10)
        assert h5["traindata"].shape == (3, 10)
        # A,G,C,T order: the first base of sequence 0 is A, of sequence 1 G (row 1 in AGCT)
        assert h5["trainxdata"][0, :, 0].tolist() == [1, 0, 0, 0]
        assert h5["trainxdata"][0, :, 1].tolist() == [0, 1, 0, 0]
    with pytest.raises(NotImplementedError, match="v7.3"):
        scipy.io.loadmat(bundle / "train.mat")  # scipy sees a MATLAB 7.3 file
    test = scipy.io.loadmat(bundle / "test.mat")
    assert test["testxdata"].shape == (10, 4, LENGTH)
    assert test["testdata"].shape == (10, 3)
    assert mat_version(bundle / "train.mat") == "7.3"
    assert mat_version(bundle / "test.mat") == "5"


def test_mat5_index_finds_variables_without_loading(bundle: Path):
    variables = mat5_variables(bundle / "test.mat")
    assert set(variables) == {"testxdata", "testdata"}
    assert variables["testxdata"].shape == (10, 4, LENGTH)
    assert variables["testxdata"].dtype == "uint8"
    assert not variables["testxdata"].compressed


# --- conversion --------------------------------------------------------------------------------


@pytest.mark.parametrize("split, n", [("train", 5), ("valid", 2), ("test", 5)])
def test_convert_split_base_by_base(bundle: Path, tmp_path: Path, split: str, n: int):
    out = tmp_path / f"{split}.h5"
    assert convert_split(bundle / f"{split}.mat", split, TARGETS, out, block_samples=2) == n
    data = read_split(out)
    assert data["x"].dtype == np.uint8 and data["x"].shape == (n, LENGTH, 4)
    assert decode(data["x"]) == SEQUENCES[:n]  # forward halves only, A,C,G,T order
    np.testing.assert_array_equal(data["x"], one_hot(SEQUENCES[:n]))
    np.testing.assert_array_equal(data["y"], LABELS[:n])
    assert data["tracks"] == TARGETS["track"].tolist()
    assert data["assays"] == ["DNase", "TF", "Histone"]
    assert data["cell_types"] == ["K562"] * 3
    assert data["chrom"] == ["unknown"] * n
    assert data["start"].tolist() == [-1] * n and data["start"].dtype == np.int64
    assert data["attrs"]["bin_size"] == 200 and data["attrs"]["window"] == LENGTH
    assert data["attrs"]["split"] == split
    assert data["x_chunks"][1:] == (LENGTH, 4)


def test_convert_realistic_sizes_matches_reference(tmp_path: Path):
    """1000 bp windows, 919 tracks, blocks that do not divide N, both MATLAB formats."""
    rng = np.random.default_rng(3)
    x = random_one_hot(rng, 700, 1000)
    y = (rng.random((700, 919)) < 0.05).astype(np.uint8)
    write_mat73(tmp_path / "train.mat", x, y, chunks=True, compression="gzip", block=300)
    write_mat5(tmp_path / "test.mat", x, y, split="test")
    targets = read_track_table()
    for split in ("train", "test"):
        out = tmp_path / f"{split}.h5"
        assert convert_split(tmp_path / f"{split}.mat", split, targets, out, block_samples=256)
        data = read_split(out)
        np.testing.assert_array_equal(data["x"], x)
        np.testing.assert_array_equal(data["y"], y)
        assert len(data["tracks"]) == 919


def test_uncompressed_contiguous_train(tmp_path: Path):
    x = one_hot(SEQUENCES)
    write_mat73(tmp_path / "train.mat", x, LABELS, chunks=False, compression=None)
    convert_split(tmp_path / "train.mat", "train", TARGETS, tmp_path / "train.h5")
    assert decode(read_split(tmp_path / "train.h5")["x"]) == SEQUENCES


def test_compressed_mat5_is_inflated_to_scratch_and_removed(tmp_path: Path):
    x = one_hot(SEQUENCES)
    write_mat5(tmp_path / "valid.mat", x, LABELS, split="valid", compress=True)
    assert mat5_variables(tmp_path / "valid.mat")["validxdata"].compressed
    scratch = tmp_path / "scratch"
    convert_split(tmp_path / "valid.mat", "valid", TARGETS, tmp_path / "v.h5", scratch=scratch)
    data = read_split(tmp_path / "v.h5")
    assert decode(data["x"]) == SEQUENCES
    np.testing.assert_array_equal(data["y"], LABELS)
    assert list(scratch.iterdir()) == []


def test_logical_labels_are_accepted(tmp_path: Path):
    x = one_hot(SEQUENCES)
    scipy.io.savemat(
        tmp_path / "test.mat",
        {"testxdata": bundle_layout(x), "testdata": np.concatenate([LABELS, LABELS]).astype(bool)},
    )
    convert_split(tmp_path / "test.mat", "test", TARGETS, tmp_path / "t.h5")
    np.testing.assert_array_equal(read_split(tmp_path / "t.h5")["y"], LABELS)


def test_agct_to_acgt_matches_numpy():
    rng = np.random.default_rng(0)
    block = rng.integers(0, 2, (37, 4, 130), dtype=np.uint8)  # sizes not multiples of 64
    expected = block[:, [0, 2, 1, 3], :].transpose(2, 0, 1)
    out = agct_to_acgt(block)
    assert out.flags.c_contiguous and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(agct_to_acgt(block[:, :, 5:9]), expected[5:9])


# --- malformed files: one clear error each ----------------------------------------------------


def convert_error(path: Path, split: str, tmp_path: Path, targets=TARGETS) -> str:
    with pytest.raises(InputError) as error:
        convert_split(path, split, targets, tmp_path / "out.h5")
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "(fix:" in message
    return message


def test_wrong_variable_names(tmp_path: Path):
    x = one_hot(SEQUENCES)
    write_mat73(tmp_path / "train.mat", x, LABELS, names=("xdata", "traindata"))
    assert "['trainxdata'] not found" in convert_error(tmp_path / "train.mat", "train", tmp_path)
    write_mat5(tmp_path / "test.mat", x, LABELS, split="valid")  # valid.mat saved as test.mat
    message = convert_error(tmp_path / "test.mat", "test", tmp_path)
    assert "testxdata" in message and "validxdata" in message


def test_wrong_shapes(tmp_path: Path):
    both = bundle_layout(one_hot(SEQUENCES))  # (10, 4, L)
    labels = np.concatenate([LABELS, LABELS])
    scipy.io.savemat(tmp_path / "a.mat", {"testxdata": both[:, :3], "testdata": labels})
    assert "shape (10, 3, 20)" in convert_error(tmp_path / "a.mat", "test", tmp_path)
    scipy.io.savemat(tmp_path / "b.mat", {"testxdata": both, "testdata": labels[:8]})
    assert "testdata has shape (8, 3)" in convert_error(tmp_path / "b.mat", "test", tmp_path)
    with h5py.File(tmp_path / "train.mat", "w", userblock_size=512) as h5:
        h5["trainxdata"] = both.transpose(2, 1, 0)[:, :, :9]  # odd number of samples
        h5["traindata"] = labels.T[:, :9]
    assert "9 samples" in convert_error(tmp_path / "train.mat", "train", tmp_path)


def test_wrong_dtypes(tmp_path: Path):
    x = one_hot(SEQUENCES)
    write_mat73(tmp_path / "train.mat", x, LABELS, x_dtype="float32")
    assert "dtype float32" in convert_error(tmp_path / "train.mat", "train", tmp_path)
    scipy.io.savemat(
        tmp_path / "test.mat",
        {"testxdata": bundle_layout(x).astype(np.float64), "testdata": np.r_[LABELS, LABELS]},
    )
    assert "stored as double" in convert_error(tmp_path / "test.mat", "test", tmp_path)


def test_values_other_than_0_and_1(tmp_path: Path):
    both = bundle_layout(one_hot(SEQUENCES))
    labels = np.concatenate([LABELS, LABELS]) * 2
    scipy.io.savemat(tmp_path / "test.mat", {"testxdata": both, "testdata": labels})
    assert "other than 0 and 1" in convert_error(tmp_path / "test.mat", "test", tmp_path)


@pytest.mark.parametrize("split", ["train", "test"])
def test_truncated_files(bundle: Path, tmp_path: Path, split: str):
    source = bundle / f"{split}.mat"
    cut = tmp_path / f"{split}.mat"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size * 2 // 3])
    assert "truncated" in convert_error(cut, split, tmp_path)


def test_truncated_header(tmp_path: Path):
    (tmp_path / "test.mat").write_bytes(matlab_header("5")[:100])
    assert "not a MATLAB file" in convert_error(tmp_path / "test.mat", "test", tmp_path)
    (tmp_path / "train.mat").write_bytes(matlab_header("7.3") + b"\0" * 400)
    assert "truncated or corrupt" in convert_error(tmp_path / "train.mat", "train", tmp_path)


def test_matlab_versions_swapped(bundle: Path, tmp_path: Path):
    shutil.copy(bundle / "test.mat", tmp_path / "train.mat")
    message = convert_error(tmp_path / "train.mat", "train", tmp_path)
    assert "is a MATLAB 5 file" in message and "MATLAB 7.3" in message
    shutil.copy(bundle / "train.mat", tmp_path / "valid.mat")
    assert "is a MATLAB 7.3 file" in convert_error(tmp_path / "valid.mat", "valid", tmp_path)


def test_not_a_mat_file_and_missing_file(tmp_path: Path):
    (tmp_path / "test.mat").write_text("chr1\t0\t100\n" * 20)
    assert "not a MATLAB file" in convert_error(tmp_path / "test.mat", "test", tmp_path)
    assert "file not found" in convert_error(tmp_path / "valid.mat", "valid", tmp_path)


def test_label_width_must_match_target_table(bundle: Path, tmp_path: Path):
    message = convert_error(bundle / "test.mat", "test", tmp_path, targets=TARGETS.iloc[:2])
    assert "3 label columns but the track table has 2 rows" in message


def test_second_half_not_reverse_complement(tmp_path: Path):
    both = bundle_layout(one_hot(SEQUENCES))
    labels = np.concatenate([LABELS, LABELS])
    broken = both.copy()
    broken[7] = both[2]  # sample 8 is a copy of sample 3, not its reverse complement
    scipy.io.savemat(tmp_path / "test.mat", {"testxdata": broken, "testdata": labels})
    message = convert_error(tmp_path / "test.mat", "test", tmp_path)
    assert "sample 8 is not the reverse complement of sample 3 (sequence differ" in message
    labels[9, 0] ^= 1  # labels of the reverse complement differ
    scipy.io.savemat(tmp_path / "test.mat", {"testxdata": both, "testdata": labels})
    assert "(labels differ" in convert_error(tmp_path / "test.mat", "test", tmp_path)


def test_acgt_order_is_not_taken_for_agct(tmp_path: Path):
    """A file already in A,C,G,T order converts to swapped C/G: the reorder really happens."""
    x = one_hot(SEQUENCES)
    both = np.concatenate([x, x[:, ::-1, ::-1]]).transpose(0, 2, 1)  # no AGCT reorder
    scipy.io.savemat(tmp_path / "test.mat", {"testxdata": both, "testdata": np.r_[LABELS, LABELS]})
    convert_split(tmp_path / "test.mat", "test", TARGETS, tmp_path / "t.h5")
    swapped = [s.translate(str.maketrans("CG", "GC")) for s in SEQUENCES]
    assert decode(read_split(tmp_path / "t.h5")["x"]) == swapped


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_import_bundle(bundle: Path, tmp_path: Path, capsys):
    targets = tmp_path / "targets.tsv"
    TARGETS.to_csv(targets, sep="\t", index=False)
    out = tmp_path / "results" / "train.h5"
    argv = ["import-bundle", "--split", "train", "--bundle-dir", str(bundle)]
    assert main([*argv, "--tracks", str(targets), "--out", str(out)]) == 0
    assert decode(read_split(out)["x"]) == SEQUENCES
    # default target table has 919 rows: one-line error, nothing written
    out.unlink()
    assert main([*argv, "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("seq2chrom import-bundle: error: ")
    assert "3 label columns but the track table has 919 rows" in error
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_bundle_summary(bundle: Path, tmp_path: Path):
    paths = {}
    for split in ("train", "valid", "test"):
        paths[split] = tmp_path / f"{split}.h5"
        convert_split(bundle / f"{split}.mat", split, TARGETS, paths[split])
    table = summarize_splits(paths, block_rows=2)
    assert table["track"].tolist() == ["all samples", *TARGETS["track"]]
    assert table[["train", "valid", "test"]].iloc[0].tolist() == [5, 2, 5]
    np.testing.assert_array_equal(table["train"].iloc[1:], LABELS.sum(axis=0))
    np.testing.assert_array_equal(table["valid"].iloc[1:], LABELS[:2].sum(axis=0))
    assert table["total"].iloc[0] == 12


# --- target table ------------------------------------------------------------------------------


def test_shipped_target_table():
    table = read_track_table()
    assert len(table) == 919 and table["track"].is_unique
    assert table["assay"].value_counts().to_dict() == {"TF": 690, "DNase": 125, "Histone": 104}
    assert table["assay"].iloc[[0, 124, 125, 814, 815, 918]].tolist() == [
        "DNase", "DNase", "TF", "TF", "Histone", "Histone"
    ]  # fmt: skip
    assert table["track"].str.fullmatch(r"[A-Za-z0-9_.-]+").all()
    auroc = pd.to_numeric(table["deepsea_auroc"], errors="coerce")
    assert auroc.isna().sum() == 1  # K562 BRF1
    assert table.loc[auroc.isna(), "track"].tolist() == ["BRF1_K562"]
    medians = auroc.groupby(table["assay"]).median().round(3).to_dict()
    assert medians == {"DNase": 0.924, "Histone": 0.856, "TF": 0.958}
    danq = pd.to_numeric(table["danq_auroc"], errors="coerce")
    assert round(danq.mean(), 4) == 0.9384
    assert int((danq > auroc).sum()) == 864


@pytest.mark.skipif(not SHARED_AUCS.exists(), reason="../shared reference data not present")
def test_shipped_target_table_matches_source():
    aucs = pd.read_csv(SHARED_AUCS, sep="\t", dtype=str, keep_default_na=False)
    expected = build_track_table(aucs)
    shipped = pd.read_csv(default_track_table_path(), sep="\t", keep_default_na=False,
                          na_values={c: ["NA"] for c in expected.columns[5:]})  # fmt: skip
    pd.testing.assert_frame_equal(shipped, expected, check_dtype=False)


@pytest.mark.parametrize(
    "rows, expected",
    [
        ("track\tassay\n", "missing columns ['cell_type']"),
        ("track\tassay\tcell_type\nCTCF K562\tTF\tK562\n", "bad track name 'CTCF K562'"),
        ("track\tassay\tcell_type\nCTCF\tChIP\tK562\n", "assay 'ChIP' is not one of"),
        ("track\tassay\tcell_type\nA\tTF\tK\nA\tTF\tK\n", "duplicate track name 'A'"),
    ],
)
def test_bad_target_tables(tmp_path: Path, rows: str, expected: str):
    path = tmp_path / "targets.tsv"
    path.write_text(rows)
    with pytest.raises(InputError, match=None) as error:
        read_track_table(path)
    assert expected in str(error.value) and str(path) in str(error.value)


def test_column_major_reads_match_loadmat(tmp_path: Path):
    """pread-based reads of a MATLAB 5 variable equal scipy's, for slices and index runs."""
    rng = np.random.default_rng(2)
    x, y = random_one_hot(rng, 40, 30), (rng.random((40, 7)) < 0.3).astype(np.uint8)
    write_mat5_streamed(tmp_path / "s.mat", "test", 40, 7, lambda a, b: (x[a:b], y[a:b]),
                        length=30, block=16)  # fmt: skip
    reference = scipy.io.loadmat(tmp_path / "s.mat")["testxdata"].transpose(2, 1, 0)
    variable = mat5_variables(tmp_path / "s.mat")["testxdata"]
    with mat5_array(tmp_path / "s.mat", variable, tmp_path) as view:
        assert view.shape == (30, 4, 80)
        np.testing.assert_array_equal(view[:, :, 5:33], reference[:, :, 5:33])
        index = np.array([0, 1, 2, 9, 40, 41, 79])
        np.testing.assert_array_equal(view[:, :, index], reference[:, :, index])
        with pytest.raises(IndexError):
            view[0, :, 5:9]
