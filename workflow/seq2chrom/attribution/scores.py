"""The attributions file ``results/attributions/{model}/{track}.h5`` and the windows it scores.

Layout (written by `write_attribution_file`, read by `read_attributions`; no other module
names these datasets):
  one_hot (N, L, 4) uint8        the windows, A,C,G,T, N all zero
  hypothetical (N, L, 4) float32 what each base would contribute at each position
  contrib (N, L, 4) float32      hypothetical x one_hot: the window's own bases
  chrom (N,) str, start (N,) int64   each window's chromosome and 0-based first base (-1 when
                                 the data has no coordinates, as the DeepSEA bundle)
  row (N,) int64, prediction (N,) float32   the window's row in the test split and the model's
                                 strand-averaged prediction of the track there
  attrs: model, track, method, settings (JSON), window, bases "ACGT"

The windows: the `n` test windows with the highest prediction among the track's positives.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from seq2chrom.attribution.methods import (
    Settings,
    attribute,
    contributions,
    gradient_function,
    logit_model,
)
from seq2chrom.data.bins import window_offset
from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output
from seq2chrom.splitfile import open_h5

log = logging.getLogger("seq2chrom.attribution")

_FIX = "rerun `seq2chrom attribute` (snakemake results/attributions/{model}/{track}.h5)"


class Windows(NamedTuple):
    """Windows of the test split to explain: their rows, one-hot x, coordinates, prediction."""

    row: np.ndarray  # (N,) int64
    x: np.ndarray  # (N, L, 4) uint8
    chrom: np.ndarray  # (N,) str
    start: np.ndarray  # (N,) int64, window's first base, -1 unknown
    prediction: np.ndarray  # (N,) float32


@dataclass(frozen=True)
class Attributions:
    """An attributions file read back (`read_attributions`)."""

    one_hot: np.ndarray  # (N, L, 4) uint8
    hypothetical: np.ndarray  # (N, L, 4) float32
    contrib: np.ndarray  # (N, L, 4) float32
    chrom: np.ndarray  # (N,) str
    start: np.ndarray  # (N,) int64
    row: np.ndarray  # (N,) int64
    prediction: np.ndarray  # (N,) float32
    attrs: dict


def top_positive_rows(y_pred: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Rows of the `n` positives (``y == 1``) with the highest `y_pred`, highest first (ties:
    the earlier row); fewer when there are fewer positives. (N,) vectors -> (<= n,) int64."""
    positives = np.flatnonzero(np.asarray(y) > 0)
    order = np.argsort(-np.asarray(y_pred, np.float64)[positives], kind="stable")
    return positives[order[:n]].astype(np.int64)


def best_windows(split, predictions, track: str, y: np.ndarray, n: int, bin_size: int) -> Windows:
    """The `n` best-predicted positive windows of `track` in an open test split
    (`splitfile.SplitFile`) with its `splitfile.Predictions`; y: (N,) the track's labels."""
    j = predictions.tracks.index(track)
    rows = top_positive_rows(predictions.y_pred[:, j], y, n)
    order = np.argsort(rows)  # h5py reads increasing rows
    x = np.empty((len(rows), *split.x.shape[1:]), np.uint8)
    if len(rows):
        x[order] = split.x[rows[order]]
    coordinates = split.coordinates()
    chrom = (
        coordinates["chrom"].asstr()[:][rows]
        if "chrom" in coordinates
        else np.full(len(rows), "unknown")
    )
    bin_start = coordinates["start"][:][rows] if "start" in coordinates else np.full(len(rows), -1)
    offset = window_offset(bin_size, split.x.shape[1])
    start = np.where(bin_start >= 0, bin_start + offset, -1).astype(np.int64)
    return Windows(rows, x, chrom.astype(str), start, predictions.y_pred[rows, j])


def write_attribution_file(
    path: str | Path,
    windows: Windows,
    hypothetical: np.ndarray,
    contrib: np.ndarray,
    attrs: dict,
) -> None:
    """Write one track's attributions (the layout above) atomically."""
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
        compressed = {"compression": "gzip", "compression_opts": 1} if len(windows.x) else {}
        h5.create_dataset("one_hot", data=windows.x, **compressed)
        h5.create_dataset("hypothetical", data=hypothetical.astype(np.float32), **compressed)
        h5.create_dataset("contrib", data=contrib.astype(np.float32), **compressed)
        h5.create_dataset("chrom", data=windows.chrom.astype(object), dtype=h5py.string_dtype())
        h5.create_dataset("start", data=windows.start.astype(np.int64))
        h5.create_dataset("row", data=windows.row.astype(np.int64))
        h5.create_dataset("prediction", data=windows.prediction.astype(np.float32))
        h5.attrs.update({**attrs, "bases": "ACGT"})


