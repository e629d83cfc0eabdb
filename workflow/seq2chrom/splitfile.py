"""The split file `results/data/{split}.h5`, the contract between data, training and evaluation.

Layout (written by `create_split_file`, read by `open_split` / `read_split_info`):
  x (N, window, 4) uint8    one-hot A,C,G,T, non-ACGT bases all zero; gzip chunks of
                            CHUNK_SAMPLES samples
  y (N, T) uint8            0/1 labels, one column per track
  tracks, assays, cell_types (T,) str
  chrom (N,) str, start (N,) int64   bin start (0-based); the window starts at
                            start - (window - bin_size) // 2. Without coordinates (the DeepSEA
                            bundle) every chrom reads "unknown" and every start -1.
  attrs: bin_size, window, split (and source for an imported bundle)
The predictions of a model for a split (`results/predictions/{model}/{split}.h5`) hold
y_pred (N, T) float32 and the split's tracks, chrom and start (`create_predictions_file`,
`read_predictions`); optionally y_pred_strands (2, N, T) float32, each strand's own predictions,
forward then reverse complement, whose mean is y_pred (`create_strand_predictions`,
`read_strand_predictions`).

This module is the only one that names these datasets: the genome build (`data/encode.py`) and
the bundle import (`data/bundle.py`) write through `create_split_file`, and every consumer reads
through `open_split` or `read_split_info`, which check the layout and raise InputError naming
the file and the fix.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from seq2chrom.errors import InputError

SPLITS = ("train", "valid", "test")
N_BASE = 4  # base code of N (no base, an all-zero row of x): codes 0-3 are A, C, G, T
X, Y = "x", "y"
TRACKS, ASSAYS, CELL_TYPES = "tracks", "assays", "cell_types"
CHROM, START = "chrom", "start"
Y_PRED = "y_pred"
Y_PRED_STRANDS = "y_pred_strands"
CHUNK_SAMPLES = 256
GZIP_LEVEL = 1
UNKNOWN_CHROM = "unknown"
_FIX = "rebuild the split (snakemake results/data/{train,valid,test}.h5)"


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class TrackColumns:
    """Names of the label columns, in column order: three (T,) lists of str."""

    tracks: list[str]
    assays: list[str]
    cell_types: list[str]


@dataclass(frozen=True)
class Coordinates:
    """Where each sample's bin lies: chrom names (C,), chrom_index (N,) into them, start (N,)."""

    chroms: Sequence[str]
    chrom_index: np.ndarray
    start: np.ndarray


@dataclass(frozen=True)
class SplitWriter:
    """The open, empty x (N, window, 4) and y (N, T) datasets of a split file being written."""

    x: h5py.Dataset
    y: h5py.Dataset


@contextlib.contextmanager
def create_split_file(
    path: str | Path,
    columns: TrackColumns,
    n_samples: int,
    *,
    window: int,
    attrs: dict,
    coordinates: Coordinates | None = None,
) -> Iterator[SplitWriter]:
    """Create a split file with its metadata and yield its empty x and y to be filled.

    `attrs` are the file attributes in the order written (bin_size, window, split[, source]);
    they are set before x and y are created when `coordinates` is None (an imported bundle),
    after them otherwise, as the two writers always did (files stay byte-identical).
    Fill x with `ChunkWriter` (direct chunk writes) and y by slices or a `ChunkWriter`.
    """
    string = h5py.string_dtype("utf-8")
    n_tracks = len(columns.tracks)
    with h5py.File(path, "w") as h5:
        for name, values in (
            (TRACKS, columns.tracks),
            (ASSAYS, columns.assays),
            (CELL_TYPES, columns.cell_types),
        ):
            h5.create_dataset(name, data=np.array(list(values), dtype=object), dtype=string)
        if coordinates is None:
            _unknown_coordinates(h5, n_samples)
            h5.attrs.update(attrs)
        else:
            length = max([len(name.encode()) for name in coordinates.chroms] + [1])
            chrom_dtype = h5py.string_dtype("utf-8", length)
            names = np.array([name.encode() for name in coordinates.chroms], dtype=chrom_dtype)
            h5.create_dataset(CHROM, data=names[coordinates.chrom_index], dtype=chrom_dtype)
            h5.create_dataset(START, data=np.asarray(coordinates.start).astype(np.int64))
        x = h5.create_dataset(
            X,
            shape=(n_samples, window, 4),
            dtype=np.uint8,
            chunks=(CHUNK_SAMPLES, window, 4),
            maxshape=(None, window, 4),
            compression="gzip",
            compression_opts=GZIP_LEVEL,
        )
        y = h5.create_dataset(
            Y,
            shape=(n_samples, n_tracks),
            dtype=np.uint8,
            chunks=(CHUNK_SAMPLES, max(1, n_tracks)),
            maxshape=(None, max(1, n_tracks)),
            compression="gzip",
            compression_opts=GZIP_LEVEL,
        )
        if coordinates is not None:
            h5.attrs.update(attrs)
        yield SplitWriter(x, y)


