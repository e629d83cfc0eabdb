"""Evaluation figures: files are written, are PNGs of the expected layout, and refuse bad input."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from seq2chrom.evaluate.metrics import metrics_table, track_curves
from seq2chrom.evaluate.plots import plot_curves, plot_model_scatter

ASSAYS = ["TF", "TF", "TF", "DNase", "DNase", "Histone", "TF"]


def evaluated(seed: int, strength: float) -> tuple[pd.DataFrame, list]:
    rng = np.random.default_rng(seed)
    y = (rng.random((1500, len(ASSAYS))) < 0.08).astype(np.uint8)
    y[:, -1] = 0
    y[:3, -1] = 1  # a track with too few positives
    score = (rng.normal(size=y.shape) + strength * y).astype(np.float32)
    tracks = pd.DataFrame(
        {
            "track": [f"t{i}" for i in range(len(ASSAYS))],
            "assay": ASSAYS,
            "cell_type": "K562",
        }
    )
    return metrics_table(y, score, tracks, min_positives=10), track_curves(y, score)


def read_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


def test_curves_png_has_one_column_per_assay_class(tmp_path: Path) -> None:
    metrics, curves = evaluated(0, 2.0)
    path = tmp_path / "curves.png"
    plot_curves(curves, metrics, path, title="model")
    pixels = read_png(path)
    height, width = pixels.shape[:2]
    assert width / height == pytest.approx(12 / 8, rel=0.05)  # 3 classes x 2 rows of panels
    assert np.std(pixels[..., :3]) > 0.05  # not blank
    metrics_tf = metrics[metrics["assay"] == "TF"]
    plot_curves([curves[i] for i in metrics_tf.index], metrics_tf.reset_index(drop=True), path)
    height, width = read_png(path).shape[:2]
    assert width / height == pytest.approx(4 / 8, rel=0.05)


def test_curves_refuse_mismatched_input(tmp_path: Path) -> None:
    metrics, curves = evaluated(0, 2.0)
    with pytest.raises(ValueError, match="curves for"):
        plot_curves(curves[:-1], metrics, tmp_path / "x.png")


def test_model_scatter_for_two_and_three_models(tmp_path: Path) -> None:
    metrics = {name: evaluated(seed, 1.0 + seed)[0] for seed, name in enumerate("abc")}
    two = tmp_path / "two.png"
    plot_model_scatter({k: metrics[k] for k in "ab"}, "auroc", two)
    height, width = read_png(two).shape[:2]
    assert width == pytest.approx(height, rel=0.05)  # one square panel
    three = tmp_path / "three.png"
    plot_model_scatter(metrics, "auprc", three)
    height, width = read_png(three).shape[:2]
    assert width / height == pytest.approx(3, rel=0.05)  # three pairs side by side


def test_model_scatter_refuses_bad_input(tmp_path: Path) -> None:
    metrics, _ = evaluated(0, 2.0)
    with pytest.raises(ValueError, match="at least two"):
        plot_model_scatter({"a": metrics}, "auroc", tmp_path / "x.png")
    with pytest.raises(ValueError, match="metric must be"):
        plot_model_scatter({"a": metrics, "b": metrics}, "f1", tmp_path / "x.png")
    other = metrics.assign(track=metrics["track"][::-1].to_numpy())
    with pytest.raises(ValueError, match="other tracks"):
        plot_model_scatter({"a": metrics, "b": other}, "auroc", tmp_path / "x.png")
