"""CLI subcommands that use a trained model: `seq2chrom score-variants` (with `split-vcf` and
`gather-variants` for a VCF scored in shards), `predict-region`, `mutagenesis` and
`mutagenesis-regions`. Each loads ``model.keras`` and reads its track names from the
``config.yaml`` beside it; all run without Snakemake."""

from __future__ import annotations

import argparse
from pathlib import Path

DEVICE_HELP = "auto (GPU when the framework sees one), gpu (required) or cpu"


def register(subparsers) -> None:
    score = subparsers.add_parser(
        "score-variants",
        help="effect of each VCF variant on every track: reference vs alternative allele",
        description="Score every variant of the VCF, streaming it in chunks, and write OUT "
        "(NAME.h5: ref_prob and alt_prob, variants x tracks, the variant table, the tracks), "
        "NAME.skipped.tsv (records not scored, with the reason), NAME.top.tsv (the strongest "
        "variants), NAME.tsv.gz (one row per variant and chosen track: variant_id chrom pos "
        "ref alt track ref_prob alt_prob diff logfc [evalue]) and NAME.vcf.gz (+ .tbi: the "
        "VCF annotated, bgzipped, tabix-indexed). With --part only NAME.h5 and "
        "NAME.skipped.tsv (a shard, joined by gather-variants).",
    )
    _model_arguments(score)
    score.add_argument("--vcf", required=True, type=Path, help="VCF, plain, gzip or bgzip")
    score.add_argument("--out", required=True, type=Path, help="scores file, NAME.h5")
    score.add_argument(
        "--track-sheet",
        type=Path,
        help="TSV with columns name (or track) and assay: mean |diff| per assay class in "
        "the summary, and assay classes in --tsv-tracks (default: one mean over all tracks)",
    )
    score.add_argument(
        "--batch-size", type=int, default=0, help="variants per forward pass (0: 512 GPU, 128 CPU)"
    )
    score.add_argument(
        "--background",
        default="",
        help="a background VCF's scores (NAME.h5 from score-variants with this model): "
        "e-values per variant and track (empty: none)",
    )
    score.add_argument(
        "--part", action="store_true", help="a shard: write NAME.h5 and NAME.skipped.tsv only"
    )
    _table_arguments(score)
    score.set_defaults(func=run_score_variants)

    split = subparsers.add_parser(
        "split-vcf",
        help="cut a VCF into shards of N records, each scored as its own job",
        description="Write OUT_DIR/00000.vcf.gz, 00001.vcf.gz, ...: CHROM POS ID REF ALT of "
        "--shard-size records each, numbered as in the VCF (malformed lines stop here).",
    )
    split.add_argument("--vcf", required=True, type=Path, help="VCF, plain, gzip or bgzip")
    split.add_argument("--shard-size", required=True, type=int, help="records per shard")
    split.add_argument("--out-dir", required=True, type=Path, help="folder of the shards")
    split.set_defaults(func=run_split_vcf)

    gather = subparsers.add_parser(
        "gather-variants",
        help="join the shards' scores of a VCF into the outputs of one score-variants run",
        description="From the shards' NAME.h5 (each with NAME.skipped.tsv beside it), in VCF "
        "order, write what score-variants writes for the whole VCF: the same bytes.",
    )
    gather.add_argument("--vcf", required=True, type=Path, help="the VCF the shards came from")
    gather.add_argument("--parts", required=True, nargs="+", type=Path, help="shards' NAME.h5")
    gather.add_argument("--out", required=True, type=Path, help="scores file, NAME.h5")
    gather.add_argument("--track-sheet", type=Path, help="as for score-variants")
    _table_arguments(gather)
    gather.set_defaults(func=run_gather_variants)

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


def _table_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tsv-tracks",
        nargs="*",
        default=["auto"],
        help="tracks of NAME.tsv.gz: auto (every track for up to 10,000 variants or with "
        "--min-abs-diff, none above), or track names, assay classes and regular expressions; "
        "none given: no rows",
    )
    parser.add_argument(
        "--min-abs-diff", type=float, default=0.0, help="rows of NAME.tsv.gz: |diff| at least this"
    )
    parser.add_argument(
        "--top", type=int, default=10_000, help="variants in NAME.top.tsv (%(default)s)"
    )


def _names(text: str) -> list[str]:
    """NAME,... -> names, blanks dropped."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _tables(args: argparse.Namespace):
    """The table settings of --tsv-tracks, --min-abs-diff and --top."""
    from seq2chrom.variants.tables import AUTO, TableSettings

    tracks = AUTO if args.tsv_tracks == [AUTO] else args.tsv_tracks
    return TableSettings(tracks, args.min_abs_diff, args.top)


def run_score_variants(args: argparse.Namespace) -> None:
    from seq2chrom.inference.predict import predict_both_strands
    from seq2chrom.variants.job import score_vcf

    score_vcf(
        args.vcf, args.genome, args.model, args.out, predict=predict_both_strands,
        device=args.device, track_sheet=args.track_sheet, batch_size=args.batch_size,
        background=Path(args.background) if args.background else None,
        tables=_tables(args), part=args.part,
    )  # fmt: skip


def run_split_vcf(args: argparse.Namespace) -> None:
    from seq2chrom.variants.vcf import split_vcf

    split_vcf(args.vcf, args.shard_size, args.out_dir)


def run_gather_variants(args: argparse.Namespace) -> None:
    from seq2chrom.variants.job import gather_vcf

    gather_vcf(args.vcf, args.parts, args.out, track_sheet=args.track_sheet, tables=_tables(args))


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
