"""The variant jobs: `score_vcf` (`seq2chrom score-variants`), `gather_vcf`
(`seq2chrom gather-variants`) and the outputs both write from a scores file.

Scoring streams: the VCF is read `vcf.CHUNK_RECORDS` records at a time (in a thread, which also
cuts the windows), each chunk scored and handed to the scores file's writer (which compresses in
its own thread), and the records not scored are written as they are met. Nothing grows with the
VCF but the output files: memory is the model, one chromosome's sequence, a few chunks, the
background and the `TOP_VARIANTS` strongest variants.

Outputs of ``NAME.h5`` (`output_paths`): ``NAME.h5`` (`variants.store`), ``NAME.skipped.tsv``,
``NAME.top.tsv`` and ``NAME.tsv.gz`` (`variants.tables`), ``NAME.vcf.gz`` and its ``.tbi``
(`variants.annotate`). A shard (``part``) writes the first two only; `gather_vcf` joins the
shards' and writes the rest, the same bytes as one job scoring the whole VCF.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.data.genome import match_chromosomes
from seq2chrom.errors import InputError
from seq2chrom.io import atomic_outputs
from seq2chrom.variants.evalues import background_null, evalues
from seq2chrom.variants.score import (
    Predictor,
    prepare_chunk,
    score_prepared,
    strongest_text,
    strongest_tracks,
    summary_names,
    track_assays,
)
from seq2chrom.variants.store import ScoresWriter, contig_attrs, gather_scores, open_scores
from seq2chrom.variants.tables import (
    SkippedWriter,
    TableSettings,
    concatenate_skipped,
    table_tracks,
    write_effects,
    write_top,
)
from seq2chrom.variants.vcf import (
    CHUNK_RECORDS,
    COLUMNS,
    SKIPPED_COLUMNS,
    iter_vcf,
    split_placeable,
)

log = logging.getLogger("seq2chrom.variants")
DEFAULT_TABLES = TableSettings()
SUFFIXES = (".h5", ".skipped.tsv", ".top.tsv", ".tsv.gz", ".vcf.gz", ".vcf.gz.tbi")


def output_paths(out: Path, part: bool = False) -> list[Path]:
    """The files of scores file `out` (NAME.h5), in `SUFFIXES` order; a shard's first two."""
    stem = out.name[: -len(".h5")] if out.name.endswith(".h5") else out.name
    return [out.with_name(stem + suffix) for suffix in SUFFIXES[: 2 if part else None]]


def table_columns(assays: Sequence[str] | None, with_evalue: bool) -> dict[str, object]:
    """The variant table's columns of the scores file and their dtypes."""
    columns: dict[str, object] = {c: object for c in COLUMNS}
    columns.update(
        pos=np.int64, line=np.int64, top_track=object, top_diff=np.float32, max_abs_diff=np.float32
    )
    columns.update({name: np.float32 for name in summary_names(assays)})
    columns["strongest"] = object
    if with_evalue:
        columns["min_evalue"] = np.float32
    return columns


def prefetched(items: Iterator, depth: int = 2) -> Iterator:
    """`items` produced in a thread, up to `depth` ahead; its errors are raised here."""
    done = object()
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as error:  # noqa: BLE001 - re-raised in the consumer
            put((False, error))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            ok, item = box.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class _Placement:
    """VCF chromosome names matched to the genome's as chunks come (logged once at the end)."""

    def __init__(self, sizes: dict[str, int]):
        self.sizes = sizes
        self.mapping: dict[str, str] = {}
        self.renamed: list[tuple[str, str]] = []
        self._tried: set[str] = set()

    def split(self, variants: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        new = [c for c in pd.unique(variants["chrom"]) if c not in self._tried]
        self._tried.update(new)
        mapping, renamed = match_chromosomes(new, self.sizes)
        self.mapping.update(mapping)
        self.renamed += renamed
        return split_placeable(variants, self.sizes, self.mapping)


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
    background: Path | None = None,
    tables: TableSettings = DEFAULT_TABLES,
    part: bool = False,
    chunk_size: int = CHUNK_RECORDS,
) -> None:
    """`seq2chrom score-variants`: score every variant of `vcf` into `out` (NAME.h5) and write
    the files of `output_paths` (a shard, `part`: the scores and skipped records only).

    predict: the strand-averaged predictor (`inference.predict.predict_both_strands`);
    batch_size: variants per forward pass (2 x batch_size windows and their reverse
    complements), 0 picks 512 on a GPU, 128 on the CPU; background: a scored background VCF
    (NAME.h5) for e-values; tables: what the tables hold (`variants.tables`).
    """
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.modelfile.loading import open_trained

    chunks = iter_vcf(vcf, chunk_size)
    first = next(chunks)  # a malformed first chunk stops here, before the model loads
    fasta = open_genome(genome)
    placement = _Placement(chromosome_sizes(fasta))
    null = None
    if background is not None:
        with open_scores(background) as scores:
            null = background_null(scores)
    trained = open_trained(model_path, device)
    model, tracks = trained.model, trained.tracks
    if null is not None and len(null) != len(tracks):
        raise InputError(
            background,
            f"{len(null)} tracks, the model {len(tracks)}",
            fix="score the background with the same model",
        )
    assays = track_assays(track_sheet, tracks)
    if not part:
        _tsv_columns(tables.tracks, tracks, assays, 0, 0.0)  # a bad entry stops before scoring
    block = 2 * (batch_size or (512 if trained.kind == "gpu" else 128))
    window = int(model.input_shape[1])
    chromosome = functools.lru_cache(maxsize=1)(lambda name: read_chromosome(fasta, name))

    def prepared():
        for chunk in _chain(first, chunks):
            variants, outside = placement.split(chunk.variants)
            ready = prepare_chunk(chromosome, variants, window)
            found = [t for t in (chunk.skipped, outside, ready.skipped) if len(t)]
            skipped = (
                pd.concat(found).sort_values("line", kind="stable")
                if found
                else pd.DataFrame(columns=SKIPPED_COLUMNS)
            )
            yield ready, skipped, chunk.records

    paths = output_paths(out, part)
    attrs = {
        "vcf": str(vcf),
        "model": str(model_path),
        "background": str(background or ""),
        "n_background": 0 if null is None else null.shape[1],
    }
    started = time.perf_counter()  # the rate counts scoring and writing, not start-up
    n_records = n_scored = 0
    contigs: dict[str, int] = {}
    matrices = ["ref_prob", "alt_prob"] + (["evalue"] if null is not None else [])
    with atomic_outputs(paths) as tmp:
        with (
            ScoresWriter(
                tmp[0], tracks, table_columns(assays, null is not None), matrices, attrs
            ) as writer,
            open(tmp[1], "w", encoding="utf-8", newline="") as skipped_file,
        ):
            skipped_writer = SkippedWriter(skipped_file)
            for ready, skipped, records in prefetched(prepared()):
                n_records += records
                skipped_writer.write(skipped)
                if ready.variants.empty:
                    continue
                batch = score_prepared(model, ready, block, predict=predict)
                table, scored = _scored_rows(batch, tracks, assays, null)
                writer.append(table, scored)
                n_scored += len(batch.variants)
                for name in pd.unique(batch.variants["chrom"]):
                    contigs.setdefault(name, placement.sizes[placement.mapping[name]])
            writer.set_attrs(**contig_attrs(contigs))
        if not part:
            write_outputs(vcf, tmp, tables, assays)
    if placement.renamed:
        shown = ", ".join(f"{a} -> {b}" for a, b in placement.renamed[:3])
        log.info(
            "%s names %d chromosome(s) differently from %s; matched them (%s%s)",
            vcf,
            len(placement.renamed),
            genome,
            shown,
            ", ..." if len(placement.renamed) > 3 else "",
        )
    elapsed = time.perf_counter() - started
    log.info(
        "%s: %d variants scored on %d tracks (%d records; %d skipped: %s) in %.1f s "
        "(%.0f variants/s)",
        vcf,
        n_scored,
        len(tracks),
        n_records,
        skipped_writer.count,
        skipped_writer.reasons or "none",
        elapsed,
        n_scored / max(elapsed, 1e-9),
    )


