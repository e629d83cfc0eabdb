"""Optimisers and learning-rate schedules: the config's `train.optimizer` and `train.lr_schedule`.

`optimizer_settings` resolves what the user left null against the model's defaults:

  model, preset        optimizer                        schedule
  deepsea full         SGD lr 1, momentum 0.9           inverse_time, decay 8e-7 per step
  danq(_jaspar) full   RMSprop lr 1e-3 (Keras default)  none
  deepsea small        Adam lr 1e-3                     none
  danq(_jaspar) small  RMSprop lr 1e-3                  none

The `full` rows are the published settings (DeepSEA's Torch `optim.sgd`: learningRate 1,
learningRateDecay 8e-7, momentum 0.9; its weight decay 1e-6 is the model's L2 penalty). `small`
models train on a few thousand samples in minutes, where SGD at lr 1 leaves the small DeepSEA
dead (every ReLU off, AUROC 0.5). At 3e-3 (the demo's rate) the small models collapsed the same
way on two balanced tracks (DanQ's RMSprop in 3 of 3 seeds on 8,000 windows, DeepSEA's Adam on
2,000) where 1e-3 learned: tests/bench/bench_presets.py measures the small defaults on several
data shapes (README, "Presets").

`build_optimizer` makes the Keras optimiser from the resolved settings and `compile_model`
compiles a model with it; `epoch_learning_rate` gives the rate of an epoch under a `step`
schedule.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings are resolved without starting a framework (init-config)
    import keras

NAMES = ("sgd", "adam", "rmsprop")
SCHEDULES = ("none", "step", "inverse_time")
# Rates used when the optimiser is not the model's own (Keras's defaults).
KERAS_RATES = {"sgd": 0.01, "adam": 1e-3, "rmsprop": 1e-3}
DEFAULT_MOMENTUM = {"sgd": 0.9, "adam": None, "rmsprop": 0.0}
STEP_DEFAULTS = {"drop": 0.5, "every": 10}
DEEPSEA_DECAY = 8e-7


def model_defaults(model: str, preset: str) -> dict:
    """The optimiser and schedule of `model` (deepsea, danq, danq_jaspar) with `preset`."""
    if preset == "small":
        name = "adam" if model == "deepsea" else "rmsprop"
        return {"name": name, "learning_rate": 1e-3, "schedule": {"type": "none"}}
    if model == "deepsea":
        return {
            "name": "sgd",
            "learning_rate": 1.0,
            "schedule": {"type": "inverse_time", "decay": DEEPSEA_DECAY},
        }
    return {"name": "rmsprop", "learning_rate": 1e-3, "schedule": {"type": "none"}}


def optimizer_settings(
    model: str,
    preset: str,
    learning_rate: float | None = None,
    optimizer: dict | None = None,
    lr_schedule: dict | None = None,
) -> dict:
    """Resolve the train section's optimiser keys; null or missing keys take the defaults.

    optimizer: {name, momentum, nesterov}; lr_schedule: {type, drop, every, decay}.
    learning_rate None: the model's rate when `name` is the model's optimiser, else Keras's
    default for `name` (KERAS_RATES). Returns {name, learning_rate, momentum, nesterov,
    schedule: {type, ...}}, JSON-serialisable. Raises ValueError naming the bad key.
    """
    optimizer, lr_schedule = dict(optimizer or {}), dict(lr_schedule or {})
    unknown = set(optimizer) - {"name", "momentum", "nesterov"}
    unknown |= {f"lr_schedule.{k}" for k in set(lr_schedule) - {"type", "drop", "every", "decay"}}
    if unknown:
        raise ValueError(f"train.optimizer: unknown keys {sorted(unknown)}")
    own = model_defaults(model, preset)
    name = optimizer.get("name") or own["name"]
    if name not in NAMES:
        raise ValueError(f"train.optimizer.name: {name!r}; choose from {list(NAMES)}")
    if learning_rate is None:
        learning_rate = own["learning_rate"] if name == own["name"] else KERAS_RATES[name]
    momentum = optimizer.get("momentum")
    if momentum is not None and name == "adam":
        raise ValueError("train.optimizer.momentum: Adam has no momentum setting; leave it null")
    if momentum is None:
        momentum = DEFAULT_MOMENTUM[name]
    nesterov = bool(optimizer.get("nesterov", False))
    if nesterov and name != "sgd":
        raise ValueError(f"train.optimizer.nesterov: only for sgd, not {name}")
    kind = lr_schedule.get("type") or (own["schedule"]["type"] if name == own["name"] else "none")
    if kind not in SCHEDULES:
        raise ValueError(f"train.lr_schedule.type: {kind!r}; choose from {list(SCHEDULES)}")
    schedule: dict = {"type": kind}
    if kind == "step":
        schedule |= {key: lr_schedule.get(key) or STEP_DEFAULTS[key] for key in STEP_DEFAULTS}
        if not 0 < schedule["drop"] <= 1 or int(schedule["every"]) < 1:
            raise ValueError("train.lr_schedule: drop must be in (0, 1] and every >= 1")
    elif kind == "inverse_time":
        schedule["decay"] = lr_schedule.get("decay", DEEPSEA_DECAY)
    return {
        "name": name,
        "learning_rate": float(learning_rate),
        "momentum": momentum,
        "nesterov": nesterov,
        "schedule": schedule,
    }


def build_optimizer(settings: dict) -> keras.optimizers.Optimizer:
    """The Keras optimiser of resolved `settings` (see `optimizer_settings`).

    inverse_time: rate / (1 + decay * iteration), per step, as Torch's learningRateDecay.
    step: a constant rate here; the trainer sets each epoch's rate (`epoch_learning_rate`).
    """
    import keras

    rate = settings["learning_rate"]
    schedule = settings["schedule"]
    if schedule["type"] == "inverse_time":
        rate = keras.optimizers.schedules.InverseTimeDecay(
            rate, decay_steps=1, decay_rate=schedule["decay"]
        )
    name = settings["name"]
    if name == "sgd":
        return keras.optimizers.SGD(
            rate, momentum=settings["momentum"], nesterov=settings["nesterov"]
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(rate, momentum=settings["momentum"])
    return keras.optimizers.Adam(rate)


def compile_model(model: keras.Model, settings: dict) -> keras.Model:
    """Compile `model` with binary cross-entropy and the optimiser of resolved `settings`
    (`optimizer_settings`, the same object the run record keeps); returns `model`."""
    model.compile(optimizer=build_optimizer(settings), loss="binary_crossentropy")
    return model


def epoch_learning_rate(settings: dict | None, epoch: int) -> float | None:
    """Rate of 0-based `epoch` under a `step` schedule; None for other schedules or no settings.

    Multiplies the rate by `drop` every `every` epochs (the course's step_decay):
    rate * drop ** floor(epoch / every), so epochs 0..every-1 run at the full rate.
    """
    if not settings or settings["schedule"]["type"] != "step":
        return None
    schedule = settings["schedule"]
    return settings["learning_rate"] * schedule["drop"] ** math.floor(epoch / schedule["every"])
