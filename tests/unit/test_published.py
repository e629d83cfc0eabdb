"""Comparison of a run on the DeepSEA bundle with the published per-target AUROC/AUPRC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.data.bundle import read_track_table
from seq2chrom.errors import InputError
from seq2chrom.evaluate.files import read_metrics_table
from seq2chrom.evaluate.published import class_comparison, compare_with_published


def run_metrics(shift: float) -> pd.DataFrame:
    """A metrics.tsv-like table: this run = published DeepSEA + shift, 10 tracks too few."""
    targets = read_track_table()
    auroc = pd.to_numeric(targets["deepsea_auroc"], errors="coerce").to_numpy() + shift
    auroc[:10] = np.nan
    return pd.DataFrame(
        {
            "track": targets["track"], "assay": targets["assay"],
            "cell_type": targets["cell_type"], "n_pos": 50, "auroc": auroc,
            "auprc": pd.to_numeric(targets["danq_auprc"], errors="coerce"), "status": "ok",
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
        assert row["mean_auprc_this_run"] == pytest.approx(row["mean_auprc_danq"])
        assert row["wins_auroc_vs_deepsea"] == row["n_compared"]
        assert row["wins_auprc_vs_danq"] == 0
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


def test_cli_published_comparison(tmp_path: Path):
    metrics = tmp_path / "metrics.tsv"
    run_metrics(-0.02).to_csv(metrics, sep="\t", index=False)
    outputs = {name: tmp_path / name for name in ("c.tsv", "t.tsv", "c.html", "s.png")}
    argv = ["published-comparison", "--metrics", str(metrics), "--model", "danq"]
    argv += ["--out-classes", str(outputs["c.tsv"]), "--out-tracks", str(outputs["t.tsv"])]
    argv += ["--out-html", str(outputs["c.html"]), "--out-png", str(outputs["s.png"])]
    assert main(argv) == 0
    classes = pd.read_csv(outputs["c.tsv"], sep="\t")
    assert classes["wins_auroc_vs_deepsea"].tolist() == [0, 0, 0, 0]
    assert len(pd.read_csv(outputs["t.tsv"], sep="\t")) == 919
    assert "median auroc (danq)" in outputs["c.html"].read_text()
    assert outputs["s.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_without_columns(tmp_path: Path):
    path = tmp_path / "metrics.tsv"
    path.write_text("track\tauroc\nA\t0.5\n")
    with pytest.raises(InputError, match="missing columns"):
        read_metrics_table(path)
