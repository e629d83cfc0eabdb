"""One-hot encoding of DNA through a 256-entry byte lookup table.

A, C, G, T (either case: soft-masked lowercase bases are ordinary bases) map to the rows of a 4x4
identity in A,C,G,T order; every other byte (N, IUPAC codes such as R or Y, gaps) maps to all
zeros.
"""

from __future__ import annotations

import numpy as np

from seq2chrom import BASES


def _lookup_table() -> np.ndarray:
    table = np.zeros((256, 4), np.uint8)
    for column, base in enumerate(BASES):
        table[ord(base), column] = 1
        table[ord(base.lower()), column] = 1
    return table


#: (256, 4) uint8: byte -> one-hot row, A,C,G,T order; non-ACGT bytes -> zeros.
ONE_HOT_TABLE = _lookup_table()
#: The same table with each row read as one uint32, so a gather writes 4 bytes at once.
_ONE_HOT_WORDS = ONE_HOT_TABLE.view(np.uint32).ravel()
#: (256,) bool: True for bytes that are not A, C, G or T (either case).
IS_UNKNOWN = ONE_HOT_TABLE.sum(axis=1) == 0


def as_bytes(sequence: str | bytes | np.ndarray) -> np.ndarray:
    """A sequence as (L,) uint8 ASCII codes (no copy for uint8 arrays)."""
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii", errors="replace")
    if isinstance(sequence, bytes | bytearray):
        return np.frombuffer(sequence, np.uint8)
    return np.asarray(sequence, np.uint8)


def one_hot_encode(sequence: str | bytes | np.ndarray) -> np.ndarray:
    """Encode a sequence (or an array of sequences' bytes).

    sequence: str/bytes of length L, or uint8 array of any shape S.
    Returns (L, 4) or S + (4,) uint8, A,C,G,T order, non-ACGT positions all zero.
    """
    codes = as_bytes(sequence)
    return _ONE_HOT_WORDS[codes].view(np.uint8).reshape(*codes.shape, 4)


def gather_windows(sequence: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Windows of a chromosome's bytes: (n,) starts -> (n, window) uint8, copied row by row.

    sequence: (L,) uint8. Every window must lie inside the sequence (0 <= start, start+window <= L).
    """
    starts = np.asarray(starts, np.int64)
    if starts.size and (starts.min() < 0 or starts.max() + window > sequence.shape[0]):
        raise ValueError("a window leaves the sequence")
    if sequence.shape[0] < window:
        return np.zeros((0, window), np.uint8)
    views = np.lib.stride_tricks.sliding_window_view(sequence, window)
    return views[starts]


def encode_windows(sequence: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """One-hot windows of one chromosome.

    sequence: (L,) uint8 ASCII bytes; starts: (n,) int window starts (0-based).
    Returns x: (n, window, 4) uint8, A,C,G,T, non-ACGT bases all zero.
    """
    return one_hot_encode(gather_windows(sequence, starts, window))
