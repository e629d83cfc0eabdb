"""CLI subcommand `seq2chrom report-summary`: the report's Summary (headline numbers, linked)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output, read_tsv, write_tsv


def register(subparsers) -> None:
    summary = subparsers.add_parser(
        "report-summary",
        help="the report's Summary: per model median AUROC/AUPRC per assay class, annotated "
        "filters, top motifs, strongest variants; each number linked to its report item",
        description="The detailed report items are the .html files beside the given .tsv "
        "files (eval/{model}/summary.html, motifs/{model}/summary.html, "
        "variants/{model}/{name}.top.html).",
    )
    summary.add_argument("--models", nargs="+", required=True, help="model names")
    summary.add_argument(
        "--presets", default="{}", type=json.loads, help='JSON {"model": "small", ...}'
    )
    summary.add_argument(
        "--eval", nargs="+", required=True, type=Path, help="eval/{model}/summary.tsv per model"
    )
    summary.add_argument(
        "--motifs", nargs="*", default=[], type=Path, help="motifs/{model}/summary.tsv per model"
    )
    summary.add_argument(
        "--variants", nargs="*", default=[], type=Path, help="variants/{model}/{name}.top.tsv"
    )
    summary.add_argument(
        "--modisco",
        nargs="*",
        default=[],
        type=Path,
        help="modisco/{model}/table.tsv of the models whose attributions were run",
    )
    summary.add_argument("--out-table", required=True, type=Path)
    summary.add_argument("--out-html", required=True, type=Path)
    summary.add_argument("--out-rst", required=True, type=Path, help="caption of the HTML item")
    summary.set_defaults(func=run_report_summary)


def _read(path: Path):
    if not path.is_file():
        raise InputError(path, "file not found")
    return read_tsv(path)


def run_report_summary(args: argparse.Namespace) -> None:
    from seq2chrom.report.summary import ModelResults, summary_html, summary_rows, summary_rst

    if len(args.eval) != len(args.models) or len(args.motifs) not in (0, len(args.models)):
        raise InputError("--eval", "give one --eval (and --motifs) file per model, in order")
    results = []
    for i, model in enumerate(args.models):
        result = ModelResults(
            model,
            args.presets.get(model, "full"),
            _read(args.eval[i]),
            str(args.eval[i].with_suffix(".html")),
        )
        if args.motifs:
            result.motifs = _read(args.motifs[i])
            result.motifs_link = str(args.motifs[i].with_suffix(".html"))
        for path in args.modisco:
            if path.parent.name == model:
                result.modisco = _read(path)
                result.modisco_link = str(path.with_suffix(".html"))
        for path in args.variants:
            if path.parent.name == model:
                name = path.name.removesuffix(".top.tsv")
                result.variants[name] = (_read(path), str(path.with_suffix(".html")))
        results.append(result)
    table = summary_rows(results)
    presets = {r.name: r.preset for r in results}
    write_tsv(table, args.out_table, na="")
    with atomic_output(args.out_html) as tmp:
        tmp.write_text(summary_html(table, presets), encoding="utf-8")
    with atomic_output(args.out_rst) as tmp:
        tmp.write_text(summary_rst(table, presets), encoding="utf-8")
