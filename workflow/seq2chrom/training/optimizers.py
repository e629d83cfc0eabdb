"""Optimisers and learning-rate schedules: the config's `train.optimizer` and `train.lr_schedule`.

`optimizer_settings` resolves what the user left null against the model's defaults:

  model, preset        optimizer                                        schedule
  deepsea full         torch_sgd lr 1, momentum 0.9, weight decay 1e-6  inverse_time, 8e-7/step
  danq(_jaspar) full   RMSprop lr 1e-3, epsilon 1e-6 (Keras 0.2's)      none
  deepsea small        Adam lr 1e-3                                     none
  danq(_jaspar) small  RMSprop lr 1e-3, epsilon 1e-7 (Keras 3's)        none

The `full` rows are the published settings. DeepSEA trained with Torch7's `optim.sgd`
(learningRate 1, learningRateDecay 8e-7, momentum 0.9, weightDecay 1e-6: `run.sh` and
`4_train.lua` of DeepSEA's Torch training code), which `TorchSGD` (module `torch_sgd`)
implements exactly: its velocity averages the gradients (dampening = momentum), a tenth of the
step of Keras's SGD at momentum 0.9, and its weight decay reaches every parameter, biases
included; the `full` DeepSEA therefore adds no L2 of its own (models.deepsea). DanQ trained
with Keras 0.2's RMSprop (lr 1e-3, rho 0.9, epsilon 1e-6 inside the square root, as Keras
3's). `small` models train on a few thousand samples in minutes, where Keras's SGD at lr 1
left the small DeepSEA dead (every ReLU off, AUROC 0.5) and torch_sgd at lr 1 weak (lowest
track AUROC 0.49 and 0.69 after 6 epochs on test_presets.py's shape, 2 seeds). At 3e-3 (the
demo's rate) the small models collapsed the same way on two balanced tracks (DanQ's RMSprop in
3 of 3 seeds on 8,000 windows, DeepSEA's Adam on 2,000) where 1e-3 learned:
tests/bench/bench_presets.py measures the small defaults on several data shapes (README,
"Presets").

`build_optimizer` makes the Keras optimiser from the resolved settings and `compile_model`
compiles a model with it; `epoch_learning_rate` gives the rate of an epoch under a `step`
schedule.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings are resolved without starting a framework (init-config)
    import keras

NAMES = ("sgd", "torch_sgd", "adam", "rmsprop")
SCHEDULES = ("none", "step", "inverse_time")
# Rates used when the optimiser is not the model's own (Keras's defaults; Torch's for torch_sgd).
KERAS_RATES = {"sgd": 0.01, "torch_sgd": 1e-3, "adam": 1e-3, "rmsprop": 1e-3}
DEFAULT_MOMENTUM = {"sgd": 0.9, "torch_sgd": 0.9, "adam": None, "rmsprop": 0.0}
KERAS_EPSILON = 1e-7  # Keras 3's RMSprop epsilon
STEP_DEFAULTS = {"drop": 0.5, "every": 10}
DEEPSEA_DECAY = 8e-7
DEEPSEA_WEIGHT_DECAY = 1e-6
OPTIMIZER_KEYS = {"name", "momentum", "nesterov", "dampening", "weight_decay"}


def __getattr__(name: str):
    # `TorchSGD` is a Keras class: imported on first use, so resolving settings starts no
    # framework (init-config)
    if name == "TorchSGD":
        from seq2chrom.training.torch_sgd import TorchSGD

        return TorchSGD
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_defaults(model: str, preset: str) -> dict:
    """The optimiser and schedule of `model` (deepsea, danq, danq_jaspar) with `preset`."""
    if preset == "small":
        name = "adam" if model == "deepsea" else "rmsprop"
        return {"name": name, "learning_rate": 1e-3, "schedule": {"type": "none"}}
    if model == "deepsea":
        return {
            "name": "torch_sgd",
            "learning_rate": 1.0,
            "weight_decay": DEEPSEA_WEIGHT_DECAY,
            "schedule": {"type": "inverse_time", "decay": DEEPSEA_DECAY},
        }
    return {
        "name": "rmsprop",
        "learning_rate": 1e-3,
        "epsilon": 1e-6,  # Keras 0.2's RMSprop, which DanQ_train.py used
        "schedule": {"type": "none"},
    }


def optimizer_settings(
    model: str,
    preset: str,
    learning_rate: float | None = None,
    optimizer: dict | None = None,
    lr_schedule: dict | None = None,
) -> dict:
    """Resolve the train section's optimiser keys; null or missing keys take the defaults.

    optimizer: {name, momentum, nesterov, dampening, weight_decay}; lr_schedule: {type, drop,
    every, decay}. learning_rate None: the model's rate when `name` is the model's optimiser,
    else Keras's default for `name` (KERAS_RATES). dampening (None: the momentum) and
    weight_decay (None: the model's own, else 0) are torch_sgd's. Returns {name,
    learning_rate, momentum, nesterov, dampening, weight_decay, epsilon, schedule: {type,
    ...}}, JSON-serialisable, None where a key does not apply. Raises ValueError naming the
    bad key.
    """
    optimizer, lr_schedule = dict(optimizer or {}), dict(lr_schedule or {})
    unknown = set(optimizer) - OPTIMIZER_KEYS
    unknown |= {f"lr_schedule.{k}" for k in set(lr_schedule) - {"type", "drop", "every", "decay"}}
    if unknown:
        raise ValueError(f"train.optimizer: unknown keys {sorted(unknown)}")
    own = model_defaults(model, preset)
    name = optimizer.get("name") or own["name"]
    if name not in NAMES:
        raise ValueError(f"train.optimizer.name: {name!r}; choose from {list(NAMES)}")
    own_optimizer = name == own["name"]
    if learning_rate is None:
        learning_rate = own["learning_rate"] if own_optimizer else KERAS_RATES[name]
    momentum = optimizer.get("momentum")
    if momentum is not None and name == "adam":
        raise ValueError("train.optimizer.momentum: Adam has no momentum setting; leave it null")
    if momentum is None:
        momentum = DEFAULT_MOMENTUM[name]
    nesterov = bool(optimizer.get("nesterov", False))
    if nesterov and name not in ("sgd", "torch_sgd"):
        raise ValueError(f"train.optimizer.nesterov: only for sgd and torch_sgd, not {name}")
    dampening, weight_decay = optimizer.get("dampening"), optimizer.get("weight_decay")
    if name == "torch_sgd":
        dampening = momentum if dampening is None else dampening
        if weight_decay is None:
            weight_decay = own.get("weight_decay", 0.0) if own_optimizer else 0.0
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                "train.optimizer.nesterov: Torch's Nesterov momentum needs a momentum and "
                "dampening 0 (dampening defaults to the momentum)"
            )
    else:
        for key in ("dampening", "weight_decay"):
            if optimizer.get(key) is not None:
                raise ValueError(f"train.optimizer.{key}: only for torch_sgd, not {name}")
    epsilon = None
    if name == "rmsprop":
        epsilon = own.get("epsilon", KERAS_EPSILON) if own_optimizer else KERAS_EPSILON
    kind = lr_schedule.get("type") or (own["schedule"]["type"] if own_optimizer else "none")
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
        "dampening": None if dampening is None else float(dampening),
        "weight_decay": None if weight_decay is None else float(weight_decay),
        "epsilon": epsilon,
        "schedule": schedule,
    }


def build_optimizer(settings: dict) -> keras.optimizers.Optimizer:
    """The Keras optimiser of resolved `settings` (see `optimizer_settings`).

    inverse_time: rate / (1 + decay * iteration), per step, as Torch's learningRateDecay (for
    torch_sgd its own learning_rate_decay). step: a constant rate here; the trainer sets each
    epoch's rate (`epoch_learning_rate`).
    """
    import keras

    rate = settings["learning_rate"]
    schedule = settings["schedule"]
    name = settings["name"]
    if name == "torch_sgd":
        from seq2chrom.training.torch_sgd import TorchSGD

        return TorchSGD(
            rate,
            momentum=settings["momentum"],
            dampening=settings["dampening"],
            weight_decay=settings["weight_decay"],
            learning_rate_decay=schedule["decay"] if schedule["type"] == "inverse_time" else 0.0,
            nesterov=settings["nesterov"],
        )
    if schedule["type"] == "inverse_time":
        rate = keras.optimizers.schedules.InverseTimeDecay(
            rate, decay_steps=1, decay_rate=schedule["decay"]
        )
    if name == "sgd":
        return keras.optimizers.SGD(
            rate, momentum=settings["momentum"], nesterov=settings["nesterov"]
        )
    if name == "rmsprop":
        epsilon = settings.get("epsilon") or KERAS_EPSILON
        return keras.optimizers.RMSprop(rate, momentum=settings["momentum"], epsilon=epsilon)
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
