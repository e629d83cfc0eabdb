"""First-layer filters -> PWMs: scanning both strands, site counting, min_sites, influence."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.motifs.meme import read_meme
from seq2chrom.motifs.pwms import (
    codes_to_one_hot,
    filter_influence,
    filter_pwms,
    information_content,
    max_activations,
    mean_activations,
)
from seq2chrom.splitfile import one_hot_to_codes

# A CTCF-like 12-column PWM (rows A, C, G, T), as a planted motif.
MOTIF = np.array(
    [[.1, .1, .7, .1], [.1, .8, .05, .05], [.05, .05, .05, .85], [.1, .1, .7, .1],
     [.05, .05, .85, .05], [.1, .7, .1, .1], [.1, .1, .1, .7], [.7, .1, .1, .1],
     [.05, .85, .05, .05], [.1, .1, .7, .1], [.1, .7, .1, .1], [.7, .1, .1, .1]]
)  # fmt: skip


def reverse_complement(text: str) -> str:
    return text[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def encode(text: str) -> np.ndarray:
    return np.array(["ACGTN".index(c) for c in text], dtype=np.uint8)


def keras_conv1(kernel: np.ndarray, bias: np.ndarray, seq_len: int, n_tracks: int = 3):
    """A tiny model whose first layer is `conv1` with the given weights (no training)."""
    import keras

    inputs = keras.Input((seq_len, 4))
    x = keras.layers.Conv1D(kernel.shape[2], kernel.shape[0], activation="relu", name="conv1")(
        inputs
    )
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(n_tracks, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv1").set_weights([kernel, bias])
    return model


def planted_sequences(rng, n: int, length: int, fraction: float):
    """Random codes with a site sampled from MOTIF (random strand) in `fraction` of them."""
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    has_site = rng.random(n) < fraction
    for i in np.flatnonzero(has_site):
        site = (rng.random((len(MOTIF), 1)) > np.cumsum(MOTIF, axis=1)).sum(axis=1)
        site = np.minimum(site, 3).astype(np.uint8)
        if rng.random() < 0.5:
            site = (3 - site)[::-1]
        start = rng.integers(0, length - len(MOTIF))
        codes[i, start : start + len(MOTIF)] = site
    return codes, has_site


def test_codes_round_trip():
    x = codes_to_one_hot(encode("ACGTNA")[None]).astype(np.uint8)
    assert x.shape == (1, 6, 4) and x[0, 4].sum() == 0
    np.testing.assert_array_equal(one_hot_to_codes(x), encode("ACGTNA")[None])


@pytest.mark.parametrize("width", [5, 8])
def test_scan_matches_keras_convolution(width):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (20, 40)).astype(np.uint8)
    kernel = rng.normal(size=(width, 4, 6)).astype(np.float32)
    bias = rng.normal(size=6).astype(np.float32)
    conv = keras_conv1(kernel, bias, 40).get_layer("conv1")
    x = codes_to_one_hot(codes)
    forward_map = np.asarray(conv(x))  # (N, P, F) ReLU output, forward strand
    reverse_map = np.asarray(conv(x[:, ::-1, ::-1].copy()))
    forward, reverse = forward_map.max(axis=1), reverse_map.max(axis=1)
    best, position, minus = max_activations(codes, kernel, bias)
    np.testing.assert_allclose(np.maximum(best, 0), np.maximum(forward, reverse), atol=1e-5)
    assert ((reverse > forward) == minus)[best > 0].all()
    # the reported position holds the best window: forward index, or mirrored for -
    n_pos = 40 - width + 1
    at_forward = np.take_along_axis(forward_map, position[:, None, :], axis=1)[:, 0]
    at_reverse = np.take_along_axis(reverse_map, (n_pos - 1 - position)[:, None, :], axis=1)[:, 0]
    np.testing.assert_allclose(
        np.where(minus, at_reverse, at_forward), np.maximum(best, 0), atol=1e-5
    )


def test_sites_read_in_the_filter_orientation():
    kernel = codes_to_one_hot(encode("AACG")[None])[0][:, :, None] * 2 - 1  # +1 match, -1 not
    # AACG on +; AACC (score 2 on both strands); CGTT = AACG on -; all N (score 0)
    texts = ["TTTAACGTTT", "TTTAACCTTT", "TCGTTTTTTT", "NNNNNNNNNN"]
    codes = np.stack([encode(text) for text in texts])
    best, position, minus = max_activations(codes, kernel)
    assert best[:, 0].tolist() == [4, 2, 4, 0]
    assert position[0, 0] == 3 and not minus[0, 0]
    assert position[2, 0] == 1 and minus[2, 0]  # CGTT on + is AACG on -
    # Sites: every window scoring > 0.9 x 4, on either strand, so the first sequence gives two
    # (AACG at 3 on +, CGTT at 5 = AACG on -) and the third one (CGTT at 1): 3 x AACG.
    result = filter_pwms(codes, kernel, threshold=0.9, min_sites=2, pseudocount=0)
    assert result.n_sites.tolist() == [3]
    np.testing.assert_array_equal(result.counts[0], 3 * codes_to_one_hot(encode("AACG")[None])[0])
    assert result.passed.tolist() == [True]
    assert filter_pwms(codes, kernel, threshold=0.9, min_sites=4).passed.tolist() == [False]
    # At 0.4 x 4 = 1.6, windows scoring 2 count too (3 matching bases of 4): AACC in the
    # second sequence on + and, on -, GGTT's complement... counted by hand below.
    low = filter_pwms(codes, kernel, threshold=0.4, min_sites=1, pseudocount=0)
    by_hand = 0
    for text in texts:
        for start in range(len(text) - 3):
            for window in (text[start : start + 4], reverse_complement(text[start : start + 4])):
                by_hand += sum(a == b for a, b in zip(window, "AACG", strict=True)) * 2 - 4 > 1.6
    assert low.n_sites.tolist() == [by_hand] and by_hand > 3


def test_conv1_equal_to_motif_recovers_it():
    rng = np.random.default_rng(1)
    codes, has_site = planted_sequences(rng, 400, 150, 0.5)
    log_odds = np.log2(MOTIF / 0.25)
    kernel = np.concatenate(
        [log_odds[:, :, None], rng.normal(0, 0.3, (len(MOTIF), 4, 3))], axis=2
    ).astype(np.float32)
    result = filter_pwms(codes, kernel, np.zeros(4, np.float32), threshold=0.5, min_sites=10)
    # Sites scoring under half the best planted site are dropped (Basset's threshold), so
    # only part of the planted sites count, and the PWM is sharper than MOTIF.
    n_planted = int(has_site.sum())
    assert 0.4 * n_planted <= result.n_sites[0] <= 1.05 * n_planted
    pwm = result.pwm[0]
    np.testing.assert_allclose(pwm.sum(axis=1), 1)
    assert np.corrcoef(pwm.ravel(), MOTIF.ravel())[0, 1] > 0.95
    assert (pwm.argmax(axis=1) == MOTIF.argmax(axis=1)).all()
    assert result.information[0] == pytest.approx(information_content(pwm).sum())
    assert result.information[0] > result.information[1:].max()


def test_information_content():
    assert information_content(np.full((3, 4), 0.25)).tolist() == [0, 0, 0]
    assert information_content(np.eye(4)).tolist() == [2, 2, 2, 2]


def test_cli_filter_pwms(tmp_path):

    rng = np.random.default_rng(2)
    codes, has_site = planted_sequences(rng, 120, 100, 0.6)
    x = codes_to_one_hot(codes).astype(np.uint8)
    y = np.stack([has_site, ~has_site, np.zeros(len(x), bool)], axis=1).astype(np.uint8)
    y[:5, 2] = 1
    with h5py.File(tmp_path / "test.h5", "w") as h5:
        h5["x"], h5["y"] = x, y
        h5["tracks"] = np.array(["CTCF_K562", "other", "few"], dtype=object)
    kernel = np.zeros((len(MOTIF), 4, 3), np.float32)
    kernel[:, :, 0] = np.log2(MOTIF / 0.25)
    kernel[:, :, 1] = rng.normal(0, 0.5, (len(MOTIF), 4))  # noise filter: sites anywhere
    kernel[:, :, 2] = -1.0  # never positive: inactive
    model = keras_conv1(kernel, np.zeros(3, np.float32), 100)
    dense = model.get_layer("output")
    weights = np.zeros((3, 3), np.float32)
    weights[0, 0] = 1.0  # only filter0 feeds the first track
    dense.set_weights([weights, np.zeros(3, np.float32)])
    model.save(tmp_path / "model.keras")
    out = {k: tmp_path / f"{k}.tsv" for k in ("filters", "influence")}
    args = ["filter-pwms", "--model", str(tmp_path / "model.keras")]
    args += ["--data", str(tmp_path / "test.h5"), "--max-sequences", "100", "--min-sites", "100000"]
    args += ["--out-meme", str(tmp_path / "filters.meme"), "--out-filters", str(out["filters"])]
    args += ["--out-influence", str(out["influence"]), "--influence-sequences", "50"]
    assert main(args) == 0
    filters = pd.read_csv(out["filters"], sep="\t")
    assert filters["status"].tolist() == ["too_few_sites", "too_few_sites", "inactive"]
    assert "letter-probability matrix" not in (tmp_path / "filters.meme").read_text()

    args[args.index("--min-sites") + 1] = "10"
    assert main(args) == 0
    filters = pd.read_csv(out["filters"], sep="\t")
    assert filters["status"].tolist() == ["written", "written", "inactive"]
    assert 20 <= filters["n_sites"].iloc[0] <= 75  # of about 60 planted in the 100 scanned
    assert filters["n_sites"].iloc[2] == 0
    motifs = read_meme(tmp_path / "filters.meme")
    assert [m.id for m in motifs] == ["filter0", "filter1"]
    assert np.corrcoef(motifs[0].matrix.ravel(), MOTIF.ravel())[0, 1] > 0.9
    influence = pd.read_csv(out["influence"], sep="\t", index_col="filter")
    assert list(influence.columns) == ["CTCF_K562", "other", "few"]
    assert influence.loc["filter0", "CTCF_K562"] > 0.05
    assert (influence.loc[["filter1", "filter2"]] == 0).all().all()
    assert filters.loc[0, "top_track"] == "CTCF_K562"


def test_influence_holds_the_filter_at_its_mean_activation():
    """Basset's influence on a hand-worked model: conv1 (A detector, C detector) -> max -> sum."""
    import keras

    inputs = keras.Input((3, 4))
    x = keras.layers.Conv1D(2, 1, activation="relu", name="conv1")(inputs)
    x = keras.layers.GlobalMaxPooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="output")(x))
    kernel = np.zeros((1, 4, 2), np.float32)
    kernel[0, 0, 0] = kernel[0, 1, 1] = 1.0
    model.get_layer("conv1").set_weights([kernel, np.zeros(2, np.float32)])
    model.get_layer("output").set_weights([np.array([[1.0], [0.0]], np.float32), np.zeros(1)])
    x = codes_to_one_hot(np.stack([encode("AAC"), encode("CCC")]))
    # A detector: activations [1, 1, 0] and [0, 0, 0], mean 1/3; C detector: mean 4/6
    np.testing.assert_allclose(mean_activations(model, x), [1 / 3, 2 / 3], rtol=1e-6)
    # predictions max = 1 and 0; held at 1/3 both: mean change ((1 - 1/3) + (0 - 1/3)) / 2
    influence = filter_influence(model, x)
    np.testing.assert_allclose(influence, [[1 / 6], [0.0]], atol=1e-6)
    # the model itself is left as it was
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0], kernel)
