"""Fine-tuning versus retraining from scratch: per-track test AUROC, medians, epochs.

Three runs are compared on a split that chose none of their best epochs (the test split; the
validation split chose them): ``base`` (trained without the held-out
tracks), ``fine_tuned`` (``base`` widened to all tracks and trained a few epochs more) and
``from_scratch`` (trained on all tracks from random weights). The goal of fine-tuning: reach the
from-scratch median AUROC within ``tolerance`` on the old tracks and on the new (held-out)
ones, in at most ``max_epoch_fraction`` of its epochs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import METRIC_FLOATS, atomic_output, read_tsv, write_tsv

log = logging.getLogger(__name__)

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

    n_pos: (T,) positives in the scored split; new: (T,) bool, True for held-out tracks;
    aurocs: run -> (T,) float64 AUROC per track in the data's order, NaN where not measured.
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


@dataclass(frozen=True)
class Comparison:
    """The comparison's tables (`per_track_table`, `comparison_table`) and a one-paragraph note."""

    per_track: pd.DataFrame
    table: pd.DataFrame
    histories: dict[str, pd.DataFrame]
    note: str


def compare_finetune(
    data: str | Path, folders: Mapping[str, Path], min_positives: int, batch_size: int = 256
) -> Comparison:
    """Predict split file `data` with each run's model and compare them per track.

    data: a split that chose no run's best epoch (the workflow passes the test split; the
    validation split picked every run's epoch, so it would flatter each run). folders: run
    (``RUNS``) -> model folder (model.keras, config.yaml, history.tsv). Tracks missing from
    the ``base`` model are the new ones; tracks with fewer than `min_positives` positives in
    `data` get no AUROC. Raises InputError naming a missing or mismatched input.
    """
    import keras

    from seq2chrom.evaluate.metrics import auroc
    from seq2chrom.inference.predict import predict_split
    from seq2chrom.modelfile import model_file, require_model_tracks
    from seq2chrom.modelfile.loading import open_trained
    from seq2chrom.splitfile import read_labels

    y, columns = read_labels(data)
    tracks = columns.tracks
    aurocs, histories, n_tracks = {}, {}, {}
    new = np.zeros(len(tracks), dtype=bool)
    for run, folder in folders.items():
        path = model_file(folder)
        for needed in (path, folder / "history.tsv"):
            if not needed.is_file():
                raise InputError(needed, "not found", fix=f"train the {run} model first")
        require_model_tracks(path)
        trained = open_trained(path, device=None, data_tracks=None if run == "base" else tracks,
                               data_path=data)  # fmt: skip
        model, run_tracks = trained.model, trained.tracks
        if run == "base":
            new = _new_tracks(path, data, run_tracks, tracks)
            kept = np.flatnonzero(~new)
        else:
            kept = np.arange(len(tracks))
        values = auroc(y[:, kept], predict_split(model, data, batch_size))
        values[y[:, kept].sum(axis=0) < min_positives] = np.nan
        aurocs[run] = np.full(len(tracks), np.nan)
        aurocs[run][kept] = values
        histories[run] = read_tsv(folder / "history.tsv")
        n_tracks[run] = len(run_tracks)
        keras.backend.clear_session()
    per_track = per_track_table(tracks, columns.assays, y.sum(axis=0), new, aurocs)
    table = comparison_table(
        per_track, histories, {run: str(folder) for run, folder in folders.items()}, n_tracks
    )
    note = (
        f"Scored on {Path(data).name} ({len(y):,} samples), which chose no run's best epoch "
        f"(the validation split did); new tracks: "
        f"{', '.join(t for t, n in zip(tracks, new, strict=True) if n)}. Gaps are from-scratch "
        f"minus fine-tuned median AUROC; the goal is met when both are <= {TOLERANCE} and the "
        f"fine-tuned run used at most {MAX_EPOCH_FRACTION:.2f} of the from-scratch epochs."
    )
    return Comparison(per_track, table, histories, note)


def _new_tracks(
    path: Path, valid: str | Path, base_tracks: Sequence[str], tracks: Sequence[str]
) -> np.ndarray:
    """(T,) bool: the data's tracks the base model lacks; InputError unless some but not all."""
    unknown = [t for t in base_tracks if t not in set(tracks)]
    if unknown:
        raise InputError(
            path,
            f"base model tracks not in {valid}: {unknown}",
            fix="compare models trained on this data set",
        )
    new = np.array([t not in set(base_tracks) for t in tracks])
    if not new.any():
        raise InputError(path, "the base model already has every track: none is new")
    return new


def log_comparison(table: pd.DataFrame) -> None:
    """One log line per run, then whether the fine-tuned run met the goal."""
    for row in table.itertuples():
        log.info(
            "%s: %d epochs, %.0f s, median test AUROC old %.4f, new %.4f",
            row.run,
            row.epochs,
            row.train_seconds,
            row.median_auroc_old,
            row.median_auroc_new,
        )
    tuned = table.set_index("run").loc["fine_tuned"]
    log.info(
        "goal (gaps <= %s, epochs <= %.2f of from scratch): gap old %.4f, new %.4f, "
        "epoch fraction %.2f -> %s",
        TOLERANCE,
        MAX_EPOCH_FRACTION,
        tuned["auroc_gap_old"],
        tuned["auroc_gap_new"],
        tuned["epoch_fraction"],
        "met" if tuned["goal_met"] else "NOT met",
    )


def write_comparison(comparison: Comparison, out_dir: Path) -> None:
    """comparison.tsv/.html, per_track.tsv/.html and comparison.png in `out_dir`."""
    from seq2chrom.report.tables import table_html

    for name, table, title in (
        ("comparison", comparison.table, "Fine-tuning versus retraining from scratch"),
        ("per_track", comparison.per_track, "Test AUROC per track and run"),
    ):
        write_tsv(table, out_dir / f"{name}.tsv", floats=METRIC_FLOATS)
        with atomic_output(out_dir / f"{name}.html") as tmp:
            page = table_html(table, title=title, note=comparison.note)
            tmp.write_text(page, encoding="utf-8")
    with atomic_output(out_dir / "comparison.png") as tmp:
        plot_comparison(
            comparison.per_track,
            comparison.histories,
            tmp,
            title=f"Fine-tuning vs from scratch: {out_dir.name}",
        )


def plot_comparison(
    per_track: pd.DataFrame,
    histories: Mapping[str, pd.DataFrame],
    path: str | Path,
    title: str,
    max_epoch_fraction: float = MAX_EPOCH_FRACTION,
) -> None:
    """PNG: validation AUROC per epoch of each run (left), per-track test AUROC of the fine-tuned
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
    right.set_title("Per-track test AUROC")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")
