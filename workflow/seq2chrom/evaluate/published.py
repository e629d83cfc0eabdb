"""Compare a run on the DeepSEA bundle with the published per-track AUROC and AUPRC.

The published numbers (DeepSEA, DanQ, DanQ-JASPAR; from the DanQ repository's aucs.txt) are
the columns of the shipped track table, one row per bundle label column. A run's metrics.tsv
lists the same 919 columns in the same order, so rows are paired by position (a user-given
`data.bundle_targets` may rename the tracks, not reorder the bundle).

Each published column is compared with the run's metric computed as that model's authors
computed theirs (`MEASURES`): DeepSEA's paper scored the mean of the forward and
reverse-complement predictions of each test sequence, as metrics.tsv does (``auroc``,
``auprc``); DanQ_test.py predicted the 455,024 rows of test.mat as they are, both strands of the
227,512 test sequences, each a sample of its own (``auroc_per_strand``, ``auprc_per_strand``:
`per_strand_metrics`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seq2chrom.data.bundle import read_track_table  # noqa: E402
from seq2chrom.evaluate.metrics import track_metrics  # noqa: E402
from seq2chrom.evaluate.plots import scatter_by_assay  # noqa: E402
from seq2chrom.evaluate.summary import ALL, assay_classes  # noqa: E402

#: Published model -> column prefix in the track table.
PUBLISHED = {"DeepSEA": "deepsea", "DanQ": "danq", "DanQ-JASPAR": "danq_jaspar"}
METRICS = ("auroc", "auprc")
RUN = "this_run"
PER_STRAND = "per_strand"
#: Published column prefix -> how its authors scored the test set, and so which of this run's
#: columns it is compared with: "strand_mean" (``auroc``) or "per_strand" (``auroc_per_strand``).
MEASURES = {"deepsea": "strand_mean", "danq": PER_STRAND, "danq_jaspar": PER_STRAND}
MEASURE_WORDS = {"strand_mean": "strand mean", PER_STRAND: "per strand"}


def run_column(metric: str, prefix: str) -> str:
    """This run's column compared with published `prefix`'s `metric` (auroc, auprc)."""
    return metric if MEASURES[prefix] == "strand_mean" else f"{metric}_{PER_STRAND}"


def per_strand_metrics(
    y_true: np.ndarray, y_strands: np.ndarray, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AUPRC of every track with each strand a sample of its own (DanQ_test.py).

    y_true: (N, T) 0/1 labels of the forward sequences; y_strands: (2, N, T) float, the
    predictions of the forward sequences [0] and of their reverse complements [1] (`seq2chrom
    predict --strands each`). The 2N samples, forward rows then their reverse complements with
    the same labels, are test.mat's rows in its order. Returns (T,) float64 each, NaN where
    `metrics.track_metrics` gives NaN.
    """
    y_true, y_strands = np.asarray(y_true), np.asarray(y_strands)
    if y_strands.shape != (2, *y_true.shape):
        raise ValueError(f"y_strands {y_strands.shape} must be (2, *y_true {y_true.shape})")
    stacked = y_strands.reshape(2 * y_true.shape[0], *y_true.shape[1:])  # no copy
    auroc, auprc, _ = track_metrics(np.concatenate([y_true, y_true]), stacked, threads=threads)
    return auroc, auprc


def with_per_strand(
    metrics: pd.DataFrame,
    y_true: np.ndarray,
    y_strands: np.ndarray,
    *,
    threads: int | None = None,
) -> pd.DataFrame:
    """`metrics` (metrics.tsv's table, one row per column of y_true) with the columns
    ``auroc_per_strand`` and ``auprc_per_strand`` of `per_strand_metrics` added; NaN where
    metrics has no AUROC (too few positives, a collapsed model), so that both measures cover
    the same tracks."""
    auroc, auprc = per_strand_metrics(y_true, y_strands, threads=threads)
    if len(metrics) != len(auroc):
        raise ValueError(f"{len(metrics)} metrics rows for {len(auroc)} label columns")
    scored = metrics["auroc"].notna().to_numpy()
    return metrics.assign(
        **{
            f"auroc_{PER_STRAND}": np.where(scored, auroc, np.nan),
            f"auprc_{PER_STRAND}": np.where(scored, auprc, np.nan),
        }
    )


