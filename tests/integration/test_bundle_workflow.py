"""The whole workflow on a small generated DeepSEA bundle, run by the real Snakemake.

A bundle with the published layout (train.mat MATLAB 7.3, valid.mat/test.mat MATLAB 5, 1000 bp,
919 labels, A,G,C,T, reverse-complement second halves) -> import -> small DanQ training ->
evaluation with the published comparison -> motifs -> HTML report. A missing bundle fails
with a one-line error; bad settings fail at `snakemake -n`.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_workdir, snakemake
from tests.unit.bundle_files import write_bundle

pytestmark = pytest.mark.slow

SIZES = {"train": 400, "valid": 60, "test": 200}
CONFIG = """\
genome: unused.fa
tracks: config/tracks.tsv
seed: 1
bins: {size: 200, window: 1000, min_overlap: 0.5, select: tf_positive}
split: {test: [chr8], valid: [chr7]}
data: {source: deepsea_bundle, bundle_dir: bundle, bundle_targets: ""}
models: {danq: {preset: small}}
train: {epochs: 1, batch_size: 50, patience: 1}
evaluate: {min_positives: 5}
motifs: {max_sequences: 100, min_sites: 5, influence_sequences: 20}
"""
DATA_TARGETS = [f"results/data/{s}.h5" for s in ("train", "valid", "test")]
DATA_TARGETS += ["results/data/summary.html"]


@pytest.fixture(scope="module")
def bundle_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    workdir = make_workdir(tmp_path_factory.mktemp("bundle"))
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    data = write_bundle(workdir / "bundle", np.random.default_rng(5), SIZES, n_tracks=919)
    return workdir, data


def test_bundle_conversion_targets(bundle_run):
    workdir, data = bundle_run
    snakemake(workdir, *DATA_TARGETS)
    for split, (x, y) in data.items():
        with h5py.File(workdir / "results" / "data" / f"{split}.h5", "r") as h5:
            np.testing.assert_array_equal(h5["x"][:], x)
            np.testing.assert_array_equal(h5["y"][:], y)
            assert h5["tracks"].asstr()[0] == "DNase_8988T" and h5["y"].shape[1] == 919
    summary = pd.read_csv(workdir / "results" / "data" / "summary.tsv", sep="\t")
    assert summary.iloc[0][["train", "valid", "test"]].tolist() == list(SIZES.values())
    assert (workdir / "logs" / "import_bundle" / "train.log").exists()


def test_whole_pipeline_on_bundle(bundle_run):
    workdir, _ = bundle_run
    snakemake(workdir)
    results = workdir / "results"
    metrics = pd.read_csv(results / "eval" / "danq" / "metrics.tsv", sep="\t")
    assert len(metrics) == 919
    classes = pd.read_csv(results / "eval" / "danq" / "published_comparison.tsv", sep="\t")
    assert classes["assay"].tolist() == ["TF", "DNase", "Histone", "all"]
    assert classes["n_tracks"].tolist() == [690, 125, 104, 919]
    assert round(classes.loc[0, "median_auroc_deepsea"], 2) == 0.96
    # DanQ's columns beside each strand scored as a sample (predict keeps both in bundle mode)
    assert classes["median_auroc_this_run_per_strand"].notna().all()
    with h5py.File(results / "predictions" / "danq" / "test.h5", "r") as h5:
        assert h5["y_pred_strands"].shape == (2, SIZES["test"], 919)
    assert (results / "eval" / "danq" / "published_scatter.png").stat().st_size > 0
    assert (results / "motifs" / "danq" / "tomtom.tsv").exists()
    snakemake(workdir, "--report", "report.html")
    assert "published" in (workdir / "report.html").read_text(errors="replace")


def test_missing_bundle_dir_fails_at_dry_run(tmp_path: Path):
    workdir = make_workdir(tmp_path)
    config = CONFIG.replace("bundle_dir: bundle", 'bundle_dir: ""')
    (workdir / "config" / "config.yaml").write_text(config)
    result = snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    assert "config.yaml: key data.bundle_dir: empty (fix: " in result.stdout + result.stderr


def test_swapped_bundle_files_fail_with_one_line(tmp_path: Path):
    workdir = make_workdir(tmp_path)
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    write_bundle(workdir / "bundle", np.random.default_rng(1), {"test": 10}, n_tracks=919)
    (workdir / "bundle" / "test.mat").rename(workdir / "bundle" / "train.mat")
    result = snakemake(workdir, "results/data/train.h5", check=False)
    assert result.returncode != 0
    log = (workdir / "logs" / "import_bundle" / "train.log").read_text().strip().splitlines()
    assert "is a MATLAB 5 file" in log[-1] and "(fix:" in log[-1]
    assert not (workdir / "results" / "data" / "train.h5").exists()
