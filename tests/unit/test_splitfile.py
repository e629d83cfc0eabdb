"""The split-file contract: one writer, one checked reader, the predictions file beside it."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from seq2chrom.errors import InputError
from seq2chrom.splitfile import (
    CHUNK_SAMPLES,
    SPLITS,
    ChunkWriter,
    Coordinates,
    TrackColumns,
    create_predictions_file,
    create_split_file,
    open_split,
    read_labels,
    read_predictions,
    read_split_info,
    sample_positives,
)

from tests.unit.training_data import one_hot, write_split

COLUMNS = TrackColumns(["CTCF_K562", "DNase_K562"], ["TF", "DNase"], ["K562", "K562"])
# five samples, window 6: sample i is all A except base i (C) at position i
X = np.zeros((5, 6, 4), np.uint8)
X[:, :, 0] = 1
for i in range(5):
    X[i, i] = [0, 1, 0, 0]
Y = np.array([[1, 0], [0, 0], [0, 1], [1, 1], [0, 0]], np.uint8)


def write(path: Path, coordinates: Coordinates | None) -> Path:
    attrs = {"bin_size": 2, "window": 6, "split": "valid"}
    with create_split_file(path, COLUMNS, 5, window=6, attrs=attrs, coordinates=coordinates) as h5:
        writer = ChunkWriter(h5.x, 2, zlib.Z_HUFFMAN_ONLY)
        writer.append(X[:3])
        writer.append(X[3:])
        writer.close()
        h5.y[:] = Y
    return path


def test_split_names_are_the_pipeline_order():
    assert SPLITS == ("train", "valid", "test")


def test_written_file_reads_back_with_its_layout(tmp_path):
    coordinates = Coordinates(["chr1", "chr22"], np.array([0, 0, 1, 1, 1]), np.arange(5) * 2)
    path = write(tmp_path / "valid.h5", coordinates)
    info = read_split_info(path)
    assert (info.tracks, info.assays, info.cell_types) == (
        COLUMNS.tracks,
        COLUMNS.assays,
        COLUMNS.cell_types,
    )
    assert (info.n_samples, info.window, info.n_tracks, info.chunk_rows) == (5, 6, 2, 256)
    with open_split(path) as split:
        np.testing.assert_array_equal(split.x[:], X)
        np.testing.assert_array_equal(split.y[1:4], Y[1:4])
        assert split.positive_rows(block_rows=2).tolist() == [0, 2, 3]
        assert split.positives(block_rows=2).tolist() == [2, 2]
        chrom = split.coordinates()["chrom"].asstr()[:].tolist()
        assert chrom == ["chr1", "chr1", "chr22", "chr22", "chr22"]
    with h5py.File(path) as h5:  # the documented on-disk layout (README "Data layout")
        assert h5["x"].dtype == np.uint8 and h5["x"].chunks == (CHUNK_SAMPLES, 6, 4)
        assert h5["x"].compression == "gzip" and h5["y"].dtype == np.uint8
        assert h5["start"].dtype == np.int64 and h5["start"][:].tolist() == [0, 2, 4, 6, 8]
        assert dict(h5.attrs) == {"bin_size": 2, "window": 6, "split": "valid"}


def test_without_coordinates_every_sample_is_unknown(tmp_path):
    path = write(tmp_path / "bundle.h5", None)
    with h5py.File(path) as h5:
        assert h5["chrom"].asstr()[:].tolist() == ["unknown"] * 5
        assert h5["start"][:].tolist() == [-1] * 5
    y, columns = read_labels(path)
    np.testing.assert_array_equal(y, Y)
    assert columns == COLUMNS


def test_reader_names_the_file_and_the_missing_dataset(tmp_path):
    with pytest.raises(InputError, match="split file not found"):
        read_split_info(tmp_path / "absent.h5")
    path = tmp_path / "x_only.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = X
    with pytest.raises(InputError, match=r"x_only.h5: no dataset 'y'.*fix: rebuild"):
        read_split_info(path)
    assert read_split_info(path, need=("x",)).n_tracks == 0
    with h5py.File(path, "w") as h5:
        h5["x"] = np.zeros((5, 6, 3), np.uint8)
    with pytest.raises(InputError, match=r"x has shape \(5, 6, 3\), expected \(N, L, 4\)"):
        read_split_info(path, need=("x",))
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        read_split_info(tmp_path / "text.h5")


def test_predictions_carry_the_split_tracks_and_coordinates(tmp_path):
    coordinates = Coordinates(["chr1"], np.zeros(5, np.int64), np.arange(5) * 2)
    split_path = write(tmp_path / "test.h5", coordinates)
    scores = np.linspace(0, 1, 10, dtype=np.float32).reshape(5, 2)
    with (
        open_split(split_path, ("x",)) as split,
        create_predictions_file(tmp_path / "pred.h5", split, 2) as y_pred,
    ):
        y_pred[:] = scores
    predictions = read_predictions(tmp_path / "pred.h5")
    np.testing.assert_array_equal(predictions.y_pred, scores)
    assert predictions.tracks == COLUMNS.tracks
    assert predictions.chrom.tolist() == ["chr1"] * 5
    assert predictions.start.tolist() == [0, 2, 4, 6, 8]
    with pytest.raises(InputError, match="run `seq2chrom predict` first"):
        read_predictions(tmp_path / "none.h5")


def test_positive_sample_is_seeded_in_file_order_and_only_positives(tmp_path):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, (50, 12), dtype=np.uint8)
    y = np.zeros((50, 2), np.uint8)
    y[[3, 7, 8, 20, 31, 49], 0] = 1
    y[[7, 44], 1] = 1  # positives: 3, 7, 8, 20, 31, 44, 49
    path = write_split(tmp_path / "test.h5", one_hot(codes), y, chunk_rows=8)
    sample, labels, tracks = sample_positives(path, 4, seed=1, block_rows=16)
    rows = [int(np.flatnonzero((codes == row).all(axis=1))[0]) for row in sample]
    assert tracks == ["track0", "track1"] and len(rows) == 4
    assert rows == sorted(rows) and set(rows) <= {3, 7, 8, 20, 31, 44, 49}
    np.testing.assert_array_equal(labels, y[rows])
    again = sample_positives(path, 4, seed=1, block_rows=5)  # block size is no input
    np.testing.assert_array_equal(again.codes, sample)
    np.testing.assert_array_equal(again.y, labels)
    every = sample_positives(path, 100, seed=2)
    np.testing.assert_array_equal(every.codes, codes[[3, 7, 8, 20, 31, 44, 49]])
    np.testing.assert_array_equal(every.y, y[[3, 7, 8, 20, 31, 44, 49]])
    with pytest.raises(InputError, match="no sequence is positive"):
        sample_positives(write_split(tmp_path / "none.h5", one_hot(codes), 0 * y), 4, 1)
