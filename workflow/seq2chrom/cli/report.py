"""CLI subcommands of the report stage: `seq2chrom table-html` and `seq2chrom config-html`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output


def register(subparsers) -> None:
    table = subparsers.add_parser(
        "table-html",
        help="render a TSV file as a standalone styled HTML table for the report",
        description="Render a TSV file as a standalone styled HTML table for the report.",
    )
    table.add_argument("tsv", type=Path)
    table.add_argument("html", type=Path)
    table.add_argument("--title", default="", help="heading above the table")
    table.add_argument("--note", default="", help="one paragraph under the heading")
    table.set_defaults(func=run_table_html)

    config = subparsers.add_parser(
        "config-html",
        help="render the effective workflow config and the tracks sheet as HTML tables",
        description="Render the effective config (JSON) and the tracks sheet as one HTML page.",
    )
    config.add_argument("--config-json", required=True, help="the config as a JSON string")
    config.add_argument("--tracks", required=True, type=Path, help="tracks sheet (TSV)")
    config.add_argument("--output", required=True, type=Path)
    config.set_defaults(func=run_config_html)


def flatten_config(config: dict, prefix: str = "") -> pd.DataFrame:
    """Nested config -> table with columns `key, value` (dotted keys, JSON-like values)."""
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


def run_table_html(args: argparse.Namespace) -> None:
    from seq2chrom.report.tables import read_tsv, table_html

    if not args.tsv.is_file():
        raise InputError(args.tsv, "file not found")
    try:
        table = read_tsv(args.tsv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(args.tsv, f"not a readable TSV file ({error})") from None
    with atomic_output(args.html) as tmp:
        tmp.write_text(table_html(table, title=args.title, note=args.note), encoding="utf-8")


def run_config_html(args: argparse.Namespace) -> None:
    from seq2chrom.report.tables import read_tsv, tables_html

    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise InputError("--config-json", f"not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise InputError("--config-json", "expected a JSON object")
    if not args.tracks.is_file():
        raise InputError(args.tracks, "tracks sheet not found")
    tracks = read_tsv(args.tracks)
    page = tables_html(
        [("Workflow settings", flatten_config(config)), (f"Tracks ({args.tracks})", tracks)],
        title="seq2chrom configuration",
    )
    with atomic_output(args.output) as tmp:
        tmp.write_text(page, encoding="utf-8")
