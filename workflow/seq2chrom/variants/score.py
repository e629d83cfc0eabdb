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

The effects table (`EffectsWriter`) is gzip TSV with `EFFECT_COLUMNS`; each number is its
float32 value as printf's ``%.7g`` writes it (7 significant digits, trailing zeros dropped:
``0.025``, ``1e-05``), a NaN an empty field.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numba
import numpy as np
import pandas as pd

from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output
from seq2chrom.variants.vcf import (
    COLUMNS,
    REF_MISMATCH,
    SKIPPED_COLUMNS,
    match_chromosomes,
    read_vcf,
    reference_mismatch,
    split_placeable,
)

#: Columns of the per-variant-and-track table, in this order.
EFFECT_COLUMNS = [*COLUMNS, "track", "ref_prob", "alt_prob", "diff", "logfc"]

#: Columns of the per-variant summary (``.top.tsv``) before the mean |diff| column(s).
SUMMARY_COLUMNS = [*COLUMNS, "top_track", "top_diff", "max_abs_diff"]

CLIP = 1e-6
log = logging.getLogger("seq2chrom.variants")

try:  # ISA-L's deflate: the same gzip stream as zlib's, about 3x faster at level 1
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    import zlib as _deflate
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


# --- The effects table as text -------------------------------------------------------------
# pandas' to_csv (one Python object per cell) wrote ~220,000 rows/s: the table, not the
# model, limited scoring. A compiled loop writes the rows straight into one byte buffer
# instead (~2.8 million rows/s on one core): the per-variant prefix and the track names are
# encoded once and copied, and the numbers are written as printf's %.7g would write them.

#: Significant digits of the numbers written (>= 6, the documented minimum).
DIGITS = 7
#: gzip level of the effects table (ISA-L's igzip level 1 where installed: ~3x zlib's speed).
GZIP_LEVEL = 1
_NUMBER_MAX = 13  # bytes of the longest number: "-0.0001234567" or "-1.234567e-05"
_SCALE = np.array([float(f"1e{k}") for k in range(-64, 65)])  # correctly rounded powers of 10


@numba.njit(cache=True, nogil=True)
def _write_number(value: float, out: np.ndarray, at: int, scratch: np.ndarray) -> int:
    """Write `value` at out[at:] as ``%.7g`` (NaN as an empty field, as pandas writes it);
    return the index after it. scratch: (DIGITS,) uint8."""
    if np.isnan(value):
        return at
    if math.copysign(1.0, value) < 0:  # also -0.0, as printf writes it
        out[at] = 45  # "-"
        at += 1
        value = -value
    if np.isinf(value):
        out[at], out[at + 1], out[at + 2] = 105, 110, 102  # "inf"
        return at + 3
    if value == 0:
        out[at] = 48
        return at + 1
    top = 10.0**DIGITS
    exponent = int(np.floor(np.log10(value)))
    mantissa = np.rint(value * _SCALE[DIGITS - 1 - exponent + 64])
    if mantissa >= top or mantissa < top / 10:  # log10 one off near a power of ten
        exponent += 1 if mantissa >= top else -1
        mantissa = np.rint(value * _SCALE[DIGITS - 1 - exponent + 64])
    if mantissa >= top:  # rounding carried into an 8th digit
        exponent += 1
        mantissa = top / 10
    digits = np.int64(mantissa)
    n = DIGITS
    while n > 1 and digits % 10 == 0:  # %g drops trailing zeros
        digits //= 10
        n -= 1
    for k in range(n - 1, -1, -1):
        scratch[k] = 48 + digits % 10
        digits //= 10
    if -4 <= exponent < DIGITS:
        if exponent < 0:
            out[at], out[at + 1] = 48, 46  # "0."
            at += 2
            for _ in range(-exponent - 1):
                out[at] = 48
                at += 1
            for k in range(n):
                out[at + k] = scratch[k]
            return at + n
        whole = exponent + 1  # digits before the "."
        for k in range(whole):
            out[at + k] = scratch[k] if k < n else 48
        at += whole
        if n > whole:
            out[at] = 46
            for k in range(whole, n):
                out[at + 1 + k - whole] = scratch[k]
            at += 1 + n - whole
        return at
    out[at] = scratch[0]
    at += 1
    if n > 1:
        out[at] = 46
        for k in range(1, n):
            out[at + k] = scratch[k]
        at += n
    size = abs(exponent)
    out[at] = 101  # "e"
    out[at + 1] = 45 if exponent < 0 else 43
    out[at + 2] = 48 + size // 10 % 10
    out[at + 3] = 48 + size % 10
    return at + 4


@numba.njit(cache=True, nogil=True)
def _write_rows(
    prefixes: np.ndarray,
    prefix_ends: np.ndarray,
    names: np.ndarray,
    name_ends: np.ndarray,
    numbers: np.ndarray,
    out: np.ndarray,
) -> int:
    """Rows ``prefix[i] name[t] numbers[:, i, t]`` (tab-separated, newline-ended) into `out`.

    prefixes, names: UTF-8 bytes, item j ending at ``*_ends[j]``; numbers: (4, n, T) float32;
    out: uint8, large enough (see `effect_text`). Returns the bytes written.
    """
    scratch = np.empty(DIGITS, np.uint8)
    at = 0
    for i in range(numbers.shape[1]):
        first = prefix_ends[i - 1] if i > 0 else 0
        for t in range(numbers.shape[2]):
            for k in range(first, prefix_ends[i]):
                out[at] = prefixes[k]
                at += 1
            for k in range(name_ends[t - 1] if t > 0 else 0, name_ends[t]):
                out[at] = names[k]
                at += 1
            for k in range(4):
                at = _write_number(np.float64(numbers[k, i, t]), out, at, scratch)
                out[at] = 10 if k == 3 else 9
                at += 1
    return at


