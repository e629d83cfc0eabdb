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

from tests.unit.toy_models import motif_model
from tests.unit.training_data import one_hot, write_split

GATA = np.array([2, 0, 3, 0], np.uint8)  # codes of G, A, T, A


def gata_split(path: Path, n: int = 60, window: int = 40) -> Path:
    """Random sequences without GATA on either strand; GATA planted in the first half (track0)."""
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 2, (n, window), dtype=np.uint8)  # A and C only: no G, no T
    codes[: n // 2, 10:14] = GATA
    y = np.zeros((n, 1), np.uint8)
    y[: n // 2, 0] = 1
    return write_split(path, one_hot(codes), y)


def test_write_filter_pwms_finds_the_motif_the_filter_detects(tmp_path: Path) -> None:
    data = gata_split(tmp_path / "test.h5")
    folder = tmp_path / "model"
    folder.mkdir()
    motif_model(40, "GATA").save(model_file(folder))
    config_file(folder).write_text("tracks: [track0]\n")
    out = FilterOutputs(*(tmp_path / name for name in ("f.meme", "f.tsv", "i.tsv")))
    settings = FilterSettings(
        max_sequences=20, activation_threshold=0.5, min_sites=5, influence_sequences=10, seed=1
    )
    filters = write_filter_pwms(model_file(folder), data, out, settings)
    # 20 positives sampled, one GATA each; A/C background never reaches half the maximum
    assert filters.loc[0, ["filter", "status", "n_sites"]].tolist() == ["filter0", "written", 20]
    (motif,) = read_meme(out.meme)
    assert motif.id == "filter0" and motif.matrix.argmax(axis=1).tolist() == GATA.tolist()
    assert pd.read_csv(out.filters, sep="\t")["filter"].tolist() == ["filter0"]
    influence = pd.read_csv(out.influence, sep="\t", index_col="filter")
    assert influence.columns.tolist() == ["track0"] and np.isfinite(influence.iloc[0, 0])

    no_influence = settings._replace(influence_sequences=0)
    write_filter_pwms(model_file(folder), data, out, no_influence)
    assert out.influence.read_text() == "filter\ttrack0\nfilter0\t\n"  # NaN: not measured


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
