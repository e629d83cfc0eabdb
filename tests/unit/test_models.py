"""Model builders: published parameter counts, presets, layer names, backend-neutral code."""

from __future__ import annotations

import inspect
from pathlib import Path

import keras
import numpy as np
import pytest
from seq2chrom.modelfile.loading import load_model
from seq2chrom.models import build_model, danq, deepsea
from seq2chrom.models.danq import init_conv_from_pwms, published_jaspar_pwms
from seq2chrom.motifs.jaspar import danq_jaspar_pwms
from seq2chrom.training.optimizers import compile_model, optimizer_settings

PUBLISHED = {"deepsea": 52_843_119, "danq": 46_926_479, "danq_jaspar": 67_892_175}


@pytest.mark.parametrize("name", PUBLISHED)
def test_full_models_have_published_parameter_counts(name):
    model = build_model(name, n_tracks=919)
    assert model.count_params() == PUBLISHED[name]
    assert model.get_layer("conv1").kernel.shape[1] == 4
    assert model.get_layer("output").units == 919
    keras.backend.clear_session()


@pytest.mark.parametrize("name", PUBLISHED)
def test_small_presets_build_and_predict_probabilities(name):
    model = build_model(name, n_tracks=5, preset="small")
    assert model.count_params() < 1_000_000
    x = keras.ops.convert_to_tensor(np.eye(4, dtype="float32")[np.zeros((2, 1000), int)])
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, 5)
    assert ((y > 0) & (y < 1)).all()
    compile_model(model, optimizer_settings(name, "small"))
    assert model.optimizer is not None


def test_overrides_change_sizes_and_unknown_names_fail():
    model = build_model("deepsea", 3, seq_len=200, preset="small", conv_filters=(4, 4, 4))
    assert model.get_layer("conv3").filters == 4
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("danq", 3, preset="huge")
    with pytest.raises(TypeError):
        build_model("danq", 3, preset="small", not_a_size=1)


def test_deepsea_max_norm_constraint_holds_after_an_update():
    small_sizes = {"conv_filters": (8, 8, 8), "hidden_units": 8}
    norms = {}
    for preset in ("full", "small"):
        model = build_model("deepsea", 2, 200, preset, **small_sizes)
        compile_model(model, optimizer_settings("deepsea", "small", 50.0))  # Adam, big steps
        x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (8, 200))]
        model.train_on_batch(x, np.ones((8, 2), "float32"))
        kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
        norms[preset] = np.sqrt((kernel**2).sum(axis=(0, 1))).max()
    assert norms["full"] <= 0.9 + 1e-5
    assert norms["small"] > 0.9  # the small preset trains without the cap


@pytest.mark.parametrize("batch", [1, 8])
def test_deepsea_penalties_add_their_exact_size_to_the_loss(batch):
    """L1 on the hidden output summed over the batch (DeepSEA's Torch nn.L1Penalty with
    sizeAverage off) and l2 * sum(kernel**2): a Keras release that rescales either fails here
    (Keras 3.14 began dividing activity regularizers by the batch size)."""
    keras.utils.set_random_seed(0)
    model = deepsea(
        40, 2, conv_filters=(3, 3, 3), conv_width=3, pool_size=2, dropout=(0, 0, 0),
        hidden_units=5, max_norm=None, l2=0.05, l1_activity=0.02,
    )  # fmt: skip
    hidden_layer = model.get_layer("hidden")
    hidden_layer.bias.assign(np.full(5, 2.0, "float32"))  # activations near 2, all counted
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
    rng = np.random.default_rng(batch)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, (batch, 40))]
    y = rng.integers(0, 2, (batch, 2)).astype("float32")
    loss = float(model.train_on_batch(x, y))
    p = keras.ops.convert_to_numpy(model(x)).astype(np.float64)
    cross_entropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    hidden = keras.ops.convert_to_numpy(keras.Model(model.inputs, hidden_layer.output)(x))
    kernels = [model.get_layer(name).kernel for name in ("conv1", "conv2", "conv3", "hidden")]
    kernels.append(model.get_layer("output").kernel)
    l2 = 0.05 * sum(
        float((keras.ops.convert_to_numpy(k).astype(np.float64) ** 2).sum()) for k in kernels
    )
    l1 = 0.02 * np.abs(hidden.astype(np.float64)).sum()
    assert l1 > 0.1 * batch and l2 > 0.01
    assert loss - cross_entropy == pytest.approx(l1 + l2, rel=1e-4)
    keras.backend.clear_session()


