"""First-layer convolution filters -> position weight matrices (Basset / DanQ practice).

Every filter of the first convolution is scanned over a sample of sequences on both strands.
For each sequence the best-scoring window (either strand) is a site of the filter when its
activation exceeds ``threshold x`` the filter's maximum activation over the whole sample
(Basset: 0.5). The sites' bases are counted, a pseudocount added, and the counts normalised
into a PWM. Filters with fewer than ``min_sites`` sites get no PWM.

The scan is a numba kernel exploiting one-hot input: a filter's response at position i is
``bias + sum_k W[k, base(i + k)]``, so each window costs ``width`` row additions over all
filters at once instead of a ``4 x width`` dot product per filter. Both strands come from one
pass with the kernel bank extended by its reverse complements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

N_BASE = 4  # base code of N (no base): all-zero one-hot row


def one_hot_to_codes(x: np.ndarray) -> np.ndarray:
    """Base codes of one-hot sequences.

    x: ``(N, L, 4)`` uint8 (or bool) one-hot, A,C,G,T; all-zero rows are N.
    Returns ``(N, L)`` uint8 codes 0..3 for A,C,G,T and 4 for N.
    """
    x = np.asarray(x).astype(np.uint8, copy=False)
    return (x[..., 1] + 2 * x[..., 2] + 3 * x[..., 3] + N_BASE * (x.sum(axis=-1) == 0)).astype(
        np.uint8
    )


def codes_to_one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Inverse of `one_hot_to_codes`: ``(N, L)`` codes -> ``(N, L, 4)`` one-hot of `dtype`."""
    return np.eye(5, 4, dtype=dtype)[codes]


def reverse_complement_kernel(kernel: np.ndarray) -> np.ndarray:
    """``(width, 4, F)`` kernel (A,C,G,T) of the reverse-complement strand."""
    return kernel[::-1, ::-1, :]


@njit(parallel=True, cache=True, fastmath=True)
def _scan(pairs, table, bias, n_pos, block):  # pragma: no cover - compiled
    # pairs (N, L - 1): code[i] * 5 + code[i + 1]; table (width // 2 (+1), 25, F): rows of
    # adjacent kernel positions summed, so each window costs width / 2 row additions.
    n_seq = pairs.shape[0]
    n_rows, _, n_filters = table.shape
    best = np.empty((n_seq, n_filters), dtype=np.float32)
    where = np.empty((n_seq, n_filters), dtype=np.int32)
    for n in prange(n_seq):
        acc = np.empty((block, n_filters), dtype=np.float32)
        top = np.full(n_filters, -np.inf, dtype=np.float32)
        arg = np.zeros(n_filters, dtype=np.int32)
        for start in range(0, n_pos, block):
            size = min(block, n_pos - start)
            for i in range(size):
                for f in range(n_filters):
                    acc[i, f] = bias[f]
            for k in range(n_rows):
                for i in range(size):
                    row = table[k, pairs[n, start + i + 2 * k]]
                    for f in range(n_filters):
                        acc[i, f] += row[f]
            for i in range(size):
                for f in range(n_filters):
                    value = acc[i, f]
                    if value > top[f]:
                        top[f] = value
                        arg[f] = start + i
        best[n] = top
        where[n] = arg
    return best, where


