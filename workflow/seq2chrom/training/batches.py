"""Read split files in batches: shuffled (x, y) training batches with reverse complements added
on the fly (`H5Batches`).

An epoch's order is a pure function of (seed, epoch): contiguous blocks of samples are visited
in a random order (chunk-level shuffle), `buffer_blocks` blocks at a time are read into a buffer
and their items (sample, strand) shuffled inside it (in-buffer shuffle). With
`reverse_complement` every sequence appears once per strand per epoch, as the 4.4M = 2.2M + RC
samples of DeepSEA and DanQ. Memory holds at most two buffers, whatever the file size. The
training file itself is a full per-sample permutation (written so by `data/encode.py`; the
DeepSEA bundle comes shuffled), so every block is already a random sample of the genome and
these shuffles only change the order from epoch to epoch at chunk-read speed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from seq2chrom.data.one_hot import reverse_complement
from seq2chrom.errors import InputError
from seq2chrom.splitfile import SplitFile, X, Y, open_split


class H5Batches(keras.utils.PyDataset):
    """Batches ``(x, y)`` from ``results/data/{split}.h5`` as a Keras ``PyDataset``.

    Parameters
    ----------
    path
        HDF5 file with ``x`` (N, L, 4) uint8 one-hot A,C,G,T and ``y`` (N, T) uint8.
    batch_size
        Items per batch (the last batch may be smaller).
    shuffle
        Shuffle blocks and items inside buffers; False gives file order, forward strand of a
        buffer before its reverse complements.
    reverse_complement
        Present each sequence on both strands per epoch (2N items).
    seed, epoch
        The order of epoch ``epoch`` depends only on ``(seed, epoch)``. `on_epoch_end` advances
        the epoch; `set_epoch` sets it (used when resuming).
    block_size
        Samples per contiguous block; default: the file's chunk rows, grown to at least 512.
    buffer_blocks
        Blocks per shuffle buffer.
    labels
        Yield ``(x, y)``; False yields ``x`` only (prediction).
    track_columns
        Indices of the label columns (tracks) to yield, in this order; default all. Used to
        train on a subset of the file's tracks (a base model for fine-tuning).
    workers, use_multiprocessing, max_queue_size
        Passed to ``keras.utils.PyDataset`` (parallel prefetching of batches).

    Batches are ``x`` (B, L, 4) float32 and ``y`` (B, T) float32.
    """

    def __init__(
        self,
        path: str | Path,
        batch_size: int = 100,
        *,
        shuffle: bool = True,
        reverse_complement: bool = True,
        seed: int = 1,
        epoch: int = 0,
        block_size: int | None = None,
        buffer_blocks: int = 16,
        labels: bool = True,
        track_columns: Sequence[int] | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.path = Path(path)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.strands = 2 if reverse_complement else 1
        self.seed = int(seed)
        self.labels = labels
        with open_split(self.path, (X, Y) if labels else (X,)) as split:
            info = split.info()
        self.n_samples, self.seq_len, self.n_tracks = info.n_samples, info.window, info.n_tracks
        chunk_rows = info.chunk_rows
        if self.n_samples == 0:
            raise InputError(self.path, "x has no samples")
        self.track_columns: np.ndarray | None = None
        if track_columns is not None:
            columns = np.asarray(track_columns, dtype=np.int64).reshape(-1)
            if len(columns) == 0 or columns.min() < 0 or columns.max() >= self.n_tracks:
                raise InputError(
                    self.path,
                    f"track columns {columns.tolist()} outside 0..{self.n_tracks - 1} or empty",
                )
            self.track_columns, self.n_tracks = columns, len(columns)
        if block_size is None:
            block_size = chunk_rows * -(-512 // chunk_rows)
        self.block_size = int(block_size)
        self.buffer_blocks = int(buffer_blocks)
        self.n_items = self.n_samples * self.strands
        self._file: SplitFile | None = None
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self.set_epoch(epoch)

    # -- epoch layout -------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Lay out epoch ``epoch``: the block order and the buffers it falls into."""
        self.epoch = int(epoch)
        starts = np.arange(0, self.n_samples, self.block_size)
        if self.shuffle:
            starts = np.random.default_rng([self.seed, self.epoch]).permutation(starts)
        self._buffers = [
            starts[i : i + self.buffer_blocks] for i in range(0, len(starts), self.buffer_blocks)
        ]
        sizes = [
            self.strands * int(np.minimum(b + self.block_size, self.n_samples).sum() - b.sum())
            for b in self._buffers
        ]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)])
        with self._lock:
            self._cache.clear()

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        return -(-self.n_items // self.batch_size)

    def item_order(self, buffer: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample index (into the file) and strand (0 forward, 1 RC) of each item of a buffer."""
        samples = np.concatenate(
            [np.arange(s, min(s + self.block_size, self.n_samples)) for s in self._buffers[buffer]]
        )
        items = np.arange(len(samples) * self.strands)
        if self.shuffle:
            items = np.random.default_rng([self.seed, self.epoch, buffer]).permutation(items)
        return samples[items % len(samples)], items // len(samples)

    def sample_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample index and strand of every item of the current epoch, in presentation order."""
        orders = [self.item_order(b) for b in range(len(self._buffers))]
        return np.concatenate([o[0] for o in orders]), np.concatenate([o[1] for o in orders])

    # -- reading ------------------------------------------------------------------------------
    def _buffer(self, buffer: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        with self._lock:
            if buffer not in self._cache:
                if self._file is None:
                    self._file = open_split(self.path, (X,))
                blocks = sorted(self._buffers[buffer])
                ends = [min(s + self.block_size, self.n_samples) for s in blocks]
                x = np.concatenate([self._file.x[s:e] for s, e in zip(blocks, ends, strict=True)])
                y = (
                    self._select(
                        np.concatenate(
                            [self._file.y[s:e] for s, e in zip(blocks, ends, strict=True)]
                        )
                    )
                    if self.labels
                    else None
                )
                # local position of each file sample inside the sorted buffer
                samples, strands = self.item_order(buffer)
                local = np.searchsorted(
                    np.concatenate([np.arange(s, e) for s, e in zip(blocks, ends, strict=True)]),
                    samples,
                )
                if len(self._cache) >= 2:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[buffer] = (x, y, local, strands)
            return self._cache[buffer]

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.batch_size
        stop = min(start + self.batch_size, self.n_items)
        xs, ys = [], []
        first = int(np.searchsorted(self._offsets, start, side="right")) - 1
        buffer = first
        while self._offsets[buffer] < stop:
            x, y, local, strands = self._buffer(buffer)
            lo = max(start, self._offsets[buffer]) - self._offsets[buffer]
            hi = min(stop, self._offsets[buffer + 1]) - self._offsets[buffer]
            rows = local[lo:hi]
            batch = x[rows]
            flip = strands[lo:hi] == 1
            if flip.any():
                batch[flip] = reverse_complement(batch[flip])
            xs.append(batch)
            if y is not None:
                ys.append(y[rows])
            buffer += 1
        x_out = (xs[0] if len(xs) == 1 else np.concatenate(xs)).astype(np.float32)
        if not self.labels:
            return x_out
        return x_out, (ys[0] if len(ys) == 1 else np.concatenate(ys)).astype(np.float32)

    def labels_in_order(self) -> np.ndarray:
        """``y`` (n_items, T) uint8 of the current epoch in presentation order."""
        samples, _ = self.sample_order()
        with open_split(self.path) as split:
            return self._select(split.y[:])[samples]

    def _select(self, y: np.ndarray) -> np.ndarray:
        """The chosen track columns of ``y`` (N, T_file) -> (N, T); all when none chosen."""
        return y if self.track_columns is None else np.take(y, self.track_columns, axis=1)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_file"], state["_lock"], state["_cache"] = None, None, {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
