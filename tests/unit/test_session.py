"""`seq2chrom train`'s run (training/session.py): the early-stopping rule of train.patience_rule
against Keras 3's EarlyStopping and Keras 0.2.0's, which DanQ_train.py used."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from seq2chrom.errors import InputError
from seq2chrom.training.session import TrainRequest, run_training, stopping_patience

from tests.unit.training_data import planted_split


def keras02_stop_epoch(val_losses: list[float], patience: int) -> int | None:
    """The 1-based epoch after which Keras 0.2.0's EarlyStopping stopped fit, or None.

    Its on_epoch_end (keras/callbacks.py of the keras 0.2.0 sdist), restated: a lower loss
    resets `wait` to 0; otherwise the callback stops training if `wait >= patience` and only
    then adds one to `wait`.
    """
    best, wait = math.inf, 0
    for epoch, current in enumerate(val_losses, 1):
        if current < best:
            best, wait = current, 0
        else:
            if wait >= patience:
                return epoch
            wait += 1
    return None


@functools.cache
def _any_model() -> keras.Model:
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])


def keras3_stop_epoch(val_losses: list[float], patience: int) -> int | None:
    """The 1-based epoch after which Keras 3's own EarlyStopping callback stops, or None."""
    model = _any_model()
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    callback.set_model(model)
    model.stop_training = False  # as Model.fit sets it
    callback.on_train_begin()
    for epoch, current in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": current})
        if model.stop_training:
            return epoch + 1
    return None


def counted_stop_epoch(val_losses: list[float], epochs_without_gain: int) -> int | None:
    """Epoch at which a run stops that ends after `epochs_without_gain` epochs in a row without
    a lower loss (what the trainer does with `Plan.patience`)."""
    best, wait = math.inf, 0
    for epoch, current in enumerate(val_losses, 1):
        best, wait = (current, 0) if current < best else (best, wait + 1)
        if wait >= epochs_without_gain:
            return epoch
    return None


def test_patience_rules_match_both_keras_versions():
    rng = np.random.default_rng(0)
    for _ in range(100):
        losses = np.round(rng.random(12), 1).tolist()  # ties on purpose: equal is no gain
        for patience in (1, 2, 5):
            keras3 = counted_stop_epoch(losses, stopping_patience(patience, "keras3"))
            keras02 = counted_stop_epoch(losses, stopping_patience(patience, "keras0.2"))
            assert keras3 == keras3_stop_epoch(losses, patience)
            assert keras02 == keras02_stop_epoch(losses, patience)
    # DanQ_train.py's patience 5: 6 epochs without a lower validation loss in Keras 0.2
    assert keras02_stop_epoch([1.0] + [1.0] * 10, 5) == 7 == keras3_stop_epoch([1.0] * 11, 5) + 1
    with pytest.raises(InputError, match="patience_rule 'keras2'"):
        stopping_patience(5, "keras2")


def test_train_settings_in_model_settings_are_refused(tmp_path: Path):
    request = TrainRequest(
        "danq", tmp_path / "t.h5", tmp_path / "v.h5", tmp_path / "out", 1,
        {"preset": "small", "train": {"epochs": 60}},
    )  # fmt: skip
    with pytest.raises(InputError, match="--model-settings: holds train settings"):
        run_training(request)


@pytest.mark.slow  # trains a tiny model for 3 epochs (~7 s)
def test_keras02_rule_trains_one_epoch_more_than_keras3(tmp_path: Path):
    """A learning rate too small to move a weight: the validation loss never falls after epoch
    1, so patience 1 counted as Keras 0.2 stops after epoch 3, where Keras 3 stops after 2."""
    train = planted_split(tmp_path / "train.h5", 64, seed=0)
    valid = planted_split(tmp_path / "valid.h5", 32, seed=1)
    sizes = {"preset": "small", "conv_filters": [4, 4, 4], "hidden_units": 4, "pool_size": 2}
    settings = {"epochs": 6, "patience": 1, "patience_rule": "keras0.2", "learning_rate": 1e-30}
    settings["batch_size"] = 32
    out = tmp_path / "deepsea"
    run_training(TrainRequest("deepsea", train, valid, out, 1, sizes, settings))
    losses = pd.read_csv(out / "history.tsv", sep="\t")["val_loss"].tolist()
    assert len(losses) == keras02_stop_epoch(losses, 1) == 3
    assert keras3_stop_epoch(losses, 1) == 2
