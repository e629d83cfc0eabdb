"""Tiling the genome into fixed-size bins with a sequence window centred on each.

Bins are laid on a grid from each chromosome's start: bin k covers [k*size, (k+1)*size). Its
window is [start - (window - size) // 2, that + window). A bin is kept when its window lies
inside the chromosome, at most half of the window is unknown (bases other than A, C, G, T in
either case: N and IUPAC codes), and the bin overlaps no blacklist region by even 1 bp. Only
sequences whose whole name matches `bins.chromosomes` (a regular expression; the workflow's
default CHROMOSOMES keeps autosomes, X and Y with or without `chr`) are tiled; the others
stay listed with no bins.

`results/data/bins.h5` layout (`write_bins` / `read_bins`):
  chroms (C,) str          every sequence of the genome, FASTA order
  chrom_lengths (C,) int64
  chrom_offsets (C+1,) int64  bins of chroms[i] are rows chrom_offsets[i]:chrom_offsets[i+1]
  start (N,) int64         bin starts, 0-based, sorted within each chromosome
  attrs: size, window
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pyfaidx

from seq2chrom.data.genome import chromosome_sizes, read_chromosome
from seq2chrom.data.one_hot import IS_UNKNOWN
from seq2chrom.data.peaks import Intervals, merge_intervals

log = logging.getLogger(__name__)

MAX_UNKNOWN_FRACTION = 0.5
# Autosomes, X and Y, with or without "chr": no chrM, unplaced contigs, alts or decoys.
CHROMOSOMES = r"^(chr)?([0-9]+|X|Y)$"


@dataclass(frozen=True)
class Bins:
    """Kept bins of a genome, grouped by chromosome (see the module docstring for the layout)."""

    chroms: list[str]
    chrom_lengths: np.ndarray
    chrom_offsets: np.ndarray
    start: np.ndarray
    size: int
    window: int

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def chrom_sizes(self) -> dict[str, int]:
        return dict(zip(self.chroms, self.chrom_lengths.tolist(), strict=True))

    def of(self, chrom: str) -> slice:
        """Rows of bins on `chrom`."""
        index = self.chroms.index(chrom)
        return slice(int(self.chrom_offsets[index]), int(self.chrom_offsets[index + 1]))

    def chrom_index(self) -> np.ndarray:
        """(N,) int32 index into `chroms` for every bin."""
        return np.repeat(np.arange(len(self.chroms), dtype=np.int32), np.diff(self.chrom_offsets))


def window_offset(size: int, window: int) -> int:
    """Window start minus bin start: -(window - size) // 2 (windows centred on bins)."""
    return -((window - size) // 2)


def tile_chromosome(
    sequence: np.ndarray,
    size: int,
    window: int,
    blacklist: Intervals | None = None,
    max_unknown: float = MAX_UNKNOWN_FRACTION,
) -> np.ndarray:
    """Starts of kept bins of one chromosome.

    sequence: (L,) uint8 ASCII bytes. blacklist: regions of this chromosome (any order).
    Returns (n,) int64 bin starts (multiples of `size`), increasing.
    """
    length = int(sequence.shape[0])
    starts = np.arange(0, length - size + 1, size, dtype=np.int64)
    window_starts = starts + window_offset(size, window)
    inside = (window_starts >= 0) & (window_starts + window <= length)
    starts, window_starts = starts[inside], window_starts[inside]
    if starts.size == 0:
        return starts
    n_unknown = unknown_before(sequence, window_starts + window) - unknown_before(
        sequence, window_starts
    )
    keep = n_unknown <= max_unknown * window
    if blacklist is not None and len(blacklist):
        keep &= ~overlaps_any(starts, starts + size, blacklist)
    return starts[keep]


def unknown_before(sequence: np.ndarray, points: np.ndarray, segment: int = 1 << 24) -> np.ndarray:
    """Number of unknown (non-ACGT) bases in sequence[:p] for each p of sorted `points`.

    sequence: (L,) uint8; points: (n,) int64, increasing, in [0, L]. Works segment by segment,
    so memory stays at a few bytes per base of one segment whatever the chromosome length.
    """
    length = int(sequence.shape[0])
    counts = np.zeros(points.shape, np.int64)
    total = 0
    for begin in range(0, length + 1, segment):
        end = min(begin + segment, length)
        unknown = np.zeros(end - begin + 1, np.int64)
        np.cumsum(IS_UNKNOWN[sequence[begin:end]], out=unknown[1:])
        lo, hi = np.searchsorted(points, [begin, end], side="left")
        if end == length:
            hi = points.shape[0]
        counts[lo:hi] = total + unknown[points[lo:hi] - begin]
        total += int(unknown[-1])
    return counts


def overlaps_any(starts: np.ndarray, ends: np.ndarray, regions: Intervals) -> np.ndarray:
    """(n,) bool: whether each interval [starts, ends) overlaps any region by at least 1 bp."""
    order = np.argsort(regions.starts, kind="stable")
    region_starts, region_ends = merge_intervals(regions.starts[order], regions.ends[order])
    nonempty = region_ends > region_starts
    region_starts, region_ends = region_starts[nonempty], region_ends[nonempty]
    # The first merged region ending after an interval start overlaps it if it starts before
    # the interval end.
    first = np.searchsorted(region_ends, starts, side="right")
    found = first < region_starts.shape[0]
    result = np.zeros(starts.shape, bool)
    result[found] = region_starts[first[found]] < ends[found]
    return result


def selected_sequences(names: list[str], pattern: str | None) -> np.ndarray:
    """(len(names),) bool: names the regular expression `pattern` matches whole; None: all.

    Raises ValueError for a pattern that does not compile.
    """
    if pattern is None:
        return np.ones(len(names), bool)
    try:
        regex = re.compile(pattern)
    except re.error as error:
        message = f"bins.chromosomes: {pattern!r} is not a regular expression ({error})"
        raise ValueError(message) from None
    return np.array([regex.fullmatch(name) is not None for name in names], bool)


def tile_genome(
    fasta: pyfaidx.Fasta,
    size: int,
    window: int,
    blacklist: Mapping[str, Intervals] | None = None,
    chromosomes: str | None = None,
) -> Bins:
    """Tile the sequences of an indexed FASTA (see `tile_chromosome`), logging progress.

    chromosomes: regular expression a sequence name must match whole to be tiled (e.g.
    CHROMOSOMES); the others get no bins. None tiles every sequence.
    """
    sizes = chromosome_sizes(fasta)
    selected = selected_sequences(list(sizes), chromosomes)
    if chromosomes is not None:
        log.info(
            "bins.chromosomes %s: tiling %d of %d sequences",
            chromosomes,
            selected.sum(),
            len(sizes),
        )
    starts, counts = [], []
    for number, (chrom, length) in enumerate(sizes.items(), start=1):
        if not selected[number - 1]:
            starts.append(np.zeros(0, np.int64))
            counts.append(0)
            continue
        kept = tile_chromosome(
            read_chromosome(fasta, chrom), size, window, (blacklist or {}).get(chrom)
        )
        starts.append(kept)
        counts.append(kept.shape[0])
        log.info("tiled %s (%d/%d): %d bp, %d bins", chrom, number, len(sizes), length, len(kept))
    return Bins(
        chroms=list(sizes),
        chrom_lengths=np.array(list(sizes.values()), np.int64),
        chrom_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]),
        start=np.concatenate(starts) if starts else np.zeros(0, np.int64),
        size=size,
        window=window,
    )


def write_bins(path: str | Path, bins: Bins) -> None:
    """Write `bins` to HDF5 (layout in the module docstring)."""
    with h5py.File(path, "w") as h5:
        h5.create_dataset("chroms", data=np.array(bins.chroms, dtype=object), dtype=_STR)
        h5.create_dataset("chrom_lengths", data=np.asarray(bins.chrom_lengths, np.int64))
        h5.create_dataset("chrom_offsets", data=np.asarray(bins.chrom_offsets, np.int64))
        h5.create_dataset("start", data=np.asarray(bins.start, np.int64))
        h5.attrs["size"] = bins.size
        h5.attrs["window"] = bins.window


def read_bins(path: str | Path) -> Bins:
    """Read bins written by `write_bins`."""
    with h5py.File(path, "r") as h5:
        return Bins(
            chroms=list(h5["chroms"].asstr()[:]),
            chrom_lengths=h5["chrom_lengths"][:],
            chrom_offsets=h5["chrom_offsets"][:],
            start=h5["start"][:],
            size=int(h5.attrs["size"]),
            window=int(h5.attrs["window"]),
        )


_STR = h5py.string_dtype("utf-8")
