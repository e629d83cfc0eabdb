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
through the model in one batch (`predict_both_strands`); each allele's probability is the mean
of its two strands. ``diff = alt - ref``; ``logfc`` is the log2 odds ratio with both
probabilities clipped to ``[CLIP, 1 - CLIP]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.variants.vcf import COLUMNS, REF_MISMATCH, SKIPPED_COLUMNS, reference_mismatch

#: Columns of the per-variant-and-track table, in this order.
EFFECT_COLUMNS = [*COLUMNS, "track", "ref_prob", "alt_prob", "diff", "logfc"]

CLIP = 1e-6
N_BYTE = ord("N")


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
    pos0 = np.asarray(pos0, np.int64)
    half = window // 2
    longest = max((len(r) for r in refs), default=1)
    pad = window + longest  # room for a deletion's extra right flank at the chromosome end
    padded = np.full(len(sequence) + 2 * pad, N_BYTE, np.uint8)
    padded[pad : pad + len(sequence)] = sequence
    starts = pos0 - half + pad
    ref = np.lib.stride_tricks.sliding_window_view(padded, window)[starts].copy()
    alt = ref.copy()
    for i, (r, a) in enumerate(zip(refs, alts, strict=True)):
        allele = np.frombuffer(a.encode("ascii"), np.uint8)
        if len(r) == len(a):
            alt[i, half : half + len(a)] = allele[: window - half]
            continue
        after = pos0[i] + len(r) + pad  # first genome base right of REF, in `padded`
        tail = padded[after : after + window]
        alt[i] = np.concatenate([ref[i, :half], allele, tail])[:window]
    return ref, alt


def log2_odds_ratio(ref_prob: np.ndarray, alt_prob: np.ndarray, clip: float = CLIP) -> np.ndarray:
    """log2 of (alt / (1 - alt)) / (ref / (1 - ref)), probabilities clipped to [clip, 1 - clip].

    Same shapes in and out, float32.
    """
    ref = np.clip(np.asarray(ref_prob, np.float64), clip, 1 - clip)
    alt = np.clip(np.asarray(alt_prob, np.float64), clip, 1 - clip)
    return (np.log2(alt / (1 - alt)) - np.log2(ref / (1 - ref))).astype(np.float32)


def score_windows(model, ref: np.ndarray, alt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strand-averaged probabilities of reference and alternative windows, one forward pass.

    ref, alt: (n, L) uint8 ASCII windows. Returns (ref_prob, alt_prob), each (n, T) float32.
    The model sees 4n sequences: ref, alt and the reverse complements of both.
    """
    from seq2chrom.training.predict import predict_both_strands

    x = one_hot_encode(np.concatenate([ref, alt])).astype(np.float32)
    prob = predict_both_strands(model, x)
    return prob[: len(ref)], prob[len(ref) :]


def strongest_tracks(
    diff: np.ndarray, tracks: Sequence[str], assays: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Per-variant summary of a (n, T) diff matrix.

    Returns columns ``top_track`` (track of the largest |diff|), ``top_diff`` (its signed diff),
    ``max_abs_diff`` and, with `assays` (one class per track), ``mean_abs_diff_<class>`` per
    assay class in order of appearance; without, one ``mean_abs_diff`` over all tracks.
    """
    magnitude = np.abs(diff)
    top = magnitude.argmax(axis=1)
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


class ScoredBatch(NamedTuple):
    """Up to `batch_size` scored variants (rows of the input table) and the ones whose REF
    differs from the genome (`skipped`, with `SKIPPED_COLUMNS`)."""

    variants: pd.DataFrame
    ref_prob: np.ndarray  # (n, T) float32
    alt_prob: np.ndarray  # (n, T) float32
    skipped: pd.DataFrame


def scored_batches(
    model,
    chromosome: Callable[[str], np.ndarray],
    variants: pd.DataFrame,
    batch_size: int = 256,
) -> Iterator[ScoredBatch]:
    """Score `variants` (columns of `vcf.COLUMNS` + ``genome_chrom``) chromosome by chromosome.

    chromosome: genome name -> (L,) uint8 ASCII; each chromosome is read once. Variants whose
    REF differs from the genome are not scored and come back in `ScoredBatch.skipped`. The
    window length is the model's input length.
    """
    window, n_tracks = int(model.input_shape[1]), int(model.output_shape[-1])
    for name, group in variants.groupby("genome_chrom", sort=False):
        sequence = chromosome(str(name))
        pos0 = group["pos"].to_numpy(np.int64) - 1
        bad = reference_mismatch(sequence, pos0, group["ref"].tolist())
        skipped = group[bad].assign(reason=REF_MISMATCH)[SKIPPED_COLUMNS]
        group = group[~bad]
        if group.empty:
            empty = np.zeros((0, n_tracks), "float32")
            yield ScoredBatch(group, empty, empty, skipped)
            continue
        for start in range(0, len(group), batch_size):
            part = group.iloc[start : start + batch_size]
            ref, alt = variant_windows(
                sequence,
                part["pos"].to_numpy(np.int64) - 1,
                part["ref"].tolist(),
                part["alt"].tolist(),
                window,
            )
            ref_prob, alt_prob = score_windows(model, ref, alt)
            yield ScoredBatch(part, ref_prob, alt_prob, skipped if start == 0 else skipped[:0])


def effect_rows(
    variants: pd.DataFrame, ref_prob: np.ndarray, alt_prob: np.ndarray, tracks: Sequence[str]
) -> pd.DataFrame:
    """One row per variant and track, variant-major, with `EFFECT_COLUMNS`.

    The numbers stay float32: written as text, each is the shortest decimal that reads back
    to the same float32 (up to 9 significant digits; exact), and faster than a format string.
    """
    n, n_tracks = ref_prob.shape
    table = {column: np.repeat(variants[column].to_numpy(), n_tracks) for column in COLUMNS}
    table["track"] = np.tile(np.asarray(tracks, dtype=object), n)
    table["ref_prob"] = ref_prob.ravel()
    table["alt_prob"] = alt_prob.ravel()
    table["diff"] = (alt_prob - ref_prob).ravel()
    table["logfc"] = log2_odds_ratio(ref_prob, alt_prob).ravel()
    return pd.DataFrame(table, columns=EFFECT_COLUMNS)