def read_attributions(path: str | Path) -> Attributions:
    """An attributions file, checked: InputError naming the file when it is missing or lacks a
    dataset, or when the arrays disagree in shape."""
    path = Path(path)
    handle = open_h5(path, "attributions file", _FIX)
    names = ("one_hot", "hypothetical", "contrib", "chrom", "start", "row", "prediction")
    with handle:
        missing = [name for name in names if name not in handle]
        if missing:
            raise InputError(path, f"no dataset {missing[0]!r}", fix=_FIX)
        arrays = {name: handle[name][()] for name in names}
        attrs = dict(handle.attrs)
    arrays["chrom"] = np.array([c.decode() if isinstance(c, bytes) else c for c in arrays["chrom"]])
    shape = arrays["one_hot"].shape
    if (
        len(shape) != 3
        or shape[2] != 4
        or any(arrays[name].shape != shape for name in ("hypothetical", "contrib"))
    ):
        raise InputError(path, f"one_hot, hypothetical, contrib are not all (N, L, 4): {shape}")
    return Attributions(**arrays, attrs=attrs)


def write_attributions(
    model_path: Path,
    data: Path,
    predictions: Path,
    tracks: Sequence[str],
    out_dir: Path,
    *,
    settings: Settings,
    windows: int,
    bin_size: int,
    seed: int,
    device: str = "auto",
) -> None:
    """`seq2chrom attribute`: write ``out_dir/{track}.h5`` for each of `tracks`: the
    attributions (`settings`) of the model's logit of the track on its `windows` best-predicted
    positive test windows. One model load for all tracks."""
    from seq2chrom.modelfile.loading import open_trained
    from seq2chrom.splitfile import TRACKS, X, Y, open_split, read_predictions

    scores = read_predictions(predictions)
    with open_split(data, (X, Y, TRACKS)) as split:
        data_tracks = split.names()
        unknown = [t for t in tracks if t not in data_tracks]
        if unknown:
            raise InputError(data, f"no tracks {unknown}", fix="check attributions.tracks")
        if scores.tracks != data_tracks or len(scores.y_pred) != split.info().n_samples:
            raise InputError(
                predictions, f"does not match {data}", fix="rerun `seq2chrom predict` on it"
            )
        trained = open_trained(model_path, device, data_tracks, data_path=data)
        model = logit_model(trained.model)
        gradient = gradient_function(model) if settings.method != "ism" else None
        rng = np.random.default_rng(seed)
        # the tracks' label columns in one pass over y (a bundle's test y is 455,024 x 919)
        columns = sorted({data_tracks.index(t) for t in tracks})
        labels = dict(zip(columns, split.y[:, columns].T, strict=True))
        for track in tracks:
            y = labels[data_tracks.index(track)]
            chosen = best_windows(split, scores, track, y, windows, bin_size)
            if not len(chosen.row):
                log.warning("%s: no positive test window; the file holds no window", track)
            started = time.perf_counter()
            hypothetical = (
                attribute(model, chosen.x, trained.tracks.index(track), settings, rng, gradient)
                if len(chosen.row)
                else np.zeros(chosen.x.shape, np.float32)
            )
            elapsed = time.perf_counter() - started
            attrs = {
                "model": str(model_path),
                "track": track,
                "method": settings.method,
                "settings": json.dumps(settings._asdict()),
                "window": int(split.x.shape[1]),
                "scored": "logit of the track, mean of both strands",
            }
            write_attribution_file(
                out_dir / f"{track}.h5", chosen, hypothetical,
                contributions(hypothetical, chosen.x), attrs,
            )  # fmt: skip
            log.info(
                "%s: %d windows by %s in %.1f s (%.1f windows/s, %s)",
                track, len(chosen.row), settings.method, elapsed,
                len(chosen.row) / max(elapsed, 1e-9), trained.kind or "cpu",
            )  # fmt: skip
