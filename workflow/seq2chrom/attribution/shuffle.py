"""Dinucleotide shuffles: random sequences with exactly the dinucleotide counts of a given one.

The references of expected gradients are shuffles of the window being explained: they keep its
base and dinucleotide composition (CpG depletion, poly-A runs) and lose its motifs. The
shuffle is a uniformly random Eulerian walk through the window's dinucleotide multigraph
(Altschul & Erickson 1985, with Kandel et al. 1996's sampling of the last exits): every
sequence with the same dinucleotide counts, first and last base is equally likely.
"""

from __future__ import annotations

import numpy as np

N_SYMBOLS = 5  # A, C, G, T and N (an all-zero row of a one-hot window)


def symbols(x: np.ndarray) -> np.ndarray:
    """(L, 4) one-hot A,C,G,T -> (L,) int64 codes 0-3, 4 where the row is all zero (N)."""
    x = np.asarray(x)
    return np.where(x.any(axis=1), x.argmax(axis=1), N_SYMBOLS - 1).astype(np.int64)


def one_hot_symbols(codes: np.ndarray) -> np.ndarray:
    """(L,) codes 0-4 -> (L, 4) uint8 one-hot; code 4 (N) is an all-zero row."""
    return np.eye(N_SYMBOLS, 4, dtype=np.uint8)[codes]


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random sequence with the dinucleotide counts, first and last symbol of `codes`.

    codes: (L,) int codes in [0, N_SYMBOLS). Returns (L,) int64.
    """
    codes = np.asarray(codes, np.int64)
    if len(codes) < 3:
        return codes.copy()
    # out-edges of each symbol, in sequence order: the successor of every occurrence but the last
    successors = [codes[1:][codes[:-1] == s] for s in range(N_SYMBOLS)]
    last = int(codes[-1])
    # Each symbol other than the last leaves for the last time along an edge of a random
    # spanning arborescence into `last` (Wilson's loop-erased random walk over edges).
    in_tree = np.zeros(N_SYMBOLS, bool)
    in_tree[last] = True
    exit_index = np.full(N_SYMBOLS, -1)
    for start in range(N_SYMBOLS):
        u = start
        while not in_tree[u] and len(successors[u]):
            exit_index[u] = rng.integers(len(successors[u]))
            u = int(successors[u][exit_index[u]])
        u = start
        while not in_tree[u] and len(successors[u]):
            in_tree[u] = True
            u = int(successors[u][exit_index[u]])
    # the other edges of each symbol in random order, its last exit at the end
    orders = []
    for s in range(N_SYMBOLS):
        edges = successors[s]
        if exit_index[s] >= 0:
            rest = np.delete(edges, exit_index[s])
            edges = np.append(rng.permutation(rest), edges[exit_index[s]])
        else:
            edges = rng.permutation(edges)
        orders.append(edges)
    used = np.zeros(N_SYMBOLS, np.int64)
    out = np.empty(len(codes), np.int64)
    out[0] = codes[0]
    for i in range(1, len(codes)):
        s = out[i - 1]
        out[i] = orders[s][used[s]]
        used[s] += 1
    return out


def shuffled_references(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` dinucleotide shuffles of each window: (N, L, 4) one-hot -> (N, k, L, 4) float32."""
    x = np.asarray(x)
    references = np.empty((len(x), k, *x.shape[1:]), np.float32)
    for i, window in enumerate(x):
        codes = symbols(window)
        for j in range(k):
            references[i, j] = one_hot_symbols(dinucleotide_shuffle(codes, rng))
    return references
