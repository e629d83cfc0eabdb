"""First-layer filters -> PWMs: Basset's rule by hand, both strands, the scan against Keras."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from seq2chrom.cli import main
from seq2chrom.motifs.meme import read_meme
from seq2chrom.motifs.pwms import (
    activation_stats,
    codes_to_one_hot,
    filter_pwms,
    information_content,
    site_counts,
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
    """Random codes with a site sampled from MOTIF in `fraction` of them, on a random strand
    (`forward`: planted as MOTIF reads, not reverse-complemented)."""
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    has_site = rng.random(n) < fraction
    forward = np.zeros(n, bool)
    for i in np.flatnonzero(has_site):
        site = (rng.random((len(MOTIF), 1)) > np.cumsum(MOTIF, axis=1)).sum(axis=1)
        site = np.minimum(site, 3).astype(np.uint8)
        forward[i] = rng.random() < 0.5
        if not forward[i]:
            site = (3 - site)[::-1]
        start = rng.integers(0, length - len(MOTIF))
        codes[i, start : start + len(MOTIF)] = site
    return codes, has_site, forward


def test_codes_round_trip():
    x = codes_to_one_hot(encode("ACGTNA")[None]).astype(np.uint8)
    assert x.shape == (1, 6, 4) and x[0, 4].sum() == 0
    np.testing.assert_array_equal(one_hot_to_codes(x), encode("ACGTNA")[None])


# A width-1 filter scoring A 4, C 2.25, G 1.75, T -2 (bias 0).
SCORES = np.array([[[4.0], [2.25], [1.75], [-2.0]]], np.float32)


def test_basset_site_limit_is_mean_plus_half_of_max_minus_mean():
    # ACGT and TTTT: outputs after the ReLU 4, 2.25, 1.75, 0 | 0, 0, 0, 0 -> mean 8 / 8 = 1,
    # max 4, limit 1 + 0.5 x (4 - 1) = 2.5: only the A. (0.5 x max = 2 would take the C too;
    # the mean before the ReLU, (8 - 2 - 8) / 8 = -0.25, would give 1.875 and take the C.)
    codes = np.stack([encode("ACGT"), encode("TTTT")])
    stats = activation_stats(codes, SCORES)
    assert stats.maximum.tolist() == [4.0] and stats.mean.tolist() == [1.0]
    result = filter_pwms(codes, SCORES, min_sites=1)
    assert result.limit.tolist() == [2.5] and result.n_sites.tolist() == [1]
    assert result.counts[0].tolist() == [[1, 0, 0, 0]]
    # Forward strand only. On both strands above 0.5 x 4 = 2: A and C of ACGT on each strand
    # (ACGT is its own reverse complement) and the four As of TTTT's reverse strand.
    both = filter_pwms(codes, SCORES, rule="both_strands", min_sites=1, threshold=0.5)
    assert both.limit.tolist() == [2.0] and both.n_sites.tolist() == [2 + 2 + 4]
    # threshold 0.3: 1 + 0.3 x 3 = 1.9 takes the C, not the G
    assert filter_pwms(codes, SCORES, threshold=0.3).n_sites.tolist() == [2]
    # The mean counts every sequence scanned: without TTTT it is 2, the limit 3.
    assert filter_pwms(codes[:1], SCORES).limit.tolist() == [3.0]


def test_basset_pseudocount_n_sites_and_minimum():
    # A filter on the dinucleotide AC (bias -1.5: only AC scores 0.5 > 0), mean 0.5 x (sites /
    # windows) and max 0.5, so every AC is a site; AN scores -0.5, never one. Nine sites.
    kernel = np.zeros((2, 4, 1), np.float32)
    kernel[0, 0, 0] = kernel[1, 1, 0] = 1.0
    bias = np.array([-1.5], np.float32)
    codes = np.stack([encode("ACTTTTTTTT")] * 9 + [encode("TTTTTTTTTT")])
    result = filter_pwms(codes, kernel, bias)
    assert result.n_sites.tolist() == [9] and result.passed.tolist() == [False]  # < 10
    # Basset's make_filter_pwm: (count + 1) / (sites + 4)
    np.testing.assert_allclose(result.pwm[0], [[10 / 13, 1 / 13, 1 / 13, 1 / 13],
                                               [1 / 13, 10 / 13, 1 / 13, 1 / 13]])  # fmt: skip
    ten = filter_pwms(np.concatenate([codes, codes[:1]]), kernel, bias)
    assert ten.n_sites.tolist() == [10] and ten.passed.tolist() == [True]
    # An N in a site adds 0.25 to each base: a filter on A alone, sites A (x2) and AN
    kernel = np.zeros((2, 4, 1), np.float32)
    kernel[0, 0, 0] = 1.0
    codes = np.stack([encode("AATT"), encode("TTAN")])  # windows AA, AT, TT | TT, TA, AN
    result = filter_pwms(codes, kernel, min_sites=1)
    assert result.n_sites.tolist() == [3]
    np.testing.assert_allclose(result.counts[0], [[3, 0, 0, 0], [1.25, 0.25, 0.25, 1.25]])
    np.testing.assert_allclose(result.pwm[0, 1], np.array([2.25, 1.25, 1.25, 2.25]) / 7)


def test_filter_that_never_fires_has_no_sites():
    codes = np.stack([encode("ACGT")])
    result = filter_pwms(codes, -np.abs(SCORES) - 1, min_sites=1)
    assert result.max_activation.tolist() == [0.0] and result.n_sites.tolist() == [0]
    assert result.limit.tolist() == [np.inf] and not result.passed[0]
    with pytest.raises(ValueError, match="rule 'max'"):
        filter_pwms(codes, SCORES, rule="max")


@pytest.mark.parametrize("width", [1, 5, 8])
def test_scan_matches_keras_convolution(width):
    """Maximum, mean and sites of both rules against Keras's Conv1D output, counted in numpy."""
    rng = np.random.default_rng(width)
    codes = rng.integers(0, 5, (30, 40)).astype(np.uint8)  # with Ns
    kernel = rng.normal(size=(width, 4, 6)).astype(np.float32)
    bias = rng.normal(size=6).astype(np.float32)
    conv = keras_conv1(kernel, bias, 40).get_layer("conv1")
    x = codes_to_one_hot(codes)
    forward = np.asarray(conv(x), np.float64)  # (N, P, F) ReLU output
    reverse = np.asarray(conv(x[:, ::-1, ::-1].copy()), np.float64)
    stats = activation_stats(codes, kernel, bias)
    np.testing.assert_allclose(stats.maximum, forward.max(axis=(0, 1)), atol=1e-5)
    np.testing.assert_allclose(stats.mean, forward.mean(axis=(0, 1)), rtol=1e-5)
    windows = sliding_window_view(np.eye(5)[codes], width, axis=1)  # (N, P, 5, width)
    limit = np.quantile(forward, 0.9, axis=(0, 1))
    found = site_counts(codes, kernel, bias, limit)
    above = forward > limit
    np.testing.assert_array_equal(found.n_sites, above.sum(axis=(0, 1)))
    by_hand = np.einsum("npf,npbw->fwb", above, windows)
    np.testing.assert_array_equal(found.counts, by_hand)
    # both strands: reverse windows mirror forward ones; read in the filter's orientation
    both = site_counts(codes, kernel, bias, limit, both_strands=True)
    above_reverse = reverse[:, ::-1] > limit  # aligned with forward window starts
    np.testing.assert_array_equal(both.n_sites, (above | above_reverse).sum(axis=(0, 1))
                                  + (above & above_reverse).sum(axis=(0, 1)))  # fmt: skip
    complemented = np.einsum("npf,npbw->fwb", above_reverse, windows)[:, ::-1][
        :, :, [3, 2, 1, 0, 4]
    ]
    np.testing.assert_array_equal(both.counts, by_hand + complemented)
    result = filter_pwms(codes, kernel, bias)
    expected_limit = stats.mean + 0.5 * (forward.max(axis=(0, 1)) - stats.mean)
    np.testing.assert_allclose(result.limit, expected_limit, rtol=1e-5)
    np.testing.assert_array_equal(result.n_sites, (forward > result.limit).sum(axis=(0, 1)))


