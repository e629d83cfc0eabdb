"""CLI subcommand of the demo stage: `seq2chrom demo` writes the embedded demo data set."""

from __future__ import annotations

import argparse
import gzip
import logging
import time
from pathlib import Path

from seq2chrom.io import atomic_output, write_tsv

log = logging.getLogger("seq2chrom.demo")


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="generate the demo genome, peaks of every demo track and the motif truth",
        description=(
            "Write OUTDIR/genome.fa, OUTDIR/peaks/{track}.bed.gz for every demo track and "
            "OUTDIR/truth.tsv (track, assay, cell_type, motif_ids, motif_names), "
            "OUTDIR/variants.vcf.gz (motif-destroying and control variants), "
            "OUTDIR/background.vcf.gz (random SNVs, the background of e-values) and "
            "OUTDIR/regions.bed (regions for prediction tracks)."
        ),
    )
    demo.add_argument("--out-dir", required=True, type=Path, help="e.g. resources/demo")
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


def variants_vcf(demo, seed: int) -> str:
    """The demo VCF (seq2chrom.demo.variants), from its own random stream of `seed`."""
    import numpy as np

    from seq2chrom.demo.genome import chrom_offsets
    from seq2chrom.demo.motifs import load_factor_motifs
    from seq2chrom.demo.variants import demo_variants, vcf_text

    seq = np.concatenate(list(demo.genome.values()))
    rng = np.random.default_rng([seed, 16])
    chroms = list(demo.genome)
    table = demo_variants(seq, chrom_offsets(), chroms, demo.sites, load_factor_motifs(), rng)
    return vcf_text(table)


def background_vcf(demo, seed: int) -> str:
    """The demo background VCF (seq2chrom.demo.variants), from its own random stream."""
    import numpy as np

    from seq2chrom.demo.genome import chrom_offsets
    from seq2chrom.demo.variants import background_vcf_text, demo_background

    seq = np.concatenate(list(demo.genome.values()))
    rng = np.random.default_rng([seed, 17])
    return background_vcf_text(demo_background(seq, chrom_offsets(), list(demo.genome), rng))


def regions_bed(demo):
    """The demo regions for prediction tracks (seq2chrom.demo.variants.demo_regions)."""
    from seq2chrom.demo.genome import chrom_offsets
    from seq2chrom.demo.variants import demo_regions

    return demo_regions(chrom_offsets(), list(demo.genome), demo.sites)


def run_demo(args: argparse.Namespace) -> None:
    from seq2chrom.demo.build import build_demo
    from seq2chrom.demo.genome import to_fasta
    from seq2chrom.demo.peaks import to_bed_text

    started = time.perf_counter()
    demo = build_demo(args.seed)
    with atomic_output(args.out_dir / "genome.fa") as tmp:
        tmp.write_bytes(to_fasta(demo.genome))
    for track, table in demo.peaks.items():
        write_gzip(args.out_dir / "peaks" / f"{track}.bed.gz", to_bed_text(table).encode())
        log.info("%s: %d peaks", track, len(table))
    write_tsv(demo.truth, args.out_dir / "truth.tsv", na="")
    write_gzip(args.out_dir / "variants.vcf.gz", variants_vcf(demo, args.seed).encode())
    write_gzip(args.out_dir / "background.vcf.gz", background_vcf(demo, args.seed).encode())
    write_tsv(regions_bed(demo), args.out_dir / "regions.bed", header=False)
    size = sum(len(seq) for seq in demo.genome.values())
    log.info(
        "demo (seed %d): %d chromosomes, %d bp, %d tracks in %s (%.1f s)",
        args.seed,
        len(demo.genome),
        size,
        len(demo.peaks),
        args.out_dir,
        time.perf_counter() - started,
    )
