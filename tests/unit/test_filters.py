"""The filter-pwms step as one function: a model whose conv1 detects GATA, sequences with GATA."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from seq2chrom.errors import InputError
from seq2chrom.modelfile import config_file, model_file
from seq2chrom.motifs.filters import (
    FilterOutputs,
    FilterSettings,
    conv1_weights,
    write_filter_pwms,
)
from seq2chrom.motifs.meme import read_meme

from tests.unit.toy_models import detector_model, motif_model
from tests.unit.training_data import one_hot, write_split

GATA = np.array([2, 0, 3, 0], np.uint8)  # codes of G, A, T, A


def gata_split(path: Path, n: int = 60, window: int = 40) -> Path:
    """Random A/C sequences (no GATA on either strand); GATA planted in the first 30 (track0);
    track1 positive on 10 others."""
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 2, (n, window), dtype=np.uint8)  # A and C only: no G, no T
    codes[:30, 10:14] = GATA
    y = np.zeros((n, 2), np.uint8)
    y[:30, 0] = 1
    y[30:40, 1] = 1
    return write_split(path, one_hot(codes), y)


def test_write_filter_pwms_finds_the_motif_the_filter_detects(tmp_path: Path) -> None:
    data = gata_split(tmp_path / "test.h5")
    folder = tmp_path / "model"
    folder.mkdir()
    # track0's logit: 1 where GATA is, else 0; track1's: 0 everywhere
    detector_model(40, ["GATA"], [[1.0, 0.0]]).save(model_file(folder))
    config_file(folder).write_text("tracks: [track0, track1]\n")
    out = FilterOutputs(*(tmp_path / name for name in ("f.meme", "f.tsv", "i.tsv")))
    settings = FilterSettings(
        max_sequences=100,
        activation_threshold=0.5,
        min_sites=5,
        pwm_rule="basset",
        influence_sequences=100,
        seed=1,
    )
    filters = write_filter_pwms(model_file(folder), data, out, settings)
    # the 40 positives, 30 with one GATA each; A/C background gives 0 (mean 30 / (40 x 37))
    assert filters.loc[0, ["filter", "status", "n_sites"]].tolist() == ["filter0", "written", 30]
    (motif,) = read_meme(out.meme)
    assert motif.id == "filter0" and motif.matrix.argmax(axis=1).tolist() == GATA.tolist()
    np.testing.assert_allclose(motif.matrix.max(axis=1), 31 / 34, atol=1e-4)  # (30 + 1) / (30 + 4)
    assert pd.read_csv(out.filters, sep="\t")["filter"].tolist() == ["filter0"]
    # Influence by hand: logits 1 (30 sequences) and 0 (10), mean 0.75, variance
    # 40 x 0.75 x 0.25 / 39; held at the mean output m, every logit is m.
    m = 30 / (40 * 37)
    influence = pd.read_csv(out.influence, sep="\t", index_col="filter")
    assert influence.columns.tolist() == ["track0", "track1"]
    assert influence.loc["filter0", "track0"] == pytest.approx((0.75 - m) / (7.5 / 39), rel=1e-4)
    assert np.isnan(influence.loc["filter0", "track1"])  # logit 0 for every sequence: 0 / 0
    softplus = np.logaddexp  # loss of logit z, label 1: softplus(-z); label 0: softplus(z)
    loss = 30 * softplus(0, -1) + 10 * softplus(0, 0)
    held = 30 * softplus(0, -m) + 10 * softplus(0, m)
    assert filters.loc[0, "influence"] == pytest.approx((held - loss) / 40, rel=1e-4)

    no_influence = settings._replace(influence_sequences=0)
    write_filter_pwms(model_file(folder), data, out, no_influence)
    assert out.influence.read_text() == "filter\ttrack0\ttrack1\nfilter0\t\t\n"  # not measured
    both = write_filter_pwms(
        model_file(folder), data, out, no_influence._replace(pwm_rule="both_strands")
    )
    assert both.loc[0, "n_sites"] == 30  # no GATA on the reverse strand (TATC)
    (motif,) = read_meme(out.meme)
    np.testing.assert_allclose(motif.matrix.max(axis=1), 30.25 / 31, atol=1e-4)


def test_conv1_weights_names_the_model_when_conv1_is_missing_or_not_one_hot() -> None:
    inputs = keras.Input((10, 4))
    other = keras.Model(inputs, keras.layers.Dense(1, name="dense")(inputs))
    with pytest.raises(InputError, match="m.keras: model has no layer named 'conv1'"):
        conv1_weights(other, "m.keras")
    inputs = keras.Input((10, 5))
    five = keras.Model(inputs, keras.layers.Conv1D(2, 3, name="conv1")(inputs))
    with pytest.raises(InputError, match=r"conv1 kernel shape \(3, 5, 2\)"):
        conv1_weights(five, "m.keras")
    kernel, bias = conv1_weights(motif_model(10), "m.keras")
    assert kernel.shape == (4, 4, 1) and bias.tolist() == [-3.0]
