"""Attributions: exact on a linear model (worked out with numpy), focused on a toy motif, the same
under JAX; dinucleotide shuffles keep the counts; the attributions file and its windows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from seq2chrom.attribution.methods import (
    Settings,
    attribute,
    centred,
    contributions,
    logit_model,
)
from seq2chrom.attribution.shuffle import dinucleotide_shuffle, shuffled_references, symbols
from seq2chrom.data.one_hot import one_hot_encode, reverse_complement

from tests.unit.toy_models import linear_model, motif_model

WINDOW = 40
KERNEL = np.random.default_rng(3).normal(size=(5, 4)).astype("float32")


def linear_score(x: np.ndarray, kernel: np.ndarray = KERNEL, bias: float = 0.25) -> np.ndarray:
    """numpy's strand-averaged output of `linear_model`: (N, L, 4) -> (N,) float64."""

    def one_strand(x):
        w, positions = len(kernel), x.shape[1] - len(kernel) + 1
        scan = sum(x[:, k : k + positions] @ kernel[k] for k in range(w))
        return scan.mean(axis=1) + bias

    x = np.asarray(x, np.float64)
    return (one_strand(x) + one_strand(reverse_complement(x))) / 2


def linear_gradient(window: int, kernel: np.ndarray = KERNEL) -> np.ndarray:
    """The gradient of `linear_score` by hand: (L, 4), the same at every input."""
    w, positions = len(kernel), window - len(kernel) + 1
    forward = np.zeros((window, 4))
    for k in range(w):
        forward[k : k + positions] += kernel[k] / positions
    return (forward + forward[::-1, ::-1]) / 2


def random_windows(n: int, window: int, seed: int = 0) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 4, (n, window))
    return np.eye(4, dtype=np.uint8)[codes]


@pytest.fixture(scope="module")
def linear():
    return linear_model(KERNEL, WINDOW, bias=0.25)


@pytest.mark.parametrize("method", ["gradient", "ism"])
def test_linear_model_attributions_are_exact(linear, method):
    x = random_windows(3, WINDOW)
    x[1, 7] = 0  # an N
    hypothetical = attribute(linear, x, 0, Settings(method, batch_size=50), np.random.default_rng())
    expected = centred(linear_gradient(WINDOW))
    for h in hypothetical:
        np.testing.assert_allclose(h, expected, atol=2e-6)
    contrib = contributions(hypothetical, x)
    assert (contrib[1, 7] == 0).all()
    # ISM by hand: one substitution, scored with numpy
    mutant = x[:1].copy()
    mutant[0, 12] = np.eye(4)[(x[0, 12].argmax() + 1) % 4]
    effect = linear_score(mutant) - linear_score(x[:1])
    base = mutant[0, 12].argmax()
    ref = x[0, 12].argmax()
    np.testing.assert_allclose(
        hypothetical[0, 12, base] - hypothetical[0, 12, ref], effect[0], 1e-4
    )


def test_expected_gradients_on_a_linear_model_are_complete(linear):
    x = random_windows(2, WINDOW, seed=1)
    settings = Settings("expected_gradients", batch_size=64, references=4, steps=3)
    hypothetical = attribute(linear, x, 0, settings, np.random.default_rng(7))
    references = shuffled_references(x, 4, np.random.default_rng(7))  # the same draws
    gradient = linear_gradient(WINDOW)
    expected = (gradient[None, None] - (gradient * references).sum(-1, keepdims=True)).mean(1)
    np.testing.assert_allclose(hypothetical, expected, atol=2e-6)
    total = contributions(hypothetical, x).sum(axis=(1, 2))
    baseline = np.mean([linear_score(references[:, k]) for k in range(4)], axis=0)
    np.testing.assert_allclose(total, linear_score(x) - baseline, atol=1e-5)


def test_motif_bases_carry_the_attribution():
    window = 60
    sequence = "C" * 30 + "GATA" + "G" * 26
    x = one_hot_encode(sequence)[None]
    model = motif_model(window)  # 1 when the forward strand holds GATA: 0.5 strand-averaged
    for method in ("gradient", "ism"):
        contrib = contributions(attribute(model, x, 0, Settings(method), None), x).sum(-1)[0]
        assert np.flatnonzero(np.abs(contrib) > 1e-6).tolist() == [30, 31, 32, 33], method
        # the gradient of the max-pooled ReLU is 1/2 at each motif base (one strand of two);
        # ISM: losing the base loses the motif, 1/2, and 3 of the 4 bases do
        np.testing.assert_allclose(contrib[30:34], 0.375, atol=1e-6)


