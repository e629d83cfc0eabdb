"""Fine-tuning versus retraining from scratch: per-track validation AUROC, medians, epochs.

Three runs are compared on the validation split: ``base`` (trained without the held-out
tracks), ``fine_tuned`` (``base`` widened to all tracks and trained a few epochs more) and
``from_scratch`` (trained on all tracks from random weights). The goal of fine-tuning: reach the
from-scratch median AUROC within ``tolerance`` on the old tracks and on the new (held-out)
ones, in at most ``max_epoch_fraction`` of its epochs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

RUNS = ("base", "from_scratch", "fine_tuned")
TOLERANCE = 0.01
MAX_EPOCH_FRACTION = 1 / 3
COMPARISON_COLUMNS = [
    "run",
    "folder",
    "n_tracks",
    "epochs",
    "best_epoch",
    "train_seconds",
    "median_auroc_old",
    "median_auroc_new",
    "n_old",
    "n_new",
    "auroc_gap_old",
    "auroc_gap_new",
    "epoch_fraction",
    "goal_met",
]


def per_track_table(
    tracks: Sequence[str],
    assays: Sequence[str],
    n_pos: np.ndarray,
    new: np.ndarray,
    aurocs: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """One row per track: ``track, assay, set (old/new), n_pos, auroc_<run>`` for each run.

    n_pos: (T,) validation positives; new: (T,) bool, True for held-out tracks; aurocs: run ->
    (T,) float64 AUROC per track in the data's order, NaN where not measured.
    """
    table = pd.DataFrame(
        {
            "track": list(tracks),
            "assay": list(assays),
            "set": np.where(np.asarray(new, dtype=bool), "new", "old"),
            "n_pos": np.asarray(n_pos, dtype=np.int64),
        }
    )
    for run, values in aurocs.items():
        table[f"auroc_{run}"] = np.asarray(values, dtype=np.float64)
    return table


def run_summary(history: pd.DataFrame) -> dict:
    """Epochs trained, epoch of the lowest validation loss (the weights kept), seconds in all."""
    return {
        "epochs": len(history),
        "best_epoch": int(history.loc[history["val_loss"].idxmin(), "epoch"]),
        "train_seconds": float(history["seconds"].sum()),
    }


def comparison_table(
    per_track: pd.DataFrame,
    histories: Mapping[str, pd.DataFrame],
    folders: Mapping[str, str],
    n_tracks: Mapping[str, int],
    *,
    tolerance: float = TOLERANCE,
    max_epoch_fraction: float = MAX_EPOCH_FRACTION,
) -> pd.DataFrame:
    """One row per run (``RUNS`` present in ``histories``), columns ``COMPARISON_COLUMNS``.

    Medians are over tracks with an AUROC (NaN ones skipped). On the ``fine_tuned`` row:
    ``auroc_gap_old/new`` = from-scratch median minus fine-tuned median (negative: fine-tuned
    is better), ``epoch_fraction`` = fine-tuned epochs / from-scratch epochs, and ``goal_met``
    = both gaps <= ``tolerance`` and the fraction <= ``max_epoch_fraction``.
    """
    is_new = per_track["set"].to_numpy() == "new"
    rows = []
    for run in (r for r in RUNS if r in histories):
        auroc = per_track[f"auroc_{run}"].to_numpy(dtype=np.float64)
        old, new = auroc[~is_new], auroc[is_new]
        rows.append(
            {
                "run": run,
                "folder": folders[run],
                "n_tracks": int(n_tracks[run]),
                **run_summary(histories[run]),
                "median_auroc_old": _median(old),
                "median_auroc_new": _median(new),
                "n_old": int(np.isfinite(old).sum()),
                "n_new": int(np.isfinite(new).sum()),
            }
        )
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS[:10])
    table["auroc_gap_old"] = np.nan
    table["auroc_gap_new"] = np.nan
    table["epoch_fraction"] = np.nan
    table["goal_met"] = pd.Series([pd.NA] * len(table), dtype="object")
    runs = table.set_index("run")
    if {"from_scratch", "fine_tuned"} <= set(runs.index):
        scratch, tuned = runs.loc["from_scratch"], runs.loc["fine_tuned"]
        gap_old = scratch["median_auroc_old"] - tuned["median_auroc_old"]
        gap_new = scratch["median_auroc_new"] - tuned["median_auroc_new"]
        fraction = tuned["epochs"] / scratch["epochs"]
        row = table["run"] == "fine_tuned"
        table.loc[row, "auroc_gap_old"] = gap_old
        table.loc[row, "auroc_gap_new"] = gap_new
        table.loc[row, "epoch_fraction"] = fraction
        table.loc[row, "goal_met"] = bool(
            gap_old <= tolerance and gap_new <= tolerance and fraction <= max_epoch_fraction + 1e-9
        )
    return table[COMPARISON_COLUMNS]


def plot_comparison(
    per_track: pd.DataFrame,
    histories: Mapping[str, pd.DataFrame],
    path: str | Path,
    title: str,
    max_epoch_fraction: float = MAX_EPOCH_FRACTION,
) -> None:
    """PNG: validation AUROC per epoch of each run (left), per-track AUROC of the fine-tuned
    versus the from-scratch model, old and new tracks apart (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    labels = {
        "base": "base (without held-out tracks)",
        "from_scratch": "from scratch, all tracks",
        "fine_tuned": "fine-tuned from base, all tracks",
    }
    styles = {
        "base": ("tab:gray", ":"),
        "from_scratch": ("tab:blue", "-"),
        "fine_tuned": ("tab:orange", "-"),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=120)
    for run in (r for r in RUNS if r in histories):
        history = histories[run]
        colour, line = styles[run]
        left.plot(
            history["epoch"],
            history["val_auroc"],
            marker="o",
            markersize=3,
            color=colour,
            linestyle=line,
            label=labels[run],
        )
    if "from_scratch" in histories:
        third = len(histories["from_scratch"]) * max_epoch_fraction
        left.axvline(
            third,
            color="black",
            linestyle="--",
            linewidth=0.8,
            label=f"{max_epoch_fraction:.2f} of the from-scratch epochs",
        )
    left.set_xlabel("epoch")
    left.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    left.set_ylabel("mean validation AUROC (the run's tracks)")
    left.set_title("Validation AUROC per epoch")
    left.legend(loc="lower right", fontsize=8)

    scored = per_track.dropna(subset=["auroc_from_scratch", "auroc_fine_tuned"])
    for subset, colour, marker in (("old", "tab:blue", "o"), ("new", "tab:orange", "^")):
        rows = scored[scored["set"] == subset]
        right.scatter(
            rows["auroc_from_scratch"],
            rows["auroc_fine_tuned"],
            c=colour,
            marker=marker,
            s=28,
            label=f"{subset} tracks ({len(rows)})",
        )
    values = scored[["auroc_from_scratch", "auroc_fine_tuned"]].to_numpy()
    low = float(np.nanmin(values)) - 0.02 if len(values) else 0.5
    low = min(low, 0.9)
    right.plot([low, 1], [low, 1], color="black", linewidth=0.8)
    right.fill_between(
        [low, 1],
        [low - TOLERANCE, 1 - TOLERANCE],
        [low, 1],
        color="grey",
        alpha=0.15,
        label=f"within {TOLERANCE} below",
    )
    right.set_xlim(low, 1)
    right.set_ylim(low, 1)
    right.set_aspect("equal")
    right.set_xlabel("AUROC, from scratch")
    right.set_ylabel("AUROC, fine-tuned")
    right.set_title("Per-track validation AUROC")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")
