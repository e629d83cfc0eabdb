"""Data shapes the `small` presets must train on: split files of planted JASPAR motifs.

Each `Shape` makes a train and a valid split file (`write_shape`) in the layout of
results/data/{split}.h5, written through `seq2chrom.splitfile`. A track is motif-driven: its
positives carry an instance of its factor's JASPAR matrix within the central bin (a fraction
`motif_fraction` of them: real peaks without the motif), and some negatives carry one in the
flanks (the windows next to a peak, which DeepSEA's overlapping windows give). `selection`
mirrors `bins.select`: `tf_positive` keeps only windows positive for at least one track, so two
or three tracks come out balanced and anti-correlated, as a user's own two-factor ChIP-seq set;
`all` keeps the sparse, mostly negative windows of many-track data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from seq2chrom.demo.motifs import load_factor_motifs, sample_instances
from seq2chrom.splitfile import TrackColumns, create_split_file

WINDOW, BIN = 1000, 200
FACTOR_ORDER = ("CTCF", "GATA1", "FOXA1", "HNF4A", "SPI1", "CEBPB", "REST", "MAFK", "NRF1")


@dataclass(frozen=True)
class Shape:
    """One kind of data set: tracks, windows, positives, motif strength and background."""

    name: str
    n_tracks: int
    n_train: int
    selection: str = "tf_positive"  # or "all"
    positive_rate: float = 0.05  # per track, selection "all" only
    motif_fraction: float = 0.9  # positives that carry the motif
    min_score: float = 0.8  # planted instances score >= this fraction of the best
    gc: float = 0.41
    decoy_fraction: float = 0.2  # negatives with the motif outside the central bin

    @property
    def n_valid(self) -> int:
        return max(1000, self.n_train // 8)


SHAPES: tuple[Shape, ...] = (
    Shape("2 balanced tracks, 8k windows", 2, 8_000),
    Shape("3 balanced tracks, 4k windows", 3, 4_000),
    Shape("2 balanced tracks, 30k windows", 2, 30_000),
    Shape("2 balanced, weak motifs (50%, score 0.6)", 2, 8_000, motif_fraction=0.5, min_score=0.6),
    Shape("2 balanced, strong motifs (100%)", 2, 8_000, motif_fraction=1.0, min_score=0.95),
    Shape("2 balanced, GC-rich (60%)", 2, 8_000, gc=0.6),
    Shape("9 sparse tracks (5%), 10k windows", 9, 10_000, selection="all", positive_rate=0.05),
)
SMALLEST = (SHAPES[0], SHAPES[1])


def labels(shape: Shape, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, T) uint8 labels: independent draws, then under `tf_positive` each all-negative row
    given one positive track (most rows end with exactly one, as peaks of different factors
    seldom share a bin)."""
    if shape.selection == "all":
        return (rng.random((n, shape.n_tracks)) < shape.positive_rate).astype(np.uint8)
    y = (rng.random((n, shape.n_tracks)) < 0.15).astype(np.uint8)
    empty = np.flatnonzero(y.sum(axis=1) == 0)
    y[empty, rng.integers(0, shape.n_tracks, len(empty))] = 1
    return y


def sequences(shape: Shape, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, WINDOW) uint8 base codes 0-3 (A,C,G,T): background of GC `shape.gc` with motifs."""
    n = len(y)
    at, gc = (1 - shape.gc) / 2, shape.gc / 2
    codes = rng.choice(4, size=(n, WINDOW), p=[at, gc, gc, at]).astype(np.uint8)
    motifs = load_factor_motifs()
    centre_lo, centre_hi = (WINDOW - BIN) // 2, (WINDOW + BIN) // 2
    for track in range(shape.n_tracks):
        pfm = motifs[FACTOR_ORDER[track % len(FACTOR_ORDER)]].pfm
        width = len(pfm)
        carriers = np.flatnonzero((y[:, track] == 1) & (rng.random(n) < shape.motif_fraction))
        decoys = np.flatnonzero((y[:, track] == 0) & (rng.random(n) < shape.decoy_fraction))
        starts = np.concatenate(
            [
                rng.integers(centre_lo, centre_hi - width, len(carriers)),
                _flank_starts(len(decoys), width, rng),
            ]
        )
        rows = np.concatenate([carriers, decoys])
        bases = sample_instances(pfm, len(rows), rng, min_score=shape.min_score)
        minus = rng.random(len(rows)) < 0.5
        bases[minus] = 3 - bases[minus, ::-1]
        codes[rows[:, None], starts[:, None] + np.arange(width)] = bases
    return codes


def _flank_starts(n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Motif starts wholly outside the central bin (left or right flank)."""
    left = rng.integers(0, (WINDOW - BIN) // 2 - width, n)
    return np.where(rng.random(n) < 0.5, left, WINDOW - width - left)


def write_shape(shape: Shape, folder: Path, seed: int) -> tuple[Path, Path]:
    """Write `folder`/train.h5 and valid.h5 for `shape` from `seed`; returns their paths."""
    rng = np.random.default_rng(seed)
    eye = np.eye(4, dtype=np.uint8)
    names = [f"{FACTOR_ORDER[k % len(FACTOR_ORDER)]}_{k}" for k in range(shape.n_tracks)]
    columns = TrackColumns(names, ["TF"] * shape.n_tracks, ["synthetic"] * shape.n_tracks)
    paths = []
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", shape.n_train), ("valid", shape.n_valid)):
        y = labels(shape, n, rng)
        x = eye[sequences(shape, y, rng)]
        path = folder / f"{split}.h5"
        attrs = {"bin_size": BIN, "window": WINDOW, "split": split}
        with create_split_file(path, columns, n, window=WINDOW, attrs=attrs) as writer:
            writer.x[:] = x
            writer.y[:] = y
        paths.append(path)
    return paths[0], paths[1]
