"""Model builders: published parameter counts, presets, layer names, backend-neutral code."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
from seq2chrom import models
from seq2chrom.models import build_model, compile_model, danq, deepsea

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
    compile_model(model, name)
    assert model.optimizer is not None


def test_overrides_change_sizes_and_unknown_names_fail():
    model = build_model("deepsea", 3, seq_len=200, preset="small", conv_filters=(4, 4, 4))
    assert model.get_layer("conv3").filters == 4
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("danq", 3, preset="huge")
    with pytest.raises(TypeError):
        build_model("danq", 3, preset="small", not_a_size=1)


def test_published_optimisers():
    sgd = models.OPTIMIZERS["deepsea"](None)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.9
    assert isinstance(models.OPTIMIZERS["danq"](None), keras.optimizers.RMSprop)
    assert isinstance(models.build_optimizer("deepsea", "full"), keras.optimizers.SGD)
    small = models.build_optimizer("deepsea", "small", learning_rate=0.01)
    assert isinstance(small, keras.optimizers.Adam)
    assert float(keras.ops.convert_to_numpy(small.learning_rate)) == pytest.approx(0.01)
    danq_small = models.build_optimizer("danq", "small")
    assert isinstance(danq_small, keras.optimizers.RMSprop)
    assert float(keras.ops.convert_to_numpy(danq_small.learning_rate)) == pytest.approx(3e-3)


def test_deepsea_max_norm_constraint_holds_after_an_update():
    small_sizes = {"conv_filters": (8, 8, 8), "hidden_units": 8}
    norms = {}
    for preset in ("full", "small"):
        model = build_model("deepsea", 2, 200, preset, **small_sizes)
        compile_model(model, "deepsea", learning_rate=50.0, preset="small")  # Adam, big steps
        x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (8, 200))]
        model.train_on_batch(x, np.ones((8, 2), "float32"))
        kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
        norms[preset] = np.sqrt((kernel**2).sum(axis=(0, 1))).max()
    assert norms["full"] <= 0.9 + 1e-5
    assert norms["small"] > 0.9  # the small preset trains without the cap


def test_danq_jaspar_initialises_about_half_the_kernels_from_both_strands():
    model = build_model("danq_jaspar", 3, preset="small")
    kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)  # (30, 4, 128)
    n = kernel.shape[2] // 2
    motif = kernel[:, :, :n]
    # probabilities minus 0.25: every column sums to 0 and lies in [-0.25, 0.75]
    np.testing.assert_allclose(motif.sum(axis=1), 0, atol=1e-5)
    assert motif.min() >= -0.25 - 1e-6 and motif.max() <= 0.75 + 1e-6
    # 3 bp margins are zero; pairs (2k, 2k+1) are reverse complements of each other
    assert not motif[:3].any() and not motif[-3:].any()
    for k in range(0, n, 2):
        fwd = motif[:, :, k][np.abs(motif[:, :, k]).sum(axis=1) > 0]
        rev = motif[:, :, k + 1][np.abs(motif[:, :, k + 1]).sum(axis=1) > 0]
        np.testing.assert_allclose(fwd[::-1, ::-1], rev, atol=1e-6)
    # the other half keeps the random initialisation
    assert np.abs(kernel[:, :, n:].sum(axis=1)).max() > 0.01


def test_model_code_uses_only_keras():
    for module in (deepsea, danq):
        source = inspect.getsource(inspect.getmodule(module))
        assert "tensorflow" not in source and "import torch" not in source


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