def test_deepsea_weight_decay_is_the_optimisers_at_full_and_l2_at_small():
    full = build_model("deepsea", 2, 200, "full", conv_filters=(4, 4, 4), hidden_units=4)
    assert all(full.get_layer(n).kernel_regularizer is None for n in ("conv1", "output"))
    assert optimizer_settings("deepsea", "full")["weight_decay"] == 1e-6  # torch_sgd's
    small = build_model("deepsea", 2, 200, "small")
    assert small.get_layer("conv1").kernel_regularizer.l2 == pytest.approx(5e-7)
    assert small.get_layer("hidden_l1").rate == full.get_layer("hidden_l1").rate == 1e-8
    keras.backend.clear_session()


def _blocks(kernel: np.ndarray, units: int) -> list[np.ndarray]:
    return [kernel[:, g * units : (g + 1) * units] for g in range(kernel.shape[1] // units)]


def test_full_danq_initialises_as_keras_02_and_small_keeps_keras_3():
    keras.utils.set_random_seed(0)
    sizes = {"conv_filters": 40, "lstm_units": 16, "hidden_units": 4}
    full = build_model("danq", 3, 100, "full", **sizes)
    conv = keras.ops.convert_to_numpy(full.get_layer("conv1").kernel)
    assert np.abs(conv).max() <= 0.05 and np.abs(conv).max() > 0.049  # U(-0.05, 0.05)
    assert conv.std() == pytest.approx(0.05 / np.sqrt(3), rel=0.05)
    glorot_per_gate = np.sqrt(6 / (40 + 16))  # each gate's own (40, 16) input kernel
    blstm = full.get_layer("blstm")
    for cell in (blstm.forward_layer.cell, blstm.backward_layer.cell):
        kernel, recurrent, bias = (keras.ops.convert_to_numpy(w) for w in cell.weights)
        for block in _blocks(recurrent, 16):  # orthogonal x 1.1, gate by gate
            np.testing.assert_allclose(block.T @ block, 1.21 * np.eye(16), atol=1e-5)
        assert glorot_per_gate * 0.95 < np.abs(kernel).max() <= glorot_per_gate
        np.testing.assert_array_equal(bias, np.repeat([0, 1, 0, 0], 16))  # forget gate 1
    small = build_model("danq", 3, 100, "small", **sizes)
    assert np.abs(keras.ops.convert_to_numpy(small.get_layer("conv1").kernel)).max() > 0.06
    recurrent = keras.ops.convert_to_numpy(small.get_layer("blstm").forward_layer.cell.weights[1])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(16), atol=1e-5)  # Keras 3's
    block = _blocks(recurrent, 16)[0]
    assert not np.allclose(block.T @ block, np.eye(16), atol=0.1)
    keras.backend.clear_session()


def test_models_with_seq2chrom_layers_save_and_load_safely(tmp_path):
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (3, 200))]
    for name, sizes in (
        ("deepsea", {"conv_filters": (4, 4, 4), "hidden_units": 4}),
        ("danq", {"conv_filters": 8, "lstm_units": 4, "hidden_units": 4}),
    ):
        model = build_model(name, 2, 200, "full", **sizes)
        model.save(tmp_path / f"{name}.keras")
        loaded = load_model(tmp_path / f"{name}.keras")
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6
        )
    assert loaded.get_layer("blstm").forward_layer.cell.recurrent_initializer.gain == 1.1
    keras.backend.clear_session()


SHARED_JASPAR = Path(__file__).resolve().parents[3] / "shared/data/JASPAR_CORE_2016_vertebrates.npy"


@pytest.fixture(scope="module")
def jaspar_2016():
    return danq_jaspar_pwms()


@pytest.mark.skipif(not SHARED_JASPAR.exists(), reason="../shared reference data not present")
def test_jaspar_2016_motifs_equal_the_danq_repository_file(jaspar_2016):
    published = np.load(SHARED_JASPAR, allow_pickle=True, encoding="latin1")
    assert len(jaspar_2016) == len(published) == 519
    agct_to_acgt = [0, 2, 1, 3]  # the file's columns are A, G, C, T
    for ours, theirs in zip(jaspar_2016, published, strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs)[:, agct_to_acgt], atol=1e-6)


def test_published_order_appends_six_reverse_complements(jaspar_2016):
    pwms = published_jaspar_pwms(jaspar_2016)
    assert len(pwms) == 525
    # motif 98 is CTCF (MA0139.1, 19 bp); kernel 521 is its reverse complement
    consensus = "".join("ACGT"[i] for i in pwms[98].argmax(axis=1))
    assert consensus[3:15] == "CCACCAGGGGGC"  # CTCF's core
    np.testing.assert_array_equal(pwms[521], pwms[98][::-1, ::-1])
    np.testing.assert_array_equal(pwms[519], jaspar_2016[19][::-1, ::-1])


