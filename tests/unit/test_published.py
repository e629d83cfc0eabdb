"""Comparison of a run on the DeepSEA bundle with the published per-target AUROC/AUPRC: DeepSEA's
column beside the strand mean, DanQ's beside each strand scored as a sample of its own."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pandas as pd
import pytest
import scipy.io
from seq2chrom.cli import main
from seq2chrom.data.bundle import convert_split, read_track_table
from seq2chrom.errors import InputError
from seq2chrom.evaluate.files import (
    read_evaluation_inputs,
    read_metrics_table,
    write_metrics_table,
)
from seq2chrom.evaluate.metrics import metrics_table
from seq2chrom.evaluate.published import (
    class_comparison,
    compare_with_published,
    per_strand_metrics,
)
from seq2chrom.inference.predict import predict_file
from sklearn.metrics import average_precision_score, roc_auc_score

from tests.unit.bundle_files import AGCT, random_one_hot, write_mat5


def published_values(column: str) -> np.ndarray:
    return pd.to_numeric(read_track_table()[column], errors="coerce").to_numpy()


def run_metrics(shift: float) -> pd.DataFrame:
    """A metrics table with per-strand columns: strand mean = published DeepSEA + shift, per
    strand = published DanQ - shift; AUPRC = DanQ's both ways; 10 tracks too few."""
    targets = read_track_table()
    auroc = published_values("deepsea_auroc") + shift
    auroc[:10] = np.nan
    per_strand = np.where(np.isnan(auroc), np.nan, published_values("danq_auroc") - shift)
    return pd.DataFrame(
        {
            "track": targets["track"], "assay": targets["assay"],
            "cell_type": targets["cell_type"], "n_pos": 50, "auroc": auroc,
            "auprc": published_values("danq_auprc"), "status": "ok",
            "auroc_per_strand": per_strand, "auprc_per_strand": published_values("danq_auprc"),
        }
    )  # fmt: skip


def test_class_comparison_side_by_side():
    tracks = compare_with_published(run_metrics(0.01))
    classes = class_comparison(tracks).set_index("assay")
    assert classes.index.tolist() == ["TF", "DNase", "Histone", "all"]
    assert classes.loc["all", "n_tracks"] == 919
    assert classes.loc["all", "n_compared"] == 919 - 10 - 1  # 10 without metrics, BRF1 NA
    assert classes.loc["DNase", "n_compared"] == 125 - 10
    for assay in ("TF", "DNase", "Histone"):
        row = classes.loc[assay]
        assert row["median_auroc_this_run"] == pytest.approx(row["median_auroc_deepsea"] + 0.01)
        assert row["median_auroc_this_run_per_strand"] == pytest.approx(
            row["median_auroc_danq"] - 0.01
        )
        assert row["mean_auprc_this_run"] == pytest.approx(row["mean_auprc_danq"])
        # DeepSEA against the strand mean (all higher), DanQ against per strand (all lower)
        assert row["wins_auroc_vs_deepsea"] == row["n_compared"]
        assert row["wins_auroc_vs_danq"] == 0
        assert row["wins_auprc_vs_danq"] == 0
    with pytest.raises(ValueError, match="per-strand columns"):
        compare_with_published(run_metrics(0.0).drop(columns="auprc_per_strand"))
    # TF median over all 690 published DeepSEA values is 0.958 (no TF track dropped here)
    assert round(classes.loc["TF", "median_auroc_deepsea"], 3) == 0.958


def test_renamed_tracks_pair_by_position_and_subsets_by_name():
    metrics = run_metrics(0.0)
    metrics["track"] = [f"column{i}" for i in range(919)]
    tracks = compare_with_published(metrics)
    assert tracks["published_track"].iloc[0] == "DNase_8988T"
    np.testing.assert_allclose(tracks["auroc"].iloc[10:50], tracks["deepsea_auroc"].iloc[10:50])
    subset = run_metrics(0.0).iloc[[200, 5]].copy()
    subset.loc[5, "track"] = "not_published"
    paired = compare_with_published(subset)  # fewer tracks: paired by name
    published = pd.to_numeric(read_track_table()["deepsea_auroc"], errors="coerce")
    assert paired["deepsea_auroc"].iloc[0] == pytest.approx(published.iloc[200])
    assert np.isnan(paired["deepsea_auroc"].iloc[1])


MINI_TRACKS = [0, 200, 900]  # rows of the published table: a DNase, a TF and a histone target


def tiny_model(length: int) -> keras.Model:
    """Untrained, seeded: not strand-symmetric, so the two measures differ."""
    keras.utils.set_random_seed(2)
    return keras.Sequential(
        [
            keras.Input((length, 4)),
            keras.layers.Conv1D(8, 5, activation="relu"),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dense(len(MINI_TRACKS), activation="sigmoid"),
        ]
    )


