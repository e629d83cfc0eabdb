"""The bins x tracks label matrix: bin selection (`bins.select`) and the train/valid/test split.

Selection (`bins.select`): `tf_positive` keeps bins positive for at least one TF track
(DeepSEA's rule), `any_positive` bins positive for any track, `all` every bin.
Split: bins on `split.test` chromosomes are test; bins on a `split.valid` chromosome or
overlapping a `split.valid` region (`chrom:start-end`, 1-based inclusive) are valid; the rest
train. A sequence named `chrN_...` (an unplaced contig or alt, when `bins.chromosomes` keeps
it) follows chromosome chrN's split (not a region's). A valid region on a test chromosome is
an error. No training window shares a base with a selected validation or test window: training
bins closer than one window to a held-out bin on the same sequence are left out
(`overlaps_held_out`), so a region split (DeepSEA's chr7:30,508,751-35,296,850) does not leak.

`results/data/labels.h5` layout (`assemble_labels`):
  tracks, assays, cell_types (T,) str   track sheet order
  chroms (C,) str                       genome sequences (as bins.h5)
  bin_index (N,) int64                  row of each selected bin in bins.h5
  chrom_index (N,) int32                index into chroms
  start (N,) int64                      bin start, 0-based
  split (N,) uint8                      index into attrs["splits"] = train, valid, test
  y (N, T) uint8                        0/1 labels, chunked by rows
  attrs: bin_size, window, select, splits
Memory: one track's unpacked labels at a time plus the packed labels of selected bins
(T * N / 8 bytes), whatever the number of tracks.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from seq2chrom.data.bins import Bins
from seq2chrom.data.labels import load_labels
from seq2chrom.data.tracksheet import Track
from seq2chrom.errors import InputError
from seq2chrom.splitfile import SPLITS, TrackColumns

log = logging.getLogger(__name__)

SELECT_RULES = ("tf_positive", "any_positive", "all")
_REGION = re.compile(r"^([^:\s]+)(?::([0-9,]+)-([0-9,]+))?$")
_ROWS_PER_BLOCK = 1 << 16
_STR = h5py.string_dtype("utf-8")


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """`chrom` or `chrom:start-end` (1-based inclusive, commas allowed) -> (chrom, start0, end).

    The interval is returned 0-based half-open; (chrom, None, None) for a whole chromosome.
    """
    match = _REGION.match(text.strip())
    if not match:
        raise InputError("split.valid", f"{text!r} is not a chromosome or chrom:start-end region")
    chrom, start, end = match.groups()
    if start is None:
        return chrom, None, None
    start, end = int(start.replace(",", "")), int(end.replace(",", ""))
    if start < 1 or start > end:
        raise InputError(
            "split.valid",
            f"region {text!r} is empty",
            fix="write chrom:start-end, 1 <= start <= end",
        )
    return chrom, start - 1, end


def _with_pieces(bins: Bins, chrom: str) -> list[slice]:
    """Rows of `chrom` and of every sequence named `chrom_...` (its contigs and alts)."""
    return [bins.of(name) for name in bins.chroms if name == chrom or name.startswith(chrom + "_")]


def assign_splits(bins: Bins, test: Sequence[str], valid: Sequence[str]) -> np.ndarray:
    """Split of every bin: (N,) uint8 index into SPLITS (0 train, 1 valid, 2 test).

    Whole chromosomes take their `chrN_...` sequences with them; regions do not.
    """
    split = np.zeros(len(bins), np.uint8)
    known = set(bins.chroms)
    for chrom in test:
        if chrom not in known:
            raise InputError(
                "split.test",
                f"chromosome {chrom!r} is not in the genome",
                fix="name chromosomes of the genome FASTA",
            )
        for rows in _with_pieces(bins, chrom):
            split[rows] = SPLITS.index("test")
    for text in valid:
        chrom, start, end = parse_region(text)
        if chrom not in known:
            raise InputError(
                "split.valid",
                f"chromosome {chrom!r} is not in the genome",
                fix="name chromosomes of the genome FASTA",
            )
        if chrom in test:
            raise InputError(
                "split.valid",
                f"{text!r} lies on test chromosome {chrom}",
                fix="take validation regions from training chromosomes",
            )
        rows = bins.of(chrom)
        if start is None:
            for piece in _with_pieces(bins, chrom):
                split[piece] = SPLITS.index("valid")
        else:
            starts = bins.start[rows]
            inside = (starts < end) & (starts + bins.size > start)
            split[rows.start + np.flatnonzero(inside)] = SPLITS.index("valid")
    return split


def overlaps_held_out(
    chrom_index: np.ndarray, starts: np.ndarray, split: np.ndarray, window: int
) -> np.ndarray:
    """Training bins whose window shares a base with a validation or test bin's window.

    chrom_index, starts, split: (N,) of the selected bins (any order); every window is
    `window` bp at the same offset from its bin, so two windows on one sequence overlap
    exactly when their bin starts differ by less than `window`. Returns (N,) bool, True only
    for training bins (split 0). Sorting plus a nearest-neighbour search: O(N log N).
    """
    chrom_index = np.asarray(chrom_index, np.int64)
    starts = np.asarray(starts, np.int64)
    # One coordinate for all sequences, with gaps of more than a window between sequences.
    stride = (int(starts.max(initial=0)) + 2 * window + 1) if starts.size else 1
    position = chrom_index * stride + starts
    training = split == SPLITS.index("train")
    held = np.sort(position[~training])
    result = np.zeros(position.shape, bool)
    if held.size == 0 or not training.any():
        return result
    query = position[training]
    after = np.searchsorted(held, query)  # first held-out bin at or after each training bin
    nearest = np.full(query.shape, np.iinfo(np.int64).max)
    has_after = after < held.size
    nearest[has_after] = held[after[has_after]] - query[has_after]
    has_before = after > 0
    before = query[has_before] - held[after[has_before] - 1]
    nearest[has_before] = np.minimum(nearest[has_before], before)
    result[training] = nearest < window
    return result


def selection_mask(
    load: Callable[[int], np.ndarray], assays: Sequence[str], select: str, n_bins: int
) -> np.ndarray:
    """Bins kept by `select`: (n_bins,) bool.

    load(i) returns track i's (n_bins,) bool labels; it is called only for the tracks the rule
    needs (TF tracks for tf_positive, all for any_positive, none for all).
    """
    if select not in SELECT_RULES:
        raise ValueError(f"select must be one of {SELECT_RULES}, not {select!r}")
    keep = np.full(n_bins, select == "all")
    if select != "all":
        for number, assay in enumerate(assays):
            if select == "any_positive" or assay == "TF":
                keep |= load(number)
    return keep


def assemble_labels(
    bins: Bins,
    tracks: Sequence[Track],
    label_paths: Sequence[str | Path],
    select: str,
    test: Sequence[str],
    valid: Sequence[str],
    output: str | Path,
    sheet: str | Path = "tracks",
) -> dict[str, int]:
    """Write labels.h5 (layout in the module docstring); returns bins per split.

    label_paths: one `results/labels/{track}.npy` per track, matched by file name to
    `tracks`. Label files are read twice (selection, then matrix) so that memory holds at
    most one unpacked track.
    """
    paths = {Path(path).name.removesuffix(".npy"): Path(path) for path in label_paths}
    missing = [track.name for track in tracks if track.name not in paths]
    if missing:
        raise InputError(sheet, f"no label file for track(s) {missing}", fix="label every track")
    names = [track.name for track in tracks]
    assays = [track.assay for track in tracks]
    if select == "tf_positive" and "TF" not in assays:
        raise InputError(
            sheet,
            "bins.select is tf_positive but no track has assay TF",
            fix="add a TF track or set bins.select to any_positive or all",
        )

    def labels_of(name: str) -> np.ndarray:
        return load_labels(paths[name], len(bins))

    keep = selection_mask(lambda number: labels_of(names[number]), assays, select, len(bins))
    rows = np.flatnonzero(keep)
    split = assign_splits(bins, test, valid)[rows]
    log.info("selected %d of %d bins (%s)", rows.shape[0], len(bins), select)
    leaking = overlaps_held_out(bins.chrom_index()[rows], bins.start[rows], split, bins.window)
    rows, split = rows[~leaking], split[~leaking]
    log.info(
        "left out %d training bins whose %d bp window overlaps a validation or test window",
        leaking.sum(),
        bins.window,
    )

    packed = np.zeros((len(tracks), (rows.shape[0] + 7) // 8), np.uint8)
    for number, name in enumerate(names):
        packed[number] = np.packbits(labels_of(name)[rows])
        if (number + 1) % 100 == 0 or number + 1 == len(names):
            log.info("read labels of %d/%d tracks", number + 1, len(names))

    with h5py.File(output, "w") as h5:
        for key, values in (
            ("tracks", names),
            ("assays", assays),
            ("cell_types", [track.cell_type for track in tracks]),
            ("chroms", bins.chroms),
        ):
            h5.create_dataset(key, data=np.array(values, dtype=object), dtype=_STR)
        h5.create_dataset("bin_index", data=rows.astype(np.int64))
        h5.create_dataset("chrom_index", data=bins.chrom_index()[rows])
        h5.create_dataset("start", data=bins.start[rows])
        h5.create_dataset("split", data=split)
        y = h5.create_dataset(
            "y",
            shape=(rows.shape[0], len(tracks)),
            dtype=np.uint8,
            chunks=(max(1, min(_ROWS_PER_BLOCK // 16, rows.shape[0])), max(1, len(tracks))),
            compression="gzip",
            compression_opts=1,
        )
        for begin in range(0, rows.shape[0], _ROWS_PER_BLOCK):
            end = min(begin + _ROWS_PER_BLOCK, rows.shape[0])
            block = np.unpackbits(packed[:, begin // 8 : (end + 7) // 8], axis=1)
            y[begin:end] = block[:, : end - begin].T
        h5.attrs.update(bin_size=bins.size, window=bins.window, select=select, splits=list(SPLITS))
    return {name: int(np.count_nonzero(split == code)) for code, name in enumerate(SPLITS)}


@dataclass(frozen=True)
class Labels:
    """labels.h5 open for reading: the small arrays in memory, y (N, T) uint8 left on disk."""

    columns: TrackColumns
    chroms: list[str]  # (C,)
    chrom_index: np.ndarray  # (N,) int32 into chroms
    start: np.ndarray  # (N,) int64
    split: np.ndarray  # (N,) uint8 index into SPLITS
    y: h5py.Dataset
    bin_size: int
    window: int


@contextlib.contextmanager
def open_labels(path: str | Path) -> Iterator[Labels]:
    """Open labels.h5 (written by `assemble_labels`, layout in the module docstring)."""
    with h5py.File(path, "r") as h5:
        names = (h5[key].asstr()[:].tolist() for key in ("tracks", "assays", "cell_types"))
        yield Labels(
            columns=TrackColumns(*names),
            chroms=h5["chroms"].asstr()[:].tolist(),
            chrom_index=h5["chrom_index"][:],
            start=h5["start"][:],
            split=h5["split"][:],
            y=h5["y"],
            bin_size=int(h5.attrs["bin_size"]),
            window=int(h5.attrs["window"]),
        )
