"""`seq2chrom evaluate` and `seq2chrom compare-models` on small real HDF5 files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from sklearn.metrics import average_precision_score, roc_auc_score

TRACKS = ["CTCF_K562", "DNase_K562", "H3K4me3_K562", "RARE_TF"]
ASSAYS = ["TF", "DNase", "Histone", "TF"]


def write_data(path: Path, y: np.ndarray, tracks: list[str] = TRACKS) -> None:
    with h5py.File(path, "w") as f:
        f["y"] = y
        strings = h5py.string_dtype()
        f.create_dataset("tracks", data=tracks, dtype=strings)
        f.create_dataset("assays", data=ASSAYS[: len(tracks)], dtype=strings)
        f.create_dataset("cell_types", data=["K562"] * len(tracks), dtype=strings)


def write_predictions(path: Path, y_pred: np.ndarray, tracks: list[str] = TRACKS) -> None:
    with h5py.File(path, "w") as f:
        f["y_pred"] = y_pred.astype(np.float32)
        f.create_dataset("tracks", data=tracks, dtype=h5py.string_dtype())


@pytest.fixture
def test_split(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random((800, len(TRACKS))) < 0.1).astype(np.uint8)
    y[:, 3] = 0
    y[:3, 3] = 1
    write_data(tmp_path / "test.h5", y)
    return tmp_path / "test.h5", y, rng.random(y.shape).astype(np.float32) + 0.3 * y


def evaluate(tmp_path: Path, data: Path, y_pred: np.ndarray, model: str) -> Path:
    predictions = tmp_path / f"{model}.h5"
    write_predictions(predictions, y_pred)
    outdir = tmp_path / "eval" / model
    args = ["evaluate", "--predictions", str(predictions), "--data", str(data)]
    assert main([*args, "--min-positives", "10", "--out-dir", str(outdir)]) == 0
    return outdir


def test_evaluate_writes_every_output(tmp_path: Path, test_split) -> None:
    data, y, y_pred = test_split
    outdir = evaluate(tmp_path, data, y_pred, "deepsea")
    expected = {"metrics.tsv", "metrics.html", "summary.tsv", "summary.html", "curves.png"}
    assert {p.name for p in outdir.iterdir()} == expected
    metrics = pd.read_csv(outdir / "metrics.tsv", sep="\t")
    assert list(metrics.columns) == [
        *["track", "assay", "cell_type", "n_pos", "auroc", "auprc", "status"]
    ]
    assert metrics["track"].tolist() == TRACKS
    assert metrics["n_pos"].tolist() == y.sum(axis=0).tolist()
    assert metrics.loc[0, "auroc"] == pytest.approx(roc_auc_score(y[:, 0], y_pred[:, 0]), abs=1e-6)
    assert metrics.loc[1, "auprc"] == pytest.approx(
        average_precision_score(y[:, 1], y_pred[:, 1]), abs=1e-6
    )
    assert metrics.loc[3, "status"] == "too_few_positives" and np.isnan(metrics.loc[3, "auroc"])
    summary = pd.read_csv(outdir / "summary.tsv", sep="\t")
    assert summary["assay"].tolist() == ["TF", "DNase", "Histone", "all"]
    assert "<table>" in (outdir / "metrics.html").read_text()


def test_evaluate_refuses_mismatched_tracks(tmp_path: Path, test_split, capsys) -> None:
    data, _, y_pred = test_split
    predictions = tmp_path / "pred.h5"
    write_predictions(predictions, y_pred, tracks=[*TRACKS[:3], "OTHER"])
    outdir = tmp_path / "out"
    args = ["evaluate", "--predictions", str(predictions), "--data", str(data)]
    assert main([*args, "--min-positives", "10", "--out-dir", str(outdir)]) == 1
    error = capsys.readouterr().err
    assert "1 data tracks not in the model (RARE_TF)" in error and "fix:" in error
    assert "1 model tracks not in the data (OTHER)" in error
    assert not outdir.exists()  # nothing half-written
    write_predictions(predictions, y_pred[:100])
    assert main([*args, "--min-positives", "10", "--out-dir", str(outdir)]) == 1
    assert "shape" in capsys.readouterr().err
    bad = y_pred.copy()
    bad[5, 1] = np.nan
    write_predictions(predictions, bad)
    assert main([*args, "--min-positives", "10", "--out-dir", str(outdir)]) == 1
    assert "NaN" in capsys.readouterr().err


def test_compare_models(tmp_path: Path, test_split, capsys) -> None:
    data, y, y_pred = test_split
    first = evaluate(tmp_path, data, y_pred, "deepsea")
    second = evaluate(tmp_path, data, y_pred + 0.2 * y, "danq")  # better on every track
    outdir = tmp_path / "comparison"
    metrics = [str(first / "metrics.tsv"), str(second / "metrics.tsv")]
    assert main(["compare-models", "--metrics", *metrics, "--out-dir", str(outdir)]) == 0
    expected = {"wins.tsv", "wins.html", "auroc_scatter.png", "auprc_scatter.png"}
    assert {p.name for p in outdir.iterdir()} == expected
    wins = pd.read_csv(outdir / "wins.tsv", sep="\t").set_index(["metric", "assay"])
    assert wins.loc[("auroc", "all"), ["n_tracks", "deepsea", "danq", "ties"]].tolist() == [
        3,
        0,
        3,
        0,
    ]
    assert main(["compare-models", "--metrics", metrics[0], "--out-dir", str(outdir)]) == 1
    assert "at least two" in capsys.readouterr().err