def _unknown_coordinates(h5: h5py.File, n: int) -> None:
    """chrom "unknown" and start -1 for every sample, stored as fill values (no data)."""
    chunk = max(1, min(n, 1 << 16))
    h5.create_dataset(
        CHROM,
        shape=(n,),
        chunks=(chunk,),
        dtype=h5py.string_dtype("utf-8", len(UNKNOWN_CHROM)),
        fillvalue=UNKNOWN_CHROM.encode(),
    )
    h5.create_dataset(START, shape=(n,), chunks=(chunk,), dtype=np.int64, fillvalue=-1)


def _deflate(chunk: np.ndarray, strategy: int) -> bytes:
    """A chunk as the zlib stream HDF5's gzip filter stores."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 15, 8, strategy)
    return compressor.compress(np.ascontiguousarray(chunk)) + compressor.flush()


class ChunkWriter:
    """Append rows to a gzip-chunked HDF5 dataset in order, compressing chunks in threads.

    The dataset must be chunked along axis 0 only (chunk = (rows, *shape[1:])) with the gzip
    filter and no other filter. `strategy` is a zlib strategy: any gives a standard stream.
    Deflate with Z_HUFFMAN_ONLY suits one-hot bytes (about 6x, twice as fast as level 1) and
    Z_RLE sparse labels (about 30x at 2 % positives).
    """

    def __init__(
        self, dataset: h5py.Dataset, threads: int = 1, strategy: int = zlib.Z_DEFAULT_STRATEGY
    ):
        self.dataset = dataset
        self.strategy = strategy
        self.rows = dataset.chunks[0]
        self.row_shape = dataset.shape[1:]
        self.pending = np.zeros((0, *self.row_shape), dataset.dtype)
        self.written = 0
        self.pool = ThreadPoolExecutor(max(1, threads))

    def append(self, values: np.ndarray) -> None:
        """Append (n, *row_shape) rows; complete chunks are written, the rest kept."""
        values = np.concatenate([self.pending, values]) if self.pending.shape[0] else values
        full = values.shape[0] // self.rows * self.rows
        self._write(values[:full])
        self.pending = values[full:].copy()

    def close(self) -> None:
        """Write the last, partial chunk (padded with zeros, as HDF5 stores chunks) and stop."""
        if self.pending.shape[0]:
            padded = np.zeros((self.rows, *self.row_shape), self.dataset.dtype)
            padded[: self.pending.shape[0]] = self.pending
            self._write(padded)
            self.pending = self.pending[:0]
        self.pool.shutdown()

    def _write(self, values: np.ndarray) -> None:
        chunks = [values[i : i + self.rows] for i in range(0, values.shape[0], self.rows)]
        compressed = self.pool.map(lambda chunk: _deflate(chunk, self.strategy), chunks)
        for data in compressed:
            offset = (self.written, *(0 for _ in self.row_shape))
            self.dataset.id.write_direct_chunk(offset, data)
            self.written += self.rows


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class SplitInfo:
    """What a split file holds, without its arrays.

    tracks, assays, cell_types: (T,) names ([] when the file has none); n_samples N; window L;
    n_tracks: label columns of y (0 without y); chunk_rows: samples per stored chunk of x.
    """

    path: Path
    tracks: list[str]
    assays: list[str]
    cell_types: list[str]
    n_samples: int
    window: int
    n_tracks: int
    chunk_rows: int


def open_h5(path: str | Path, what: str, fix: str = ""):
    """`path` open for reading as HDF5 (an `h5py.File`); InputError naming it, with `fix`,
    when it is missing ("{what} not found") or not a readable HDF5 file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found", fix=fix)
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise InputError(path, f"not a readable HDF5 file ({error})", fix=fix) from None


