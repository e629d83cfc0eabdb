"""TF-MoDISco (modisco-lite) on one track's attributions; its patterns as motifs, named by JASPAR.

TF-MoDISco (Shrikumar et al. 2018; modisco-lite, Schreiber's reimplementation) cuts the
high-scoring stretches of the windows' contribution scores into seqlets and clusters them by
their hypothetical scores into patterns; positive patterns raise the track's logit, negative
ones lower it. Each pattern has a PPM (the mean one-hot of its seqlets) and a CWM (their mean
contribution scores).

Each pattern is trimmed to the positions whose summed absolute CWM reaches `trim_threshold` of
its maximum (as modisco-lite's report does before Tomtom), taken as one stretch around the
maximum that crosses at most `MAX_GAP` weaker positions at a time (modisco-lite keeps from the
first to the last such position, which can keep a high edge far from the motif with all that
lies between); the trimmed PPM is the motif
that is written, drawn and matched to JASPAR with seq2chrom's Tomtom, so the logo shows the
matrix that was matched. A pattern is named after its best match only when that match's
q-value is below `qvalue`; otherwise it is ``novel``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.motifs.meme import Motif

log = logging.getLogger("seq2chrom.attribution")

GROUPS = {"pos_patterns": "pos", "neg_patterns": "neg"}
NOVEL = "novel"
TOP_MATCHES = 3
MAX_GAP = 2  # positions below the trimming threshold crossed inside a pattern
# name: the best match's factor when its q-value is below the threshold, else "novel"
PATTERN_COLUMNS = ["pattern", "sign", "n_seqlets", "width", "name", "match_id", "qvalue"] + [
    f"{column}{i}"
    for i in range(1, TOP_MATCHES + 1)
    for column in ("match_id", "match_name", "qvalue")
]


class ModiscoSettings(NamedTuple):
    """TF-MoDISco settings (modisco-lite's command-line defaults but `max_seqlets`).

    window: central bp of each window given to MoDISco; max_seqlets: per sign (modisco's
    ``-n``); leiden_runs: clusterings with different seeds (``-l``); trim_threshold: see the
    module docstring; qvalue: the largest Tomtom q-value that names a pattern; evalue: the
    largest E-value kept in ``tomtom.tsv``; min_seqlets: a sign with fewer seqlets gets no
    pattern (TFMoDISco's ``min_metacluster_size``).
    """

    window: int = 400
    max_seqlets: int = 2000
    leiden_runs: int = 2
    trim_threshold: float = 0.3
    qvalue: float = 0.05
    evalue: float = 10.0
    min_seqlets: int = 100


class Pattern(NamedTuple):
    """One TF-MoDISco pattern, untrimmed: ``ppm``, ``cwm``, ``hcwm`` (w, 4) float64."""

    name: str  # pos_pattern_0, neg_pattern_3, ...
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray

    @property
    def sign(self) -> str:
        return "+" if self.name.startswith("pos") else "-"


def central(length: int, window: int) -> slice:
    """The central `window` positions of a `length`-long window (all of it when shorter)."""
    if window <= 0 or window >= length:
        return slice(0, length)
    start = length // 2 - window // 2
    return slice(start, start + window)


def find_patterns(
    one_hot: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings
) -> tuple[list | None, list | None]:
    """modisco-lite's TFMoDISco on the central `settings.window` bp: (positive, negative)
    pattern lists (None for a sign with too few seqlets). one_hot, hypothetical: (N, L, 4)."""
    from modiscolite.tfmodisco import TFMoDISco

    part = central(one_hot.shape[1], settings.window)
    return TFMoDISco(
        one_hot=np.ascontiguousarray(one_hot[:, part], np.float32),
        hypothetical_contribs=np.ascontiguousarray(hypothetical[:, part], np.float32),
        max_seqlets_per_metacluster=settings.max_seqlets,
        min_metacluster_size=settings.min_seqlets,
        sliding_window_size=20,
        flank_size=5,
        trim_to_window_size=30,
        initial_flank_to_add=10,
        final_flank_to_add=0,
        target_seqlet_fdr=0.05,
        n_leiden_runs=settings.leiden_runs,
    )


def save_patterns(path: str | Path, positive, negative, window: int) -> None:
    """modisco-lite's own results file (``modisco.h5``)."""
    from modiscolite.io import save_hdf5

    save_hdf5(str(path), positive, negative, window)


def read_patterns(path: str | Path) -> list[Pattern]:
    """The patterns of a modisco-lite results file: positive first, each in pattern order."""
    import h5py

    patterns = []
    with h5py.File(path, "r") as h5:
        for group, sign in GROUPS.items():
            if group not in h5:
                continue
            names = sorted(h5[group], key=lambda name: int(name.rsplit("_", 1)[1]))
            for name in names:
                pattern = h5[group][name]
                patterns.append(
                    Pattern(
                        f"{sign}_{name}",
                        int(pattern["seqlets"]["n_seqlets"][0]),
                        np.asarray(pattern["sequence"], np.float64),
                        np.asarray(pattern["contrib_scores"], np.float64),
                        np.asarray(pattern["hypothetical_contribs"], np.float64),
                    )
                )
    return patterns


def trim_span(cwm: np.ndarray, threshold: float, max_gap: int = MAX_GAP) -> tuple[int, int]:
    """``[start, end)`` of the stretch around the position of the largest summed |CWM| whose
    positions reach `threshold` x that largest sum, crossing at most `max_gap` positions below
    it at a time (a motif's weak middle columns), so that a high edge of the pattern apart from
    the motif is not kept."""
    score = np.abs(np.asarray(cwm)).sum(axis=1)
    kept = np.flatnonzero(score >= threshold * score.max())
    peak = int(np.argmax(score))
    start = end = peak
    for i in kept[kept < peak][::-1]:
        if start - i > max_gap + 1:
            break
        start = int(i)
    for i in kept[kept > peak]:
        if i - end > max_gap + 1:
            break
        end = int(i)
    return start, end + 1


def probabilities(matrix: np.ndarray) -> np.ndarray:
    """Rows normalised to sum to 1; an empty row (all N) becomes uniform. (w, 4) float64."""
    matrix = np.clip(np.asarray(matrix, np.float64), 0, None)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.where(totals > 0, matrix / np.where(totals > 0, totals, 1), 0.25)


def pattern_motifs(patterns: Sequence[Pattern], threshold: float) -> tuple[list, list]:
    """(PPM motifs, CWM motifs) of the trimmed patterns, for ``patterns.meme``.

    PPM motif ``<pattern>``: the trimmed PPM (nsites = seqlets), the matrix matched and drawn.
    CWM motif ``<pattern>_cwm``: the trimmed CWM as modisco-lite's ``meme -t CWM-PFM`` writes
    it, a softmax over each position (MEME's format holds probabilities only).
    """
    ppms, cwms = [], []
    for pattern in patterns:
        start, end = trim_span(pattern.cwm, threshold)
        ppms.append(
            Motif(pattern.name, probabilities(pattern.ppm[start:end]), "", pattern.n_seqlets)
        )
        cwm = pattern.cwm[start:end]
        softmax = np.exp(cwm - cwm.max(axis=1, keepdims=True))
        cwms.append(Motif(f"{pattern.name}_cwm", softmax, "", pattern.n_seqlets))
    return ppms, cwms


def pattern_table(
    patterns: Sequence[Pattern], motifs: Sequence[Motif], tomtom: pd.DataFrame, qvalue: float
) -> pd.DataFrame:
    """``patterns.tsv``: one row per pattern (`PATTERN_COLUMNS`): seqlets, trimmed width, its
    name (best match at q < `qvalue`, else ``novel``) and its `TOP_MATCHES` best matches (by
    p-value, as Tomtom orders them) with q-values."""
    rows = []
    for pattern, motif in zip(patterns, motifs, strict=True):
        matches = tomtom[tomtom["Query_ID"] == pattern.name].sort_values("p-value", kind="stable")
        names = matches.get("Target_name", matches["Target_ID"]).fillna("").astype(str)
        top = list(zip(matches["Target_ID"], names, matches["q-value"], strict=True))
        top = top[:TOP_MATCHES]
        named = bool(top) and top[0][2] < qvalue
        row = {
            "pattern": pattern.name,
            "sign": pattern.sign,
            "n_seqlets": pattern.n_seqlets,
            "width": len(motif.matrix),
            "name": top[0][1] if named else NOVEL,
            "match_id": top[0][0] if named else "",
            "qvalue": top[0][2] if named else np.nan,
        }
        for i in range(TOP_MATCHES):
            target, name, q = top[i] if i < len(top) else ("", "", np.nan)
            row |= {f"match_id{i + 1}": target, f"match_name{i + 1}": name, f"qvalue{i + 1}": q}
        rows.append(row)
    return pd.DataFrame(rows, columns=PATTERN_COLUMNS)


def write_modisco(
    attributions: Path,
    out_dir: Path,
    settings: ModiscoSettings,
    targets: Sequence[Motif],
    *,
    min_overlap: int = 5,
    threads: int = 1,
) -> pd.DataFrame:
    """`seq2chrom modisco`: TF-MoDISco on one attributions file, into `out_dir`:
    ``modisco.h5`` (modisco-lite's file), ``patterns.meme`` (trimmed PPMs, then CWMs),
    ``tomtom.tsv`` (the PPMs against `targets`, E <= settings.evalue, MEME's columns and
    Target_name) and ``patterns.tsv`` (`pattern_table`), written together or not at all.
    Returns the pattern table."""
    import time

    from seq2chrom.attribution.scores import read_attributions
    from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_outputs, write_tsv
    from seq2chrom.motifs.meme import format_meme
    from seq2chrom.motifs.tomtom import match_table

    scores = read_attributions(attributions)
    started = time.perf_counter()
    found = (None, None)
    if len(scores.one_hot):
        found = find_patterns(scores.one_hot, scores.hypothetical, settings)
    elapsed = time.perf_counter() - started
    names = ("modisco.h5", "patterns.meme", "tomtom.tsv", "patterns.tsv")
    with atomic_outputs(out_dir / name for name in names) as (h5, meme, tomtom_tsv, table_tsv):
        save_patterns(h5, *found, settings.window)
        patterns = read_patterns(h5)
        ppms, cwms = pattern_motifs(patterns, settings.trim_threshold)
        meme.write_text(format_meme([*ppms, *cwms]))
        tomtom = match_table(
            ppms, targets, evalue=settings.evalue, min_overlap=min_overlap, threads=threads
        )
        table = pattern_table(patterns, ppms, tomtom, settings.qvalue)
        write_tsv(tomtom, tomtom_tsv, floats=SIGNIFICANT_FLOATS, na="")
        write_tsv(table, table_tsv, floats=SIGNIFICANT_FLOATS, na="")
    named = table.loc[table["name"] != NOVEL, "name"].tolist()
    log.info(
        "%s: %d windows, %d patterns (%d named: %s) in %.1f s",
        attributions, len(scores.one_hot), len(table), len(named), ", ".join(named), elapsed,
    )  # fmt: skip
    return table
