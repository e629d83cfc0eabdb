"""CLI subcommands of the attributions stage: `attribute` (per-base contribution scores),
`modisco` (TF-MoDISco motifs in them, matched to JASPAR) and `modisco-report` (the report's
"Motifs (TF-MoDISco)" pages)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from seq2chrom.errors import InputError

DEVICE_HELP = "auto (GPU when the framework sees one), gpu (required) or cpu"


def register(subparsers) -> None:
    from seq2chrom.attribution.methods import METHODS
    from seq2chrom.config import default

    def setting(*keys: str):
        return default("attributions", *keys)  # the config schema is the one source of defaults

    def method_options(parser) -> None:
        """How the scores are computed (`Settings`), where and with which seed."""
        parser.add_argument("--method", choices=METHODS, default=setting("method"))
        parser.add_argument(
            "--batch-size",
            type=int,
            default=setting("batch_size"),
            help="windows (points, mutants) per model call",
        )
        parser.add_argument("--references", type=int, default=setting("references"))
        parser.add_argument("--steps", type=int, default=setting("steps"))
        parser.add_argument("--bin-size", type=int, default=default("bins", "size"))
        parser.add_argument("--seed", type=int, default=default("seed"))
        parser.add_argument("--device", default="auto", help=DEVICE_HELP)

    attribute = subparsers.add_parser(
        "attribute",
        help="per-base contribution scores of tracks on their best-predicted test windows",
        description="For each track, the WINDOWS labelled-positive test windows with the "
        "highest prediction, explained on the track's logit (mean of both strands): "
        "OUT_DIR/{track}.h5 with one_hot, hypothetical and contrib (N, L, 4), chrom, start.",
    )
    attribute.add_argument("--model", required=True, type=Path, help="model.keras")
    attribute.add_argument("--data", required=True, type=Path, help="results/data/test.h5")
    attribute.add_argument(
        "--predictions", required=True, type=Path, help="results/predictions/{model}/test.h5"
    )
    attribute.add_argument("--tracks", required=True, nargs="+", help="track names")
    attribute.add_argument("--windows", type=int, default=setting("windows"))
    method_options(attribute)
    attribute.add_argument("--out-dir", required=True, type=Path, help="{track}.h5 go here")
    attribute.set_defaults(func=run_attribute)

    regions = subparsers.add_parser(
        "attribute-regions",
        help="per-base contributions of tracks along BED regions, as bigWig",
        description="For each track, OUT_DIR/{track}.bw: each base's contribution to the "
        "track's logit (mean of both strands) on the window centred on its bin.",
    )
    regions.add_argument("--model", required=True, type=Path, help="model.keras")
    regions.add_argument("--genome", required=True, type=Path, help="FASTA (indexed)")
    regions.add_argument("--regions", required=True, type=Path, help="BED of regions")
    regions.add_argument("--tracks", required=True, nargs="+", help="track names")
    method_options(regions)
    regions.add_argument("--out-dir", required=True, type=Path, help="{track}.bw go here")
    regions.set_defaults(func=run_attribute_regions)

    modisco = subparsers.add_parser(
        "modisco",
        help="TF-MoDISco (modisco-lite) on one track's attributions; patterns matched to JASPAR",
        description="Write OUT_DIR/modisco.h5 (modisco-lite's results), patterns.meme (each "
        "pattern's trimmed PPM, then its CWM as a softmax), tomtom.tsv (the PPMs against "
        "JASPAR or --meme-file) and patterns.tsv (seqlets, name, top matches).",
    )
    modisco.add_argument("--attributions", required=True, type=Path, help="{track}.h5")
    for key in ("window", "max_seqlets", "leiden_runs", "min_seqlets"):
        modisco.add_argument(
            "--" + key.replace("_", "-"), type=int, default=setting("modisco", key)
        )
    for key in ("trim_threshold", "qvalue", "evalue"):
        modisco.add_argument(
            "--" + key.replace("_", "-"), type=float, default=setting("modisco", key)
        )
    for key in ("jaspar_release", "jaspar_collection", "jaspar_tax_group"):
        modisco.add_argument("--" + key.replace("_", "-"), default=default("motifs", key))
    modisco.add_argument(
        "--meme-file", default="", help="MEME motif file used instead of JASPAR (empty: JASPAR)"
    )
    modisco.add_argument("--min-overlap", type=int, default=default("motifs", "min_overlap"))
    modisco.add_argument("--threads", type=int, default=1)
    modisco.add_argument(
        "--out-dir", required=True, type=Path, help="results/modisco/{model}/{track}"
    )
    modisco.set_defaults(func=run_modisco)

    report = subparsers.add_parser(
        "modisco-report",
        help="one model's TF-MoDISco patterns of every track (logos, matches) and the "
        "pattern x track table, as HTML",
    )
    report.add_argument("--name", default="", help="model name for titles")
    report.add_argument(
        "--tracks", required=True, nargs="+", type=Path, help="modisco/{model}/{track} folders"
    )
    for key in ("jaspar_release", "jaspar_collection", "jaspar_tax_group"):
        report.add_argument("--" + key.replace("_", "-"), default=default("motifs", key))
    report.add_argument("--meme-file", default="", help="as for modisco")
    report.add_argument("--out-patterns", required=True, type=Path, help="patterns.html")
    report.add_argument("--out-table", required=True, type=Path, help="table.tsv")
    report.add_argument("--out-html", required=True, type=Path, help="table.html")
    report.set_defaults(func=run_modisco_report)


def _limit_threads(threads: int) -> None:
    """At most `threads` cores for numba (before it is imported) and OpenMP."""
    threads = max(1, threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))


def _settings(args: argparse.Namespace, *counts: str):
    """The methods' `Settings` from the options of `method_options`, after checking that they
    and the options named in `counts` are at least 1; TensorFlow gets the job's cores."""
    from seq2chrom.attribution.methods import Settings
    from seq2chrom.devices import use_job_threads

    for name in ("batch_size", "references", "steps", "bin_size", *counts):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}", "must be at least 1")
    use_job_threads()
    return Settings(args.method, args.batch_size, args.references, args.steps)


