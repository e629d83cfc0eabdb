"""Figures of the evaluation: ROC/PR curves per assay class and model-vs-model scatters.

The curves follow DeepSEA's figures (one panel per assay class, one thin line per track, the
median AUC in the legend); the scatters follow DanQ's comparison with DeepSEA (one point per
track, the diagonal for equal performance). Uses matplotlib's Agg backend (no display).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seq2chrom.evaluate.metrics import TrackCurves  # noqa: E402
from seq2chrom.evaluate.summary import assay_classes, paired_metrics  # noqa: E402

CLASS_COLOURS = {"TF": "#1f77b4", "DNase": "#2ca02c", "Histone": "#d62728"}
_OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
METRIC_LABELS = {"auroc": "AUROC", "auprc": "AUPRC"}


def class_colour(assay: str, classes: Sequence[str]) -> str:
    """Fixed colours for TF, DNase, Histone; others cycle through a palette."""
    if assay in CLASS_COLOURS:
        return CLASS_COLOURS[assay]
    others = [a for a in classes if a not in CLASS_COLOURS]
    return _OTHER_COLOURS[others.index(assay) % len(_OTHER_COLOURS)]


def plot_curves(
    curves: Sequence[TrackCurves | None],
    metrics: pd.DataFrame,
    path: str | Path,
    *,
    title: str = "",
) -> None:
    """ROC (top row) and precision-recall (bottom row) curves, one column per assay class.

    Parameters
    ----------
    curves : one entry per row of `metrics` (None for tracks without both classes)
    metrics : `metrics_table` output; only tracks with status "ok" are drawn, and the legend
        gives their median AUROC / AUPRC and count
    path : PNG to write
    title : figure title (e.g. the model name)
    """
    if len(curves) != len(metrics):
        raise ValueError(f"{len(curves)} curves for {len(metrics)} metric rows")
    classes = assay_classes(metrics["assay"])
    n_cols = max(1, len(classes))
    fig, axes = plt.subplots(2, n_cols, figsize=(4 * n_cols, 8), squeeze=False)
    ok = (metrics["status"] == "ok").to_numpy()
    for col, assay in enumerate(classes):
        rows = np.flatnonzero(ok & (metrics["assay"] == assay).to_numpy())
        colour = class_colour(assay, classes)
        alpha = float(np.clip(6 / max(len(rows), 1), 0.08, 0.9))
        roc_ax, pr_ax = axes[0, col], axes[1, col]
        for i in rows:
            curve = curves[i]
            if curve is None:
                continue
            roc_ax.plot(curve.fpr, curve.tpr, color=colour, lw=0.6, alpha=alpha)
            pr_ax.plot(curve.recall, curve.precision, color=colour, lw=0.6, alpha=alpha)
        roc_ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
        n = len(rows)
        roc_label = _median_label("AUROC", metrics["auroc"].to_numpy()[rows], n)
        pr_label = _median_label("AUPRC", metrics["auprc"].to_numpy()[rows], n)
        # legend entries: a thick line in the class colour carrying the median
        roc_ax.plot([], [], color=colour, lw=2, label=roc_label)
        pr_ax.plot([], [], color=colour, lw=2, label=pr_label)
        roc_ax.set(title=f"{assay}: ROC", xlabel="False positive rate", ylabel="True positive rate")
        pr_ax.set(title=f"{assay}: precision-recall", xlabel="Recall", ylabel="Precision")
        for ax in (roc_ax, pr_ax):
            ax.set(xlim=(0, 1), ylim=(0, 1.01))
            ax.set_aspect("equal")
            ax.legend(loc="lower right" if ax is roc_ax else "upper right", fontsize=8)
    if not classes:
        for ax in axes.ravel():
            ax.text(0.5, 0.5, "no tracks", ha="center", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_model_scatter(
    metrics_by_model: dict[str, pd.DataFrame],
    metric: str,
    path: str | Path,
) -> None:
    """Per-track `metric` of one model against another, coloured by assay class.

    Draws one panel per pair of models (a single panel for two models), the first model of the
    pair on the x axis, the diagonal y = x, and in each panel's title how many tracks each model
    wins. Tracks without the metric in either model are left out.
    """
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {sorted(METRIC_LABELS)}, got {metric!r}")
    models = list(metrics_by_model)
    if len(models) < 2:
        raise ValueError("a model comparison needs at least two models")
    paired = paired_metrics(metrics_by_model)
    pairs = list(itertools.combinations(models, 2))
    n_cols = min(3, len(pairs))
    n_rows = -(-len(pairs) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.6 * n_cols, 4.6 * n_rows), squeeze=False)
    label = METRIC_LABELS[metric]
    for ax, (x_model, y_model) in zip(axes.ravel(), pairs, strict=False):
        x = paired[f"{metric}_{x_model}"].to_numpy()
        y = paired[f"{metric}_{y_model}"].to_numpy()
        both = ~(np.isnan(x) | np.isnan(y))
        low = float(np.nanmin(np.concatenate([x[both], y[both]]))) if both.any() else 0.0
        low = max(0.0, min(low, 0.5) - 0.02) if metric == "auroc" else 0.0
        x_wins = int((x[both] > y[both]).sum())
        y_wins = int((y[both] > x[both]).sum())
        scatter_by_assay(
            ax,
            x,
            y,
            paired["assay"],
            low=low,
            size=10,
            labels=(
                f"{x_model} {label}",
                f"{y_model} {label}",
                f"{label}: {y_model} wins {y_wins}, {x_model} wins {x_wins}",
            ),
            legend="lower right",
        )
    for ax in axes.ravel()[len(pairs) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scatter_by_assay(
    ax: plt.Axes,
    x: np.ndarray,
    y: np.ndarray,
    assays: pd.Series,
    *,
    low: float,
    size: float,
    labels: tuple[str, str, str],
    legend: str,
) -> None:
    """One point per track where both x and y (N,) are known, coloured by assay class, on
    square axes from `low` to 1 with the diagonal y = x; labels: x label, y label, title."""
    classes = assay_classes(assays)
    both = ~(np.isnan(x) | np.isnan(y))
    for assay in classes:
        mask = both & (assays == assay).to_numpy()
        ax.scatter(
            x[mask],
            y[mask],
            s=size,
            alpha=0.7,
            color=class_colour(assay, classes),
            label=f"{assay} ({mask.sum()})",
            edgecolors="none",
        )
    ax.plot([low, 1], [low, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlim=(low, 1), ylim=(low, 1), xlabel=labels[0], ylabel=labels[1], title=labels[2])
    ax.set_aspect("equal")
    ax.legend(loc=legend, fontsize=8, title="assay (tracks)", title_fontsize=8)


def _median_label(name: str, values: np.ndarray, n: int) -> str:
    values = values[~np.isnan(values)]
    if not values.size:
        return f"no track with enough positives (n={n})"
    return f"median {name} {np.median(values):.3f} (n={n})"
