"""The variant effects table: its columns, the log2 odds ratio, and its gzip TSV writer.

The table (`EffectsWriter`) is gzip TSV with `EFFECT_COLUMNS` (and ``evalue`` with a
background), one row per variant and track, or for the tracks and effects chosen; each number
is its float32 value as printf's ``%.7g`` writes it (7 significant digits, trailing zeros
dropped: ``0.025``, ``1e-05``), a NaN an empty field. ``logfc`` is `log2_odds_ratio`.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numba
import numpy as np
import pandas as pd

from seq2chrom.variants.vcf import COLUMNS

#: Columns of the per-variant-and-track table, in this order (then ``evalue``, with a
#: background).
EFFECT_COLUMNS = [*COLUMNS, "track", "ref_prob", "alt_prob", "diff", "logfc"]

CLIP = 1e-6

try:  # ISA-L's deflate: the same gzip stream as zlib's, about 3x faster at level 1
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    import zlib as _deflate


def log2_odds_ratio(ref_prob: np.ndarray, alt_prob: np.ndarray, clip: float = CLIP) -> np.ndarray:
    """log2 of (alt / (1 - alt)) / (ref / (1 - ref)), probabilities clipped to [clip, 1 - clip].

    Same shapes in and out, float32.
    """
    ref = np.clip(np.asarray(ref_prob, np.float64), clip, 1 - clip)
    alt = np.clip(np.asarray(alt_prob, np.float64), clip, 1 - clip)
    return (np.log2(alt / (1 - alt)) - np.log2(ref / (1 - ref))).astype(np.float32)


# --- The effects table as text -------------------------------------------------------------
# pandas' to_csv (one Python object per cell) wrote ~220,000 rows/s: the table, not the
# model, limited scoring. A compiled loop writes the rows straight into one byte buffer
# instead (~2.8 million rows/s on one core): the per-variant prefix and the track names are
# encoded once and copied, and the numbers are written as printf's %.7g would write them.

#: Significant digits of the numbers written (>= 6, the documented minimum).
DIGITS = 7
#: gzip level of the effects table (ISA-L's igzip level 1 where installed: ~3x zlib's speed).
GZIP_LEVEL = 1
_NUMBER_MAX = 13  # bytes of the longest number: "-0.0001234567" or "-1.234567e-05"
_SCALE = np.array([float(f"1e{k}") for k in range(-64, 65)])  # correctly rounded powers of 10


@numba.njit(cache=True, nogil=True)
def _write_number(value: float, out: np.ndarray, at: int, scratch: np.ndarray) -> int:
    """Write `value` at out[at:] as ``%.7g`` (NaN as an empty field, as pandas writes it);
    return the index after it. scratch: (DIGITS,) uint8."""
    if np.isnan(value):
        return at
    if math.copysign(1.0, value) < 0:  # also -0.0, as printf writes it
        out[at] = 45  # "-"
        at += 1
        value = -value
    if np.isinf(value):
        out[at], out[at + 1], out[at + 2] = 105, 110, 102  # "inf"
        return at + 3
    if value == 0:
        out[at] = 48
        return at + 1
    top = 10.0**DIGITS
    exponent = int(np.floor(np.log10(value)))
    mantissa = np.rint(value * _SCALE[DIGITS - 1 - exponent + 64])
    if mantissa >= top or mantissa < top / 10:  # log10 one off near a power of ten
        exponent += 1 if mantissa >= top else -1
        mantissa = np.rint(value * _SCALE[DIGITS - 1 - exponent + 64])
    if mantissa >= top:  # rounding carried into an 8th digit
        exponent += 1
        mantissa = top / 10
    digits = np.int64(mantissa)
    n = DIGITS
    while n > 1 and digits % 10 == 0:  # %g drops trailing zeros
        digits //= 10
        n -= 1
    for k in range(n - 1, -1, -1):
        scratch[k] = 48 + digits % 10
        digits //= 10
    if -4 <= exponent < DIGITS:
        if exponent < 0:
            out[at], out[at + 1] = 48, 46  # "0."
            at += 2
            for _ in range(-exponent - 1):
                out[at] = 48
                at += 1
            for k in range(n):
                out[at + k] = scratch[k]
            return at + n
        whole = exponent + 1  # digits before the "."
        for k in range(whole):
            out[at + k] = scratch[k] if k < n else 48
        at += whole
        if n > whole:
            out[at] = 46
            for k in range(whole, n):
                out[at + 1 + k - whole] = scratch[k]
            at += 1 + n - whole
        return at
    out[at] = scratch[0]
    at += 1
    if n > 1:
        out[at] = 46
        for k in range(1, n):
            out[at + k] = scratch[k]
        at += n
    size = abs(exponent)
    out[at] = 101  # "e"
    out[at + 1] = 45 if exponent < 0 else 43
    out[at + 2] = 48 + size // 10 % 10
    out[at + 3] = 48 + size % 10
    return at + 4


@numba.njit(cache=True, nogil=True)
def _write_rows(
    prefixes: np.ndarray,
    prefix_ends: np.ndarray,
    names: np.ndarray,
    name_ends: np.ndarray,
    numbers: np.ndarray,
    keep: np.ndarray,
    out: np.ndarray,
) -> int:
    """Rows ``prefix[i] name[t] numbers[:, i, t]`` (tab-separated, newline-ended) into `out`,
    for each (i, t) where ``keep[i, t]``.

    prefixes, names: UTF-8 bytes, item j ending at ``*_ends[j]``; numbers: (k, n, T) float32;
    keep: (n, T) bool; out: uint8, large enough (see `effect_text`). Returns the bytes written.
    """
    scratch = np.empty(DIGITS, np.uint8)
    last = numbers.shape[0] - 1
    at = 0
    for i in range(numbers.shape[1]):
        first = prefix_ends[i - 1] if i > 0 else 0
        for t in range(numbers.shape[2]):
            if not keep[i, t]:
                continue
            for k in range(first, prefix_ends[i]):
                out[at] = prefixes[k]
                at += 1
            for k in range(name_ends[t - 1] if t > 0 else 0, name_ends[t]):
                out[at] = names[k]
                at += 1
            for k in range(last + 1):
                at = _write_number(np.float64(numbers[k, i, t]), out, at, scratch)
                out[at] = 10 if k == last else 9
                at += 1
    return at


def _packed(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 `strings` back to back as (bytes,) uint8, and the (n,) int64 end of each."""
    encoded = [s.encode() for s in strings]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), np.uint8), ends


