"""Fine-tuning comparison: medians over old and new tracks, gaps, epoch fraction, the goal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seq2chrom.inference.comparison import (
    COMPARISON_COLUMNS,
    comparison_table,
    per_track_table,
    plot_comparison,
)

TRACKS = ["a", "b", "c", "d", "e"]
NEW = np.array([False, False, False, True, True])


def _history(epochs: int, best: int, seconds: float = 2.0) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "loss": 1.0 / epoch,
            "val_loss": np.abs(epoch - best) + 0.1,
            "val_auroc": 0.5 + 0.4 * epoch / epochs,
            "seconds": seconds,
        }
    )


def _table(tuned_new: list[float], tuned_epochs: int) -> pd.DataFrame:
    aurocs = {
        "base": [0.90, 0.80, 0.70, np.nan, np.nan],
        "from_scratch": [0.92, 0.82, 0.72, 0.95, 0.85],
        "fine_tuned": [0.93, 0.80, 0.71, *tuned_new],
    }
    per_track = per_track_table(TRACKS, ["TF"] * 5, np.array([9, 20, 30, 40, 50]), NEW, aurocs)
    histories = {
        "base": _history(20, 15),
        "from_scratch": _history(30, 25, seconds=3.0),
        "fine_tuned": _history(tuned_epochs, 4),
    }
    folders = {run: f"results/{run}" for run in histories}
    n_tracks = {"base": 3, "from_scratch": 5, "fine_tuned": 5}
    return comparison_table(per_track, histories, folders, n_tracks)


def test_medians_gaps_and_goal():
    table = _table([0.945, 0.86], tuned_epochs=10).set_index("run")
    assert table.columns.tolist() == COMPARISON_COLUMNS[1:]
    assert table.index.tolist() == ["base", "from_scratch", "fine_tuned"]
    scratch, tuned = table.loc["from_scratch"], table.loc["fine_tuned"]
    assert scratch["median_auroc_old"] == pytest.approx(0.82)
    assert scratch["median_auroc_new"] == pytest.approx(0.90)
    assert tuned["median_auroc_old"] == pytest.approx(0.80)
    assert tuned["median_auroc_new"] == pytest.approx(0.9025)
    assert np.isnan(table.loc["base", "median_auroc_new"]) and table.loc["base", "n_new"] == 0
    assert scratch["epochs"] == 30 and scratch["best_epoch"] == 25
    assert scratch["train_seconds"] == pytest.approx(90.0)
    assert tuned["auroc_gap_old"] == pytest.approx(0.02)
    assert tuned["auroc_gap_new"] == pytest.approx(-0.0025)
    assert tuned["epoch_fraction"] == pytest.approx(1 / 3)
    assert tuned["goal_met"] is False  # old tracks 0.02 below
    assert pd.isna(scratch["goal_met"]) and np.isnan(scratch["auroc_gap_old"])


def test_goal_met_within_tolerance_and_a_third_of_the_epochs():
    per_track = per_track_table(
        TRACKS,
        ["TF"] * 5,
        np.ones(5),
        NEW,
        {
            "from_scratch": [0.92, 0.82, 0.72, 0.95, 0.85],
            "fine_tuned": [0.92, 0.815, 0.72, 0.945, 0.845],  # medians 0.005 below
        },
    )
    histories = {"from_scratch": _history(30, 25), "fine_tuned": _history(10, 4)}
    folders = {"from_scratch": "s", "fine_tuned": "t"}
    n_tracks = {"from_scratch": 5, "fine_tuned": 5}

    def goal():
        table = comparison_table(per_track, histories, folders, n_tracks)
        return table.set_index("run").loc["fine_tuned", "goal_met"]

    assert goal() is True
    histories["fine_tuned"] = _history(11, 4)  # 11 of 30 epochs: more than a third
    assert goal() is False
    histories["fine_tuned"] = _history(10, 4)
    per_track.loc[per_track["track"] == "e", "auroc_fine_tuned"] = 0.80  # new median 0.02 below
    assert goal() is False


def test_figure_is_written(tmp_path):
    aurocs = {"from_scratch": [0.9, 0.8, 0.7, 0.95, 0.85], "fine_tuned": [0.9, 0.8, 0.7, 0.9, 0.8]}
    per_track = per_track_table(TRACKS, ["TF"] * 5, np.ones(5), NEW, aurocs)
    histories = {"from_scratch": _history(30, 25), "fine_tuned": _history(8, 4)}
    plot_comparison(per_track, histories, tmp_path / "c.png", title="danq")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