def test_logit_model_drops_the_sigmoid():
    import keras

    inputs = keras.Input((WINDOW, 4))
    hidden = keras.layers.GlobalAveragePooling1D()(inputs)
    outputs = keras.layers.Dense(2, activation="sigmoid", name="output")(hidden)
    model = keras.Model(inputs, outputs)
    x = random_windows(4, WINDOW).astype("float32")
    p = np.asarray(model.predict_on_batch(x))
    z = np.asarray(logit_model(model).predict_on_batch(x))
    np.testing.assert_allclose(1 / (1 + np.exp(-z)), p, rtol=1e-5)
    toy = motif_model(WINDOW)
    assert logit_model(toy) is toy  # no sigmoid layer named "output": scored as it is


def test_dinucleotide_shuffle_keeps_the_counts():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, 300)
    codes[100:140] = 4  # a run of N
    seen = set()
    for _ in range(20):
        shuffled = dinucleotide_shuffle(codes, rng)
        pairs = np.zeros((5, 5), int)
        np.add.at(pairs, (shuffled[:-1], shuffled[1:]), 1)
        expected = np.zeros((5, 5), int)
        np.add.at(expected, (codes[:-1], codes[1:]), 1)
        assert (pairs == expected).all()
        assert shuffled[0] == codes[0] and shuffled[-1] == codes[-1]
        seen.add(shuffled.tobytes())
    assert len(seen) == 20  # 20 different sequences
    x = one_hot_encode("ACGTNNACGT")
    assert symbols(x).tolist() == [0, 1, 2, 3, 4, 4, 0, 1, 2, 3]
    again = shuffled_references(x[None], 2, np.random.default_rng(1))
    assert again.shape == (1, 2, 10, 4) and (again.sum(-1) == (symbols(x) < 4)).all()


def test_shuffle_of_a_two_symbol_path_is_uniform():
    # ACAGA: A->C, C->A, A->G, G->A; the Eulerian paths are ACAGA and AGACA, one each
    codes = np.array([0, 1, 0, 2, 0])
    rng = np.random.default_rng(5)
    draws = [tuple(dinucleotide_shuffle(codes, rng)) for _ in range(400)]
    assert set(draws) == {(0, 1, 0, 2, 0), (0, 2, 0, 1, 0)}
    assert 160 < draws.count((0, 1, 0, 2, 0)) < 240


JAX_SCRIPT = """
import numpy as np
from seq2chrom.attribution.methods import Settings, attribute
from tests.unit.toy_models import linear_model
kernel = np.asarray({kernel}, "float32")
x = np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, (3, {window}))]
print(repr(attribute(linear_model(kernel, {window}), x, 0, Settings(batch_size=2), None).tolist()))
"""


@pytest.mark.slow  # a fresh Python with Keras on JAX: seconds of start-up
def test_jax_gradients_match():
    script = JAX_SCRIPT.format(kernel=KERNEL.tolist(), window=WINDOW)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env, cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    hypothetical = np.array(eval(done.stdout.strip().splitlines()[-1]))
    expected = centred(linear_gradient(WINDOW))
    for h in hypothetical:
        np.testing.assert_allclose(h, expected, atol=2e-6)