def test_sites_read_in_the_filter_orientation():
    kernel = codes_to_one_hot(encode("AACG")[None])[0][:, :, None] * 2 - 1  # +1 match, -1 not
    # AACG on +; AACC (score 2 on both strands); CGTT = AACG on -; all N (score 0)
    texts = ["TTTAACGTTT", "TTTAACCTTT", "TCGTTTTTTT", "NNNNNNNNNN"]
    codes = np.stack([encode(text) for text in texts])
    # Sites: every window scoring > 0.9 x 4, on either strand, so the first sequence gives two
    # (AACG at 3 on +, CGTT at 5 = AACG on -) and the third one (CGTT at 1): 3 x AACG.
    result = filter_pwms(codes, kernel, rule="both_strands", threshold=0.9, min_sites=2)
    assert result.n_sites.tolist() == [3]
    np.testing.assert_array_equal(result.counts[0], 3 * codes_to_one_hot(encode("AACG")[None])[0])
    np.testing.assert_allclose(result.pwm[0], (result.counts[0] + 0.25) / 4)  # 3 sites + 1
    assert result.passed.tolist() == [True]
    # Basset's rule reads the forward strand only: the AACG at 3 of the first sequence
    basset = filter_pwms(codes, kernel, threshold=0.9, min_sites=1)
    assert basset.n_sites.tolist() == [1]
    # At 0.4 x 4 = 1.6, windows scoring 2 count too (3 matching bases of 4), counted by hand.
    low = filter_pwms(codes, kernel, rule="both_strands", threshold=0.4, min_sites=1)
    by_hand = 0
    for text in texts:
        for start in range(len(text) - 3):
            for window in (text[start : start + 4], reverse_complement(text[start : start + 4])):
                by_hand += sum(a == b for a, b in zip(window, "AACG", strict=True)) * 2 - 4 > 1.6
    assert low.n_sites.tolist() == [by_hand] and by_hand > 3


