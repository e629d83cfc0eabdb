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
through the model in one batch; each allele's probability is the mean of its two strands. The
predictor is passed in (`inference.predict.predict_both_strands`, the package's one predictor,
handed over by `seq2chrom score-variants`, so that `variants` and `inference` stay
independent). ``diff = alt - ref``; ``logfc`` is the log2 odds ratio with both probabilities
clipped to ``[CLIP, 1 - CLIP]``. The effects table is written by `variants.effects`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.data.genome import match_chromosomes
from seq2chrom.data.one_hot import one_hot_encode, padded_windows
from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_output, read_tsv, write_tsv
from seq2chrom.variants.effects import (
    EFFECT_COLUMNS,
    EffectsWriter,
    log2_odds_ratio,
)
from seq2chrom.variants.vcf import (
    COLUMNS,
    REF_MISMATCH,
    SKIPPED_COLUMNS,
    read_vcf,
    reference_mismatch,
    split_placeable,
)

#: Columns of the per-variant summary (``.top.tsv``) before the mean |diff| column(s).
SUMMARY_COLUMNS = [*COLUMNS, "top_track", "top_diff", "max_abs_diff"]
#: Its text columns, read as strings (`io.read_tsv`): an allele "NA" is N then A.
SUMMARY_TEXT = ("variant_id", "chrom", "ref", "alt", "top_track")

#: The strand-averaged predictor: (model, x (B, L, 4) float32) -> (B, T) float32.
Predictor = Callable[[Any, np.ndarray], np.ndarray]
log = logging.getLogger("seq2chrom.variants")


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
    ref = padded_windows(sequence, pos0 - half, window)
    alt = ref.copy()
    for i, (r, a) in enumerate(zip(refs, alts, strict=True)):
        allele = np.frombuffer(a.encode("ascii"), np.uint8)
        if len(r) == len(a):
            alt[i, half : half + len(a)] = allele[: window - half]
            continue
        after = pos0[i] + len(r)  # first genome base right of REF; N past the chromosome end
        tail = padded_windows(sequence[after : after + window], np.zeros(1, np.int64), window)[0]
        alt[i] = np.concatenate([ref[i, :half], allele, tail])[:window]
    return ref, alt


def score_windows(
    model, ref: np.ndarray, alt: np.ndarray, predict: Predictor
) -> tuple[np.ndarray, np.ndarray]:
    """Strand-averaged probabilities of reference and alternative windows, one forward pass.

    ref, alt: (n, L) uint8 ASCII windows; predict: the strand-averaged predictor. Returns
    (ref_prob, alt_prob), each (n, T) float32. The model sees 4n sequences: ref, alt and the
    reverse complements of both.
    """
    x = one_hot_encode(np.concatenate([ref, alt])).astype(np.float32)
    prob = predict(model, x)
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
    *,
    predict: Predictor,
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
            ref_prob, alt_prob = score_windows(model, ref, alt, predict)
            yield ScoredBatch(part, ref_prob, alt_prob, skipped if start == 0 else skipped[:0])


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


# --- score-variants: VCF in, effects table, summary and skipped records out ----------------


def sibling(out: Path, suffix: str) -> Path:
    """OUT with ``.tsv.gz`` (or its last suffix) replaced by `suffix` (".top.tsv")."""
    name = out.name
    for ending in (".tsv.gz", ".gz", ".tsv"):
        if name.endswith(ending):
            return out.with_name(name[: -len(ending)] + suffix)
    return out.with_name(name + suffix)


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


def score_vcf(
    vcf: Path,
    genome: Path,
    model_path: Path,
    out: Path,
    *,
    predict: Predictor,
    device: str = "auto",
    track_sheet: Path | None = None,
    batch_size: int = 0,
) -> None:
    """`seq2chrom score-variants`: write `out` (effects, gzip TSV with `EFFECT_COLUMNS`), its
    ``.top.tsv`` (one row per variant, strongest first) and ``.skipped.tsv`` siblings.

    predict: the strand-averaged predictor (`inference.predict.predict_both_strands`);
    batch_size: variants per forward pass, 0 picks 512 on a GPU, 128 on the CPU.
    """
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.modelfile.loading import open_trained

    records = read_vcf(vcf)  # malformed lines stop here, before the model loads
    fasta = open_genome(genome)
    sizes = chromosome_sizes(fasta)
    mapping, renamed = match_chromosomes(records.variants["chrom"], sizes)
    if renamed:
        shown = ", ".join(f"{a} -> {b}" for a, b in renamed[:3])
        log.info(
            "%s names %d chromosome(s) differently from %s; matched them (%s%s)",
            vcf, len(renamed), genome, shown, ", ..." if len(renamed) > 3 else "",
        )  # fmt: skip
    variants, outside = split_placeable(records.variants, sizes, mapping)
    trained = open_trained(model_path, device)
    model, tracks, kind = trained.model, trained.tracks, trained.kind
    assays = track_assays(track_sheet, tracks)
    batch_size = batch_size or (512 if kind == "gpu" else 128)
    skipped, summaries = [records.skipped, outside], []
    started = time.perf_counter()  # the rate counts scoring and writing, not start-up
    with (
        atomic_output(out) as tmp,
        open(tmp, "wb") as handle,
        EffectsWriter(handle, tracks) as writer,
    ):
        batches = scored_batches(model, lambda name: read_chromosome(fasta, name), variants,
                                 batch_size, predict=predict)  # fmt: skip
        for batch in batches:
            skipped.append(batch.skipped)
            if batch.variants.empty:
                continue
            writer.write(batch.variants, batch.ref_prob, batch.alt_prob)
            strongest = strongest_tracks(batch.alt_prob - batch.ref_prob, tracks, assays)
            summaries.append(batch.variants[COLUMNS].assign(**strongest))
    top = (
        pd.concat(summaries, ignore_index=True).sort_values(
            "max_abs_diff", ascending=False, kind="stable", ignore_index=True
        )
        if summaries
        else pd.DataFrame(columns=SUMMARY_COLUMNS)
    )
    write_tsv(top, sibling(out, ".top.tsv"), floats=SIGNIFICANT_FLOATS, na="")
    found = [table for table in skipped if len(table)]
    skipped_table = (
        pd.concat(found, ignore_index=True).sort_values("line", kind="stable")
        if found
        else pd.DataFrame(columns=SKIPPED_COLUMNS)
    )
    write_tsv(skipped_table[SKIPPED_COLUMNS], sibling(out, ".skipped.tsv"), na="")
    reasons = skipped_table["reason"].value_counts().to_dict()
    n_records = len(set(records.variants["line"]) | set(records.skipped["line"]))
    elapsed = time.perf_counter() - started
    log.info(
        "%s: %d variants scored on %d tracks (%d records; %d skipped: %s) in %.1f s "
        "(%.0f variants/s)",
        vcf, len(top), len(tracks), n_records, len(skipped_table), reasons or "none",
        elapsed, len(top) / max(elapsed, 1e-9),
    )  # fmt: skip
