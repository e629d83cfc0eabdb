"""Tomtom motif comparison (Gupta et al. 2007) as MEME 5.4.1's ``tomtom -dist pearson`` runs it.

For each query motif, with every target motif on both strands:

1. **Motifs as MEME reads them.** Rows are renormalised when they do not sum to 1 within 1e-5,
   then MEME's motif pseudocount (0.1 by default) is mixed in with the query file's background
   (made strand-symmetric): ``(p * nsites + 0.1 * bg) / (nsites + 0.1)``, ``nsites`` 20 when the
   file gives none. With a uniform background this leaves Pearson scores unchanged.
2. **Column scores.** Pearson correlation of each query column with every target column (all
   targets, both strands, concatenated), centring on 1/4 as Tomtom does; zero variance gives 0.
3. **Complete scoring.** Each query column's scores are shifted by their median over all target
   columns, so an unaligned column scores 0; the whole matrix is then scaled to integers in
   ``[0, 100]`` (offset ``floor(min)``, scale ``floor(100 / (max - offset))``).
4. **Null distributions.** The score of query columns ``[start, end]`` against random target
   columns (each drawn uniformly from all target columns, independently) has a distribution
   computed exactly by dynamic programming (one convolution per column). Placed on the common
   scale of complete scores, these give, for every target width, the distribution of the best
   of all ``Q + width - 1`` alignments on both strands: the p-value of a target is the tail of
   that maximum at the target's best complete score.
5. **Observed score.** The best alignment is searched only among those overlapping by at least
   ``min_overlap`` columns (less when the query or target is narrower); ties go to the larger
   overlap, then to the first offset. The null still counts every alignment, as Tomtom's does.
6. **E- and q-values.** E = p x number of targets. q-values over the query's 2 x n_targets
   p-values (both strands) as MEME computes them: Storey's pi0 chosen by 100 bootstraps of 1000
   p-values drawn from MEME's Mersenne Twister (its default seed, one stream across queries in
   order), then step-up FDR. Each target is reported once, on its better strand.

p-values are rounded to single precision as MEME rounds them. ``Optimal_offset`` is the target
position of the query's first column (negative: the query starts before the target), on the
target's strand ``Orientation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pandas as pd

from seq2chrom.motifs.meme import Motif

COLUMNS = [
    "Query_ID",
    "Target_ID",
    "Optimal_offset",
    "p-value",
    "E-value",
    "q-value",
    "Overlap",
    "Query_consensus",
    "Target_consensus",
    "Orientation",
]
BINS = 100  # integer score range of one column pair (tomtom.c BINS)
PSEUDOCOUNT = 0.1  # tomtom -motif-pseudo default
DEFAULT_NSITES = 20  # MEME's site count for a motif that states none
_COMPLEMENT = np.array([3, 2, 1, 0])  # A,C,G,T -> T,G,C,A


def symmetric_background(background: Sequence[float]) -> np.ndarray:
    """A,C,G,T background averaged with its complement and normalised: ``(4,)`` float64."""
    bg = np.asarray(background, dtype=np.float64)
    bg = (bg + bg[_COMPLEMENT]) / 2
    return bg / bg.sum()


def meme_frequencies(
    matrix: np.ndarray,
    nsites: int,
    background: np.ndarray,
    pseudocount: float = PSEUDOCOUNT,
) -> np.ndarray:
    """A ``(w, 4)`` matrix as MEME holds it after reading: renormalised rows, pseudocount added."""
    freqs = np.array(matrix, dtype=np.float64)
    totals = freqs.sum(axis=1, keepdims=True)
    off = np.abs(totals - 1.0) > 1e-5  # MEME leaves rows within 1e-5 of 1 as they are
    freqs = np.where(off, freqs / np.where(totals > 0, totals, 1.0), freqs)
    if pseudocount > 0:
        sites = nsites if nsites > 0 else DEFAULT_NSITES
        freqs = (freqs * sites + pseudocount * background) / (sites + pseudocount)
    return freqs


def reverse_complement(freqs: np.ndarray) -> np.ndarray:
    """Reverse complement of a ``(w, 4)`` A,C,G,T matrix."""
    return freqs[::-1, ::-1].copy()


def consensus(freqs: np.ndarray) -> str:
    """Most probable letter of each row, first on ties, comparing as MEME does (float max)."""
    best = np.zeros(len(freqs), dtype=np.int64)
    top = freqs[:, 0].astype(np.float32)
    for letter in range(1, 4):
        better = freqs[:, letter] > top.astype(np.float64)
        best[better] = letter
        top = np.where(better, freqs[:, letter].astype(np.float32), top)
    return "".join("ACGT"[i] for i in best)


@numba.njit(cache=True, nogil=True)
def pearson_scores(query: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Pearson correlation of each query row with each target row: ``(Q, T)`` float64.

    Centred on 1/4 (Tomtom's mean for a 4-letter column), summed in Tomtom's order; a column
    without variance scores 0.
    """
    n_query, n_columns = query.shape[0], columns.shape[0]
    out = np.empty((n_query, n_columns))
    for q in range(n_query):
        a0, a1, a2, a3 = (
            query[q, 0] - 0.25,
            query[q, 1] - 0.25,
            query[q, 2] - 0.25,
            query[q, 3] - 0.25,
        )
        ss_query = a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3
        for t in range(n_columns):
            b0, b1 = columns[t, 0] - 0.25, columns[t, 1] - 0.25
            b2, b3 = columns[t, 2] - 0.25, columns[t, 3] - 0.25
            numerator = a0 * b0 + a1 * b1 + a2 * b2 + a3 * b3
            denominator = np.sqrt(ss_query * (b0 * b0 + b1 * b1 + b2 * b2 + b3 * b3))
            out[q, t] = numerator / denominator if denominator != 0 else 0.0
    return out


