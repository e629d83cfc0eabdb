"""First-layer convolution filters -> position weight matrices, as Basset and DanQ made them.

Every filter of the first convolution is scanned over a sample of sequences on both strands.
Every window, on either strand, whose activation exceeds ``threshold x`` the filter's maximum
activation over all the sequences (Basset and DanQ: 0.5) is a site: a sequence can give many
sites, or none. The sites' bases, read in the filter's orientation, are counted, a pseudocount
added, and the counts normalised into a PWM. Filters with fewer than ``min_sites`` sites get no
PWM.

The scan is a numba kernel exploiting one-hot input: a filter's response at position i is
``bias + sum_k W[k, base(i + k)]``, so each window costs ``width`` row additions over all
filters at once instead of a ``4 x width`` dot product per filter. Both strands come from one
pass with the kernel bank extended by its reverse complements. A first pass finds each filter's
maximum, a second counts the sites above the threshold.

Filter influence is Basset's: the filter's output is replaced by its mean activation over all
sequences and positions, and each track's prediction change is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from seq2chrom.splitfile import N_BASE


def codes_to_one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Inverse of `splitfile.one_hot_to_codes`: ``(N, L)`` codes -> ``(N, L, 4)`` one-hot."""
    return np.eye(5, 4, dtype=dtype)[codes]


def reverse_complement_kernel(kernel: np.ndarray) -> np.ndarray:
    """``(width, 4, F)`` kernel (A,C,G,T) of the reverse-complement strand."""
    return kernel[::-1, ::-1, :]


@njit(cache=True, fastmath=True)
def _window_scores(acc, pairs, start, size, table, bias):  # pragma: no cover - compiled
    # acc[i] = activation of the window at start + i for every filter. pairs (L - 1,):
    # code[i] * 5 + code[i + 1]; table (width // 2 (+1), 25, F): rows of adjacent kernel
    # positions summed, so each window costs width / 2 row additions.
    n_rows, _, n_filters = table.shape
    for i in range(size):
        for f in range(n_filters):
            acc[i, f] = bias[f]
    for k in range(n_rows):
        for i in range(size):
            row = table[k, pairs[start + i + 2 * k]]
            for f in range(n_filters):
                acc[i, f] += row[f]


@njit(parallel=True, cache=True, fastmath=True)
def _scan(pairs, table, bias, n_pos, block):  # pragma: no cover - compiled
    # Best window of each sequence for each filter (see _window_scores).
    n_seq = pairs.shape[0]
    n_filters = table.shape[2]
    best = np.empty((n_seq, n_filters), dtype=np.float32)
    where = np.empty((n_seq, n_filters), dtype=np.int32)
    for n in prange(n_seq):
        acc = np.empty((block, n_filters), dtype=np.float32)
        top = np.full(n_filters, -np.inf, dtype=np.float32)
        arg = np.zeros(n_filters, dtype=np.int32)
        for start in range(0, n_pos, block):
            size = min(block, n_pos - start)
            _window_scores(acc, pairs[n], start, size, table, bias)
            for i in range(size):
                for f in range(n_filters):
                    value = acc[i, f]
                    if value > top[f]:
                        top[f] = value
                        arg[f] = start + i
        best[n] = top
        where[n] = arg
    return best, where


