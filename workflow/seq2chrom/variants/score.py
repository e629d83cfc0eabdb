"""Variant effects: predictions for the reference and the alternative allele of each variant.

Window placement. With a ``window``-bp model (1000 bp) the reference window holds genome bases
``pos0 - window//2`` to ``pos0 + window//2 - 1`` (``pos0`` the 0-based position), so the first
base of REF sits at index ``window//2`` (500). Bases before the chromosome start or after its end
are N (all-zero one-hot rows).

The alternative window keeps the same left half: the ``window//2`` genome bases before the
variant, then ALT from index ``window//2``, then the genome bases after REF, cut at ``window``
bp. For SNVs and other same-length substitutions this only replaces REF by ALT. A deletion pulls
in bases from further right to keep 1000 bp; an insertion pushes the rightmost bases out (ALT
longer than the right half is cut at the window's end). So both windows are ``window`` bp with
the variant at the same index and the same left flank.

Scoring: the reference windows, the alternative windows and the reverse complements of both go
through the model together; each allele's probability is the mean of its two strands. The
reference window depends on the position alone, so the ALT alleles of one position (a
multi-allelic record, or several records at one position) share one reference window. Windows
go through the model in passes of a fixed number of windows (the last padded with N to one of
`SHAPES` sizes), so that a compiled model (XLA, JAX) sees few shapes. The predictor is passed in
(`inference.predict.predict_both_strands`, the package's one predictor, handed over by
`seq2chrom score-variants`, so that `variants` and `inference` stay independent).
``diff = alt - ref``; ``logfc`` is the log2 odds ratio with both probabilities clipped to
``[CLIP, 1 - CLIP]``. The effects table is written by `variants.effects`, the scores file by
`variants.store`, and `variants.job` runs both over a whole VCF.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.data.one_hot import N_BYTE, one_hot_encode, padded_windows
from seq2chrom.errors import InputError
from seq2chrom.io import read_tsv
from seq2chrom.variants.effects import EFFECT_COLUMNS, log2_odds_ratio
from seq2chrom.variants.vcf import COLUMNS, REF_MISMATCH, SKIPPED_COLUMNS, reference_mismatch

#: Columns of the per-variant summary (``.top.tsv``) before the mean |diff| column(s).
SUMMARY_COLUMNS = [*COLUMNS, "top_track", "top_diff", "max_abs_diff"]
#: Its text columns, read as strings (`io.read_tsv`): an allele "NA" is N then A.
SUMMARY_TEXT = ("variant_id", "chrom", "ref", "alt", "top_track", "strongest")

#: The strand-averaged predictor: (model, x (B, L, 4) float32) -> (B, T) float32.
Predictor = Callable[[Any, np.ndarray], np.ndarray]
log = logging.getLogger("seq2chrom.variants")


def chromosome_windows(
    sequence: np.ndarray,
    pos0: np.ndarray,
    refs: Sequence[str],
    alts: Sequence[str],
    window: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference windows of each distinct position and alternative windows of each variant,
    on one chromosome (see module docstring).

    sequence: (L,) uint8 ASCII; pos0: (n,) int 0-based REF starts; refs/alts: n allele strings.
    Returns (ref (u, window), alt (n, window)) uint8 ASCII with N outside the chromosome, and
    (n,) the row of `ref` that each variant's reference window is.
    """
    pos0 = np.asarray(pos0, np.int64)
    half = window // 2
    positions, ref_row = np.unique(pos0, return_inverse=True)
    ref = padded_windows(sequence, positions - half, window)
    alt = ref[ref_row]
    lengths = np.fromiter((len(a) for a in alts), np.int64, len(alts))
    snv = (lengths == 1) & np.fromiter((len(r) == 1 for r in refs), bool, len(refs))
    if snv.any():
        bases = "".join(a for a, s in zip(alts, snv, strict=True) if s)
        alt[snv, half] = np.frombuffer(bases.encode("ascii"), np.uint8)
    for i in np.flatnonzero(~snv):
        r, a = refs[i], alts[i]
        allele = np.frombuffer(a.encode("ascii"), np.uint8)
        if len(r) == len(a):
            alt[i, half : half + len(a)] = allele[: window - half]
            continue
        after = pos0[i] + len(r)  # first genome base right of REF; N past the chromosome end
        tail = padded_windows(sequence[after : after + window], np.zeros(1, np.int64), window)[0]
        alt[i] = np.concatenate([alt[i, :half], allele, tail])[:window]
    return ref, alt, ref_row.reshape(-1)