def test_init_writes_motifs_at_offsets_with_margins_and_keeps_the_rest():
    layer = keras.layers.Conv1D(4, 12)
    layer.build((None, 50, 4))
    before = np.array(layer.get_weights()[0])
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.25] * 4])  # A, T, N
    rng = np.random.default_rng(0)
    assert init_conv_from_pwms(layer, [pwm, pwm[::-1, ::-1]], rng) == 2
    kernel, bias = (np.array(w) for w in layer.get_weights())
    for i, motif in enumerate([pwm, pwm[::-1, ::-1]]):
        changed = np.flatnonzero((kernel[:, :, i] != before[:, :, i]).any(axis=1))
        start = changed[0]
        assert 3 <= start <= 12 - 3 - 3  # offset in [3, width - w - 3]
        np.testing.assert_allclose(kernel[start : start + 3, :, i], motif - 0.25, atol=1e-7)
        assert changed[-1] <= start + 2  # other positions keep their random values
    np.testing.assert_array_equal(kernel[:, :, 2:], before[:, :, 2:])
    assert (bias[:2] >= -1).all() and (bias[:2] <= 0).all() and (bias[2:] == 0).all()
    with pytest.raises(ValueError, match="conv_width"):
        init_conv_from_pwms(layer, [np.full((7, 4), 0.25)], rng)


def test_init_offsets_cover_the_published_range():
    layer = keras.layers.Conv1D(400, 30)
    layer.build((None, 60, 4))
    pwm = np.tile([[0.97, 0.01, 0.01, 0.01]], (21, 1))
    init_conv_from_pwms(layer, [pwm] * 400, np.random.default_rng(1))
    kernel = np.array(layer.get_weights()[0])
    starts = (kernel[:, 0, :] > 0.7).argmax(axis=0)  # first position holding the motif
    assert set(starts.tolist()) == {3, 4, 5, 6}  # 30 - 21 - 3 = 6


def test_small_danq_jaspar_takes_the_first_motifs_in_published_order(jaspar_2016):
    model = build_model("danq_jaspar", 3, preset="small")
    layer = model.get_layer("conv1")
    n = init_conv_from_pwms(layer, published_jaspar_pwms(jaspar_2016), np.random.default_rng(1))
    assert n == layer.filters == 128
    kernel = np.array(layer.get_weights()[0])
    # kernel 5 holds motif 5 minus 0.25 somewhere in [3, 30 - w - 3]
    motif = jaspar_2016[5] - 0.25
    w = len(motif)
    found = [
        s
        for s in range(3, 30 - w - 3 + 1)
        if np.allclose(kernel[s : s + w, :, 5], motif, atol=1e-6)
    ]
    assert len(found) == 1
    keras.backend.clear_session()


def test_full_danq_jaspar_writes_motifs_over_keras_02_kernels(jaspar_2016):
    keras.utils.set_random_seed(0)
    model = build_model("danq_jaspar", 3, 100, "full", conv_filters=530, lstm_units=4)
    layer = model.get_layer("conv1")
    assert (
        init_conv_from_pwms(layer, published_jaspar_pwms(jaspar_2016), np.random.default_rng(1))
        == 525
    )
    kernel, bias = (np.array(w) for w in layer.get_weights())
    assert np.abs(kernel[:, :, 525:]).max() <= 0.05 and (bias[525:] == 0).all()  # U(-0.05, 0.05)
    ctcf = published_jaspar_pwms(jaspar_2016)[98] - 0.25
    assert any(np.allclose(kernel[s : s + 19, :, 98], ctcf, atol=1e-6) for s in range(3, 9))
    assert (bias[:525] < 0).all()
    keras.backend.clear_session()


def test_model_code_uses_only_keras():
    from seq2chrom.models import custom

    for module in (deepsea, danq, custom):
        source = inspect.getsource(inspect.getmodule(module))
        assert "tensorflow" not in source and "import torch" not in source


@pytest.mark.slow  # trains a model
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_models_build_and_run_under_other_backends(backend):
    pytest.importorskip(backend)
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np; from seq2chrom.models import build_model\n"
        "for name in ('deepsea', 'danq'):\n"
        "    m = build_model(name, 3, 200, 'small')\n"
        "    assert m(np.zeros((2, 200, 4), 'float32')).shape == (2, 3)\n"
    )
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