def test_mini_bundle_per_strand_and_strand_mean(tmp_path: Path):
    """test.mat of a mini bundle (both strands, in the published layout) -> import ->
    `predict --strands` -> `evaluate` -> `published-comparison`. The references come from
    test.mat itself: scikit-learn over its 2N rows predicted as they are (as DanQ_test.py
    predicted test.mat), and over the mean of each sequence's two rows (DeepSEA's paper)."""
    n, length = 60, 40
    rng = np.random.default_rng(4)
    y = (rng.random((n, len(MINI_TRACKS))) < 0.3).astype(np.uint8)
    write_mat5(tmp_path / "test.mat", random_one_hot(rng, n, length), y, split="test")
    targets = read_track_table().iloc[MINI_TRACKS][["track", "assay", "cell_type"]]
    split, predictions = tmp_path / "test.h5", tmp_path / "predictions.h5"
    convert_split(tmp_path / "test.mat", "test", targets.reset_index(drop=True), split)
    model = tiny_model(length)
    predict_file(model, split, predictions, batch_size=16, strands=True)

    mat = scipy.io.loadmat(tmp_path / "test.mat")
    rows = mat["testxdata"][:, AGCT, :].transpose(0, 2, 1).astype("float32")  # A,C,G,T
    labels = mat["testdata"]  # (2N, T): the forward rows, then their reverse complements
    with h5py.File(predictions) as handle:
        y_strands, y_pred = handle["y_pred_strands"][:], handle["y_pred"][:]
    stacked = y_strands.reshape(2 * n, -1)
    np.testing.assert_allclose(stacked, model.predict(rows, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y_pred, (y_strands[0] + y_strands[1]) / 2)
    expected = {
        "auroc_per_strand": [roc_auc_score(labels[:, k], stacked[:, k]) for k in range(3)],
        "auprc_per_strand": [
            average_precision_score(labels[:, k], stacked[:, k]) for k in range(3)
        ],
        "auroc": [roc_auc_score(labels[:n, k], y_pred[:, k]) for k in range(3)],
    }
    auroc, auprc = per_strand_metrics(y, y_strands, threads=1)
    np.testing.assert_allclose(auroc, expected["auroc_per_strand"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(auprc, expected["auprc_per_strand"], rtol=0, atol=1e-12)
    assert np.abs(auroc - np.array(expected["auroc"])).max() > 1e-3  # two different measures

    out = {name: tmp_path / name for name in ("c.tsv", "t.tsv", "c.html", "s.png")}
    # metrics.tsv as `seq2chrom evaluate` writes it, without its plots
    y_true, y_score, sheet = read_evaluation_inputs(predictions, split)
    metrics = metrics_table(y_true, y_score, sheet, min_positives=1, threads=1)
    write_metrics_table(metrics, tmp_path / "metrics.tsv")
    argv = ["published-comparison", "--metrics", str(tmp_path / "metrics.tsv")]
    argv += ["--predictions", str(predictions), "--data", str(split), "--model", "tiny"]
    argv += ["--out-classes", str(out["c.tsv"]), "--out-tracks", str(out["t.tsv"])]
    argv += ["--out-html", str(out["c.html"]), "--out-png", str(out["s.png"])]
    assert main(argv) == 0
    tracks = pd.read_csv(out["t.tsv"], sep="\t")
    assert tracks["track"].tolist() == targets["track"].tolist()
    for column, values in expected.items():  # written with 4 decimals
        np.testing.assert_allclose(tracks[column], values, rtol=0, atol=5.1e-5)
    classes = pd.read_csv(out["c.tsv"], sep="\t").set_index("assay")
    wins = tracks["auroc_per_strand"] > tracks["danq_auroc"]
    assert classes.loc["all", "wins_auroc_vs_danq"] == wins.sum()
    assert (
        classes.loc["all", "wins_auroc_vs_deepsea"]
        == (tracks["auroc"] > tracks["deepsea_auroc"]).sum()
    )
    page = out["c.html"].read_text()
    assert "median auroc (tiny, strand mean)" in page and "auroc (tiny, per strand)" in page
    assert "DanQ auroc (per strand)" in page and "DeepSEA auroc (strand mean)" in page
    assert out["s.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_published_comparison_needs_each_strand(tmp_path: Path, capsys):
    split = tmp_path / "test.h5"
    n, length = 20, 40
    rng = np.random.default_rng(1)
    write_mat5(tmp_path / "test.mat", random_one_hot(rng, n, length),
               (rng.random((n, 3)) < 0.5).astype(np.uint8), split="test")  # fmt: skip
    targets = read_track_table().iloc[MINI_TRACKS][["track", "assay", "cell_type"]]
    convert_split(tmp_path / "test.mat", "test", targets.reset_index(drop=True), split)
    predict_file(tiny_model(length), split, tmp_path / "mean_only.h5")  # --strands mean
    argv = ["published-comparison", "--metrics", str(tmp_path / "m.tsv"), "--model", "tiny"]
    argv += ["--predictions", str(tmp_path / "mean_only.h5"), "--data", str(split)]
    for name in ("classes", "tracks", "html", "png"):
        argv += [f"--out-{name}", str(tmp_path / f"out.{name}")]
    run_metrics(0.0).iloc[MINI_TRACKS].to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    assert main(argv) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no per-strand predictions (y_pred_strands)" in error and "--strands each" in error
    assert not list(tmp_path.glob("out.*"))


def test_metrics_without_columns(tmp_path: Path):
    path = tmp_path / "metrics.tsv"
    path.write_text("track\tauroc\nA\t0.5\n")
    with pytest.raises(InputError, match="missing columns"):
        read_metrics_table(path)
