"""One-hot encoding of DNA through a 256-entry byte lookup table.

A, C, G, T (either case: soft-masked lowercase bases are ordinary bases) map to the rows of a 4x4
identity in A,C,G,T order; every other byte (N, IUPAC codes such as R or Y, gaps) maps to all
zeros.
"""

from __future__ import annotations

import numpy as np

#: The order of the one-hot columns.
BASES = "ACGT"
#: The byte of an unknown base, used to pad windows beyond a chromosome's ends.
N_BYTE = ord("N")


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


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot sequences.

    x: (N, L, 4) in A,C,G,T order -> (N, L, 4), same dtype: reversed along L, and A<->T, C<->G
    (the reversed base axis).
    """
    return x[:, ::-1, ::-1]


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


def padded_windows(sequence: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Windows of a chromosome's bytes that may reach past its ends, padded there with N.

    sequence: (L,) uint8 ASCII; starts: (n,) int window starts (0-based, may be negative or
    past L). Returns (n, window) uint8 ASCII, a copy; bases outside [0, L) are N.
    """
    starts = np.asarray(starts, np.int64)
    if not starts.size:
        return np.zeros((0, window), np.uint8)
    before = max(0, -int(starts.min()))
    after = max(0, int(starts.max()) + window - len(sequence))
    padded = np.full(before + len(sequence) + after, N_BYTE, np.uint8)
    padded[before : before + len(sequence)] = sequence
    return np.lib.stride_tricks.sliding_window_view(padded, window)[starts + before].copy()


def encode_windows(sequence: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """One-hot windows of one chromosome.

    sequence: (L,) uint8 ASCII bytes; starts: (n,) int window starts (0-based).
    Returns x: (n, window, 4) uint8, A,C,G,T, non-ACGT bases all zero.
    """
    return one_hot_encode(gather_windows(sequence, starts, window))
