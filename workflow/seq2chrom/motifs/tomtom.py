"""Tomtom-style motif comparison with a Pearson-correlation column score.

memelite's `tomtom` (a numba port of MEME's Tomtom: per-query-column null distributions built
from every target column, complete scoring of overhangs, all offsets, both strands) scores a
column pair by minus the Euclidean distance. Pearson correlation is obtained by feeding it
transformed columns: each column is centred (minus its mean over A,C,G,T) and scaled to unit
length, so for two such columns ``|x - y|^2 = 2 - 2 r`` with ``r`` their Pearson correlation and
memelite's score ``-sqrt(2 - 2 r)`` is monotone in ``r``. Column correlation is invariant to
adding a pseudocount to every letter, so no pseudocount is needed.

Columns with zero variance (exactly uniform) have no defined correlation; as in MEME's Tomtom
they get ``r = 0``: a query column becomes the zero vector (distance 1 to every target column,
so it contributes a constant that can never reach a small p-value), a target column becomes
``(1/2, 1/2, 1/2, 1/2)``, which is orthogonal to every centred column (distance sqrt(2),
``r = 0``) and its own reverse complement.

Unlike Euclidean distance, this score does not let uniform or noise PWMs match long
low-information database motifs: a uniform ``26 x 4`` query gets p = 1.

memelite has no minimum-overlap option; matches whose best alignment overlaps the target by
fewer than ``min_overlap`` columns (Tomtom ``-min-overlap``, DanQ used 5) are discarded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seq2chrom.motifs.meme import Motif

COLUMNS = [
    "filter",
    "target_id",
    "target_name",
    "pvalue",
    "evalue",
    "qvalue",
    "offset",
    "overlap",
    "strand",
]


def correlation_columns(matrix: np.ndarray, *, uniform_value: float = 0.0) -> np.ndarray:
    """Centre each column of a ``(w, 4)`` matrix and scale it to unit length.

    Returns ``(4, w)`` float64 (memelite's layout). Zero-variance columns are filled with
    `uniform_value` (0 for queries, 0.5 for targets; see the module docstring).
    """
    columns = np.asarray(matrix, dtype=np.float64).T
    centred = columns - columns.mean(axis=0, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=0, keepdims=True))
    flat = norm <= 1e-12 * np.maximum(np.abs(columns).sum(axis=0, keepdims=True), 1e-300)
    return np.where(flat, uniform_value, centred / np.where(flat, 1.0, norm))


def compare_motifs(
    queries: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    *,
    min_overlap: int = 5,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Best alignment of every query with every target, scored by column Pearson correlation.

    Parameters
    ----------
    queries, targets
        ``(w, 4)`` A,C,G,T matrices (probabilities or counts; any per-column scale).
    min_overlap
        Alignments overlapping the target by fewer columns get p-value 1.
    threads
        numba threads for memelite.

    Returns
    -------
    dict of ``(n_queries, n_targets)`` arrays: ``pvalue`` float64 (Tomtom p-value of the best
    alignment over offsets and strands), ``offset`` int64 (position of the query's first column
    in the target's coordinates, of the reverse-complemented target on strand ``-``),
    ``overlap`` int64, ``strand`` ``<U1`` (``+`` target as given, ``-`` its reverse complement).
    """
    import numba
    from memelite import tomtom

    shape = (len(queries), len(targets))
    result = {
        "pvalue": np.ones(shape),
        "offset": np.zeros(shape, dtype=np.int64),
        "overlap": np.zeros(shape, dtype=np.int64),
        "strand": np.full(shape, "+", dtype="<U1"),
    }
    q_columns = [correlation_columns(q) for q in queries]
    informative = np.array([np.abs(q).sum() > 0 for q in q_columns], dtype=bool)
    if not informative.any() or not targets:
        return result
    t_columns = [correlation_columns(t, uniform_value=0.5) for t in targets]
    n_jobs = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="tomtom was given")
        pvalue, _, offset, overlap, strand = tomtom(
            [q for q, keep in zip(q_columns, informative, strict=True) if keep],
            t_columns,
            n_jobs=n_jobs,
        )
    pvalue = np.where(overlap >= min_overlap, np.clip(pvalue, 0.0, 1.0), 1.0)
    result["pvalue"][informative] = pvalue
    result["offset"][informative] = offset.astype(np.int64)
    result["overlap"][informative] = overlap.astype(np.int64)
    result["strand"][informative] = np.where(strand > 0.5, "-", "+")
    return result


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis of `pvalues` (any shape, float64)."""
    pvalues = np.asarray(pvalues, dtype=np.float64)
    n = pvalues.shape[-1]
    order = np.argsort(pvalues, axis=-1, kind="stable")
    ranked = np.take_along_axis(pvalues, order, axis=-1) * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    qvalues = np.empty_like(ranked)
    np.put_along_axis(qvalues, order, np.minimum(ranked, 1.0), axis=-1)
    return qvalues


def match_table(
    queries: Sequence[Motif],
    targets: Sequence[Motif],
    *,
    evalue: float = 0.01,
    min_overlap: int = 5,
    threads: int = 1,
) -> pd.DataFrame:
    """Significant query-target matches as Tomtom reports them, best (smallest p-value) first.

    E-value = p-value x number of targets; q-value = Benjamini-Hochberg over each query's
    p-values against all targets. Keeps matches with E-value < `evalue`. Columns `COLUMNS`.
    """
    if not queries or not targets:
        return pd.DataFrame(columns=COLUMNS)
    found = compare_motifs(
        [q.matrix for q in queries],
        [t.matrix for t in targets],
        min_overlap=min_overlap,
        threads=threads,
    )
    evalues = found["pvalue"] * len(targets)
    qvalues = benjamini_hochberg(found["pvalue"])
    rows, cols = np.nonzero(evalues < evalue)
    table = pd.DataFrame(
        {
            "filter": [queries[i].id for i in rows],
            "target_id": [targets[j].id for j in cols],
            "target_name": [targets[j].label for j in cols],
            "pvalue": found["pvalue"][rows, cols],
            "evalue": evalues[rows, cols],
            "qvalue": qvalues[rows, cols],
            "offset": found["offset"][rows, cols],
            "overlap": found["overlap"][rows, cols],
            "strand": found["strand"][rows, cols],
        },
        columns=COLUMNS,
    )
    table["_query"] = rows
    table = table.sort_values(["pvalue", "_query", "target_id"], kind="stable")
    return table.drop(columns="_query").reset_index(drop=True)
