"""Optimiser settings: published defaults for `full`, fast ones for `small`, the step schedule."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from seq2chrom.models import build_model
from seq2chrom.training.optimizers import (
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
        "name": "sgd",
        "learning_rate": 1.0,
        "momentum": 0.9,
        "nesterov": False,
        "schedule": {"type": "inverse_time", "decay": 8e-7},
    }
    sgd = build_optimizer(deepsea)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.9
    # Torch's learningRateDecay: lr / (1 + 8e-7 t), t the iteration
    schedule = keras.optimizers.serialize(sgd)["config"]["learning_rate"]
    schedule = keras.optimizers.schedules.deserialize(schedule)
    assert float(schedule(1_250_000)) == pytest.approx(0.5)
    for name in ("danq", "danq_jaspar"):
        settings = optimizer_settings(name, "full")
        assert settings["name"] == "rmsprop" and settings["learning_rate"] == 1e-3
        assert settings["schedule"] == {"type": "none"}


def test_small_presets_train_at_their_validated_rates():
    adam = build_optimizer(optimizer_settings("deepsea", "small"))
    assert isinstance(adam, keras.optimizers.Adam) and _rate(adam) == pytest.approx(1e-3)
    rmsprop = build_optimizer(optimizer_settings("danq", "small"))
    assert isinstance(rmsprop, keras.optimizers.RMSprop) and _rate(rmsprop) == pytest.approx(1e-3)


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