@njit(parallel=True, cache=True, fastmath=True)
def _count_sites(pairs, table, bias, limit, n_pos, block, n_chunks):  # pragma: no cover
    # Windows scored as in _scan; every window with acc > limit[f] adds its base pairs (the
    # pair codes at window offsets 0, 2, 4, ...; half the increments of single bases) to
    # counts[chunk, f]. Sequences are split in n_chunks so each parallel chunk owns its counts.
    n_seq = pairs.shape[0]
    n_rows, _, n_filters = table.shape
    counts = np.zeros((n_chunks, n_filters, n_rows, 25), dtype=np.int64)
    sites = np.zeros((n_chunks, n_filters), dtype=np.int64)
    per_chunk = (n_seq + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        acc = np.empty((block, n_filters), dtype=np.float32)
        for n in range(c * per_chunk, min(n_seq, (c + 1) * per_chunk)):
            for start in range(0, n_pos, block):
                size = min(block, n_pos - start)
                _window_scores(acc, pairs[n], start, size, table, bias)
                for i in range(size):
                    for f in range(n_filters):
                        if acc[i, f] > limit[f]:
                            sites[c, f] += 1
                            for k in range(n_rows):
                                counts[c, f, k, pairs[n, start + i + 2 * k]] += 1
    return counts.sum(axis=0), sites.sum(axis=0)


def _pair_table(kernel: np.ndarray, bias) -> tuple[np.ndarray, np.ndarray, int]:
    """The scan's pair table for both strands, the doubled bias and the number of filters."""
    kernel = np.asarray(kernel, dtype=np.float32)
    width, n_letters, n_filters = kernel.shape
    if n_letters != 4:
        raise ValueError(f"kernel shape {kernel.shape}: expected (width, 4, filters)")
    bias = np.zeros(n_filters, np.float32) if bias is None else np.asarray(bias, np.float32)
    both = np.concatenate([kernel, reverse_complement_kernel(kernel)], axis=2)
    # Pair table: row k holds W[2k, a] + W[2k + 1, b] at a * 5 + b (N rows zero). An odd
    # width gets a zero kernel column appended, read against the base after the window (or
    # against an N past the end of the sequence).
    padded = np.zeros((width + width % 2, 5, 2 * n_filters), dtype=np.float32)
    padded[:width, :4] = both
    table = (padded[0::2, :, None, :] + padded[1::2, None, :, :]).reshape(-1, 25, 2 * n_filters)
    return table, np.concatenate([bias, bias]), n_filters


def _pairs(codes: np.ndarray) -> np.ndarray:
    """``(N, L)`` uint8 codes of adjacent bases ``code[i] * 5 + code[i + 1]`` (N after the end)."""
    extended = np.concatenate([codes, np.full((len(codes), 1), N_BASE, np.uint8)], axis=1)
    return extended[:, :-1] * np.uint8(5) + extended[:, 1:]


def max_activations(
    codes: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None, *, block: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sequence's best window for every filter, over both strands (valid convolution).

    Parameters
    ----------
    codes
        ``(N, L)`` uint8 base codes (`splitfile.one_hot_to_codes`).
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
    width = np.shape(kernel)[0]
    table, both_bias, n_filters = _pair_table(kernel, bias)
    if codes.ndim != 2 or codes.shape[1] < width:
        raise ValueError(f"codes shape {codes.shape}: need (N, L) with L >= {width}")
    pairs = _pairs(codes)
    n_pos = codes.shape[1] - width + 1
    best, where = _scan(pairs, table, both_bias, n_pos, block)
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
    n_sites: np.ndarray  # (F,) int64 windows counted (several per sequence possible)
    information: np.ndarray  # (F,) float64 total information content of pwm, bits
    max_activation: np.ndarray  # (F,) float32 maximum activation over the sample
    passed: np.ndarray  # (F,) bool, n_sites >= min_sites


def site_counts(
    codes: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    limit: np.ndarray,
    *,
    block: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Base counts of every window, on either strand, whose activation exceeds `limit`.

    codes ``(N, L)`` uint8; kernel ``(width, 4, F)``; limit ``(F,)`` float (a site must be
    strictly above it). Sites are read in the filter's orientation (a reverse-strand site as
    its reverse complement). Returns counts ``(F, width, 4)`` float64 (N bases not counted)
    and the number of sites ``(F,)`` int64.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    width = np.shape(kernel)[0]
    table, both_bias, n_filters = _pair_table(kernel, bias)
    limit = np.asarray(limit, dtype=np.float32)
    n_chunks = max(1, min(len(codes), 4 * numba.get_num_threads()))
    pair_counts, sites = _count_sites(
        _pairs(codes),
        table,
        both_bias,
        np.concatenate([limit, limit]),
        codes.shape[1] - width + 1,
        block,
        n_chunks,
    )
    # Pair code a * 5 + b at row k: base a at window offset 2k, base b at 2k + 1 (for an odd
    # width the last b lies past the window and is dropped).
    pair_counts = pair_counts.reshape(len(pair_counts), -1, 5, 5)
    counts = np.stack([pair_counts.sum(axis=3), pair_counts.sum(axis=2)], axis=2)
    counts = counts.reshape(len(counts), -1, 5)[:, :width]
    forward = counts[:n_filters, :, :4]
    reverse = counts[n_filters:, ::-1, :4][:, :, ::-1]  # reverse complement: A,C,G,T -> T,G,C,A
    return (forward + reverse).astype(np.float64), sites[:n_filters] + sites[n_filters:]


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
    """PWMs of first-layer filters from all their windows above a fraction of the maximum.

    Parameters
    ----------
    codes
        ``(N, L)`` uint8 base codes of the sequences scanned.
    kernel, bias
        Conv1D weights ``(width, 4, F)`` and ``(F,)``.
    threshold
        Every window on either strand whose activation exceeds ``threshold x`` the filter's
        maximum activation over all sequences is a site (filters whose maximum is <= 0 never
        activate after a ReLU and get no sites).
    min_sites
        Filters with fewer sites are marked ``passed=False``.
    pseudocount
        Added to every base count before normalising (0.25 = one pseudo-site, uniform).
    """
    best, _, _ = max_activations(codes, kernel, bias)
    top = best.max(axis=0) if len(best) else np.zeros(kernel.shape[2], np.float32)
    # A filter that never exceeds 0 gets an unreachable limit: no sites.
    limit = np.where(top > 0, threshold * top, np.inf).astype(np.float32)
    counts, n_sites = site_counts(codes, kernel, bias, limit)
    pwm = (counts + pseudocount) / (counts.sum(axis=2, keepdims=True) + 4 * pseudocount)
    return FilterPWMs(
        counts=counts,
        pwm=pwm,
        n_sites=n_sites,
        information=information_content(pwm).sum(axis=1),
        max_activation=top.astype(np.float32),
        passed=n_sites >= min_sites,
    )


def mean_activations(
    model, x: np.ndarray, *, layer: str = "conv1", batch_size: int = 128
) -> np.ndarray:
    """Mean output of each filter of `layer` over all sequences and positions: ``(F,)`` float64.

    x: ``(N, L, 4)`` float32 one-hot.
    """
    import keras

    conv = keras.Model(model.inputs, model.get_layer(layer).output)
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        out = np.asarray(conv.predict_on_batch(x[i : i + batch_size]), dtype=np.float64)
        total = total + out.sum(axis=(0, 1))
        count += out.shape[0] * out.shape[1]
    return np.asarray(total, dtype=np.float64) / max(count, 1)


def filter_influence(
    model, x: np.ndarray, *, layer: str = "conv1", batch_size: int = 128
) -> np.ndarray:
    """Basset's filter influence: predictions with each filter's output set to its mean.

    Filter f of `layer` is nullified by replacing its output, at every position, with its mean
    activation over `x` (`mean_activations`): its kernel is zeroed and its bias set to that mean,
    which the layer's ReLU (or linear) activation leaves unchanged. The influence on a track is
    the mean over sequences of (prediction - prediction with f nullified): positive when the
    filter raises the track's predicted probability.

    x: ``(N, L, 4)`` float32 one-hot. Returns ``(F, n_tracks)`` float32.
    """
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    conv = clone.get_layer(layer)
    weights = [np.array(w) for w in conv.get_weights()]
    if len(weights) < 2:
        raise ValueError(f"layer {layer!r} has no bias: cannot hold a filter at its mean")
    means = mean_activations(clone, x, layer=layer, batch_size=batch_size)
    n_filters = weights[0].shape[-1]
    reference = _predict(clone, x, batch_size)
    influence = np.zeros((n_filters, reference.shape[1]), dtype=np.float32)
    for f in range(n_filters):
        kernel, bias = weights[0].copy(), weights[1].copy()
        kernel[..., f] = 0
        bias[f] = means[f]
        conv.set_weights([kernel, bias, *weights[2:]])
        influence[f] = (reference - _predict(clone, x, batch_size)).mean(axis=0)
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
