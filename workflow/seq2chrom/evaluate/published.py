"""Compare a run on the DeepSEA bundle with the published per-track AUROC and AUPRC.

The published numbers (DeepSEA, DanQ, DanQ-JASPAR; from the DanQ repository's aucs.txt) are
the columns of the shipped track table, one row per bundle label column. A run's metrics.tsv
lists the same 919 columns in the same order, so rows are paired by position (a user-given
`data.bundle_targets` may rename the tracks, not reorder the bundle).
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seq2chrom.data.bundle import read_track_table  # noqa: E402
from seq2chrom.evaluate.plots import scatter_by_assay  # noqa: E402
from seq2chrom.evaluate.summary import ALL, assay_classes  # noqa: E402

#: Published model -> column prefix in the track table.
PUBLISHED = {"DeepSEA": "deepsea", "DanQ": "danq", "DanQ-JASPAR": "danq_jaspar"}
METRICS = ("auroc", "auprc")
RUN = "this_run"


def compare_with_published(
    metrics: pd.DataFrame, published: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per-track table: this run's metrics beside the published ones.

    Rows are paired by position when both tables have the same length (the full bundle, maybe
    with renamed tracks), otherwise by track name (tracks not in the published table get NaN).

    Returns columns track, assay, cell_type, n_pos, auroc, auprc, then `<model>_auroc` and
    `<model>_auprc` for deepsea, danq, danq_jaspar (NaN where not published), and
    `published_track` (the name in the published table).
    """
    published = read_track_table() if published is None else published
    if len(metrics) != len(published):  # not the full bundle: pair by track name
        published = (
            published.set_index("track", drop=False)
            .reindex(metrics["track"].to_numpy())
            .assign(track=metrics["track"].to_numpy())
            .reset_index(drop=True)
        )
    table = metrics[["track", "assay", "n_pos", "auroc", "auprc"]].reset_index(drop=True).copy()
    table.insert(2, "cell_type", metrics.get("cell_type", ""))
    for prefix in PUBLISHED.values():
        for metric in METRICS:
            column = f"{prefix}_{metric}"
            table[column] = pd.to_numeric(published[column], errors="coerce").to_numpy()
    table["published_track"] = published["track"].to_numpy()
    return table


def class_comparison(tracks: pd.DataFrame) -> pd.DataFrame:
    """Mean and median per assay class (and `all`), this run beside each published model.

    Statistics are over the tracks with a value in this run and in the published table
    (`n_compared`), so every column of a row covers the same tracks. Columns: assay,
    n_tracks, n_compared, then for auroc and auprc: `median_<metric>_this_run`,
    `median_<metric>_<model>`, `mean_...` alike, and `wins_<metric>_vs_<model>` (tracks where
    this run is higher).
    """
    rows = []
    for assay in [*assay_classes(tracks["assay"]), ALL]:
        part = tracks if assay == ALL else tracks[tracks["assay"] == assay]
        row: dict[str, object] = {"assay": assay, "n_tracks": len(part)}
        compared = part.dropna(subset=[f"{p}_auroc" for p in PUBLISHED.values()] + ["auroc"])
        row["n_compared"] = len(compared)
        for metric in METRICS:
            columns = {RUN: metric} | {p: f"{p}_{metric}" for p in PUBLISHED.values()}
            for stat, function in (("median", np.median), ("mean", np.mean)):
                for name, column in columns.items():
                    values = compared[column].to_numpy(np.float64)
                    value = float(function(values)) if values.size else np.nan
                    row[f"{stat}_{metric}_{name}"] = value
            for prefix in PUBLISHED.values():
                ahead = compared[metric].to_numpy() > compared[f"{prefix}_{metric}"].to_numpy()
                row[f"wins_{metric}_vs_{prefix}"] = int(ahead.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_html(classes: pd.DataFrame, tracks: pd.DataFrame, model: str) -> str:
    """A self-contained page: the per-class table, then every track."""
    title = f"{model} on the DeepSEA bundle vs published DeepSEA, DanQ and DanQ-JASPAR"
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:90%}"
        "td,th{padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "tr:nth-child(even){background:#f2f2f2}"
    )
    shown = classes.copy()
    shown.columns = [c.replace("_this_run", f" ({model})").replace("_", " ") for c in shown.columns]
    options = {"index": False, "border": 0, "float_format": "{:.4f}".format, "na_rep": "NA"}
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head>\n<body><h1>{html.escape(title)}</h1>\n"
        "<p>Per assay class: median and mean test AUROC and AUPRC of this run and the published "
        "models over the same tracks (<i>n compared</i>), and the number of tracks on which "
        "this run is higher (<i>wins</i>).</p>\n"
        f"{shown.to_html(**options)}\n<h2>Per track</h2>\n{tracks.to_html(**options)}\n"
        "</body></html>\n"
    )


def plot_published_scatter(tracks: pd.DataFrame, model: str, path: str | Path) -> None:
    """Per-track AUROC of this run (y) against published DeepSEA and DanQ (x), by assay."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    y = tracks["auroc"].to_numpy(np.float64)
    for ax, (name, prefix) in zip(axes, [("DeepSEA", "deepsea"), ("DanQ", "danq")], strict=True):
        x = tracks[f"{prefix}_auroc"].to_numpy(np.float64)
        both = ~(np.isnan(x) | np.isnan(y))
        low = float(np.min(np.concatenate([x[both], y[both]]))) if both.any() else 0.5
        wins = int((y[both] > x[both]).sum())
        scatter_by_assay(
            ax,
            x,
            y,
            tracks["assay"],
            low=max(0.0, min(low, 0.5) - 0.02),
            size=8,
            labels=(
                f"published {name} AUROC",
                f"{model} AUROC",
                f"{model} higher on {wins} of {both.sum()}",
            ),
            legend="upper left",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
