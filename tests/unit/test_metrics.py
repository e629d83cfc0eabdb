"""Exact per-track AUROC/AUPRC against scikit-learn, including ties and degenerate tracks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seq2chrom.evaluate.metrics import (
    auprc,
    auroc,
    constant_tracks,
    metrics_table,
    track_curves,
    track_metrics,
)
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)


def sklearn_metrics(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    columns = range(y_true.shape[1])
    roc = np.array([roc_auc_score(y_true[:, j], y_score[:, j]) for j in columns])
    ap = np.array([average_precision_score(y_true[:, j], y_score[:, j]) for j in columns])
    return roc, ap


def random_case(seed: int, n: int = 2000, t: int = 12, rate: float = 0.05, levels: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, t)) < rate).astype(np.uint8)
    y[0], y[1] = 1, 0  # every track has both classes
    score = rng.normal(size=(n, t)) + 1.5 * y * rng.random(t)
    if levels:  # few distinct values: many ties, including across classes
        score = np.round(score * levels) / levels
    return y, score.astype(np.float32)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("seed", "levels"), [(0, 0), (1, 0), (2, 2), (3, 10)])
def test_matches_sklearn_to_1e9(seed: int, levels: int, threads: int) -> None:
    y, score = random_case(seed, levels=levels)
    roc, ap, n_pos = track_metrics(y, score, threads=threads)
    want_roc, want_ap = sklearn_metrics(y, score)
    np.testing.assert_allclose(roc, want_roc, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ap, want_ap, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(n_pos, y.sum(axis=0))
    assert roc.dtype == ap.dtype == np.float64


def test_more_tracks_than_a_block_and_float64_scores() -> None:
    y, score = random_case(4, n=500, t=37, levels=5)
    score = score.astype(np.float64) / 3  # float64 values without float32 equivalents
    want_roc, want_ap = sklearn_metrics(y, score)
    np.testing.assert_allclose(auroc(y, score, threads=2), want_roc, rtol=0, atol=1e-9)
    np.testing.assert_allclose(auprc(y, score, threads=2), want_ap, rtol=0, atol=1e-9)


def test_hand_computed_ties() -> None:
    # scores 0.8 (pos), 0.5 (pos), 0.5 (neg), 0.2 (neg): the tied pair counts one half
    y = np.array([1, 1, 0, 0])
    score = np.array([0.8, 0.5, 0.5, 0.2])
    assert auroc(y, score)[0] == pytest.approx(3.5 / 4)
    # thresholds 0.8: P=1, R=1/2; 0.5: P=2/3, R=1 -> AP = 1/2 * 1 + 1/2 * 2/3
    assert auprc(y, score)[0] == pytest.approx(0.5 + 1 / 3)
    assert auroc(y, score)[0] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert auprc(y, score)[0] == pytest.approx(average_precision_score(y, score), abs=1e-12)


def test_constant_predictions() -> None:
    y, _ = random_case(5, n=300, t=3)
    score = np.full(y.shape, 0.25, dtype=np.float32)
    roc, ap, n_pos = track_metrics(y, score)
    np.testing.assert_array_equal(roc, 0.5)
    np.testing.assert_allclose(ap, n_pos / len(y), atol=1e-12)
    want_roc, want_ap = sklearn_metrics(y, score)
    np.testing.assert_allclose(roc, want_roc, atol=1e-9)
    np.testing.assert_allclose(ap, want_ap, atol=1e-9)


def test_perfect_and_inverted_predictions() -> None:
    y = np.array([[0, 1], [0, 1], [1, 0], [1, 0]], dtype=np.uint8)
    score = np.array([[0.1, 0.1], [0.2, 0.2], [0.8, 0.8], [0.9, 0.9]])
    roc, ap, _ = track_metrics(y, score)
    np.testing.assert_allclose(roc, [1.0, 0.0])
    np.testing.assert_allclose(ap, [1.0, average_precision_score(y[:, 1], score[:, 1])])


def test_tracks_without_one_class_give_nan() -> None:
    y = np.zeros((6, 3), dtype=bool)
    y[:, 1] = True
    y[:3, 2] = True
    score = np.linspace(0, 1, 18).reshape(6, 3)
    roc, ap, n_pos = track_metrics(y, score)
    assert np.isnan(roc[0]) and np.isnan(ap[0])  # no positives
    assert np.isnan(roc[1]) and ap[1] == 1.0  # no negatives: every prediction is right
    assert not np.isnan(roc[2])
    np.testing.assert_array_equal(n_pos, [0, 6, 3])


def test_bad_inputs_are_refused() -> None:
    y = np.array([[0], [1], [0]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        auroc(y, np.array([[0.1], [np.nan], [0.3]]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        auroc(np.array([[0], [2], [1]]), np.array([[0.1], [0.2], [0.3]]))
    with pytest.raises(ValueError, match="must be equal"):
        auroc(y, np.zeros((3, 2)))


def test_metrics_table_flags_tracks_with_too_few_positives() -> None:
    y, score = random_case(6, n=400, t=3)
    y[:, 1] = 0
    y[:4, 1] = 1  # 4 positives < min_positives
    tracks = pd.DataFrame(
        {"track": ["a", "b", "c"], "assay": ["TF", "TF", "DNase"], "cell_type": ["K", "K", "H"]}
    )
    table = metrics_table(y, score, tracks, min_positives=5)
    assert list(table.columns[:6]) == ["track", "assay", "cell_type", "n_pos", "auroc", "auprc"]
    assert table["status"].tolist() == ["ok", "too_few_positives", "ok"]
    assert table.loc[1, "n_pos"] == 4
    assert np.isnan(table.loc[1, "auroc"]) and np.isnan(table.loc[1, "auprc"])
    want_roc, want_ap = sklearn_metrics(y, score)
    np.testing.assert_allclose(table.loc[[0, 2], "auroc"], want_roc[[0, 2]], atol=1e-9)
    np.testing.assert_allclose(table.loc[[0, 2], "auprc"], want_ap[[0, 2]], atol=1e-9)


def test_constant_tracks_only_where_the_predictions_do_not_vary() -> None:
    rng = np.random.default_rng(0)
    constant = np.full((500, 40), 0.507, dtype=np.float32)  # 40 tracks: two blocks of 32
    assert constant_tracks(constant).all()
    weak = constant + rng.normal(0, 1e-3, constant.shape).astype(np.float32)
    assert not constant_tracks(weak).any()  # a weak model still ranks windows: not constant
    constant[:, 35] = rng.random(500)
    assert np.flatnonzero(~constant_tracks(constant)).tolist() == [35]


def test_metrics_table_gives_constant_predictions_no_auroc() -> None:
    """A collapsed model's AUROC of 0.5 comes from ties: status constant_predictions, no
    metrics; a track with too few positives keeps that status first."""
    y, score = random_case(6, n=400, t=3)
    score[:, 0] = 0.25
    score[:, 2] = 0.5
    y[:, 2] = 0
    y[:3, 2] = 1
    tracks = pd.DataFrame({"track": list("abc"), "assay": ["TF"] * 3, "cell_type": ["K"] * 3})
    table = metrics_table(y, score, tracks, min_positives=5)
    assert table["status"].tolist() == ["constant_predictions", "ok", "too_few_positives"]
    assert np.isnan(table.loc[0, "auroc"]) and np.isnan(table.loc[0, "auprc"])
    assert table.loc[1, "auroc"] == pytest.approx(sklearn_metrics(y, score)[0][1])


def test_curve_points_lie_on_sklearn_curves() -> None:
    y, score = random_case(7, n=3000, t=2, levels=20)
    curves = track_curves(y, score, n_points=50)
    for j, curve in enumerate(curves):
        fpr, tpr, _ = roc_curve(y[:, j], score[:, j], drop_intermediate=False)
        precision, recall, _ = precision_recall_curve(y[:, j], score[:, j])
        exact_roc = set(zip(np.round(fpr, 12), np.round(tpr, 12), strict=True))
        exact_pr = set(zip(np.round(recall, 12), np.round(precision, 12), strict=True))
        assert 10 < len(curve.fpr) <= 52
        assert (curve.fpr[0], curve.tpr[0]) == (0, 0) and (curve.fpr[-1], curve.tpr[-1]) == (1, 1)
        assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.recall) >= 0)
        for point in zip(np.round(curve.fpr, 12), np.round(curve.tpr, 12), strict=True):
            assert point in exact_roc
        recall, precision = np.round(curve.recall[1:], 12), np.round(curve.precision[1:], 12)
        for point in zip(recall, precision, strict=True):
            assert point in exact_pr
    y[:, 1] = 0
    assert track_curves(y, score)[1] is None
