"""CLI subcommands that use a trained model: `seq2chrom score-variants`, `predict-region`,
`mutagenesis` and `mutagenesis-regions`. Each loads ``model.keras`` and reads its track names
from the ``config.yaml`` beside it; all run without Snakemake."""

from __future__ import annotations

import argparse
from pathlib import Path

DEVICE_HELP = "auto (GPU when the framework sees one), gpu (required) or cpu"


def register(subparsers) -> None:
    score = subparsers.add_parser(
        "score-variants",
        help="effect of each VCF variant on every track: reference vs alternative allele",
        description="Write OUT (.tsv.gz: variant_id chrom pos ref alt track ref_prob alt_prob "
        "diff logfc, one row per variant and track), OUT.top.tsv (one row per variant, "
        "strongest first) and OUT.skipped.tsv (records not scored, with the reason), the "
        "suffix .tsv.gz of OUT replaced.",
    )
    _model_arguments(score)
    score.add_argument("--vcf", required=True, type=Path, help="VCF, plain, gzip or bgzip")
    score.add_argument("--out", required=True, type=Path, help="effects table, NAME.tsv.gz")
    score.add_argument(
        "--track-sheet",
        type=Path,
        help="TSV with columns name (or track) and assay: mean |diff| per assay class in "
        "OUT.top.tsv (default: one mean over all tracks)",
    )
    score.add_argument(
        "--batch-size", type=int, default=0, help="variants per forward pass (0: 512 GPU, 128 CPU)"
    )
    score.set_defaults(func=run_score_variants)

    region = subparsers.add_parser(
        "predict-region",
        help="strand-averaged predictions along BED regions, one bigWig per track",
        description="Write DIR/{track}.bw: each value is the prediction for the bin at the "
        "centre of a window, one window every --step bp along the regions.",
    )
    _model_arguments(region)
    region.add_argument("--regions", required=True, type=Path, help="BED of regions")
    region.add_argument(
        "--out-dir",
        required=True,
        type=Path,
        help="folder for the bigWig files (other files in it are kept)",
    )
    region.add_argument("--tracks", default="", help="NAME,... (default: every track)")
    region.add_argument("--step", type=int, default=200, help="bp between windows (%(default)s)")
    region.add_argument(
        "--bin-size", type=int, default=200, help="bin the model was trained on (%(default)s)"
    )
    region.add_argument("--batch-size", type=int, default=256, help="windows per forward pass")
    region.set_defaults(func=run_predict_region)

    mutate = subparsers.add_parser(
        "mutagenesis",
        help="effect of every single-base substitution of each region's window on one track",
        description="Write DIR/mutagenesis.h5 (effects (R, L, 4), importance (R, L), reference "
        "predictions), DIR/regions.tsv and one DIR/{region}.png per region. The window is the "
        "model's input length centred on each region.",
    )
    _model_arguments(mutate)
    mutate.add_argument("--regions", required=True, type=Path, help="BED of regions")
    mutate.add_argument(
        "--track",
        default="",
        help="track whose prediction is mutated (default: each region's track, BED column 5)",
    )
    mutate.add_argument(
        "--out-dir", required=True, type=Path, help="output folder (other files in it are kept)"
    )
    mutate.add_argument("--batch-size", type=int, default=1000, help="mutants per forward pass")
    mutate.add_argument("--span", type=int, default=50, help="bp shown in the logo (%(default)s)")
    mutate.set_defaults(func=run_mutagenesis)

    report = subparsers.add_parser(
        "variant-report",
        help="report items of scored variants: strongest variants and tracks, effects figure",
        description="From NAME.top.tsv write --out-html (the strongest variants, then per "
        "track the variants whose largest effect falls on it) and --out-png (effects figure).",
    )
    report.add_argument("--top", required=True, type=Path, help="NAME.top.tsv")
    report.add_argument("--rows", type=int, default=50, help="variants listed (%(default)s)")
    report.add_argument("--title", default="", help="heading, e.g. model and VCF name")
    report.add_argument("--out-html", required=True, type=Path)
    report.add_argument("--out-png", required=True, type=Path)
    report.set_defaults(func=run_variant_report)

    choose = subparsers.add_parser(
        "mutagenesis-regions",
        help="BED of windows worth mutating: best test sequence per track, top variants",
        description="Write a BED (name, track in columns 4-5) of the window of the highest-"
        "scoring labelled-positive test bin of each --tracks track and of the first "
        "--top-variants rows of each top.tsv (on their strongest track).",
    )
    choose.add_argument("--predictions", required=True, type=Path, help="predictions/test.h5")
    choose.add_argument("--data", required=True, type=Path, help="results/data/test.h5 (labels)")
    choose.add_argument("--tracks", default="", help="NAME,... for the best test sequences")
    choose.add_argument("--variants", nargs="*", default=[], type=Path, help="*.top.tsv files")
    choose.add_argument("--top-variants", type=int, default=3)
    choose.add_argument("--window", type=int, default=1000, help="model input in bp")
    choose.add_argument("--bin-size", type=int, default=200)
    choose.add_argument("--out", required=True, type=Path, help="BED to write")
    choose.set_defaults(func=run_mutagenesis_regions)


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        help="results/models/{model}/model.keras; track names from config.yaml beside it",
    )
    parser.add_argument("--genome", required=True, type=Path, help="FASTA, plain or bgzip")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "gpu", "cpu"], help=DEVICE_HELP
    )


def _names(text: str) -> list[str]:
    """NAME,... -> names, blanks dropped."""
    return [name.strip() for name in text.split(",") if name.strip()]


def run_score_variants(args: argparse.Namespace) -> None:
    from seq2chrom.inference.predict import predict_both_strands
    from seq2chrom.variants.score import score_vcf

    score_vcf(
        args.vcf, args.genome, args.model, args.out, predict=predict_both_strands,
        device=args.device,
        track_sheet=args.track_sheet, batch_size=args.batch_size,
    )  # fmt: skip


def run_predict_region(args: argparse.Namespace) -> None:
    from seq2chrom.inference.tracks import write_prediction_tracks

    write_prediction_tracks(
        args.model, args.genome, args.regions, args.out_dir, tracks=_names(args.tracks),
        step=args.step, bin_size=args.bin_size, batch_size=args.batch_size, device=args.device,
    )  # fmt: skip


def run_mutagenesis(args: argparse.Namespace) -> None:
    from seq2chrom.inference.mutagenesis import write_mutagenesis

    write_mutagenesis(
        args.model, args.genome, args.regions, args.out_dir, track=args.track,
        device=args.device, batch_size=args.batch_size, span=args.span,
    )  # fmt: skip


def run_mutagenesis_regions(args: argparse.Namespace) -> None:
    from seq2chrom.inference.mutagenesis import write_mutagenesis_regions

    write_mutagenesis_regions(
        args.out, predictions=args.predictions, data=args.data, tracks=_names(args.tracks),
        variants=args.variants, top_variants=args.top_variants, window=args.window,
        bin_size=args.bin_size,
    )  # fmt: skip


def run_variant_report(args: argparse.Namespace) -> None:
    from seq2chrom.variants.report import write_variant_report

    write_variant_report(args.top, args.out_html, args.out_png, rows=args.rows, title=args.title)
