"""Basset's filter influence (basset_motifs_infl) on a model whose answer is worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seq2chrom.motifs.influence import filter_influence, logit_model, mean_outputs
from seq2chrom.motifs.pwms import codes_to_one_hot

from tests.unit.toy_models import detector_model, motif_model


def encode(*texts: str) -> np.ndarray:
    return codes_to_one_hot(np.array([["ACGT".index(c) for c in t] for t in texts], np.uint8))


def bce(logit: float, label: int) -> float:
    """Cross-entropy of a probability, as Torch's BCECriterion: -log p or -log (1 - p)."""
    p = 1 / (1 + math.exp(-logit))
    return -math.log(p) if label else -math.log(1 - p)


def test_influence_holds_each_filter_at_its_mean_over_the_group():
    # conv1: A, C and G detectors (output 1 at the base, else 0); logit = maxA - 2 maxC + 5 maxG
    model = detector_model(3, ["A", "C", "G"], [[1.0], [-2.0], [5.0]])
    x, y = encode("AAC", "CCC"), np.array([[1], [0]])
    # A: outputs 1 1 0 | 0 0 0, mean 1/3; C: 0 0 1 | 1 1 1, mean 2/3; G never fires
    np.testing.assert_allclose(mean_outputs(model, x), [1 / 3, 2 / 3, 0], atol=1e-7)
    # logits -1 and -2: mean -1.5, variance (n - 1) 0.5. A held at 1/3: both 1/3 - 2 = -5/3;
    # C held at 2/3: 1 - 4/3 and -4/3, mean -5/6.
    result = filter_influence(model, x, y)
    np.testing.assert_allclose(
        result.tracks, [[(-1.5 + 5 / 3) / 0.5], [(-1.5 + 5 / 6) / 0.5], [0.0]], atol=1e-6
    )
    loss = bce(-1, 1) + bce(-2, 0)
    held_a = bce(-5 / 3, 1) + bce(-5 / 3, 0)
    held_c = bce(-1 / 3, 1) + bce(-4 / 3, 0)
    np.testing.assert_allclose(
        result.loss, [(held_a - loss) / 2, (held_c - loss) / 2, 0.0], atol=1e-6
    )
    assert result.tracks[0, 0] > 0 > result.tracks[1, 0]  # A raises the track, C lowers it
    # the model itself is left as it was
    assert model.get_layer("output").activation.__name__ == "sigmoid"
    assert model.get_layer("conv1").get_weights()[1].tolist() == [0.0, 0.0, 0.0]


def test_influence_groups_are_basset_batches():
    model = detector_model(3, ["A", "C"], [[1.0], [-2.0]])
    x, y = encode("AAC", "CCC", "AAC", "CCC"), np.array([[1], [0], [1], [0]])
    # Two groups of two: each as the pair above. One group of four: the same means and
    # changes, but the variance of -1, -2, -1, -2 is 1/3, so A's influence is (1/6) / (1/3).
    pairs = filter_influence(model, x, y, group_size=2)
    np.testing.assert_allclose(pairs.tracks[:, 0], [1 / 3, -4 / 3], atol=1e-6)
    whole = filter_influence(model, x, y, group_size=4)
    np.testing.assert_allclose(whole.tracks[:, 0], [0.5, -2.0], atol=1e-6)
    np.testing.assert_allclose(whole.loss, pairs.loss, atol=1e-6)  # per sequence either way


def test_influence_needs_logits():
    with pytest.raises(ValueError, match="no sigmoid activation"):
        logit_model(motif_model(10))
    model = detector_model(
        3,
        ["A"],
        [
            [1.0],
        ],
    )
    probabilities = model.predict_on_batch(encode("AAC", "CCA"))
    logits = logit_model(model).predict_on_batch(encode("AAC", "CCA"))
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probabilities, rtol=1e-6)