def test_conv1_equal_to_motif_recovers_it():
    rng = np.random.default_rng(1)
    codes, has_site, forward = planted_sequences(rng, 400, 150, 0.5)
    log_odds = np.log2(MOTIF / 0.25)
    kernel = np.concatenate(
        [log_odds[:, :, None], rng.normal(0, 0.3, (len(MOTIF), 4, 3))], axis=2
    ).astype(np.float32)
    result = filter_pwms(codes, kernel, np.zeros(4, np.float32), threshold=0.5, min_sites=10)
    # Only sites planted on the forward strand can count (Basset's rule), and of those only
    # the ones scoring above mean + 0.5 x (max - mean), so the PWM is sharper than MOTIF.
    n_forward = int(forward.sum())
    assert 0.4 * n_forward <= result.n_sites[0] <= 1.05 * n_forward
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
    codes, has_site, forward = planted_sequences(rng, 120, 100, 0.6)
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
    # of the 100 sequences scanned (all 120 are positive), about 30 hold a forward site
    assert 10 <= filters["n_sites"].iloc[0] <= forward.sum()
    assert filters["n_sites"].iloc[2] == 0
    motifs = read_meme(tmp_path / "filters.meme")
    assert [m.id for m in motifs] == ["filter0", "filter1"]
    assert np.corrcoef(motifs[0].matrix.ravel(), MOTIF.ravel())[0, 1] > 0.9
    influence = pd.read_csv(out["influence"], sep="\t", index_col="filter")
    assert list(influence.columns) == ["CTCF_K562", "other", "few"]
    # filter0 alone feeds CTCF_K562's logit; the other tracks' logits are 0 for every
    # sequence, so their standardised change is 0 / 0 (NaN) for every filter
    assert influence.loc["filter0", "CTCF_K562"] > 0.05
    assert (influence.loc[["filter1", "filter2"], "CTCF_K562"] == 0).all()
    assert influence[["other", "few"]].isna().all().all()
    assert filters.loc[0, "top_track"] == "CTCF_K562" and filters.loc[0, "influence"] != 0
    assert (filters.loc[1:, "influence"] == 0).all()