def variant_windows(
    sequence: np.ndarray,
    pos0: np.ndarray,
    refs: Sequence[str],
    alts: Sequence[str],
    window: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternative windows of variants on one chromosome (see module docstring).

    sequence: (L,) uint8 ASCII; pos0: (n,) int 0-based REF starts; refs/alts: n allele strings.
    Returns (ref, alt), each (n, window) uint8 ASCII, with N outside the chromosome.
    """
    ref, alt, ref_row = chromosome_windows(sequence, pos0, refs, alts, window)
    return ref[ref_row], alt


#: A last, partial pass is padded to a multiple of block / SHAPES windows: at most SHAPES
#: shapes for a compiled model, and at most block / SHAPES padding windows per chunk.
SHAPES = 4


def forward_windows(model, windows: np.ndarray, block: int, predict: Predictor) -> np.ndarray:
    """Strand-averaged probabilities of (m, L) uint8 ASCII windows: (m, T) float32.

    The model sees passes of `block` windows and their reverse complements (2 x block
    sequences); the last pass is padded with N windows (their predictions dropped) to a multiple
    of block / `SHAPES`, so that a compiled model (XLA, JAX) is compiled for few shapes.
    """
    n_tracks = int(model.output_shape[-1])
    step = max(1, block // SHAPES)
    out = np.empty((len(windows), n_tracks), np.float32)
    for start in range(0, len(windows), block):
        part = windows[start : start + block]
        size = min(block, -(-len(part) // step) * step)
        if len(part) < size:
            pad = np.full((size - len(part), windows.shape[1]), N_BYTE, np.uint8)
            part = np.concatenate([part, pad])
        prob = predict(model, one_hot_encode(part).astype(np.float32))
        out[start : start + block] = prob[: min(block, len(windows) - start)]
    return out


def strongest_tracks(
    diff: np.ndarray, tracks: Sequence[str], assays: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Per-variant summary of a (n, T) diff matrix.

    Returns columns ``top_track`` (track of the largest |diff|), ``top_diff`` (its signed diff),
    ``max_abs_diff`` and, with `assays` (one class per track), ``mean_abs_diff_<class>`` per
    assay class in order of appearance; without, one ``mean_abs_diff`` over all tracks.
    """
    magnitude = np.abs(diff)
    top = magnitude.argmax(axis=1) if len(diff) else np.zeros(0, np.int64)
    rows = np.arange(len(diff))
    columns = {
        "top_track": np.asarray(tracks, dtype=object)[top],
        "top_diff": diff[rows, top],
        "max_abs_diff": magnitude[rows, top],
    }
    if assays is None:
        columns["mean_abs_diff"] = magnitude.mean(axis=1)
        return columns
    assays = np.asarray(assays)
    for assay in dict.fromkeys(assays.tolist()):
        columns[f"mean_abs_diff_{assay}"] = magnitude[:, assays == assay].mean(axis=1)
    return columns


#: Tracks listed per variant in the ``strongest`` column (and the annotated VCF's S2C_TOP).
STRONGEST = 3


def strongest_text(diff: np.ndarray, tracks: Sequence[str], k: int = STRONGEST) -> np.ndarray:
    """Per variant, the `k` tracks with the largest |diff|, strongest first (ties: model
    order), as ``track:diff|track:diff|...`` (diffs as ``%.4g``): (n,) object array of str."""
    n, n_tracks = diff.shape
    k = min(k, n_tracks)
    magnitude = np.abs(diff)
    best = np.empty((n, k), np.int64)
    if n and k:
        kth = np.partition(magnitude, n_tracks - k, axis=1)[:, n_tracks - k]
        chosen = magnitude >= kth[:, None]
        exact = chosen.sum(axis=1) == k  # no tie at the k-th place: the k chosen, in order
        best[exact] = np.nonzero(chosen[exact])[1].reshape(-1, k)
        for i in np.flatnonzero(~exact):  # ties at the k-th place: the first in model order
            best[i] = np.lexsort((np.arange(n_tracks), -magnitude[i]))[:k]
        rows = np.arange(n)[:, None]
        best = np.take_along_axis(best, np.lexsort((best, -magnitude[rows, best]), axis=1), 1)
    values = np.take_along_axis(diff, best, axis=1)
    return np.array(
        ["|".join(f"{tracks[t]}:{v:.4g}" for t, v in zip(b, d, strict=True))
         for b, d in zip(best.tolist(), values.tolist(), strict=True)],
        dtype=object,
    )  # fmt: skip


def summary_names(assays: Sequence[str] | None) -> list[str]:
    """The mean |diff| column names `strongest_tracks` gives for these assay classes."""
    if assays is None:
        return ["mean_abs_diff"]
    return [f"mean_abs_diff_{assay}" for assay in dict.fromkeys(assays)]


class PreparedChunk(NamedTuple):
    """Variants of one chunk ready for the model: `variants` (in VCF order) with the windows
    to predict (`windows`: reference windows of their distinct positions, then one alternative
    window per variant) and the row of each variant's reference window (`ref_row`); `skipped`
    the records set aside (REF not matching the genome), with `SKIPPED_COLUMNS`."""

    variants: pd.DataFrame
    windows: np.ndarray  # (u + n, L) uint8 ASCII
    ref_row: np.ndarray  # (n,) int64
    skipped: pd.DataFrame


def prepare_chunk(
    chromosome: Callable[[str], np.ndarray], variants: pd.DataFrame, window: int
) -> PreparedChunk:
    """Windows of `variants` (columns of `vcf.COLUMNS` + ``genome_chrom``), chromosome by
    chromosome; chromosome: genome name -> (L,) uint8 ASCII. Variants whose REF differs from
    the genome come back in `PreparedChunk.skipped`."""
    variants = variants.reset_index(drop=True)
    refs, alts, rows, order, bad = [], [], [], [], []
    n_ref = 0
    for name, group in variants.groupby("genome_chrom", sort=False):
        sequence = chromosome(str(name))
        pos0 = group["pos"].to_numpy(np.int64) - 1
        mismatch = reference_mismatch(sequence, pos0, group["ref"].tolist())
        bad.append(group.index.to_numpy()[mismatch])
        group = group[~mismatch]
        ref, alt, ref_row = chromosome_windows(
            sequence, pos0[~mismatch], group["ref"].tolist(), group["alt"].tolist(), window
        )
        refs.append(ref)
        alts.append(alt)
        rows.append(ref_row + n_ref)
        order.append(group.index.to_numpy())
        n_ref += len(ref)
    if not order:
        empty = np.zeros(0, np.int64)
        return PreparedChunk(variants.iloc[:0], np.zeros((0, window), np.uint8), empty,
                             pd.DataFrame(columns=SKIPPED_COLUMNS))  # fmt: skip
    kept = np.concatenate(order)
    back = np.argsort(kept, kind="stable")  # the chromosomes' variants back in VCF order
    skipped = variants.loc[np.sort(np.concatenate(bad))].assign(reason=REF_MISMATCH)
    return PreparedChunk(
        variants.loc[kept[back]].reset_index(drop=True),
        np.concatenate([*refs, np.concatenate(alts)[back]]),
        np.concatenate(rows)[back],
        skipped[SKIPPED_COLUMNS].reset_index(drop=True),
    )


def score_prepared(
    model, prepared: PreparedChunk, block: int, *, predict: Predictor
) -> ScoredBatch:
    """Probabilities of a `PreparedChunk`: `block` windows per forward pass."""
    n = len(prepared.variants)
    prob = forward_windows(model, prepared.windows, block, predict)
    n_ref = len(prepared.windows) - n
    return ScoredBatch(prepared.variants, prob[prepared.ref_row], prob[n_ref:], prepared.skipped)


class ScoredBatch(NamedTuple):
    """Scored variants (rows of the input table, in its order) and the ones whose REF differs
    from the genome (`skipped`, with `SKIPPED_COLUMNS`)."""

    variants: pd.DataFrame
    ref_prob: np.ndarray  # (n, T) float32
    alt_prob: np.ndarray  # (n, T) float32
    skipped: pd.DataFrame


def score_chunk(
    model, chromosome: Callable[[str], np.ndarray], variants: pd.DataFrame, block: int,
    *, predict: Predictor,
) -> ScoredBatch:  # fmt: skip
    """Score `variants` (columns of `vcf.COLUMNS` + ``genome_chrom``), `block` windows per
    forward pass; the window length is the model's input length."""
    window = int(model.input_shape[1])
    prepared = prepare_chunk(chromosome, variants, window)
    return score_prepared(model, prepared, block, predict=predict)


def scored_batches(
    model,
    chromosome: Callable[[str], np.ndarray],
    variants: pd.DataFrame,
    batch_size: int = 256,
    *,
    predict: Predictor,
) -> Iterator[ScoredBatch]:
    """`score_chunk` on consecutive blocks of `batch_size` variants; each forward pass holds
    2 x `batch_size` windows (reference and alternative of as many variants, fewer where
    alleles share a position) and their reverse complements."""
    for start in range(0, len(variants), batch_size):
        part = variants.iloc[start : start + batch_size]
        yield score_chunk(model, chromosome, part, 2 * batch_size, predict=predict)


def effect_rows(
    variants: pd.DataFrame, ref_prob: np.ndarray, alt_prob: np.ndarray, tracks: Sequence[str]
) -> pd.DataFrame:
    """One row per variant and track, variant-major, with `EFFECT_COLUMNS`, as a DataFrame
    (numbers float32). The file is written by `EffectsWriter`, without pandas."""
    n, n_tracks = ref_prob.shape
    table = {column: np.repeat(variants[column].to_numpy(), n_tracks) for column in COLUMNS}
    table["track"] = np.tile(np.asarray(tracks, dtype=object), n)
    table["ref_prob"] = ref_prob.ravel()
    table["alt_prob"] = alt_prob.ravel()
    table["diff"] = (alt_prob - ref_prob).ravel()
    table["logfc"] = log2_odds_ratio(ref_prob, alt_prob).ravel()
    return pd.DataFrame(table, columns=EFFECT_COLUMNS)


def track_assays(sheet: Path | None, tracks: Sequence[str]) -> list[str] | None:
    """Assay class of each track from a TSV with columns name (or track) and assay; "other"
    for tracks it lacks; None without a sheet."""
    if sheet is None:
        return None
    if not sheet.is_file():
        raise InputError(sheet, "track sheet not found")
    table = read_tsv(sheet, text="all")
    key = "name" if "name" in table else "track"
    if key not in table or "assay" not in table:
        raise InputError(sheet, "needs columns name (or track) and assay")
    assay = dict(zip(table[key], table["assay"], strict=True))
    return [assay.get(track, "other") for track in tracks]