def run_attribute(args: argparse.Namespace) -> None:
    from seq2chrom.attribution.scores import write_attributions

    settings = _settings(args, "windows")
    write_attributions(
        args.model,
        args.data,
        args.predictions,
        args.tracks,
        args.out_dir,
        settings=settings,
        windows=args.windows,
        bin_size=args.bin_size,
        seed=args.seed,
        device=args.device,
    )


def run_attribute_regions(args: argparse.Namespace) -> None:
    from seq2chrom.attribution.tracks import write_contribution_tracks

    settings = _settings(args)
    write_contribution_tracks(
        args.model,
        args.genome,
        args.regions,
        args.tracks,
        args.out_dir,
        settings=settings,
        bin_size=args.bin_size,
        seed=args.seed,
        device=args.device,
    )


def _targets(args: argparse.Namespace):
    """The motifs the patterns are matched to: --meme-file, else the JASPAR selection."""
    from seq2chrom.motifs.jaspar import load_jaspar
    from seq2chrom.motifs.meme import read_meme

    if args.meme_file:
        return read_meme(args.meme_file)
    try:
        return load_jaspar(args.jaspar_release, args.jaspar_collection, args.jaspar_tax_group)
    except ValueError as error:
        raise InputError("config/config.yaml", str(error), fix="check motifs.jaspar_*") from None


def run_modisco(args: argparse.Namespace) -> None:
    _limit_threads(args.threads)
    from seq2chrom.attribution.modisco import ModiscoSettings, write_modisco

    settings = ModiscoSettings(
        args.window, args.max_seqlets, args.leiden_runs, args.trim_threshold, args.qvalue,
        args.evalue, args.min_seqlets,
    )  # fmt: skip
    write_modisco(
        args.attributions,
        args.out_dir,
        settings,
        _targets(args),
        min_overlap=args.min_overlap,
        threads=args.threads,
    )


def run_modisco_report(args: argparse.Namespace) -> None:
    from seq2chrom.attribution.report import write_modisco_report

    write_modisco_report(
        args.tracks,
        _targets(args),
        title=args.name or "the model",
        out_patterns=args.out_patterns,
        out_table=args.out_table,
        out_html=args.out_html,
    )
