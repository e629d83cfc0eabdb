"""CLI subcommands of the report stage: `seq2chrom config-html` and `tracks-table`.

pandas is imported inside the handlers, so that `seq2chrom <step>` starts fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from seq2chrom import __version__
from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_output, read_tsv, write_tsv

if TYPE_CHECKING:
    import pandas as pd


def register(subparsers) -> None:
    config = subparsers.add_parser(
        "config-html",
        help="render the effective workflow config and the tracks sheet as HTML tables",
        description="Render the effective config (JSON) and the tracks sheet as one HTML page.",
    )
    config.add_argument("--config-json", required=True, help="the config as a JSON string")
    config.add_argument("--tracks", default="", help="tracks sheet (TSV); empty: settings only")
    config.add_argument("--out", required=True, type=Path, help="config.html to write")
    config.set_defaults(func=run_config_html)

    tracks = subparsers.add_parser(
        "tracks-table",
        help="one row per track: source, peaks, positive bins, new or not, metrics per model",
        description="Write the report's Tracks table (TSV and HTML): one row per track of the "
        "sheet with its source, peak count, positive bins (data summary), whether it is new since "
        "the base model, and each model's test AUROC and AUPRC.",
    )
    tracks.add_argument("--tracks", required=True, type=Path, help="track sheet (TSV)")
    tracks.add_argument(
        "--summary", required=True, type=Path, help="results/data/summary.tsv (positive bins)"
    )
    tracks.add_argument(
        "--peaks",
        nargs="+",
        required=True,
        type=Path,
        help="local peak file per track, sheet order",
    )
    tracks.add_argument("--metrics", nargs="*", default=[], type=Path, help="metrics.tsv per model")
    tracks.add_argument("--models", nargs="*", default=[], help="model name per --metrics file")
    tracks.add_argument(
        "--base-config",
        default="",
        help="config.yaml of the base model (its `tracks` list); empty: no base model",
    )
    tracks.add_argument("--out-table", required=True, type=Path, help="tracks.tsv to write")
    tracks.add_argument("--out-html", required=True, type=Path, help="tracks.html to write")
    tracks.set_defaults(func=run_tracks_table)


def flatten_config(config: dict, prefix: str = "") -> pd.DataFrame:
    """Nested config -> table with columns `key, value` (dotted keys, JSON-like values)."""
    import pandas as pd

    rows: list[dict[str, str]] = []

    def walk(node: object, key: str) -> None:
        if isinstance(node, dict) and node:
            for name, child in node.items():
                walk(child, f"{key}.{name}" if key else str(name))
        elif isinstance(node, list):
            rows.append({"key": key, "value": ", ".join(str(item) for item in node) or "[]"})
        elif node is None or node == "" or node == {}:
            rows.append({"key": key, "value": "(not set)"})
        else:
            rows.append({"key": key, "value": str(node)})

    walk(config, prefix)
    return pd.DataFrame(rows, columns=["key", "value"])


def train_by_model(config: dict) -> pd.DataFrame:
    """The train settings each model of `config` trains with (`config.model_train`): columns
    `key` and one per model, "<value> (own)" where models.<model>.train sets the key."""
    import pandas as pd

    from seq2chrom.config import model_train

    columns = []
    for model in config["models"]:
        own = set(flatten_config(config["models"][model].get("train", {}))["key"])
        column = flatten_config(model_train(config, model)).set_index("key")["value"]
        columns.append(column.where(~column.index.isin(own), column + " (own)").rename(model))
    table = pd.concat(columns, axis=1, sort=False).fillna("(not set)")
    return table.rename_axis("key").reset_index()


def run_config_html(args: argparse.Namespace) -> None:
    from seq2chrom.report.tables import tables_html

    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise InputError("--config-json", f"not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise InputError("--config-json", "expected a JSON object")
    sections = [(f"Workflow settings (seq2chrom {__version__})", flatten_config(config))]
    if config.get("models") and "train" in config:
        title = "Training settings per model (train, with models.<name>.train over it)"
        sections.append((title, train_by_model(config)))
    if args.tracks:
        if not Path(args.tracks).is_file():
            raise InputError(args.tracks, "tracks sheet not found")
        sections.append((f"Tracks ({args.tracks})", read_tsv(args.tracks)))
    page = tables_html(sections, title=f"seq2chrom {__version__} configuration")
    with atomic_output(args.out) as tmp:
        tmp.write_text(page, encoding="utf-8")


def run_tracks_table(args: argparse.Namespace) -> None:
    from seq2chrom.data.peaks import count_peaks
    from seq2chrom.data.summary import read_positive_bins
    from seq2chrom.data.tracksheet import read_table
    from seq2chrom.evaluate.files import read_metrics_table
    from seq2chrom.modelfile import require_model_tracks
    from seq2chrom.report.tables import table_html
    from seq2chrom.report.tracks import tracks_note, tracks_table

    sheet = read_table(args.tracks)
    if len(args.peaks) != len(sheet):
        raise InputError(
            "--peaks", f"{len(args.peaks)} peak files for {len(sheet)} tracks of {args.tracks}"
        )
    if len(args.metrics) != len(args.models):
        raise InputError("--models", f"{len(args.models)} names for {len(args.metrics)} files")
    if not args.summary.is_file():
        raise InputError(args.summary, "file not found")
    metrics = {
        model: read_metrics_table(path)
        for model, path in zip(args.models, args.metrics, strict=True)
    }
    base = args.base_config or None
    table = tracks_table(
        sheet,
        peaks=[count_peaks(path) for path in args.peaks],
        positive_bins=read_positive_bins(args.summary),
        metrics=metrics,
        base_tracks=require_model_tracks(base) if base else None,
    )
    write_tsv(table, args.out_table, floats=SIGNIFICANT_FLOATS)
    with atomic_output(args.out_html) as tmp:
        page = table_html(table, title="Tracks", note=tracks_note(table, base))
        tmp.write_text(page, encoding="utf-8")
