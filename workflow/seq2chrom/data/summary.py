"""Data summary: samples per split and positives per track per split (labels.h5 or split files)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output, read_tsv, write_tsv
from seq2chrom.splitfile import SPLITS, TrackColumns

#: Label of the first summary row (samples per split); contains a space, so no track has it.
ALL_BINS = "all samples"


def summarize_labels(labels_path: str | Path, block_rows: int = 1 << 16) -> pd.DataFrame:
    """Counts per split: a first row `all samples` (bins per split), then one row per track.

    Columns: track, assay, cell_type, train, valid, test, total (int), and positive_fraction
    (total / all samples). Reads y in row blocks (memory independent of N).
    """
    from seq2chrom.data.assemble import open_labels

    with open_labels(labels_path) as labels:
        split, y = labels.split, labels.y
        positives = np.zeros((len(SPLITS), len(labels.columns.tracks)), np.int64)
        for begin in range(0, split.shape[0], block_rows):
            block = y[begin : begin + block_rows]
            codes = split[begin : begin + block_rows]
            for code in range(len(SPLITS)):
                positives[code] += block[codes == code].sum(axis=0, dtype=np.int64)
    samples = np.bincount(split, minlength=len(SPLITS))[: len(SPLITS)]
    return summary_table(labels.columns, samples, positives)


def summary_table(
    columns: TrackColumns, samples: np.ndarray, positives: np.ndarray
) -> pd.DataFrame:
    """The summary table from counts: samples (S,) per split and positives (S, T), SPLITS order.

    Columns: track (first row `all samples`), assay, cell_type, train, valid, test, total (int),
    and positive_fraction (total / all samples, 4 decimals).
    """
    table = pd.DataFrame(
        {
            "track": [ALL_BINS, *columns.tracks],
            "assay": ["", *columns.assays],
            "cell_type": ["", *columns.cell_types],
            **{
                name: np.concatenate([[samples[code]], positives[code]])
                for code, name in enumerate(SPLITS)
            },
        }
    )
    table["total"] = table[list(SPLITS)].sum(axis=1)
    table["positive_fraction"] = (table["total"] / max(int(samples.sum()), 1)).round(4)
    return table


def write_summary(
    table: pd.DataFrame, out_table: str | Path, out_html: str | Path, title: str
) -> None:
    """Write the summary as TSV and as an HTML page (`summary_html`), both atomically."""
    with atomic_output(out_table) as tsv, atomic_output(out_html) as page:
        write_tsv(table, tsv)
        page.write_text(summary_html(table, title=title), encoding="utf-8")


def read_positive_bins(path: str | Path) -> dict[str, int]:
    """Positive bins per track (all splits, column total) of a summary TSV (`write_summary`)."""
    table = read_tsv(path, text=("track", "assay", "cell_type"))  # a track may be named NA
    if not {"track", "total"} <= set(table.columns):
        raise InputError(path, "no columns 'track' and 'total'", fix="rerun data-summary")
    table = table[table["track"] != ALL_BINS]
    return dict(zip(table["track"], table["total"].astype(int), strict=True))


def summary_html(table: pd.DataFrame, title: str = "seq2chrom data summary") -> str:
    """A self-contained HTML page with the summary table."""
    body = table.to_html(index=False, border=0, classes="summary", escape=True)
    style = (
        "body{font-family:sans-serif;margin:2em}"
        "table.summary{border-collapse:collapse}"
        "table.summary td,table.summary th{padding:.25em .8em;text-align:right}"
        "table.summary td:nth-child(-n+3),table.summary th:nth-child(-n+3){text-align:left}"
        "table.summary tr:nth-child(even){background:#f2f2f2}"
        "table.summary tbody tr:first-child{font-weight:bold}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head>\n<body><h1>{html.escape(title)}</h1>\n"
        "<p>Samples (selected bins) per split, then positive samples per track per split.</p>\n"
        f"{body}\n</body></html>\n"
    )
