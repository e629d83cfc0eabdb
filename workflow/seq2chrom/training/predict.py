"""Predictions averaged over both strands, streamed from a split HDF5 file into another."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np

from seq2chrom.training.batches import H5Batches, reverse_complement


def predict_both_strands(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Mean of the predictions for ``x`` and its reverse complement.

    x: (B, L, 4) float32 one-hot A,C,G,T -> (B, T) float32. One model call on 2B sequences.
    """
    both = np.concatenate([x, reverse_complement(x)])
    p = np.asarray(model.predict_on_batch(both), dtype=np.float32)
    return (p[: len(x)] + p[len(x) :]) / 2


def predict_file(
    model: keras.Model, split: str | Path, out: str | Path, batch_size: int = 256
) -> None:
    """Write ``out`` (HDF5): ``y_pred`` (N, T) float32 strand-averaged, ``tracks`` strings.

    Reads ``split`` in file order ``batch_size`` sequences at a time; memory is flat in N.
    ``chrom`` and ``start`` are copied when present so rows can be traced back to bins.
    """
    batches = H5Batches(
        split,
        batch_size,
        shuffle=False,
        reverse_complement=False,
        labels=False,
        block_size=batch_size,
        buffer_blocks=8,
    )
    n_tracks = int(model.outputs[0].shape[-1])
    with h5py.File(split, "r") as source, h5py.File(out, "w") as target:
        y_pred = target.create_dataset(
            "y_pred",
            (batches.n_samples, n_tracks),
            dtype="float32",
            chunks=(min(batches.n_samples, 256), n_tracks),
        )
        for index in range(len(batches)):
            start = index * batch_size
            y_pred[start : start + batch_size] = predict_both_strands(model, batches[index])
        for name in ("tracks", "chrom", "start"):
            if name in source:
                target.create_dataset(name, data=source[name][:], dtype=source[name].dtype)
        target.attrs["strands"] = "mean of forward and reverse complement"
    batches.close()