def max_activations(
    codes: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None, *, block: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sequence's best window for every filter, over both strands (valid convolution).

    Parameters
    ----------
    codes
        ``(N, L)`` uint8 base codes (`one_hot_to_codes`).
    kernel
        ``(width, 4, F)`` float conv kernel (Keras Conv1D layout), A,C,G,T.
    bias
        ``(F,)`` float or None.

    Returns
    -------
    best : ``(N, F)`` float32, the maximum pre-activation ``x * W + b`` over positions and
        strands.
    position : ``(N, F)`` int32, start of that window on the forward strand.
    minus : ``(N, F)`` bool, True where the best window is on the reverse strand.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    kernel = np.asarray(kernel, dtype=np.float32)
    width, n_letters, n_filters = kernel.shape
    if n_letters != 4:
        raise ValueError(f"kernel shape {kernel.shape}: expected (width, 4, filters)")
    if codes.ndim != 2 or codes.shape[1] < width:
        raise ValueError(f"codes shape {codes.shape}: need (N, L) with L >= {width}")
    bias = np.zeros(n_filters, np.float32) if bias is None else np.asarray(bias, np.float32)
    both = np.concatenate([kernel, reverse_complement_kernel(kernel)], axis=2)
    # Pair table: row k holds W[2k, a] + W[2k + 1, b] at a * 5 + b (N rows zero). An odd
    # width gets a zero kernel column appended, read against the base after the window (or
    # against an N past the end of the sequence).
    padded = np.zeros((width + width % 2, 5, 2 * n_filters), dtype=np.float32)
    padded[:width, :4] = both
    table = (padded[0::2, :, None, :] + padded[1::2, None, :, :]).reshape(-1, 25, 2 * n_filters)
    extended = np.concatenate([codes, np.full((len(codes), 1), N_BASE, np.uint8)], axis=1)
    pairs = extended[:, :-1] * np.uint8(5) + extended[:, 1:]
    n_pos = codes.shape[1] - width + 1
    best, where = _scan(pairs, table, np.concatenate([bias, bias]), n_pos, block)
    minus = best[:, n_filters:] > best[:, :n_filters]
    return (
        np.where(minus, best[:, n_filters:], best[:, :n_filters]),
        np.where(minus, where[:, n_filters:], where[:, :n_filters]),
        minus,
    )


@dataclass
class FilterPWMs:
    """Per-filter results of `filter_pwms` (F filters of width w)."""

    counts: np.ndarray  # (F, w, 4) float64 base counts of the sites (no pseudocount)
    pwm: np.ndarray  # (F, w, 4) float64 probabilities with pseudocount
    n_sites: np.ndarray  # (F,) int64
    information: np.ndarray  # (F,) float64 total information content of pwm, bits
    max_activation: np.ndarray  # (F,) float32 maximum activation over the sample
    passed: np.ndarray  # (F,) bool, n_sites >= min_sites


def site_counts(
    codes: np.ndarray, position: np.ndarray, minus: np.ndarray, is_site: np.ndarray, width: int
) -> np.ndarray:
    """Base counts of the sites, each read in the filter's orientation.

    codes ``(N, L)`` uint8; position, minus, is_site ``(N, F)`` from `max_activations` and the
    threshold test. Returns ``(F, width, 4)`` float64; N bases are not counted.
    """
    n_filters = is_site.shape[1]
    counts = np.zeros((n_filters, width, 4), dtype=np.float64)
    offsets = np.arange(width)
    for f in range(n_filters):
        seqs = np.flatnonzero(is_site[:, f])
        if not len(seqs):
            continue
        windows = codes[seqs[:, None], position[seqs, f][:, None] + offsets].astype(np.int64)
        flip = minus[seqs, f]
        windows[flip] = np.where(windows[flip] < 4, 3 - windows[flip], 4)[:, ::-1]
        hits = np.zeros((width, 5), dtype=np.float64)
        np.add.at(hits, (np.broadcast_to(offsets, windows.shape), windows), 1.0)
        counts[f] = hits[:, :4]
    return counts


def information_content(pwm: np.ndarray) -> np.ndarray:
    """Information content in bits against a uniform background: ``(..., w, 4)`` -> ``(..., w)``."""
    pwm = np.asarray(pwm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pwm > 0, pwm * np.log2(pwm), 0.0).sum(axis=-1)
    return 2.0 - entropy


def filter_pwms(
    codes: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    threshold: float = 0.5,
    min_sites: int = 10,
    pseudocount: float = 0.25,
) -> FilterPWMs:
    """PWMs of first-layer filters from their best-activating windows.

    Parameters
    ----------
    codes
        ``(N, L)`` uint8 base codes of the sequences scanned.
    kernel, bias
        Conv1D weights ``(width, 4, F)`` and ``(F,)``.
    threshold
        A sequence's best window is a site when its activation exceeds ``threshold x`` the
        filter's maximum activation over all sequences (filters whose maximum is <= 0 never
        activate after a ReLU and get no sites).
    min_sites
        Filters with fewer sites are marked ``passed=False``.
    pseudocount
        Added to every base count before normalising (0.25 = one pseudo-site, uniform).
    """
    width = kernel.shape[0]
    best, position, minus = max_activations(codes, kernel, bias)
    top = best.max(axis=0) if len(best) else np.zeros(kernel.shape[2], np.float32)
    is_site = (best > threshold * top) & (top > 0)
    counts = site_counts(codes, position, minus, is_site, width)
    pwm = (counts + pseudocount) / (counts.sum(axis=2, keepdims=True) + 4 * pseudocount)
    n_sites = is_site.sum(axis=0).astype(np.int64)
    return FilterPWMs(
        counts=counts,
        pwm=pwm,
        n_sites=n_sites,
        information=information_content(pwm).sum(axis=1),
        max_activation=top.astype(np.float32),
        passed=n_sites >= min_sites,
    )


def filter_influence(
    model, x: np.ndarray, *, layer: str = "conv1", batch_size: int = 128
) -> np.ndarray:
    """Change in predictions when each filter of `layer` is silenced.

    A clone of `model` gets filter f's kernel and bias set to zero (its output becomes 0,
    also after a ReLU); the mean absolute change of each track's predicted probability over
    the sequences is its influence.

    x: ``(N, L, 4)`` float32 one-hot. Returns ``(F, n_tracks)`` float32.
    """
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    conv = clone.get_layer(layer)
    weights = [np.array(w) for w in conv.get_weights()]
    n_filters = weights[0].shape[-1]
    reference = _predict(clone, x, batch_size)
    influence = np.zeros((n_filters, reference.shape[1]), dtype=np.float32)
    for f in range(n_filters):
        silenced = [w.copy() for w in weights]
        for w in silenced:
            w[..., f] = 0
        conv.set_weights(silenced)
        changed = _predict(clone, x, batch_size)
        influence[f] = np.abs(changed - reference).mean(axis=0)
    conv.set_weights(weights)
    return influence


def _predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Predictions in batches via `predict_on_batch` (reuses one compiled function; `predict`
    rebuilds its data pipeline on every call, ~0.2 s each)."""
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
    )
