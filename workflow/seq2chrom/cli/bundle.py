"""CLI subcommands of the DeepSEA bundle import: import-bundle, bundle-summary,
published-comparison."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seq2chrom.io import PUBLISHED_FLOATS, atomic_output, write_tsv

log = logging.getLogger("seq2chrom.bundle")


def register(subparsers) -> None:
    from seq2chrom.splitfile import SPLITS

    convert = subparsers.add_parser(
        "import-bundle", help="convert one file of the DeepSEA bundle -> {split}.h5"
    )
    convert.add_argument("--split", required=True, choices=SPLITS)
    convert.add_argument(
        "--bundle-dir", required=True, help="folder with train.mat, valid.mat and test.mat"
    )
    convert.add_argument(
        "--tracks", default="", help="track table TSV (default: the published 919 tracks)"
    )
    convert.add_argument("--threads", type=int, default=1, help="compression threads")
    convert.add_argument("--out", required=True, help="{split}.h5 to write")
    convert.set_defaults(func=run_import_bundle)

    summary = subparsers.add_parser(
        "bundle-summary", help="samples and positives per split of imported split files"
    )
    summary.add_argument("--train", required=True, help="train.h5")
    summary.add_argument("--valid", required=True, help="valid.h5")
    summary.add_argument("--test", required=True, help="test.h5")
    summary.add_argument("--out-table", required=True, help="summary.tsv to write")
    summary.add_argument("--out-html", required=True, help="summary.html to write")
    summary.set_defaults(func=run_bundle_summary)

    published = subparsers.add_parser(
        "published-comparison", help="per-track AUROC/AUPRC against published DeepSEA and DanQ"
    )
    published.add_argument(
        "--metrics", required=True, help="results/eval/{model}/metrics.tsv (strand mean)"
    )
    published.add_argument(
        "--predictions",
        required=True,
        help="results/predictions/{model}/test.h5 with each strand's predictions "
        "(`seq2chrom predict --strands each`), scored per strand against DanQ's numbers",
    )
    published.add_argument("--data", required=True, help="results/data/test.h5 (labels)")
    published.add_argument("--threads", type=int, default=None, help="default: all usable cores")
    published.add_argument("--model", required=True, help="model name (labels)")
    published.add_argument("--out-classes", required=True, help="per-class comparison TSV")
    published.add_argument("--out-tracks", required=True, help="per-track comparison TSV")
    published.add_argument("--out-html", required=True, help="HTML page with both tables")
    published.add_argument("--out-png", required=True, help="AUROC scatter plot")
    published.set_defaults(func=run_published_comparison)


def run_import_bundle(args: argparse.Namespace) -> None:
    from seq2chrom.data.bundle import BUNDLE_FILES, convert_split, read_track_table

    tracks = read_track_table(args.tracks or None)
    source = Path(args.bundle_dir) / BUNDLE_FILES[args.split]
    with atomic_output(args.out) as path:
        n = convert_split(source, args.split, tracks, path, threads=args.threads)
    log.info("wrote %s: %d samples, %d tracks", args.out, n, len(tracks))


def run_bundle_summary(args: argparse.Namespace) -> None:
    from seq2chrom.data.bundle import summarize_splits
    from seq2chrom.data.summary import write_summary

    table = summarize_splits({"train": args.train, "valid": args.valid, "test": args.test})
    write_summary(
        table, args.out_table, args.out_html, title="seq2chrom data summary (DeepSEA bundle)"
    )


def run_published_comparison(args: argparse.Namespace) -> None:
    from seq2chrom.errors import InputError
    from seq2chrom.evaluate.files import read_metrics_table
    from seq2chrom.evaluate.published import (
        class_comparison,
        compare_with_published,
        comparison_html,
        plot_published_scatter,
        with_per_strand,
    )
    from seq2chrom.modelfile import track_difference
    from seq2chrom.splitfile import read_labels, read_strand_predictions

    metrics = read_metrics_table(args.metrics)
    y_true, columns = read_labels(args.data)
    y_strands, predicted = read_strand_predictions(args.predictions)
    for path, names in ((args.predictions, predicted), (args.metrics, metrics["track"].tolist())):
        if names != columns.tracks:
            raise InputError(
                path,
                f"tracks differ from {args.data}: {track_difference(names, columns.tracks)}",
                fix="predict and evaluate again on this test split",
            )
    if y_strands.shape[1:] != y_true.shape:
        raise InputError(
            args.predictions,
            f"y_pred_strands has shape {y_strands.shape}, the labels {y_true.shape}",
            fix="predict again on this test split",
        )
    metrics = with_per_strand(metrics, y_true, y_strands, threads=args.threads)
    tracks = compare_with_published(metrics)
    classes = class_comparison(tracks)
    with (
        atomic_output(args.out_classes) as tsv,
        atomic_output(args.out_tracks) as per_track,
        atomic_output(args.out_html) as html,
        atomic_output(args.out_png) as png,
    ):
        write_tsv(classes, tsv, floats=PUBLISHED_FLOATS)
        write_tsv(tracks, per_track, floats=PUBLISHED_FLOATS)
        html.write_text(comparison_html(classes, tracks, args.model), encoding="utf-8")
        plot_published_scatter(tracks, args.model, png)
    log.info("compared %d tracks of %s with the published AUROCs", len(tracks), args.model)