def _packed(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 `strings` back to back as (bytes,) uint8, and the (n,) int64 end of each."""
    encoded = [s.encode() for s in strings]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), np.uint8), ends


def effect_text(
    variants: pd.DataFrame, ref_prob: np.ndarray, alt_prob: np.ndarray, tracks: Sequence[str]
) -> bytes:
    """The rows of `effect_rows` as tab-separated UTF-8 text without header; numbers as
    ``%.7g`` of their float32 value (7 significant digits, trailing zeros dropped).

    ref_prob, alt_prob: (n, T) float32, rows in `variants` order, columns in `tracks` order.
    """
    ref_prob = np.asarray(ref_prob, np.float32)
    alt_prob = np.asarray(alt_prob, np.float32)
    n, n_tracks = ref_prob.shape
    columns = [variants[c].astype(str).tolist() for c in COLUMNS]
    prefixes, prefix_ends = _packed(["\t".join(row) + "\t" for row in zip(*columns, strict=True)])
    names, name_ends = _packed([f"{track}\t" for track in tracks])
    numbers = np.stack(
        [ref_prob, alt_prob, alt_prob - ref_prob, log2_odds_ratio(ref_prob, alt_prob)]
    )
    size = n_tracks * len(prefixes) + n * len(names) + n * n_tracks * 4 * (_NUMBER_MAX + 1)
    out = np.empty(size, np.uint8)
    return out[: _write_rows(prefixes, prefix_ends, names, name_ends, numbers, out)].tobytes()


class EffectsWriter:
    """Writes the effects table (gzip TSV with `EFFECT_COLUMNS`) to an open binary file.

    `write` queues each scored batch and returns: one thread formats it (`effect_text`, numba
    without the GIL) and a second compresses and writes the text, so with three cores the
    table costs the model no time. Use as a context manager; leaving it waits for the
    threads and ends the gzip stream. The gzip header holds no time stamp, so the same input
    gives the same bytes.
    """

    def __init__(self, handle: BinaryIO, tracks: Sequence[str], level: int = GZIP_LEVEL):
        self._handle = handle
        self._tracks = list(tracks)
        self._zip = _deflate.compressobj(level, _deflate.DEFLATED, 31)  # 31: gzip container
        self._error: BaseException | None = None
        self._handle.write(self._zip.compress(("\t".join(EFFECT_COLUMNS) + "\n").encode()))
        # small queues bound the batches held in memory and make `write` wait when behind
        self._batches: queue.Queue = queue.Queue(maxsize=2)
        self._texts: queue.Queue = queue.Queue(maxsize=2)
        self._threads = [
            threading.Thread(target=self._stage, args=(self._batches, self._texts, self._format)),
            threading.Thread(target=self._stage, args=(self._texts, None, self._compress)),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def write(self, variants: pd.DataFrame, ref_prob: np.ndarray, alt_prob: np.ndarray) -> None:
        """Queue one batch: `variants` rows with their (n, T) float32 probabilities."""
        self._raise()
        self._batches.put((variants, ref_prob, alt_prob))

    def _format(self, batch: tuple) -> bytes:
        return effect_text(*batch, self._tracks)

    def _compress(self, text: bytes) -> None:
        self._handle.write(self._zip.compress(text))

    def _stage(self, inbox: queue.Queue, outbox: queue.Queue | None, work: Callable) -> None:
        """Run `work` on each item of `inbox` (passing results on) until None; after an error,
        drain `inbox` so that no producer blocks."""
        while (item := inbox.get()) is not None:
            if self._error is not None:
                continue
            try:
                result = work(item)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = error
                continue
            if outbox is not None:
                outbox.put(result)
        if outbox is not None:
            outbox.put(None)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _join(self) -> None:
        if self._threads[0].is_alive():
            self._batches.put(None)
        for thread in self._threads:
            thread.join()

    def close(self) -> None:
        """Wait for the queued batches, then end the gzip stream."""
        self._join()
        self._raise()
        self._handle.write(self._zip.flush())

    def __enter__(self) -> EffectsWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:  # the caller's error wins; still stop the threads
            self._join()


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
    table = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
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
    device: str = "auto",
    track_sheet: Path | None = None,
    batch_size: int = 0,
) -> None:
    """`seq2chrom score-variants`: write `out` (effects, gzip TSV with `EFFECT_COLUMNS`), its
    ``.top.tsv`` (one row per variant, strongest first) and ``.skipped.tsv`` siblings.

    batch_size: variants per forward pass; 0 picks 512 on a GPU, 128 on the CPU.
    """
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.trained import load_trained

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
    model, tracks, kind = load_trained(model_path, device)
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
                                 batch_size)  # fmt: skip
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
    with atomic_output(sibling(out, ".top.tsv")) as tmp:
        top.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    found = [table for table in skipped if len(table)]
    skipped_table = (
        pd.concat(found, ignore_index=True).sort_values("line", kind="stable")
        if found
        else pd.DataFrame(columns=SKIPPED_COLUMNS)
    )
    with atomic_output(sibling(out, ".skipped.tsv")) as tmp:
        skipped_table[SKIPPED_COLUMNS].to_csv(tmp, sep="\t", index=False)
    reasons = skipped_table["reason"].value_counts().to_dict()
    n_records = len(set(records.variants["line"]) | set(records.skipped["line"]))
    elapsed = time.perf_counter() - started
    log.info(
        "%s: %d variants scored on %d tracks (%d records; %d skipped: %s) in %.1f s "
        "(%.0f variants/s)",
        vcf, len(top), len(tracks), n_records, len(skipped_table), reasons or "none",
        elapsed, len(top) / max(elapsed, 1e-9),
    )  # fmt: skip
