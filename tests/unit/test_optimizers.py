"""Optimiser settings (published defaults for `full`, fast ones for `small`, the step schedule)
and TorchSGD against a numpy implementation of Torch7's optim.sgd."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import yaml
from seq2chrom.models import build_model
from seq2chrom.training.checkpoint import Checkpoint
from seq2chrom.training.optimizers import (
    TorchSGD,
    build_optimizer,
    compile_model,
    epoch_learning_rate,
    optimizer_settings,
)


def _rate(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def test_full_presets_take_the_published_optimisers():
    deepsea = optimizer_settings("deepsea", "full")
    assert deepsea == {
        "name": "torch_sgd",
        "learning_rate": 1.0,
        "momentum": 0.9,
        "nesterov": False,
        "dampening": 0.9,
        "weight_decay": 1e-6,
        "epsilon": None,
        "schedule": {"type": "inverse_time", "decay": 8e-7},
    }
    sgd = build_optimizer(deepsea)
    assert isinstance(sgd, TorchSGD)
    config = keras.optimizers.serialize(sgd)["config"]  # the run record keeps it as YAML
    assert yaml.safe_load(yaml.safe_dump(config)) == config
    assert (config["learning_rate"], config["momentum"], config["dampening"]) == (1.0, 0.9, 0.9)
    assert (config["weight_decay"], config["learning_rate_decay"]) == (1e-6, 8e-7)
    for name in ("danq", "danq_jaspar"):
        settings = optimizer_settings(name, "full")
        assert settings["name"] == "rmsprop" and settings["learning_rate"] == 1e-3
        assert settings["schedule"] == {"type": "none"}
        assert build_optimizer(settings).epsilon == 1e-6  # Keras 0.2's RMSprop
    # Keras's SGD keeps its Keras-side schedule when chosen
    keras_sgd = build_optimizer(optimizer_settings("deepsea", "full", 1.0, {"name": "sgd"}, {}))
    assert isinstance(keras_sgd, keras.optimizers.SGD)


def test_small_presets_train_at_their_validated_rates():
    adam = build_optimizer(optimizer_settings("deepsea", "small"))
    assert isinstance(adam, keras.optimizers.Adam) and _rate(adam) == pytest.approx(1e-3)
    rmsprop = build_optimizer(optimizer_settings("danq", "small"))
    assert isinstance(rmsprop, keras.optimizers.RMSprop) and _rate(rmsprop) == pytest.approx(1e-3)
    assert rmsprop.epsilon == 1e-7  # Keras 3's, as the small presets were tuned with


def test_chosen_optimiser_rate_and_keys():
    sgd = optimizer_settings("danq", "small", None, {"name": "sgd", "nesterov": True})
    # another optimiser than the model's own starts at Keras's rate for it, momentum 0.9
    assert (sgd["learning_rate"], sgd["momentum"], sgd["nesterov"]) == (0.01, 0.9, True)
    built = build_optimizer(sgd)
    assert isinstance(built, keras.optimizers.SGD) and built.nesterov
    assert optimizer_settings("deepsea", "full", 0.1, {"name": "adam"})["learning_rate"] == 0.1
    with pytest.raises(ValueError, match="nesterov"):
        optimizer_settings("danq", "full", None, {"nesterov": True})
    with pytest.raises(ValueError, match="momentum"):
        optimizer_settings("deepsea", "small", None, {"momentum": 0.5})
    with pytest.raises(ValueError, match="unknown keys"):
        optimizer_settings("danq", "full", None, {"beta": 0.5})
    torch = optimizer_settings("danq", "full", None, {"name": "torch_sgd"})
    assert (torch["learning_rate"], torch["weight_decay"], torch["dampening"]) == (1e-3, 0.0, 0.9)
    with pytest.raises(ValueError, match="dampening 0"):
        optimizer_settings("deepsea", "full", None, {"nesterov": True})
    nesterov = {"nesterov": True, "dampening": 0.0}
    assert optimizer_settings("deepsea", "full", None, nesterov)["nesterov"]
    with pytest.raises(ValueError, match="weight_decay: only for torch_sgd"):
        optimizer_settings("danq", "full", None, {"weight_decay": 1e-6})


def test_step_schedule_multiplies_by_drop_every_n_epochs():
    settings = optimizer_settings(
        "danq", "small", 0.1, {}, {"type": "step", "drop": 0.5, "every": 2}
    )
    rates = [epoch_learning_rate(settings, epoch) for epoch in range(6)]
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert epoch_learning_rate(optimizer_settings("danq", "small"), 5) is None
    assert epoch_learning_rate(None, 5) is None


def test_compile_model_uses_the_train_section():
    model = build_model("danq", 2, 100, "small", conv_filters=4, lstm_units=2, hidden_units=4)
    compile_model(model, optimizer_settings("danq", "small", 0.2, {"name": "sgd", "momentum": 0.5}))
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.momentum == 0.5 and _rate(model.optimizer) == pytest.approx(0.2)
    keras.backend.clear_session()


def test_trainer_runs_each_epoch_at_its_step_rate_and_fingerprints_the_choice(tmp_path):
    from seq2chrom.training.batches import H5Batches
    from seq2chrom.training.trainer import Control, Plan, fingerprint, train

    from tests.unit.training_data import planted_split

    step = {"type": "step", "drop": 0.5, "every": 1}
    settings = optimizer_settings("danq", "small", 0.01, {}, step)
    keras.utils.set_random_seed(1)
    model = build_model("danq", 3, 100, "small", conv_filters=4, lstm_units=2, hidden_units=4)
    compile_model(model, settings)
    rates = []

    class Batches(H5Batches):  # records the rate the optimiser has when an epoch starts
        def __getitem__(self, index):
            if index == 0:
                rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
            return super().__getitem__(index)

    plan = Plan(patience=5, optimizer=settings)
    train(
        model,
        Batches(planted_split(tmp_path / "train.h5", 100, seed=0), 50, seed=1),
        H5Batches(planted_split(tmp_path / "valid.h5", 50, seed=1), 50, shuffle=False),
        plan,
        Control(epochs=3, verbose=0),
    )
    # Keras may read the first batch twice per epoch
    np.testing.assert_allclose(sorted(set(rates), reverse=True), [0.01, 0.005, 0.0025])
    assert rates == sorted(rates, reverse=True)
    constant = optimizer_settings("danq", "small", 0.01)
    assert fingerprint(Plan(patience=5, optimizer=constant)) != fingerprint(plan)
    keras.backend.clear_session()


# --- TorchSGD: Torch7's optim.sgd (torch/optim sgd.lua) ---------------------------------------


def _torch_sgd_reference(x, gradient, batches, lr, momentum, dampening, wd, lrd, nesterov):
    """Torch7's optim.sgd in float64 numpy on the flat parameter vector `x` (Torch's
    getParameters), one step per batch; returns x after each step."""
    velocity, history = None, []
    for t, batch in enumerate(batches):
        g = gradient(x, batch) + wd * x  # dfdx:add(wd, x)
        if momentum:
            # state.dfdx: a copy of the first gradient, then mom * v + (1 - damp) * g
            velocity = g.copy() if velocity is None else momentum * velocity + (1 - dampening) * g
            g = g + momentum * velocity if nesterov else velocity
        x = x - lr / (1 + t * lrd) * g  # clr = lr / (1 + nevals * lrd)
        history.append(x)
    return history


def _linear_mse_gradient(x, batch):
    """Gradient of mean((inputs W + b - y)**2) over samples and outputs (Keras's "mse") with
    respect to x = [W (4, 3) flattened, b (3,)]."""
    inputs, y = batch
    kernel, bias = x[:12].reshape(4, 3), x[12:]
    dz = 2 * (inputs @ kernel + bias - y) / y.size
    return np.concatenate([(inputs.T @ dz).ravel(), dz.sum(axis=0)])


def _linear_model(optimizer, loss="mse"):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, bias_initializer="ones")(inputs))
    model.compile(optimizer=optimizer, loss=loss)
    return model


@pytest.mark.parametrize(
    "momentum, dampening, nesterov",
    [(0.9, None, False), (0.9, 0.0, True), (0.5, 0.2, False), (0.0, None, False)],
)
def test_torch_sgd_updates_equal_torch7_formulas(momentum, dampening, nesterov):
    rng = np.random.default_rng(1)
    batches = [(rng.uniform(-1, 1, (5, 4)), rng.uniform(-1, 1, (5, 3))) for _ in range(6)]
    settings = {"lr": 0.3, "wd": 0.05, "lrd": 0.1, "momentum": momentum, "nesterov": nesterov}
    model = _linear_model(
        TorchSGD(
            settings["lr"],
            momentum=momentum,
            dampening=dampening,
            weight_decay=settings["wd"],
            learning_rate_decay=settings["lrd"],
            nesterov=nesterov,
        )
    )
    start = np.concatenate([np.ravel(w).astype(np.float64) for w in model.get_weights()])
    expected = _torch_sgd_reference(
        start,
        _linear_mse_gradient,
        batches,
        dampening=momentum if dampening is None else dampening,
        **settings,
    )
    for (x, y), want in zip(batches, expected, strict=True):
        model.train_on_batch(x.astype("float32"), y.astype("float32"))
        got = np.concatenate([np.ravel(w) for w in model.get_weights()])
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert np.abs(expected[-1][12:] - start[12:]).min() > 0.05  # every bias moved
    keras.backend.clear_session()


def test_torch_sgd_steady_step_is_keras_sgd_times_one_minus_momentum():
    """A constant gradient g: Torch moves lr * g every step (its velocity averages gradients);
    Keras's SGD moves lr * g * (1 - m**k) / (1 - m) at step k, ten times as far at m = 0.9."""
    steps, lr, m = 40, 0.01, 0.9
    x = np.ones((2, 4), "float32")
    biases = {}
    for name, optimizer in (
        ("torch", TorchSGD(lr, momentum=m)),
        ("keras", keras.optimizers.SGD(lr, momentum=m)),
    ):
        model = _linear_model(optimizer, loss=lambda y, p: keras.ops.mean(p))  # d/db = 1/3
        trace = [model.get_weights()[1][0]]
        for _ in range(steps):
            model.train_on_batch(x, np.zeros((2, 3), "float32"))
            trace.append(model.get_weights()[1][0])
        biases[name] = -np.diff(np.array(trace, dtype=np.float64))
    g = 1 / 3
    np.testing.assert_allclose(biases["torch"], lr * g, rtol=1e-4)
    k = np.arange(1, steps + 1)
    np.testing.assert_allclose(biases["keras"], lr * g * (1 - m**k) / (1 - m), rtol=1e-4)
    assert biases["keras"][-1] / biases["torch"][-1] == pytest.approx((1 - m**steps) / (1 - m))
    keras.backend.clear_session()


def test_torch_sgd_weight_decay_reaches_biases():
    model = _linear_model(TorchSGD(0.1, weight_decay=0.5), loss=lambda y, p: 0.0 * keras.ops.sum(p))
    kernel, bias = (np.asarray(w) for w in model.get_weights())
    for _ in range(3):
        model.train_on_batch(np.ones((2, 4), "float32"), np.zeros((2, 3), "float32"))
    # no loss gradient: each step x <- x - lr * wd * x, biases included (dfdx:add(wd, x))
    np.testing.assert_allclose(model.get_weights()[1], bias * 0.95**3, rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], kernel * 0.95**3, rtol=1e-6)
    keras.backend.clear_session()


def test_torch_sgd_saves_loads_and_resumes_from_a_checkpoint(tmp_path):
    rng = np.random.default_rng(2)
    batches = [(rng.normal(size=(5, 4)), rng.normal(size=(5, 3))) for _ in range(6)]
    batches = [(x.astype("float32"), y.astype("float32")) for x, y in batches]

    def optimizer():
        return build_optimizer(optimizer_settings("deepsea", "full", 0.1))

    model = _linear_model(optimizer())
    for x, y in batches[:3]:
        model.train_on_batch(x, y)
    Checkpoint(tmp_path / "checkpoint").save(model, {"epoch": 1}, None)
    resumed = _linear_model(optimizer())
    Checkpoint(tmp_path / "checkpoint").load(resumed)
    assert int(resumed.optimizer.iterations) == 3  # not a first step again
    for x, y in batches[3:]:
        model.train_on_batch(x, y)
        resumed.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, TorchSGD)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    keras.backend.clear_session()