class SplitFile:
    """A split file open for reading; `x` and `y` are h5py datasets, read by slicing.

    Opening checks that the datasets in `need` exist and that x, when present, is (N, L, 4)
    (InputError naming the file otherwise). Use as a context manager, or call `close`.
    """

    def __init__(self, path: str | Path, need: Sequence[str] = (X, Y)):
        self.path = Path(path)
        self._h5 = open_h5(self.path, "split file", _FIX)
        missing = [name for name in need if name not in self._h5]
        if missing:
            self._h5.close()
            raise InputError(self.path, f"no dataset {missing[0]!r}", fix=_FIX)
        x = self._h5.get(X)
        if x is not None and (x.ndim != 3 or x.shape[2] != 4):
            self._h5.close()
            raise InputError(self.path, f"x has shape {x.shape}, expected (N, L, 4)", fix=_FIX)

    @property
    def x(self) -> h5py.Dataset:
        """(N, L, 4) uint8 one-hot A,C,G,T."""
        return self._dataset(X)

    @property
    def y(self) -> h5py.Dataset:
        """(N, T) uint8 labels."""
        return self._dataset(Y)

    def _dataset(self, name: str) -> h5py.Dataset:
        if name not in self._h5:
            raise InputError(self.path, f"no dataset {name!r}", fix=_FIX)
        return self._h5[name]

    @property
    def has_labels(self) -> bool:
        return Y in self._h5

    def names(self, name: str = TRACKS) -> list[str]:
        """tracks, assays or cell_types as a list of str; [] when the file has none."""
        return self._h5[name].asstr()[:].tolist() if name in self._h5 else []

    def info(self) -> SplitInfo:
        """Names and shapes; without x, n_samples is y's and window and chunk_rows are 0."""
        x, y = self._h5.get(X), self._h5.get(Y)
        return SplitInfo(
            path=self.path,
            tracks=self.names(TRACKS),
            assays=self.names(ASSAYS),
            cell_types=self.names(CELL_TYPES),
            n_samples=int((x if x is not None else y).shape[0]),
            window=int(x.shape[1]) if x is not None else 0,
            n_tracks=int(y.shape[1]) if y is not None else 0,
            chunk_rows=(int(x.chunks[0]) if x.chunks else 1) if x is not None else 0,
        )

    def coordinates(self) -> dict[str, np.ndarray]:
        """The datasets that trace rows back to bins, by name (chrom, start), as stored."""
        return {name: self._h5[name] for name in (CHROM, START) if name in self._h5}

    def positive_rows(self, block_rows: int = 8192) -> np.ndarray:
        """(P,) int64 rows positive for any track, read `block_rows` rows at a time."""
        y = self.y
        found = [
            start + np.flatnonzero(np.asarray(y[start : start + block_rows]).any(axis=1))
            for start in range(0, y.shape[0], block_rows)
        ]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def positives(self, block_rows: int = 1 << 16) -> np.ndarray:
        """(T,) int64 positive samples per track, read `block_rows` rows at a time."""
        y = self.y
        total = np.zeros(y.shape[1], np.int64)
        for begin in range(0, y.shape[0], block_rows):
            total += y[begin : begin + block_rows].sum(axis=0, dtype=np.int64)
        return total

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> SplitFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_split(path: str | Path, need: Sequence[str] = (X, Y)) -> SplitFile:
    """Open a split file for reading, checking x and the datasets in `need` (see SplitFile)."""
    return SplitFile(path, need)


def read_split_info(path: str | Path, need: Sequence[str] = (X, Y)) -> SplitInfo:
    """Tracks, shapes and window of a split file, checked (see SplitFile)."""
    with SplitFile(path, need) as split:
        return split.info()


def read_labels(path: str | Path) -> tuple[np.ndarray, TrackColumns]:
    """y (N, T) uint8 and the track columns of a split file (all read into memory)."""
    with SplitFile(path, (Y, TRACKS, ASSAYS, CELL_TYPES)) as split:
        info = split.info()
        return split.y[:], TrackColumns(info.tracks, info.assays, info.cell_types)


# ---------------------------------------------------------------------------------------------
# Predictions


@contextlib.contextmanager
def create_predictions_file(
    path: str | Path, split: SplitFile, n_tracks: int
) -> Iterator[h5py.Dataset]:
    """Create a predictions file for `split`: yields y_pred (N, n_tracks) float32 to fill.

    Afterwards the split's tracks, chrom and start are copied, so rows trace back to bins.
    """
    n_samples = int(split.x.shape[0])
    with h5py.File(path, "w") as target:
        y_pred = target.create_dataset(
            Y_PRED,
            (n_samples, n_tracks),
            dtype="float32",
            chunks=(max(min(n_samples, 256), 1), n_tracks),
        )
        yield y_pred
        source = split._h5
        for name in (TRACKS, CHROM, START):
            if name in source:
                target.create_dataset(name, data=source[name][:], dtype=source[name].dtype)
        target.attrs["strands"] = "mean of forward and reverse complement"


