"""The `small` presets train on data that is not the demo (issue: a dead model on a user's own
two-factor ChIP-seq set): the smallest shape of `make bench`'s presets benchmark, cut to a
few thousand windows and a few epochs, never collapses at the default settings."""

from __future__ import annotations

import pytest

from tests.bench.bench_presets import train_once
from tests.bench.shapes import Shape

# Two balanced, anti-correlated tracks: where both small models collapsed at a rate of 3e-3
# (DeepSEA's Adam in 1 of 3 seeds here, at AUROC 0.5 in the others; DanQ's RMSprop in 2 of 3).
TWO_FACTORS = Shape("2 balanced tracks, 2k windows", 2, 2_000)


@pytest.mark.slow  # trains 6 small models, about 25 s each
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("model", ["deepsea", "danq"])
def test_small_presets_do_not_collapse_on_two_balanced_tracks(tmp_path, model, seed):
    outcome, lowest, _, _ = train_once(TWO_FACTORS, model, seed, tmp_path, 6, {})
    assert outcome != "collapsed"
    assert lowest > 0.6  # every track ranks windows, if not yet at the benchmark's 0.8