def three_track_model(window: int):
    """Three sigmoid tracks (a layer named "output", as seq2chrom's models), random weights."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((window, 4))
    scan = keras.layers.Conv1D(6, 8, activation="relu", name="conv1")(inputs)
    pooled = keras.layers.GlobalMaxPooling1D()(scan)
    outputs = keras.layers.Dense(3, activation="sigmoid", name="output")(pooled)
    return keras.Model(inputs, outputs)


def test_attribute_explains_the_best_predicted_positives(tmp_path):
    import yaml
    from seq2chrom.attribution.scores import read_attributions, top_positive_rows
    from seq2chrom.cli import main
    from seq2chrom.inference.predict import predict_file
    from seq2chrom.splitfile import read_labels, read_predictions

    from tests.unit.training_data import planted_split

    data = planted_split(tmp_path / "test.h5", 60, seq_len=50)
    folder = tmp_path / "model"
    folder.mkdir()
    model = three_track_model(50)
    model.save(folder / "model.keras")
    (folder / "config.yaml").write_text(yaml.safe_dump({"tracks": ["track0", "track1", "track2"]}))
    predict_file(model, data, tmp_path / "predictions.h5")
    argv = ["attribute", "--model", str(folder / "model.keras"), "--data", str(data)]
    argv += ["--predictions", str(tmp_path / "predictions.h5"), "--tracks", "track2", "track0"]
    argv += ["--windows", "5", "--bin-size", "20", "--device", "cpu", "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    y, _ = read_labels(data)
    y_pred = read_predictions(tmp_path / "predictions.h5").y_pred
    for j, track in ((2, "track2"), (0, "track0")):
        result = read_attributions(tmp_path / f"{track}.h5")
        rows = result.row.tolist()
        assert len(rows) == 5 and all(y[rows, j] == 1)
        worst = y_pred[rows, j].min()
        assert (y_pred[y[:, j] == 1, j] >= worst).sum() == 5  # no better positive left out
        assert rows == top_positive_rows(y_pred[:, j], y[:, j], 5).tolist()
        np.testing.assert_allclose(result.prediction, y_pred[rows, j])
        assert result.one_hot.shape == result.hypothetical.shape == (5, 50, 4)
        np.testing.assert_array_equal(result.contrib, result.hypothetical * result.one_hot)
        np.testing.assert_allclose(result.hypothetical.sum(-1), 0, atol=1e-6)  # centred
        assert result.start.tolist() == [row * 200 - 15 for row in rows]  # bins 20 in 50 bp
        assert result.chrom.tolist() == ["chr1"] * 5 and result.attrs["method"] == "gradient"
    ties = top_positive_rows(np.array([0.2, 0.9, 0.9, 0.5]), np.array([1, 1, 1, 0]), 5)
    assert ties.tolist() == [1, 2, 0]  # the negative row 3 never, ties in row order
    bad = main([*argv[:-6], "--tracks", "nope", "--out-dir", str(tmp_path)])
    assert bad == 1


def test_contribution_bigwigs_hold_each_bases_contribution_in_its_centred_window(tmp_path):
    import pyBigWig
    import yaml
    from seq2chrom.cli import main
    from seq2chrom.inference.tracks import centred_windows

    rng = np.random.default_rng(4)
    sequence = rng.choice(np.frombuffer(b"ACGT", np.uint8), 300)
    (tmp_path / "genome.fa").write_text(f">chrA\n{sequence.tobytes().decode()}\n")
    (tmp_path / "regions.bed").write_text("chrA\t0\t55\nchrA\t200\t300\nchrA\t250\t260\n")
    folder = tmp_path / "model"
    folder.mkdir()
    model = three_track_model(WINDOW)
    model.save(folder / "model.keras")
    (folder / "config.yaml").write_text(yaml.safe_dump({"tracks": ["track0", "track1", "track2"]}))
    argv = ["attribute-regions", "--model", str(folder / "model.keras"), "--genome",
            str(tmp_path / "genome.fa"), "--regions", str(tmp_path / "regions.bed"), "--tracks",
            "track2", "track0", "--bin-size", "10", "--batch-size", "4", "--device", "cpu",
            "--out-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    logits = logit_model(model)
    bins = np.concatenate([np.arange(0, 50, 10), np.arange(200, 300, 10)])
    x = centred_windows(sequence, bins, 10, WINDOW)  # N beyond the chromosome's ends
    for j, track in ((2, "track2"), (0, "track0")):
        expected = contributions(attribute(logits, x, j, Settings(), None), x).sum(-1)
        handle = pyBigWig.open(str(tmp_path / "out" / f"{track}.bw"))
        intervals = handle.intervals("chrA")
        handle.close()
        positions = [start for start, _, _ in intervals]
        assert positions == [*range(0, 55), *range(200, 300)]  # every base once, merged
        assert all(end == start + 1 for start, end, _ in intervals)
        for start, _, value in intervals:
            k = np.searchsorted(bins, start, side="right") - 1  # the bin holding the base
            assert value == pytest.approx(expected[k, start - bins[k] + 15], abs=1e-6)
    assert main([*argv[:7], "--tracks", "nope", *argv[10:]]) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["track0.bw", "track2.bw"]
