"""Predictions: mean of forward and reverse-complement predictions, streamed to HDF5."""

from __future__ import annotations

import h5py
import keras
import numpy as np
from seq2chrom.cli import main
from seq2chrom.data.one_hot import reverse_complement
from seq2chrom.inference.predict import predict_both_strands, predict_file
from seq2chrom.models import build_model

from tests.unit.training_data import planted_split, write_split


def _model():
    keras.utils.set_random_seed(3)
    return build_model("deepsea", 3, 100, "small", conv_filters=(8, 8, 8), pool_size=2)


def test_prediction_is_the_mean_of_both_strands():
    model = _model()
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (16, 100))]
    forward = keras.ops.convert_to_numpy(model(x, training=False))
    reverse = keras.ops.convert_to_numpy(model(reverse_complement(x).copy(), training=False))
    assert not np.allclose(forward, reverse)  # the model itself is not strand-symmetric
    got = predict_both_strands(model, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, (forward + reverse) / 2, rtol=1e-5, atol=1e-6)


def test_predict_file_streams_all_rows_in_order(tmp_path):
    model = _model()
    split = planted_split(tmp_path / "test.h5", 75, seed=2, chunk_rows=16)
    predict_file(model, split, tmp_path / "pred.h5", batch_size=20)
    with h5py.File(split) as source, h5py.File(tmp_path / "pred.h5") as out:
        y_pred = out["y_pred"][:]
        assert y_pred.shape == (75, 3) and y_pred.dtype == np.float32
        assert out["tracks"].asstr()[:].tolist() == ["track0", "track1", "track2"]
        np.testing.assert_allclose(
            y_pred, predict_both_strands(model, source["x"][:].astype("float32")), rtol=1e-5
        )
        flipped = write_split(tmp_path / "rc.h5", reverse_complement(source["x"][:]),
                              source["y"][:])  # fmt: skip
    predict_file(model, flipped, tmp_path / "pred_rc.h5", batch_size=32)
    with h5py.File(tmp_path / "pred_rc.h5") as out:
        np.testing.assert_allclose(out["y_pred"][:], y_pred, rtol=1e-5)  # strand-symmetric


def test_predict_cli_writes_the_file(tmp_path):
    model = _model()
    model.save(tmp_path / "model.keras")
    split = planted_split(tmp_path / "test.h5", 30, seed=2)
    out = tmp_path / "predictions" / "test.h5"
    assert main(["predict", "--model", str(tmp_path / "model.keras"), "--data", str(split),
                 "--out", str(out), "--batch-size", "8"]) == 0  # fmt: skip
    with h5py.File(out) as handle:
        assert handle["y_pred"].shape == (30, 3)
    assert main(["predict", "--model", str(tmp_path / "missing.keras"), "--data", str(split),
                 "--out", str(out)]) == 1  # fmt: skip
