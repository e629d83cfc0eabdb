"""CLI subcommands of the evaluate stage: `seq2chrom evaluate` and `seq2chrom compare-models`."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import METRIC_FLOATS, atomic_output, write_tsv

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help="per-track AUROC/AUPRC of one model's test predictions, tables and curves",
        description="Write metrics.tsv/.html, summary.tsv/.html and curves.png to --out-dir.",
    )
    evaluate.add_argument("--predictions", required=True, type=Path, help="predictions test.h5")
    evaluate.add_argument("--data", required=True, type=Path, help="data test.h5 (labels)")
    evaluate.add_argument("--min-positives", required=True, type=int, metavar="N")
    evaluate.add_argument("--out-dir", required=True, type=Path)
    evaluate.add_argument("--model", help="model name for titles (default: the --out-dir name)")
    evaluate.add_argument("--threads", type=int, default=None, help="default: all usable cores")
    evaluate.set_defaults(func=run_evaluate)

    compare = subparsers.add_parser(
        "compare-models",
        help="per-track comparison of several models' metrics: wins table and scatter plots",
        description="Write wins.tsv/.html, auroc_scatter.png and auprc_scatter.png to --out-dir.",
    )
    compare.add_argument("--metrics", required=True, nargs="+", type=Path, help="metrics.tsv files")
    compare.add_argument(
        "--models", nargs="+", help="model names, one per --metrics (default: parent folder names)"
    )
    compare.add_argument("--out-dir", required=True, type=Path)
    compare.set_defaults(func=run_compare_models)


def run_evaluate(args: argparse.Namespace) -> None:
    from seq2chrom.evaluate.files import read_evaluation_inputs, write_metrics_table
    from seq2chrom.evaluate.metrics import metrics_table, track_curves
    from seq2chrom.evaluate.plots import plot_curves
    from seq2chrom.evaluate.summary import class_summary
    from seq2chrom.report.tables import table_html

    if args.min_positives < 1:
        raise InputError("--min-positives", f"must be at least 1, got {args.min_positives}")
    model = args.model or args.out_dir.name
    started = time.perf_counter()
    y_true, y_score, tracks = read_evaluation_inputs(args.predictions, args.data)
    log.info("read %d samples x %d tracks in %.1f s", *y_true.shape, time.perf_counter() - started)
    started = time.perf_counter()
    try:
        metrics = metrics_table(
            y_true, y_score, tracks, min_positives=args.min_positives, threads=args.threads
        )
    except ValueError as error:  # NaN or infinite scores
        raise InputError(args.predictions, str(error), fix="check the model's output") from None
    curves = track_curves(y_true, y_score, threads=args.threads)
    log.info("metrics and curves in %.1f s", time.perf_counter() - started)
    summary = class_summary(metrics)

    outdir = args.out_dir
    note = (
        f"{model} on the test split ({y_true.shape[0]:,} samples). Tracks with fewer than "
        f"{args.min_positives} positives have no AUROC/AUPRC (status too_few_positives), "
        "nor have tracks predicted as one number for every sample (status "
        "constant_predictions: a collapsed training; retrain with a lower "
        "train.learning_rate)."
    )
    constant = metrics.loc[metrics["status"] == "constant_predictions", "track"].tolist()
    if constant:
        log.warning(
            "%s: %d of %d tracks predicted as one number for every test sample (a collapsed "
            "training): %s",
            model,
            len(constant),
            len(metrics),
            ", ".join(constant[:5]) + (", ..." if len(constant) > 5 else ""),
        )
    write_metrics_table(metrics, outdir / "metrics.tsv")
    _write_text(
        table_html(metrics, title=f"Per-track metrics: {model}", note=note),
        outdir / "metrics.html",
    )
    write_tsv(summary, outdir / "summary.tsv", floats=METRIC_FLOATS)
    _write_text(
        table_html(summary, title=f"Metrics per assay class: {model}", note=note),
        outdir / "summary.html",
    )
    with atomic_output(outdir / "curves.png") as tmp:
        plot_curves(curves, metrics, tmp, title=f"{model}: test split")
    for row in summary.itertuples():
        log.info(
            "%s: %d/%d tracks evaluated, median AUROC %.3f, median AUPRC %.3f",
            row.assay,
            row.n_evaluated,
            row.n_tracks,
            row.median_auroc,
            row.median_auprc,
        )


def run_compare_models(args: argparse.Namespace) -> None:
    from seq2chrom.evaluate.files import read_metrics_table
    from seq2chrom.evaluate.plots import plot_model_scatter
    from seq2chrom.evaluate.summary import wins_table
    from seq2chrom.modelfile import track_difference
    from seq2chrom.report.tables import table_html

    models = args.models or [path.parent.name for path in args.metrics]
    if len(models) != len(args.metrics):
        raise InputError("--models", f"{len(models)} names for {len(args.metrics)} metrics files")
    if len(set(models)) != len(models):
        raise InputError("--models", f"model names repeat: {models}")
    if len(models) < 2:
        raise InputError(args.metrics[0], "a comparison needs the metrics of at least two models")
    metrics_by_model = {}
    for model, path in zip(models, args.metrics, strict=True):
        table = read_metrics_table(path)
        if metrics_by_model:
            first_model, first = next(iter(metrics_by_model.items()))
            difference = track_difference(
                table["track"], first["track"], names=(f"{model} model", f"{first_model} model")
            )
            if difference:
                raise InputError(
                    path,
                    f"tracks differ from {first_model}'s: {difference}",
                    fix="evaluate every model on the same test split",
                )
        metrics_by_model[model] = table
    wins = wins_table(metrics_by_model)
    outdir = args.out_dir
    write_tsv(wins, outdir / "wins.tsv", floats=METRIC_FLOATS)
    note = (
        "Tracks each model wins (strictly higher value), per metric and assay class; "
        "n_tracks counts tracks with the metric in every model, ties counts shared best values."
    )
    _write_text(
        table_html(wins, title=f"Wins: {' vs '.join(models)}", note=note), outdir / "wins.html"
    )
    for metric in ("auroc", "auprc"):
        with atomic_output(outdir / f"{metric}_scatter.png") as tmp:
            plot_model_scatter(metrics_by_model, metric, tmp)


def _write_text(text: str, path: Path) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
