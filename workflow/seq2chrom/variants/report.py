"""Report items of the variant step: the strongest variants, the tracks they move, a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output, read_tsv
from seq2chrom.variants.score import SUMMARY_TEXT


def strongest_track_table(top: pd.DataFrame) -> pd.DataFrame:
    """Per track: variants whose largest |diff| falls on it, their median and largest |diff|.

    top: a ``.top.tsv`` table (columns top_track, max_abs_diff, ...). Sorted by largest |diff|.
    """
    grouped = top.groupby("top_track")["max_abs_diff"]
    table = pd.DataFrame(
        {
            "variants": grouped.size(),
            "median_max_abs_diff": grouped.median(),
            "largest_abs_diff": grouped.max(),
        }
    )
    table = table.sort_values("largest_abs_diff", ascending=False, kind="stable")
    return table.rename_axis("track").reset_index()


def effects_figure(top: pd.DataFrame, *, title: str, n_tracks: int = 12):
    """Figure: variants ranked by their largest |diff| (the three strongest labelled), and for
    the `n_tracks` tracks most often hit, how many variants have their largest effect there.
    Returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), dpi=90)
    ranked, per_track = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    values = top["max_abs_diff"].to_numpy(np.float64)
    signs = np.sign(top["top_diff"].to_numpy(np.float64))
    rank = np.arange(1, len(values) + 1)
    colours = np.where(signs < 0, "#d62839", "#255c99")
    ranked.scatter(rank, values, s=10, c=colours, linewidths=0)
    for k, row in enumerate(top.head(3).itertuples(index=False)):
        ranked.annotate(
            f"{row.variant_id} ({row.top_track})",
            (rank[k], row.max_abs_diff),
            fontsize=7,
            xytext=(8, -4 - 11 * k),  # stacked, so close values do not overlap
            textcoords="offset points",
            va="center",
            arrowprops={"arrowstyle": "-", "color": "#9aa5b1", "linewidth": 0.6},
        )
    ranked.set_xscale("log")
    ranked.set_xlabel("variant rank")
    ranked.set_ylabel("largest |alt - ref| over tracks")
    ranked.set_title(f"{title}: red = alt lowers, blue = alt raises", fontsize=9, loc="left")
    tracks = strongest_track_table(top).sort_values("variants", kind="stable").tail(n_tracks)
    per_track.barh(tracks["track"], tracks["variants"], color="#3e4c59")
    per_track.set_xlabel("variants with their largest effect on the track")
    per_track.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    return figure


def write_variant_report(
    top_path: Path, out_html: Path, out_png: Path, *, rows: int = 50, title: str = ""
) -> None:
    """`seq2chrom variant-report`: from a ``.top.tsv`` write `out_html` (the `rows` strongest
    variants, then `strongest_track_table`) and `out_png` (`effects_figure`)."""
    from seq2chrom.report.tables import table_html, tables_html

    if not top_path.is_file():
        raise InputError(top_path, "file not found", fix="run score-variants first")
    top = read_tsv(top_path, text=SUMMARY_TEXT)
    if top.empty:
        page = table_html(top, title=title, note="No variant was scored.")
    else:
        page = tables_html(
            [
                (f"{title}: the {min(rows, len(top))} strongest variants (of the {len(top)} in "
                 "top.tsv)", top.head(rows)),
                ("Tracks by the variants whose largest effect falls on them",
                 strongest_track_table(top)),
            ],
            title=title or "variants",
        )  # fmt: skip
    with atomic_output(out_html) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_output(out_png) as tmp:
        if top.empty:
            from matplotlib.figure import Figure

            figure = Figure(figsize=(6, 2))
            figure.text(0.5, 0.5, "no variant scored", ha="center")
        else:
            figure = effects_figure(top, title=title)
        figure.savefig(tmp, format="png")