def effect_text(
    variants: pd.DataFrame,
    ref_prob: np.ndarray,
    alt_prob: np.ndarray,
    tracks: Sequence[str],
    evalue: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> bytes:
    """The rows of `effect_rows` as tab-separated UTF-8 text without header; numbers as
    ``%.7g`` of their float32 value (7 significant digits, trailing zeros dropped).

    ref_prob, alt_prob (and `evalue`, a last column): (n, T) float32, rows in `variants` order,
    columns in `tracks` order; keep: (n, T) bool, the rows written (default: all).
    """
    ref_prob = np.asarray(ref_prob, np.float32)
    alt_prob = np.asarray(alt_prob, np.float32)
    n, n_tracks = ref_prob.shape
    keep = np.ones((n, n_tracks), bool) if keep is None else np.asarray(keep, bool)
    rows = np.flatnonzero(keep.any(axis=1))  # only these variants' text is needed
    if len(rows) < n:
        variants, ref_prob, alt_prob, keep = (variants.iloc[rows], ref_prob[rows],
                                              alt_prob[rows], keep[rows])  # fmt: skip
        evalue = None if evalue is None else evalue[rows]
        n = len(rows)
    columns = [variants[c].astype(str).tolist() for c in COLUMNS]
    prefixes, prefix_ends = _packed(["\t".join(row) + "\t" for row in zip(*columns, strict=True)])
    names, name_ends = _packed([f"{track}\t" for track in tracks])
    numbers = [ref_prob, alt_prob, alt_prob - ref_prob, log2_odds_ratio(ref_prob, alt_prob)]
    if evalue is not None:
        numbers.append(np.asarray(evalue, np.float32))
    numbers = np.stack(numbers)
    size = n_tracks * len(prefixes) + n * len(names)
    size += n * n_tracks * len(numbers) * (_NUMBER_MAX + 1)
    out = np.empty(size, np.uint8)
    written = _write_rows(prefixes, prefix_ends, names, name_ends, numbers, keep, out)
    return out[:written].tobytes()


class EffectsWriter:
    """Writes the effects table (gzip TSV with `EFFECT_COLUMNS`) to an open binary file.

    `write` queues each scored batch and returns: one thread formats it (`effect_text`, numba
    without the GIL) and a second compresses and writes the text, so with three cores the
    table costs the model no time. Use as a context manager; leaving it waits for the
    threads and ends the gzip stream. The gzip header holds no time stamp, so the same input
    gives the same bytes.
    """

    def __init__(
        self,
        handle: BinaryIO,
        tracks: Sequence[str],
        level: int = GZIP_LEVEL,
        *,
        evalues: bool = False,
    ):
        self._handle = handle
        self._tracks = list(tracks)
        self._zip = _deflate.compressobj(level, _deflate.DEFLATED, 31)  # 31: gzip container
        self._error: BaseException | None = None
        columns = [*EFFECT_COLUMNS, "evalue"] if evalues else EFFECT_COLUMNS
        self._handle.write(self._zip.compress(("\t".join(columns) + "\n").encode()))
        # small queues bound the batches held in memory and make `write` wait when behind
        self._batches: queue.Queue = queue.Queue(maxsize=2)
        self._texts: queue.Queue = queue.Queue(maxsize=2)
        self._threads = [
            threading.Thread(target=self._stage, args=(self._batches, self._texts, self._format)),
            threading.Thread(target=self._stage, args=(self._texts, None, self._compress)),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def write(
        self,
        variants: pd.DataFrame,
        ref_prob: np.ndarray,
        alt_prob: np.ndarray,
        evalue: np.ndarray | None = None,
        keep: np.ndarray | None = None,
    ) -> None:
        """Queue one batch: `variants` rows with their (n, T) float32 probabilities (and
        e-values); keep: (n, T) bool, the rows to write (default all)."""
        self._raise()
        self._batches.put((variants, ref_prob, alt_prob, evalue, keep))

    def _format(self, batch: tuple) -> bytes:
        variants, ref_prob, alt_prob, evalue, keep = batch
        return effect_text(variants, ref_prob, alt_prob, self._tracks, evalue, keep)

    def _compress(self, text: bytes) -> None:
        self._handle.write(self._zip.compress(text))

    def _stage(self, inbox: queue.Queue, outbox: queue.Queue | None, work: Callable) -> None:
        """Run `work` on each item of `inbox` (passing results on) until None; after an error,
        drain `inbox` so that no producer blocks."""
        while (item := inbox.get()) is not None:
            if self._error is not None:
                continue
            try:
                result = work(item)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = error
                continue
            if outbox is not None:
                outbox.put(result)
        if outbox is not None:
            outbox.put(None)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _join(self) -> None:
        if self._threads[0].is_alive():
            self._batches.put(None)
        for thread in self._threads:
            thread.join()

    def close(self) -> None:
        """Wait for the queued batches, then end the gzip stream."""
        self._join()
        self._raise()
        self._handle.write(self._zip.flush())

    def __enter__(self) -> EffectsWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:  # the caller's error wins; still stop the threads
            self._join()
