"""Background e-values: per track, the fraction of background variants with a strictly larger
|diff|, checked against a direct count."""

from __future__ import annotations

import numpy as np
import pytest
from seq2chrom.errors import InputError
from seq2chrom.variants.evalues import background_null, evalues
from seq2chrom.variants.store import ScoresWriter, open_scores


def scored(path, ref, alt):
    n = len(ref)
    columns = {"line": np.int64}
    with ScoresWriter(path, [f"t{j}" for j in range(ref.shape[1])], columns) as writer:
        writer.append({"line": np.arange(n)}, {"ref_prob": ref, "alt_prob": alt})
    return open_scores(path)


def test_evalues_are_the_direct_count_of_larger_background_effects(tmp_path):
    rng = np.random.default_rng(0)
    n_background, n_tracks = 1500, 40  # more rows than one stored chunk
    ref = rng.random((n_background, n_tracks)).astype(np.float32)
    # effects on a grid of 1/64: many ties, which must not count as larger
    alt = np.clip(ref + rng.integers(-8, 9, ref.shape) / 64, 0, 1).astype(np.float32)
    with scored(tmp_path / "background.h5", ref, alt) as background:
        null = background_null(background)
    background_abs = np.abs(alt - ref)
    variant_abs = np.abs(rng.integers(-10, 11, (50, n_tracks)) / 64).astype(np.float32)
    variant_abs[0] = background_abs.max(axis=0)  # as large as the largest: e-value 0
    variant_abs[1] = 0  # below or tied with everything: the fraction above 0
    got = evalues(variant_abs, null)
    direct = np.array(
        [[(background_abs[:, t] > variant_abs[i, t]).sum() for t in range(n_tracks)]
         for i in range(len(variant_abs))]
    ) / n_background  # fmt: skip
    np.testing.assert_allclose(got, direct, rtol=1e-6, atol=0)
    assert got.dtype == np.float32
    assert (got[0] == 0).all()
    np.testing.assert_allclose(got[1], (background_abs > 0).mean(axis=0), rtol=1e-6)


def test_an_empty_background_stops(tmp_path):
    empty = np.zeros((0, 2), "f4")
    with (
        scored(tmp_path / "b.h5", empty, empty) as background,
        pytest.raises(InputError, match="the background has no scored variant"),
    ):
        background_null(background)


def test_a_background_of_other_tracks_is_refused():
    with pytest.raises(ValueError, match="3 tracks, null 2"):
        evalues(np.zeros((1, 3), "f4"), np.zeros((2, 5), "f4"))
