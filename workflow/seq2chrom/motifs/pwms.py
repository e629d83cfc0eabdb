"""First-layer convolution filters -> position weight matrices, by Basset's rule or both strands.

A filter's output at a window is ``ReLU(x * W + b)`` (conv1 of every seq2chrom model, as the
ReLU output Basset read). Two rules (`PWM_RULES`) turn the outputs into sites and sites into a
PWM:

``basset`` (default), as Basset's ``basset_motifs.py`` (``plot_filter_logo`` with
``maxpct_t=0.5``, ``make_filter_pwm``): the mean and the maximum of the filter's output over
all positions of all sequences scanned, forward strand only; a site is a window whose output
exceeds ``mean + threshold x (max - mean)``. Counts start at a pseudocount of 1 per base, an N
in a site adds 0.25 to each base, and the PWM is the counts over ``n_sites + 4``.

``both_strands``, seq2chrom's earlier rule: every window on either strand whose output exceeds
``threshold x`` the maximum over both strands is a site, read in the filter's orientation (a
reverse-strand site as its reverse complement); N is not counted, pseudocount 0.25 per base.

Either way a sequence may give many sites or none, and filters with fewer than ``min_sites``
sites (Basset: 10) get no PWM.

The scan is a numba kernel exploiting one-hot input: a filter's output before the ReLU at
window i is ``bias + sum_k W[k, base(i + k)]``, and bases are read three at a time (code
``25 a + 5 b + c``, 125 values) from a table of the summed kernel rows, so each window costs
``ceil(width / 3)`` row additions over all filters at once. A first pass finds each filter's
maximum and mean, a second counts the sites above the limit. Both strands are one pass with
the kernel bank extended by its reverse complements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from seq2chrom.splitfile import N_BASE

PWM_RULES = ("basset", "both_strands")
_GROUP = 3  # bases read per table row
_N_CODES = 5**_GROUP  # A, C, G, T, N in each of the three places
_PSEUDOCOUNT = {"basset": 1.0, "both_strands": 0.25}  # per base


def codes_to_one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Inverse of `splitfile.one_hot_to_codes`: ``(N, L)`` codes -> ``(N, L, 4)`` one-hot."""
    return np.eye(5, 4, dtype=dtype)[codes]


def reverse_complement_kernel(kernel: np.ndarray) -> np.ndarray:
    """``(width, 4, F)`` kernel (A,C,G,T) of the reverse-complement strand."""
    return kernel[::-1, ::-1, :]


@njit(inline="always")
def _window(acc, seq, i, table, bias):  # pragma: no cover - compiled
    # acc[f] = pre-activation of filter f at window i: bias plus one table row per 3 bases.
    for f in range(acc.shape[0]):
        acc[f] = bias[f]
    for k in range(table.shape[0]):
        row = table[k, seq[i + _GROUP * k]]
        for f in range(acc.shape[0]):
            acc[f] += row[f]