def create_strand_predictions(y_pred: h5py.Dataset) -> h5py.Dataset:
    """Add y_pred_strands (2, N, T) float32 to the file of `y_pred` (from
    `create_predictions_file`), to fill with the forward [0] and reverse-complement [1]
    predictions whose mean is y_pred."""
    n_samples, n_tracks = y_pred.shape
    return y_pred.file.create_dataset(
        Y_PRED_STRANDS,
        (2, n_samples, n_tracks),
        dtype="float32",
        chunks=(1, max(min(n_samples, 256), 1), n_tracks),
    )


def read_strand_predictions(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """y_pred_strands (2, N, T) float32 and the T track names of a predictions file."""
    path = Path(path)
    with open_h5(path, "file", "run `seq2chrom predict --strands each` first") as handle:
        if Y_PRED_STRANDS not in handle or TRACKS not in handle:
            raise InputError(
                path,
                f"no per-strand predictions ({Y_PRED_STRANDS})",
                fix="predict again with `seq2chrom predict --strands each`",
            )
        return handle[Y_PRED_STRANDS][()], handle[TRACKS].asstr()[:].tolist()


class Predictions(NamedTuple):
    """A predictions file in memory: y_pred (N, T) float32, T track names, and the bins' chrom
    (N,) str and start (N,) int64 (None when the split had no coordinates)."""

    y_pred: np.ndarray
    tracks: list[str]
    chrom: np.ndarray | None
    start: np.ndarray | None


def read_predictions(path: str | Path) -> Predictions:
    """Everything a predictions file holds (`Predictions`), checked to exist."""
    path = Path(path)
    with open_h5(path, "file", "run `seq2chrom predict` first") as handle:
        missing = [name for name in (Y_PRED, TRACKS) if name not in handle]
        if missing:
            raise InputError(path, f"missing datasets {missing} (has {sorted(handle)})")
        chrom = handle[CHROM].asstr()[:] if CHROM in handle else None
        start = handle[START][:] if START in handle else None
        return Predictions(handle[Y_PRED][()], handle[TRACKS].asstr()[:].tolist(), chrom, start)


def one_hot_to_codes(x: np.ndarray) -> np.ndarray:
    """Base codes of one-hot sequences (x of a split file).

    x: ``(N, L, 4)`` uint8 (or bool) one-hot, A,C,G,T; all-zero rows are N.
    Returns ``(N, L)`` uint8 codes 0..3 for A,C,G,T and `N_BASE` for N.
    """
    x = np.asarray(x).astype(np.uint8, copy=False)
    return (x[..., 1] + 2 * x[..., 2] + 3 * x[..., 3] + N_BASE * (x.sum(axis=-1) == 0)).astype(
        np.uint8
    )


class PositiveSample(NamedTuple):
    """Sequences of a split file positive for any track (`sample_positives`)."""

    codes: np.ndarray  # (n, L) uint8 base codes (`one_hot_to_codes`)
    y: np.ndarray  # (n, T) uint8 labels
    tracks: list[str]  # the T track names


def sample_positives(
    path: str | Path, max_sequences: int, seed: int, block_rows: int = 8192
) -> PositiveSample:
    """Up to `max_sequences` sequences of a split file positive for any track, with their
    labels and the file's track names.

    The sample is seeded (`seed`) and in file order; x and y are read `block_rows` rows at a time,
    so memory is bounded for large test sets.
    """
    with open_split(path, (X, Y, TRACKS)) as split:
        positive = split.positive_rows(block_rows)
        if not len(positive):
            raise InputError(path, "no sequence is positive for any track")
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(positive, min(max_sequences, len(positive)), replace=False))
        x, y = split.x, split.y
        codes = np.empty((len(chosen), x.shape[1]), dtype=np.uint8)
        labels = np.empty((len(chosen), y.shape[1]), dtype=np.uint8)
        done = 0
        for start in range(0, len(x), block_rows):
            rows = chosen[(chosen >= start) & (chosen < start + block_rows)]
            if len(rows):
                block = slice(int(rows[0]), int(rows[-1]) + 1)
                codes[done : done + len(rows)] = one_hot_to_codes(
                    np.asarray(x[block])[rows - rows[0]]
                )
                labels[done : done + len(rows)] = np.asarray(y[block])[rows - rows[0]]
                done += len(rows)
        return PositiveSample(codes, labels, split.names())