def shifted_scaled_scores(scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Median-shift each row of ``(Q, T)`` scores and scale all to integers in ``[0, BINS]``.

    Returns the ``(Q, T)`` int64 scaled scores and ``offset * scale`` (an integer <= 0): a
    scaled score ``s`` stands for ``s + offset * scale`` in units of ``1 / scale``.
    """
    n = scores.shape[1]
    low = max(int(np.floor(0.5 * n)) - 1, 0)
    high = max(int(np.ceil(0.5 * n)) - 1, low)
    ordered = np.partition(scores, sorted({low, high}), axis=1)
    shifted = scores + -((ordered[:, low] + ordered[:, high]) / 2.0)[:, None]
    small, large = shifted.min(), shifted.max()
    if large == small:
        small = large - 1
    offset = np.floor(small)
    scale = np.floor(BINS / (large - offset))
    raw = (shifted - offset) * scale
    scaled = np.where(raw >= 0, raw + 0.5, raw - 0.5).astype(np.int64)  # MEME's nint()
    return scaled, int(offset * scale)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _window_tails(scaled: np.ndarray) -> np.ndarray:
    """Null tails ``P(S >= k)`` of every window ``[start, end]`` of query columns.

    ``out[start, end, k]``: probability that columns start..end of the query, each against a
    target column drawn uniformly and independently from all target columns, score ``k`` or
    more in total (scaled scores; ``(Q, Q, Q * BINS + 2)`` float64, 0 beyond the support).
    """
    n_query, n_columns = scaled.shape
    hist = np.zeros((n_query, BINS + 1))
    for q in range(n_query):
        for t in range(n_columns):
            hist[q, scaled[q, t]] += 1.0
    hist /= n_columns
    size = n_query * BINS + 1
    out = np.zeros((n_query, n_query, size + 1))
    # old[BINS:] holds the pmf, zero-padded on both sides, so every output is one fixed-length
    # dot product with the reversed histogram (vectorised).
    old = np.zeros(size + 2 * BINS)
    new = np.zeros(size + 2 * BINS)
    reverse = hist[:, ::-1].copy()
    for start in range(n_query - 1, -1, -1):
        new[:] = 0.0
        new[BINS] = 1.0
        top = 0
        for end in range(start, n_query):
            old, new = new, old
            new[:] = 0.0  # keeps the padding zero
            h = reverse[end]
            for m in range(top + BINS + 1):
                total = 0.0
                for u in range(BINS + 1):
                    total += old[m + u] * h[u]
                new[BINS + m] = total
            top += BINS
            tail = 0.0
            for k in range(top, -1, -1):  # from the top: small tails keep their precision
                tail += new[BINS + k]
                out[start, end, k] = tail
    return out


@numba.njit(cache=True, nogil=True)
def _best_alignments(
    scaled: np.ndarray, starts: np.ndarray, widths: np.ndarray, os: int, min_overlap: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best complete score, offset and overlap of the query against each target.

    Targets are column ranges ``[starts[j], starts[j] + widths[j])`` of `scaled`. Only
    alignments overlapping by ``min(min_overlap, Q, width)`` columns or more are searched; the
    highest score wins, then the larger overlap, then the first. Scores are ``total + overlap *
    os`` (the unaligned columns count 0).
    """
    n_query = scaled.shape[0]
    n = len(starts)
    best = np.empty(n, dtype=np.int64)
    offset = np.empty(n, dtype=np.int64)
    overlap = np.empty(n, dtype=np.int64)
    for j in range(n):
        width = widths[j]
        first, last = 1, n_query + width - 1
        if min_overlap > 1:
            mo = min(min_overlap, n_query, width)
            first, last = mo, n_query + width - mo
        best[j] = -(2**62)
        overlap[j] = -1
        offset[j] = 0
        for config in range(first, last + 1):
            if config <= n_query:
                t_col, q_col = 0, n_query - config
            else:
                t_col, q_col = config - n_query, 0
            total = 0
            size = 0
            while q_col < n_query and t_col < width:
                total += scaled[q_col, starts[j] + t_col]
                q_col += 1
                t_col += 1
                size += 1
            score = total + size * os
            if score > best[j] or (score == best[j] and size > overlap[j]):
                best[j] = score
                overlap[j] = size
                offset[j] = config - n_query
    return best, offset, overlap


@numba.njit(cache=True, nogil=True)
def _max_tail(tails: np.ndarray, width: int, score: int, os: int, n_orient: int) -> float:
    """P(best of all alignments with a target of `width` on `n_orient` strands >= `score`).

    Alignment scores are independent, window ``[start, end]`` null tails from `tails`; a
    complete score ``c`` of a window of ``L`` columns is the scaled total ``c - L * os``.
    ``1 - prod(1 - tail)`` is taken in log space so that small p-values stay exact.
    """
    n_query = tails.shape[0]
    size = tails.shape[2]
    log_below = 0.0
    for i in range(n_query + width - 1):
        if i < n_query:
            start = n_query - i - 1
            end = min(n_query, start + width) - 1
        else:
            start = 0
            end = min(n_query, width + n_query - i - 1) - 1
        k = score - (end - start + 1) * os
        if k <= 0:
            return 1.0
        if k < size:
            log_below += n_orient * np.log1p(-tails[start, end, k])
    return -np.expm1(log_below)


@numba.njit(cache=True, nogil=True)
def _pvalues(
    tails: np.ndarray, best: np.ndarray, widths: np.ndarray, os: int, n_orient: int
) -> np.ndarray:
    """Tomtom p-value of each target's best complete score (`_max_tail`), float64."""
    out = np.empty(len(best))
    for j in range(len(best)):
        out[j] = _max_tail(tails, widths[j], best[j], os, n_orient)
    return out


def _single(values: np.ndarray) -> np.ndarray:
    """`values` rounded to single precision, as MEME rounds what it prints (float64 out)."""
    return np.asarray(values).astype(np.float32).astype(np.float64)


def query_pvalues(
    query: np.ndarray,
    columns: np.ndarray,
    starts: np.ndarray,
    widths: np.ndarray,
    min_overlap: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tomtom p-values of one ``(Q, 4)`` query against targets laid out in `columns`.

    `columns` ``(T, 4)`` holds every target (both strands, ``+`` then ``-`` per motif) end to
    end, target ``j`` at rows ``starts[j]:starts[j] + widths[j]``. Returns float64 p-values
    (rounded to single precision as MEME's), offsets and overlaps per target.
    """
    scaled, os = shifted_scaled_scores(pearson_scores(query, columns))
    tails = _window_tails(scaled)
    best, offset, overlap = _best_alignments(scaled, starts, widths, os, min_overlap)
    pvalues = _pvalues(tails, best, widths, os, 2)
    return _single(pvalues), offset, overlap


class MemeRandom:
    """MEME's program-wide Mersenne Twister (mtwist, never seeded: Knuth seeding of 4357).

    `uniform` draws as MEME's ``drand_mt()``: two 32-bit outputs joined into 64 bits.
    """

    def __init__(self, seed: int = 4357) -> None:
        key = np.empty(624, dtype=np.uint64)
        key[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            key[i] = (69069 * int(key[i - 1])) & 0xFFFFFFFF
        self._bits = np.random.MT19937()
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": key.astype(np.uint32), "pos": 624},
        }

    def uniform(self, n: int) -> np.ndarray:
        """`n` doubles in [0, 1), float64."""
        raw = self._bits.random_raw(2 * n).astype(np.uint64).reshape(n, 2)
        joined = (raw[:, 0] << np.uint64(32)) | raw[:, 1]
        return joined.astype(np.float64) * 2.0**-64


def estimate_pi_zero(sorted_pvalues: np.ndarray, rng: MemeRandom) -> float:
    """Storey's pi0 as MEME estimates it (100 lambdas up to 0.5, 100 bootstraps of 1000).

    The lambda whose bootstrap estimates are closest (mean squared error) to the smallest
    estimate from all p-values gives pi0, clipped to [0, 1].
    """
    n = len(sorted_pvalues)
    lambdas = (np.arange(1, 101) / 100.0) * 0.5
    # A p-value >= lambda <=> its rank >= the first rank at lambda (p-values are sorted).
    first = np.searchsorted(sorted_pvalues, lambdas, side="left")

    def pi_zero(above: np.ndarray, total: int) -> np.ndarray:
        estimate = above / ((1.0 - lambdas) * total)
        return np.where(estimate == 0.0, np.inf, estimate)

    estimates = pi_zero(n - first, n)
    smallest = estimates.min()
    picks = (rng.uniform(100 * 1000) * float(n)).astype(np.int64).reshape(100, 1000)
    counts = np.zeros((100, n + 1), dtype=np.int64)
    np.add.at(counts, (np.arange(100)[:, None], picks), 1)
    at_or_above = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # picks with rank >= r
    errors = np.zeros(len(lambdas))
    for b in range(100):  # accumulated in MEME's order
        errors = errors + (pi_zero(at_or_above[b, first], 1000) - smallest) ** 2
    return float(min(max(estimates[int(np.argmin(errors))], 0.0), 1.0))


def qvalues(sorted_pvalues: np.ndarray, rng: MemeRandom | None) -> np.ndarray:
    """MEME's q-values of ascending p-values: pi0 x step-up FDR (pi0 = 1 without `rng`)."""
    n = len(sorted_pvalues)
    if n == 0:
        return sorted_pvalues.copy()
    pi0 = estimate_pi_zero(sorted_pvalues, rng) if rng is not None and n > 100 else 1.0
    fdr = np.minimum(pi0 * sorted_pvalues * float(n) / np.arange(1, n + 1, dtype=np.float64), 1.0)
    return np.minimum.accumulate(fdr[::-1])[::-1]


def compare_motifs(
    queries: Sequence[Motif],
    targets: Sequence[Motif],
    *,
    min_overlap: int = 5,
    background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    pseudocount: float = PSEUDOCOUNT,
    threads: int = 1,
) -> list[pd.DataFrame]:
    """Tomtom of every query against every target; one table per query, all targets.

    Each table has the columns `COLUMNS` plus ``Target_name``, one row per target (its better
    strand), best first as Tomtom sorts them (p-value, then larger overlap, then strand and ID).
    `background` is the query file's (used for pseudocounts, as Tomtom's default ``-bfile``).
    """
    bg = symmetric_background(background)
    freqs = [meme_frequencies(t.matrix, t.nsites, bg, pseudocount) for t in targets]
    stranded = [m for f in freqs for m in (f, reverse_complement(f))]
    widths = np.array([len(m) for m in stranded], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    columns = np.concatenate(stranded) if stranded else np.zeros((0, 4))
    ids = np.repeat([t.id for t in targets], 2)
    names = np.repeat([t.label for t in targets], 2)
    strand = np.tile(np.array(["+", "-"]), len(targets))
    st_ids = np.char.add(strand, ids.astype(str))
    target_cons = np.array([consensus(m) for m in stranded], dtype=object)
    query_freqs = [meme_frequencies(q.matrix, q.nsites, bg, pseudocount) for q in queries]

    def one(query: np.ndarray):
        return query_pvalues(query, columns, starts, widths, min_overlap)

    if not targets:
        return [pd.DataFrame(columns=[*COLUMNS, "Target_name"]) for _ in queries]
    with ThreadPoolExecutor(max(1, int(threads))) as pool:
        found = list(pool.map(one, query_freqs))
    rng = MemeRandom()
    tables = []
    for query, query_f, (pvalues, offset, overlap) in zip(queries, query_freqs, found, strict=True):
        # Tomtom's order: p-value, larger overlap, then "+ID" < "-ID" byte order.
        order = np.lexsort((st_ids, -overlap, pvalues))
        q = np.empty(len(pvalues))
        q[order] = qvalues(pvalues[order], rng)
        table = pd.DataFrame(
            {
                "Query_ID": query.id,
                "Target_ID": ids[order],
                "Optimal_offset": offset[order],
                "p-value": pvalues[order],
                "E-value": _single(pvalues[order] * len(targets)),
                "q-value": _single(q[order]),
                "Overlap": overlap[order],
                "Query_consensus": consensus(query_f),
                "Target_consensus": target_cons[order],
                "Orientation": strand[order],
                "Target_name": names[order],
            }
        )
        tables.append(table.drop_duplicates("Target_ID", keep="first").reset_index(drop=True))
    return tables


def match_table(
    queries: Sequence[Motif],
    targets: Sequence[Motif],
    *,
    evalue: float = 0.01,
    min_overlap: int = 5,
    background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    threads: int = 1,
) -> pd.DataFrame:
    """Tomtom's ``tomtom.tsv``: matches with E-value <= `evalue`, queries in input order.

    Columns `COLUMNS` (MEME's names and order) plus ``Target_name``.
    """
    tables = compare_motifs(
        queries, targets, min_overlap=min_overlap, background=background, threads=threads
    )
    kept = [table[table["E-value"] <= evalue] for table in tables]
    if not kept:
        return pd.DataFrame(columns=[*COLUMNS, "Target_name"])
    return pd.concat(kept, ignore_index=True)
