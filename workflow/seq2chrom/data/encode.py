"""Write the split file `results/data/{split}.h5` of one split from labels.h5 and the genome.

The layout is `seq2chrom.splitfile`'s. Samples are in genome order (FASTA chromosome order, then
start), or, given a `seed` (the workflow does so for the training split), in a full per-sample
permutation drawn from it: every block of consecutive samples then mixes the whole genome, so
the chunked, block-shuffled reads of training stay fast and batches look like draws from a full
shuffle. Genome order: each chromosome is read once and encoded with a byte lookup table, then
windows are gathered block by block, so memory is one chromosome's bytes plus one block of
windows. Permuted order: windows are gathered from a memory map of the plain FASTA (the OS
caches the pages) and labels held bit-packed (T / 8 bytes per sample). Chunks
are compressed by `threads` threads (zlib releases the GIL) and written with HDF5 direct chunk
writes: x with the Huffman-only strategy, which on one-hot windows compresses about 6x, twice as
fast as zlib level 1, and reads back about 1.7x faster; sparse labels y with run-length matching
(about 30x at 2% positives). Both remain ordinary gzip datasets.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import h5py
import numpy as np
import pyfaidx

from seq2chrom.data.assemble import open_labels
from seq2chrom.data.bins import window_offset
from seq2chrom.data.genome import chromosome_sizes, compression, read_chromosome
from seq2chrom.data.one_hot import encode_windows, gather_windows, one_hot_encode
from seq2chrom.errors import InputError
from seq2chrom.splitfile import (
    CHUNK_SAMPLES,
    SPLITS,
    ChunkWriter,
    Coordinates,
    create_split_file,
)

log = logging.getLogger(__name__)


def write_split_file(
    fasta: pyfaidx.Fasta,
    labels_path: str | Path,
    split: str,
    output: str | Path,
    threads: int = 1,
    block_samples: int = 16 * CHUNK_SAMPLES,
    seed: int | None = None,
) -> int:
    """Write the split file of `split` from labels.h5 and the genome; returns its sample count.

    seed: write the samples in the permutation `default_rng(seed).permutation(n)` of genome
    order; None keeps genome order.
    """
    with open_labels(labels_path) as labels:
        window, size, chroms = labels.window, labels.bin_size, labels.chroms
        rows = np.flatnonzero(labels.split == SPLITS.index(split))
        chrom_index = labels.chrom_index[rows]
        starts = labels.start[rows]
        y_source = labels.y
        n = rows.shape[0]
        order = None if seed is None else np.random.default_rng(seed).permutation(n)
        sizes = chromosome_sizes(fasta)
        for chrom in {chroms[i] for i in np.unique(chrom_index)}:
            if chrom not in sizes:
                raise InputError(
                    labels_path, f"chromosome {chrom!r} is not in the genome", fix="rebuild bins.h5"
                )
        with create_split_file(
            output,
            labels.columns,
            n,
            window=window,
            attrs={"bin_size": size, "window": window, "split": split},
            coordinates=Coordinates(chroms, chrom_index, starts)
            if order is None
            else Coordinates(chroms, chrom_index[order], starts[order]),
        ) as h5:
            x, y = h5.x, h5.y
            x_writer = ChunkWriter(x, threads, zlib.Z_HUFFMAN_ONLY)
            y_writer = ChunkWriter(y, threads, zlib.Z_RLE)
            if order is not None:
                packed = _packed_rows(y_source, rows)
                windows = _WindowReader(fasta, chroms, window)
                for first in range(0, n, block_samples):
                    chosen = order[first : first + block_samples]
                    window_starts = starts[chosen] + window_offset(size, window)
                    x_writer.append(
                        one_hot_encode(windows.read(chrom_index[chosen], window_starts))
                    )
                    y_writer.append(np.unpackbits(packed[chosen], axis=1, count=y_source.shape[1]))
                    log.info("%s: encoded %d/%d windows (shuffled)", split, first + len(chosen), n)
                x_writer.close()
                y_writer.close()
                return n
            done = 0
            bounds = np.flatnonzero(np.diff(chrom_index)) + 1
            for begin, end in zip(
                np.concatenate([[0], bounds]), np.concatenate([bounds, [n]]), strict=True
            ):
                if begin == end:
                    continue
                chrom = chroms[chrom_index[begin]]
                sequence = read_chromosome(fasta, chrom)
                for first in range(begin, end, block_samples):
                    last = min(first + block_samples, end)
                    window_starts = starts[first:last] + window_offset(size, window)
                    x_writer.append(encode_windows(sequence, window_starts, window))
                    source = rows[first:last]
                    block = y_source[source[0] : source[-1] + 1]
                    y_writer.append(block[source - source[0]])
                done += end - begin
                log.info("%s: encoded %s, %d/%d windows", split, chrom, done, n)
            x_writer.close()
            y_writer.close()
    return n


def _packed_rows(y: h5py.Dataset, rows: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Labels of sorted `rows` of y (N, T), bit-packed along tracks: (len(rows), ceil(T / 8))."""
    packed = np.zeros((rows.shape[0], (y.shape[1] + 7) // 8), np.uint8)
    for begin in range(0, rows.shape[0], block):
        source = rows[begin : begin + block]
        values = y[source[0] : source[-1] + 1][source - source[0]]
        packed[begin : begin + source.shape[0]] = np.packbits(values, axis=1)
    return packed


class _WindowReader:
    """Window bytes from anywhere in the genome without reading whole chromosomes per block.

    A plain FASTA is memory-mapped and each base addressed through its `.fai` line layout; other
    files (bgzip) have their chromosomes read once each and kept.
    """

    def __init__(self, fasta: pyfaidx.Fasta, chroms: list[str], window: int):
        self.fasta, self.chroms, self.window = fasta, chroms, window
        self.plain = compression(fasta.filename) == "plain"
        if self.plain:
            records = [fasta.faidx.index.get(name) for name in chroms]
            self.offset, self.bases, self.stride = (
                np.array([getattr(r, key, 0) if r else 0 for r in records], np.int64)
                for key in ("offset", "lenc", "lenb")
            )
            self.data = np.memmap(fasta.filename, np.uint8, mode="r")
        self.cache: dict[int, np.ndarray] = {}

    def read(self, chrom_index: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(n, window) uint8 bytes of the windows at `starts` on sequences `chrom_index`."""
        if not self.plain:
            result = np.zeros((starts.shape[0], self.window), np.uint8)
            for index in np.unique(chrom_index):
                if index not in self.cache:
                    self.cache[index] = read_chromosome(self.fasta, self.chroms[index])
                chosen = chrom_index == index
                result[chosen] = gather_windows(self.cache[index], starts[chosen], self.window)
            return result
        position = starts[:, None] + np.arange(self.window, dtype=np.int64)
        bases, stride = self.bases[chrom_index][:, None], self.stride[chrom_index][:, None]
        # base p of a sequence sits after p // bases line ends of (stride - bases) bytes each
        address = (
            self.offset[chrom_index][:, None] + position + position // bases * (stride - bases)
        )
        return self.data[address]