@njit(parallel=True, cache=True)
def _stats_kernel(triplets, table, bias, n_pos, n_chunks):  # pragma: no cover - compiled
    # Per chunk of sequences: the maximum pre-activation and the sum of ReLU outputs.
    n_seq = triplets.shape[0]
    n_filters = table.shape[2]
    top = np.empty((n_chunks, n_filters), dtype=np.float32)
    total = np.zeros((n_chunks, n_filters), dtype=np.float64)
    per_chunk = (n_seq + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        acc = np.empty(n_filters, dtype=np.float32)
        best = np.full(n_filters, -np.inf, dtype=np.float32)
        relu_sum = np.empty(n_filters, dtype=np.float32)
        for n in range(c * per_chunk, min(n_seq, (c + 1) * per_chunk)):
            seq = triplets[n]
            relu_sum[:] = 0
            for i in range(n_pos):
                _window(acc, seq, i, table, bias)
                for f in range(n_filters):
                    value = acc[f]
                    best[f] = max(best[f], value)
                    relu_sum[f] += max(value, np.float32(0))
            for f in range(n_filters):
                total[c, f] += relu_sum[f]
        top[c] = best
    return top, total


@njit(parallel=True, cache=True)
def _count_kernel(triplets, table, bias, limit, n_pos, n_chunks):  # pragma: no cover
    # Every window with pre-activation > limit[f] adds its triplet codes (window offsets 0, 3,
    # 6, ...) to counts[chunk, f]; each parallel chunk of sequences owns its counts.
    n_seq = triplets.shape[0]
    n_rows, _, n_filters = table.shape
    n_words = (n_filters + 7) // 8
    counts = np.zeros((n_chunks, n_filters, n_rows, _N_CODES), dtype=np.int32)
    sites = np.zeros((n_chunks, n_filters), dtype=np.int64)
    per_chunk = (n_seq + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        acc = np.empty(n_filters, dtype=np.float32)
        hit = np.zeros(8 * n_words, dtype=np.uint8)
        words = hit.view(np.uint64)  # 8 filters per word: most windows skip all of them
        for n in range(c * per_chunk, min(n_seq, (c + 1) * per_chunk)):
            seq = triplets[n]
            for i in range(n_pos):
                _window(acc, seq, i, table, bias)
                for f in range(n_filters):
                    hit[f] = acc[f] > limit[f]
                for word in range(n_words):
                    if words[word] == 0:
                        continue
                    for f in range(8 * word, min(n_filters, 8 * word + 8)):
                        if hit[f]:
                            sites[c, f] += 1
                            for k in range(n_rows):
                                counts[c, f, k, seq[i + _GROUP * k]] += 1
    return counts, sites


def _triplets(codes: np.ndarray) -> np.ndarray:
    """``(N, L)`` uint8 codes of three bases ``25 code[i] + 5 code[i+1] + code[i+2]`` (N after
    the end)."""
    extended = np.concatenate([codes, np.full((len(codes), _GROUP - 1), N_BASE, np.uint8)], axis=1)
    length = codes.shape[1]
    out = np.zeros(codes.shape, dtype=np.uint8)
    for j in range(_GROUP):
        out = out * np.uint8(5) + extended[:, j : j + length]
    return out


class _Scan(NamedTuple):
    """The scan's inputs for one kernel bank."""

    triplets: np.ndarray  # (N, L) uint8, `_triplets`
    table: np.ndarray  # (ceil(width / 3), 125, F) float32 summed kernel rows
    bias: np.ndarray  # (F,) float32
    n_pos: int  # windows per sequence (valid convolution)
    width: int


def _scan_inputs(codes: np.ndarray, kernel: np.ndarray, bias, *, both_strands: bool) -> _Scan:
    """The triplet codes, the kernel table (and the reverse-complement bank's) and the bias."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 3 or kernel.shape[1] != 4:
        raise ValueError(f"kernel shape {kernel.shape}: expected (width, 4, filters)")
    width, _, n_filters = kernel.shape
    if codes.ndim != 2 or codes.shape[1] < width:
        raise ValueError(f"codes shape {codes.shape}: need (N, L) with L >= {width}")
    bias = np.zeros(n_filters, np.float32) if bias is None else np.asarray(bias, np.float32)
    if both_strands:
        kernel = np.concatenate([kernel, reverse_complement_kernel(kernel)], axis=2)
        bias = np.concatenate([bias, bias])
    # Row k holds W[3k, a] + W[3k + 1, b] + W[3k + 2, c] at code 25 a + 5 b + c (N rows zero);
    # the width is padded with zero columns, read against bases after the window (or N).
    n_rows = -(-width // _GROUP)
    padded = np.zeros((_GROUP * n_rows, 5, kernel.shape[2]), dtype=np.float32)
    padded[:width, :4] = kernel
    table = (
        padded[0::3, :, None, None, :] + padded[1::3, None, :, None, :] + padded[2::3, None, None]
    ).reshape(n_rows, _N_CODES, -1)
    return _Scan(_triplets(codes), table, bias, codes.shape[1] - width + 1, width)


def _n_chunks(n_seq: int) -> int:
    return max(1, min(n_seq, 4 * numba.get_num_threads()))


class ActivationStats(NamedTuple):
    """Each filter's output ``ReLU(x * W + b)`` over all positions of all sequences."""

    maximum: np.ndarray  # (F,) float32
    mean: np.ndarray  # (F,) float64


def activation_stats(
    codes: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None
) -> ActivationStats:
    """Maximum and mean of each filter's ReLU output over every window of `codes` (forward
    strand, valid convolution).

    codes ``(N, L)`` uint8 base codes (`splitfile.one_hot_to_codes`); kernel ``(width, 4, F)``
    float (Keras Conv1D layout, A,C,G,T); bias ``(F,)`` or None.
    """
    scan = _scan_inputs(codes, kernel, bias, both_strands=False)
    top, total = _stats_kernel(*scan[:4], _n_chunks(len(codes)))
    n_windows = max(1, len(codes) * scan.n_pos)
    maximum = np.maximum(top.max(axis=0), 0)  # a chunk without sequences holds -inf
    return ActivationStats(maximum.astype(np.float32), total.sum(axis=0) / n_windows)


def _max_both_strands(codes: np.ndarray, kernel: np.ndarray, bias) -> np.ndarray:
    """``(F,)`` float32 maximum ReLU output over every window on either strand."""
    scan = _scan_inputs(codes, kernel, bias, both_strands=True)
    top, _ = _stats_kernel(*scan[:4], _n_chunks(len(codes)))
    top = np.maximum(top.max(axis=0), 0)
    n_filters = len(top) // 2
    return np.maximum(top[:n_filters], top[n_filters:]).astype(np.float32)


class SiteCounts(NamedTuple):
    """Base counts of the sites of each filter, in the filter's orientation."""

    counts: np.ndarray  # (F, width, 5) int64: A, C, G, T, N
    n_sites: np.ndarray  # (F,) int64


def site_counts(
    codes: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    limit: np.ndarray,
    *,
    both_strands: bool = False,
) -> SiteCounts:
    """Counts of the bases of every window whose output exceeds `limit` (strictly).

    codes ``(N, L)`` uint8; kernel ``(width, 4, F)``; limit ``(F,)`` float (>= 0, so the
    ReLU output exceeds it exactly when the pre-activation does). With `both_strands`, windows
    of the reverse strand count too, read as the reverse complement of the forward bases.
    """
    scan = _scan_inputs(codes, kernel, bias, both_strands=both_strands)
    limit = np.asarray(limit, dtype=np.float32)
    if both_strands:
        limit = np.concatenate([limit, limit])
    # int32 counts per chunk: no chunk may hold 2**31 windows
    n_chunks = max(_n_chunks(len(codes)), -(-len(codes) * scan.n_pos // 2**31))
    counts, sites = _count_kernel(*scan[:3], limit, scan.n_pos, n_chunks)
    counts = counts.sum(axis=0, dtype=np.int64)
    sites = sites.sum(axis=0)
    # Code 25 a + 5 b + c at row k: base a at window offset 3k, b at 3k + 1, c at 3k + 2
    # (offsets past the width lie outside the window and are dropped).
    by_place = counts.reshape(len(counts), -1, 5, 5, 5)
    per_base = np.stack(
        [by_place.sum(axis=(3, 4)), by_place.sum(axis=(2, 4)), by_place.sum(axis=(2, 3))], axis=2
    ).reshape(len(counts), -1, 5)[:, : scan.width]
    if not both_strands:
        return SiteCounts(per_base, sites)
    n_filters = len(limit) // 2
    # A reverse-strand site in the filter's orientation: positions reversed, A,C,G,T -> T,G,C,A.
    reverse = per_base[n_filters:, ::-1][:, :, [3, 2, 1, 0, 4]]
    return SiteCounts(per_base[:n_filters] + reverse, sites[:n_filters] + sites[n_filters:])


def information_content(pwm: np.ndarray) -> np.ndarray:
    """Information content in bits against a uniform background: ``(..., w, 4)`` -> ``(..., w)``."""
    pwm = np.asarray(pwm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pwm > 0, pwm * np.log2(pwm), 0.0).sum(axis=-1)
    return 2.0 - entropy


@dataclass
class FilterPWMs:
    """Per-filter results of `filter_pwms` (F filters of width w)."""

    counts: np.ndarray  # (F, w, 4) float64 base counts of the sites, no pseudocount
    pwm: np.ndarray  # (F, w, 4) float64 probabilities with the rule's pseudocount
    n_sites: np.ndarray  # (F,) int64 windows counted (several per sequence possible)
    information: np.ndarray  # (F,) float64 total information content of pwm, bits
    max_activation: np.ndarray  # (F,) float32 maximum output (over the strands scanned)
    mean_activation: np.ndarray  # (F,) float64 mean output, forward strand
    limit: np.ndarray  # (F,) float64 output a site must exceed (inf: the filter never fires)
    passed: np.ndarray  # (F,) bool, n_sites >= min_sites


def filter_pwms(
    codes: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    rule: str = "basset",
    threshold: float = 0.5,
    min_sites: int = 10,
) -> FilterPWMs:
    """PWMs of first-layer filters from the windows where they fire most.

    Parameters
    ----------
    codes
        ``(N, L)`` uint8 base codes of the sequences scanned (`splitfile.one_hot_to_codes`).
    kernel, bias
        Conv1D weights ``(width, 4, F)`` (A,C,G,T) and ``(F,)`` or None.
    rule
        ``basset``: sites are forward-strand windows whose output exceeds ``mean + threshold x
        (max - mean)``, pseudocount 1 per base, an N adding 0.25 to each base (Basset's
        ``basset_motifs.py``). ``both_strands``: windows on either strand above ``threshold x
        max``, pseudocount 0.25, N not counted. A filter whose output is 0 everywhere has no
        sites.
    threshold
        Basset's ``maxpct_t`` (0.5).
    min_sites
        Filters with fewer sites are marked ``passed=False`` (Basset: 10).

    Examples
    --------
    A width-1 filter scoring A 4, C 2.25, G 1.75 and T -2 on ACGT and TTTT: outputs (after
    the ReLU) 4, 2.25, 1.75, 0 and four 0, mean 1, so the limit is 1 + 0.5 x (4 - 1) = 2.5 and only
    the A is a site (0.5 x max = 2 would take the C too):

    >>> kernel = np.array([[[4.0], [2.25], [1.75], [-2.0]]])
    >>> codes = np.array([[0, 1, 2, 3], [3, 3, 3, 3]], np.uint8)
    >>> result = filter_pwms(codes, kernel, min_sites=1)
    >>> result.limit.tolist(), result.n_sites.tolist(), result.pwm[0, 0].tolist()
    ([2.5], [1], [0.4, 0.2, 0.2, 0.2])
    """
    if rule not in PWM_RULES:
        raise ValueError(f"rule {rule!r}: expected one of {', '.join(PWM_RULES)}")
    stats = activation_stats(codes, kernel, bias)
    both_strands = rule == "both_strands"
    if both_strands:
        maximum = _max_both_strands(codes, kernel, bias)
        limit = threshold * maximum.astype(np.float64)
    else:
        maximum = stats.maximum
        limit = stats.mean + threshold * (maximum - stats.mean)
    # A filter whose output is 0 everywhere (max 0) fires nowhere: no limit can be reached.
    limit = np.where(maximum > 0, limit, np.inf)
    found = site_counts(codes, kernel, bias, limit, both_strands=both_strands)
    counts = found.counts[:, :, :4].astype(np.float64)
    pseudocount = _PSEUDOCOUNT[rule]
    if both_strands:
        pwm = (counts + pseudocount) / (counts.sum(axis=2, keepdims=True) + 4 * pseudocount)
    else:
        # make_filter_pwm: every site adds 1 to one base, or 0.25 to each for an N
        counts = counts + 0.25 * found.counts[:, :, 4:]
        pwm = (counts + pseudocount) / (found.n_sites[:, None, None] + 4 * pseudocount)
    return FilterPWMs(
        counts=counts,
        pwm=pwm,
        n_sites=found.n_sites,
        information=information_content(pwm).sum(axis=1),
        max_activation=maximum,
        mean_activation=stats.mean,
        limit=limit,
        passed=found.n_sites >= min_sites,
    )