def _chain(first, rest):
    yield first
    yield from rest


def _scored_rows(batch, tracks, assays, null) -> tuple[dict, dict]:
    """The variant table rows and matrices of one scored chunk."""
    diff = batch.alt_prob - batch.ref_prob
    table = {c: batch.variants[c].to_numpy() for c in [*COLUMNS, "line"]}
    table.update(strongest_tracks(diff, tracks, assays))
    table["strongest"] = strongest_text(diff, tracks)
    matrices = {"ref_prob": batch.ref_prob, "alt_prob": batch.alt_prob}
    if null is not None:
        matrices["evalue"] = evalues(np.abs(diff), null)
        table["min_evalue"] = matrices["evalue"].min(axis=1)
    return table, matrices


def write_outputs(
    vcf: Path,
    paths: Sequence[Path],
    tables: TableSettings = DEFAULT_TABLES,
    assays: Sequence[str] | None = None,
) -> None:
    """From the scores file and skipped records (`paths`[0:2]) write the top table, the
    effects table and the annotated VCF with its index (`paths`[2:6])."""
    from seq2chrom.variants.annotate import write_annotated_vcf

    with open_scores(paths[0]) as scores:
        write_top(scores, paths[2], tables.top)
        columns = _tsv_columns(tables.tracks, scores.tracks, assays, scores.n, tables.min_abs_diff)
        rows = write_effects(scores, paths[3], columns, tables.min_abs_diff)
        log.info("%s: %d rows (%d tracks) in the effects table", vcf, rows, len(columns))
        write_annotated_vcf(vcf, scores, paths[1], paths[4], paths[5])


def _tsv_columns(spec, tracks, assays, n_variants: int, min_abs_diff: float) -> list[int]:
    """`tables.table_tracks`, an entry that matches nothing an InputError."""
    try:
        return table_tracks(spec, tracks, assays, n_variants, min_abs_diff)
    except ValueError as error:
        raise InputError(
            "--tsv-tracks", str(error), fix="name tracks of the model, assay classes or patterns"
        ) from None


def gather_vcf(
    vcf: Path,
    parts: Sequence[Path],
    out: Path,
    *,
    track_sheet: Path | None = None,
    tables: TableSettings = DEFAULT_TABLES,
) -> None:
    """`seq2chrom gather-variants`: join the shards `parts` (their NAME.h5, in VCF order, each
    with its NAME.skipped.tsv) of `vcf` into `out` and write the files of `output_paths`."""
    if not parts:
        raise InputError(out, "no shard to gather", fix="give the shards' .h5 files")
    with open_scores(parts[0]) as first:
        tracks = first.tracks
    assays = track_assays(track_sheet, tracks)
    with atomic_outputs(output_paths(out)) as tmp:
        gather_scores(parts, tmp[0], {"vcf": str(vcf)})
        with open(tmp[1], "w", encoding="utf-8", newline="") as handle:
            concatenate_skipped([output_paths(Path(p), part=True)[1] for p in parts], handle)
        write_outputs(vcf, tmp, tables, assays)
