"""Per-class summaries and model-vs-model wins from per-track metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seq2chrom.evaluate.summary import assay_classes, class_summary, wins_table


def metrics(auroc: list[float], auprc: list[float] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track": ["a", "b", "c", "d", "e"],
            "assay": ["DNase", "TF", "TF", "Histone", "TF"],
            "cell_type": "K562",
            "n_pos": [50, 40, 30, 20, 2],
            "auroc": auroc,
            "auprc": auprc if auprc is not None else auroc,
            "status": ["ok"] * 4 + ["too_few_positives"],
        }
    )


def test_class_summary_counts_constant_tracks_apart() -> None:
    table = metrics([0.8, np.nan, 0.7, 0.6, np.nan])
    table.loc[1, "status"] = "constant_predictions"
    summary = class_summary(table).set_index("assay")
    assert summary.loc["TF", ["n_tracks", "n_evaluated", "n_constant"]].tolist() == [3, 1, 1]
    assert summary.loc["all", "n_constant"] == 1
    assert summary.loc["TF", "median_auroc"] == pytest.approx(0.7)


def test_assay_classes_in_fixed_order_then_others() -> None:
    assert assay_classes(["Histone", "ATAC", "TF", "DNase", "TF"]) == [
        "TF",
        "DNase",
        "Histone",
        "ATAC",
    ]


def test_class_summary() -> None:
    table = class_summary(metrics([0.8, 0.9, 0.7, 0.6, np.nan]))
    assert table["assay"].tolist() == ["TF", "DNase", "Histone", "all"]
    tf = table.set_index("assay").loc["TF"]
    assert (tf["n_tracks"], tf["n_evaluated"], tf["n_constant"]) == (3, 2, 0)
    assert tf["median_auroc"] == pytest.approx(0.8)
    assert tf["mean_auprc"] == pytest.approx(0.8)
    everything = table.set_index("assay").loc["all"]
    assert everything["n_tracks"] == 5 and everything["median_auroc"] == pytest.approx(0.75)


def test_wins_counts_strict_wins_and_ties() -> None:
    first = metrics([0.8, 0.9, 0.7, 0.6, np.nan], auprc=[0.1, 0.2, 0.3, 0.4, np.nan])
    second = metrics([0.7, 0.95, 0.7, 0.65, np.nan], auprc=[0.2, 0.3, 0.4, 0.5, np.nan])
    table = wins_table({"deepsea": first, "danq": second}).set_index(["metric", "assay"])
    assert list(table.columns) == ["n_tracks", "deepsea", "danq", "ties"]
    assert table.loc[("auroc", "TF")].tolist() == [2, 0, 1, 1]
    assert table.loc[("auroc", "all")].tolist() == [4, 1, 2, 1]
    assert table.loc[("auprc", "all")].tolist() == [4, 0, 4, 0]


def test_wins_refuse_different_tracks() -> None:
    first = metrics([0.8, 0.9, 0.7, 0.6, np.nan])
    with pytest.raises(ValueError, match="other tracks"):
        wins_table({"a": first, "b": first.iloc[::-1]})