def compare_with_published(
    metrics: pd.DataFrame, published: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per-track table: this run's metrics beside the published ones.

    metrics: metrics.tsv's table (strand-mean ``auroc``, ``auprc``) with the columns
    ``auroc_per_strand`` and ``auprc_per_strand`` added (`per_strand_metrics`).
    Rows are paired by position when both tables have the same length (the full bundle, maybe
    with renamed tracks), otherwise by track name (tracks not in the published table get NaN).

    Returns columns track, assay, cell_type, n_pos, auroc, auprc, auroc_per_strand,
    auprc_per_strand, then `<model>_auroc` and `<model>_auprc` for deepsea, danq, danq_jaspar
    (NaN where not published), and `published_track` (the name in the published table).
    """
    missing = [f"{m}_{PER_STRAND}" for m in METRICS if f"{m}_{PER_STRAND}" not in metrics]
    if missing:
        raise ValueError(f"metrics lack the per-strand columns {missing}")
    published = read_track_table() if published is None else published
    if len(metrics) != len(published):  # not the full bundle: pair by track name
        published = (
            published.set_index("track", drop=False)
            .reindex(metrics["track"].to_numpy())
            .assign(track=metrics["track"].to_numpy())
            .reset_index(drop=True)
        )
    columns = ["track", "assay", "n_pos", *METRICS, *(f"{m}_{PER_STRAND}" for m in METRICS)]
    table = metrics[columns].reset_index(drop=True).copy()
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
    n_tracks, n_compared, then for auroc and auprc: `median_<metric>_this_run` (strand mean),
    `median_<metric>_this_run_per_strand`, `median_<metric>_<model>`, `mean_...` alike, and
    `wins_<metric>_vs_<model>`: tracks where this run is higher, measured as that model was
    (`run_column`).
    """
    rows = []
    needed = [f"{p}_auroc" for p in PUBLISHED.values()] + ["auroc", f"auroc_{PER_STRAND}"]
    for assay in [*assay_classes(tracks["assay"]), ALL]:
        part = tracks if assay == ALL else tracks[tracks["assay"] == assay]
        row: dict[str, object] = {"assay": assay, "n_tracks": len(part)}
        compared = part.dropna(subset=needed)
        row["n_compared"] = len(compared)
        for metric in METRICS:
            columns = {RUN: metric, f"{RUN}_{PER_STRAND}": f"{metric}_{PER_STRAND}"}
            columns |= {p: f"{p}_{metric}" for p in PUBLISHED.values()}
            for stat, function in (("median", np.median), ("mean", np.mean)):
                for name, column in columns.items():
                    values = compared[column].to_numpy(np.float64)
                    value = float(function(values)) if values.size else np.nan
                    row[f"{stat}_{metric}_{name}"] = value
            for prefix in PUBLISHED.values():
                ours = compared[run_column(metric, prefix)].to_numpy()
                ahead = ours > compared[f"{prefix}_{metric}"].to_numpy()
                row[f"wins_{metric}_vs_{prefix}"] = int(ahead.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def display_name(column: str, model: str) -> str:
    """A comparison table's column as the page heads it, naming the measure: e.g.
    ``median_auroc_this_run_per_strand`` -> "median auroc (danq, per strand)",
    ``wins_auroc_vs_deepsea`` -> "wins auroc vs DeepSEA (strand mean)"."""
    names = {prefix: published for published, prefix in PUBLISHED.items()}
    published = re.fullmatch(r"(\w+)_(auroc|auprc)", column)
    if published and published[1] in names:  # a per-track published column
        prefix, metric = published.groups()
        return f"{names[prefix]} {metric} ({MEASURE_WORDS[MEASURES[prefix]]})"
    match = re.fullmatch(r"(?:(median|mean|wins)_)?(auroc|auprc)(?:_(?:vs_)?(\w+))?", column)
    if match is None:
        return column.replace("_", " ")
    stat, metric, owner = match.groups()
    head = f"{stat} {metric}" if stat else metric
    if owner in names:
        joiner = " vs " if stat == "wins" else " "
        return f"{head}{joiner}{names[owner]} ({MEASURE_WORDS[MEASURES[owner]]})"
    if owner in (PER_STRAND, f"{RUN}_{PER_STRAND}"):
        return f"{head} ({model}, per strand)"
    if owner in (None, RUN):
        return f"{head} ({model}, strand mean)"
    return column.replace("_", " ")


def comparison_html(classes: pd.DataFrame, tracks: pd.DataFrame, model: str) -> str:
    """A self-contained page: the per-class table, then every track."""
    title = f"{model} on the DeepSEA bundle vs published DeepSEA, DanQ and DanQ-JASPAR"
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:90%}"
        "td,th{padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
        "tr:nth-child(even){background:#f2f2f2}"
    )
    shown, per_track = classes.copy(), tracks.copy()
    for table in (shown, per_track):
        table.columns = [display_name(column, model) for column in table.columns]
    options = {"index": False, "border": 0, "float_format": "{:.4f}".format, "na_rep": "NA"}
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head>\n<body><h1>{html.escape(title)}</h1>\n"
        "<p>Per assay class: median and mean test AUROC and AUPRC of this run and the published "
        "models over the same tracks (<i>n compared</i>), and the number of tracks on which "
        "this run is higher (<i>wins</i>), each published model against this run measured as "
        "its authors measured: <b>DeepSEA</b> against the <b>strand mean</b> (the mean of the "
        "forward and reverse-complement predictions of each of the 227,512 test sequences, as "
        "DeepSEA's paper scored), <b>DanQ</b> and <b>DanQ-JASPAR</b> against the <b>per-strand"
        "</b> values (both strands, 455,024 samples, each its own sample, as DanQ_test.py "
        "predicted test.mat).</p>\n"
        f"{shown.to_html(**options)}\n<h2>Per track</h2>\n{per_track.to_html(**options)}\n"
        "</body></html>\n"
    )


def plot_published_scatter(tracks: pd.DataFrame, model: str, path: str | Path) -> None:
    """Per-track AUROC of this run (y) against published DeepSEA and DanQ (x), by assay: the
    strand mean against DeepSEA, the per-strand AUROC against DanQ (`MEASURES`)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, (name, prefix) in zip(axes, [("DeepSEA", "deepsea"), ("DanQ", "danq")], strict=True):
        y = tracks[run_column("auroc", prefix)].to_numpy(np.float64)
        x = tracks[f"{prefix}_auroc"].to_numpy(np.float64)
        words = MEASURE_WORDS[MEASURES[prefix]]
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
                f"published {name} AUROC ({words})",
                f"{model} AUROC ({words})",
                f"{model} higher on {wins} of {both.sum()}",
            ),
            legend="upper left",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
