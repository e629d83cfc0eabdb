"""CLI subcommand of the demo stage: `seq2chrom demo` writes the embedded demo data set."""

from __future__ import annotations

import argparse
import gzip
import logging
import time
from pathlib import Path

from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.demo")


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="generate the demo genome, peaks of every demo track and the motif truth",
        description=(
            "Write OUTDIR/genome.fa, OUTDIR/peaks/{track}.bed.gz for every demo track and "
            "OUTDIR/truth.tsv (track, assay, cell_type, motif_ids, motif_names)."
        ),
    )
    demo.add_argument("--outdir", required=True, type=Path, help="e.g. resources/demo")
    demo.add_argument("--seed", required=True, type=int, help="same seed, same bytes")
    demo.set_defaults(func=run_demo)


def write_gzip(path: Path, data: bytes) -> None:
    """Write `data` gzipped to `path` atomically, byte-identical for identical data (no name,
    no time stamp in the gzip header)."""
    with (
        atomic_output(path) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle,
    ):
        handle.write(data)


def run_demo(args: argparse.Namespace) -> None:
    from seq2chrom.demo.build import build_demo
    from seq2chrom.demo.genome import to_fasta
    from seq2chrom.demo.peaks import to_bed_text

    started = time.perf_counter()
    demo = build_demo(args.seed)
    with atomic_output(args.outdir / "genome.fa") as tmp:
        tmp.write_bytes(to_fasta(demo.genome))
    for track, table in demo.peaks.items():
        write_gzip(args.outdir / "peaks" / f"{track}.bed.gz", to_bed_text(table).encode())
        log.info("%s: %d peaks", track, len(table))
    with atomic_output(args.outdir / "truth.tsv") as tmp:
        demo.truth.to_csv(tmp, sep="\t", index=False, lineterminator="\n")
    size = sum(len(seq) for seq in demo.genome.values())
    log.info(
        "demo (seed %d): %d chromosomes, %d bp, %d tracks in %s (%.1f s)",
        args.seed,
        len(demo.genome),
        size,
        len(demo.peaks),
        args.outdir,
        time.perf_counter() - started,
    )
