"""`train(model, train_batches, valid_batches, plan, control) -> history`: epochs, validation,
early stopping and per-epoch checkpoints; resumes from the last checkpoint of the same `Plan`.

A `Plan` is what a run is (hashed into the checkpoint's fingerprint); a `Control` is how it is
carried out: a run resumed with more epochs, elsewhere or more quietly is the same run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from seq2chrom.errors import TrainingError
from seq2chrom.evaluate.metrics import CONSTANT_SPREAD, auroc, prediction_spread
from seq2chrom.training.checkpoint import Checkpoint
from seq2chrom.training.finetune import build_optimizer_for, set_frozen
from seq2chrom.training.optimizers import epoch_learning_rate

log = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "epoch", "loss", "val_loss", "val_auroc", "val_spread", "seconds", "samples_per_s", "devices"
]  # fmt: skip
# A collapsed network (every ReLU dead, or an output saturated at the base rate) predicts one
# number for every window (`evaluate.metrics.constant_tracks`; measured: std 0.0 on a dead
# DanQ). After COLLAPSE_EPOCHS such epochs in a row the run stops instead of training on to
# early stopping and writing a model of constants.
COLLAPSE_EPOCHS = 3


def mean_auroc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean AUROC (`evaluate.metrics.auroc`) over tracks that have both positives and negatives.

    y_true: (N, T) 0/1; y_score: (N, T) float. NaN when no track qualifies.
    """
    values = auroc(y_true, y_score)
    values = values[np.isfinite(values)]
    return float(np.mean(values)) if len(values) else float("nan")


def binary_crossentropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean binary cross-entropy, clipped as Keras (epsilon 1e-7). Shapes (N, T)."""
    p = np.clip(np.asarray(y_pred, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y_true, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def largest_spread(y_pred: np.ndarray) -> float:
    """The largest per-track standard deviation of predictions (N, T) over the N windows;
    below CONSTANT_SPREAD every track is constant (a collapsed model)."""
    return float(np.max(prediction_spread(y_pred), initial=0.0))


@dataclass(frozen=True)
class Plan:
    """What defines a training run; a checkpoint resumes only into an equal plan."""

    patience: int  # epochs without a lower val_loss before stopping
    freeze_epochs: int = 0  # conv1 frozen in epochs 1..freeze_epochs (`finetune.set_frozen`)
    optimizer: Mapping | None = None  # `optimizers.optimizer_settings`: its step schedule is run
    identity: Mapping = field(default_factory=dict)  # the rest: model, tracks, seed, batches...


@dataclass(frozen=True)
class Control:
    """How a run is carried out, not part of what it is."""

    epochs: int  # may be raised to continue a finished run
    checkpoint_dir: Path | None = None  # resume state, one folder per epoch
    verbose: int = 2  # Keras fit verbosity
    devices: str = ""  # a line naming the devices, copied to each epoch's row


def fingerprint(plan: Plan) -> str:
    """Hash of everything in `plan`."""
    return hashlib.sha256(
        json.dumps(asdict(plan), sort_keys=True, default=str).encode()
    ).hexdigest()


class _StopOnNaN(keras.callbacks.Callback):
    """Raise TrainingError as soon as the running loss is not finite (checked every `every`)."""

    def __init__(self, epoch: int, every: int = 50):
        super().__init__()
        self.epoch, self.every = epoch, every

    def on_train_batch_end(self, batch, logs=None):
        if logs and batch % self.every == 0 and not math.isfinite(float(logs["loss"])):
            raise TrainingError(
                f"loss is {float(logs['loss'])} at epoch {self.epoch + 1}, batch {batch}"
            )


def train(
    model: keras.Model, train_batches, valid_batches, plan: Plan, control: Control
) -> list[dict]:
    """Train a compiled ``model``; return the history, one dict per epoch (HISTORY_COLUMNS).

    Parameters
    ----------
    model
        Compiled Keras model (see ``optimizers.compile_model``).
    train_batches, valid_batches
        ``H5Batches`` (or any ``PyDataset`` with ``set_epoch``); ``valid_batches`` must not
        shuffle and must offer ``labels_in_order()``.
    plan, control
        What the run is and how it is carried out (`Plan`, `Control`); a checkpoint in
        ``control.checkpoint_dir`` of another plan is discarded.

    On return the model holds the weights of the epoch with the lowest validation loss, with
    every layer trainable. A resumed run restores the checkpoint's weights over whatever the
    model was initialised with.
    Raises TrainingError when a training or validation loss is not finite, and when the
    validation predictions were constant on every track (`largest_spread`) for
    COLLAPSE_EPOCHS epochs in a row: a collapsed training, whose message starts "training
    collapsed".
    """
    epochs, patience = control.epochs, plan.patience
    checkpoint = Checkpoint(control.checkpoint_dir) if control.checkpoint_dir else None
    key = fingerprint(plan)
    state = {
        "epoch": 0,
        "best_val_loss": math.inf,
        "wait": 0,
        "stopped": False,
        "flat_epochs": 0,
        "history": [],
    }
    best_weights: list[np.ndarray] | None = None
    freeze_epochs = plan.freeze_epochs
    if freeze_epochs:
        build_optimizer_for(model)  # slots for the frozen layers too: same state in all epochs
    if checkpoint is not None and checkpoint.latest() is not None:
        saved = json.loads((checkpoint.latest() / "state.json").read_text())
        if saved.get("fingerprint") != key:
            log.warning(
                "checkpoint in %s is from other settings: starting over", checkpoint.directory
            )
            checkpoint.clear()
        else:
            state, best_weights = checkpoint.load(model)
            log.info("resuming from checkpoint after epoch %d", state["epoch"])
    y_valid = valid_batches.labels_in_order()

    while state["epoch"] < epochs and not state["stopped"]:
        epoch = state["epoch"]
        started = time.perf_counter()
        if freeze_epochs and set_frozen(model, frozen := epoch < freeze_epochs):
            log.info("epoch %d: conv1 %s", epoch + 1, "frozen" if frozen else "trainable")
        train_batches.set_epoch(epoch)
        rate = epoch_learning_rate(plan.optimizer, epoch)
        if rate is not None:  # train.lr_schedule step: the rate of this epoch
            model.optimizer.learning_rate = rate
        fit_started = time.perf_counter()
        fitted = model.fit(
            _whole_shards(train_batches),
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=False,  # the batches shuffle themselves, from (seed, epoch)
            verbose=control.verbose,
            callbacks=[_StopOnNaN(epoch)],
        )
        fit_seconds = time.perf_counter() - fit_started
        loss = float(fitted.history["loss"][-1])
        y_pred = _predict(model, valid_batches)
        val_loss = binary_crossentropy(y_valid, y_pred)
        if not (math.isfinite(loss) and math.isfinite(val_loss)):
            raise TrainingError(f"loss {loss}, val_loss {val_loss} at epoch {epoch + 1}")
        row = {
            "epoch": epoch + 1,
            "loss": loss,
            "val_loss": val_loss,
            "val_auroc": mean_auroc(y_valid, y_pred),
            "val_spread": largest_spread(y_pred),
            "seconds": round(time.perf_counter() - started, 2),
            # training only (validation excluded); the first epoch includes compilation
            "samples_per_s": round(_n_items(train_batches) / fit_seconds, 1),
            "devices": control.devices,
        }
        log.info(
            "epoch %d: %s",
            epoch + 1,
            ", ".join(f"{k} {v:.4g}" for k, v in list(row.items())[1:-1]),
        )
        flat = row["val_spread"] < CONSTANT_SPREAD
        state["flat_epochs"] = state["flat_epochs"] + 1 if flat else 0
        if state["flat_epochs"] >= COLLAPSE_EPOCHS:
            raise TrainingError(
                f"training collapsed: the validation predictions were the same number for "
                f"every window on every track for {COLLAPSE_EPOCHS} epochs (epochs "
                f"{epoch + 2 - COLLAPSE_EPOCHS}-{epoch + 1}, AUROC 0.5): ReLUs that died at too "
                "high a learning rate, or an output saturated at the base rate"
            )
        improved = val_loss < state["best_val_loss"]
        if improved:
            state["best_val_loss"], state["wait"] = val_loss, 0
            best_weights = [np.array(keras.ops.convert_to_numpy(v)) for v in model.variables]
        else:
            state["wait"] += 1
        state["epoch"] = epoch + 1
        state["history"].append(row)
        state["stopped"] = state["wait"] >= patience
        if state["stopped"]:
            log.info("early stopping: val_loss did not improve for %d epochs", patience)
        if checkpoint is not None:
            checkpoint.save(model, {**state, "fingerprint": key}, best_weights, improved)
    if freeze_epochs:
        set_frozen(model, False)  # the saved model is fully trainable
    if best_weights is not None:
        for variable, value in zip(model.variables, best_weights, strict=True):
            variable.assign(value)
    return state["history"]


def _shards() -> int:
    """Devices each batch is split over by a ``keras.distribution`` (JAX data parallelism)."""
    distribution = keras.distribution.distribution()
    return 1 if distribution is None else int(np.prod(distribution.device_mesh.shape))


class _WholeShards(keras.utils.PyDataset):
    """``batches`` with each batch cut to a multiple of ``shards`` samples.

    JAX shards a batch evenly over the devices or not at all. With a batch size that is a
    multiple of the devices only an epoch's last batch is cut, by fewer than ``shards`` samples
    (a last batch of fewer than ``shards`` is repeated up to ``shards`` instead).
    """

    def __init__(self, batches, shards: int):
        super().__init__()
        self.batches, self.shards = batches, shards

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        x, y = self.batches[index]
        keep = len(x) // self.shards * self.shards
        if keep == 0:
            rows = np.arange(self.shards) % len(x)
            return x[rows], y[rows]
        return x[:keep], y[:keep]

    def on_epoch_end(self) -> None:
        self.batches.on_epoch_end()


def _whole_shards(batches):
    shards = _shards()
    return batches if shards == 1 else _WholeShards(batches, shards)


def _predict(model: keras.Model, batches) -> np.ndarray:
    """``model.predict`` over ``batches`` (x or (x, y)); under a keras.distribution each batch
    is padded to a multiple of the devices (last row repeated) and the padding dropped."""
    shards = _shards()
    if shards == 1:
        return model.predict(batches, verbose=0)
    blocks = []
    for index in range(len(batches)):
        x = batches[index]
        x = x[0] if isinstance(x, tuple) else x
        rows = np.minimum(np.arange(-(-len(x) // shards) * shards), len(x) - 1)
        blocks.append(np.asarray(model.predict_on_batch(x[rows]))[: len(x)])
    return np.concatenate(blocks)


def _n_items(batches) -> int:
    """Samples one epoch of ``batches`` presents (both strands count)."""
    return int(getattr(batches, "n_items", len(batches) * getattr(batches, "batch_size", 1)))


def write_history(history: list[dict], path: str | Path) -> None:
    """history.tsv, written atomically: one row per epoch, columns HISTORY_COLUMNS."""
    import pandas as pd

    from seq2chrom.io import write_tsv

    write_tsv(pd.DataFrame(history, columns=HISTORY_COLUMNS), path, na="")


def plot_history(history: list[dict], path: str | Path, title: str = "") -> None:
    """Training curve PNG: loss and val_loss (left axis), val AUROC (right axis) per epoch;
    epochs whose validation predictions were constant (`val_spread`) shaded red."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    # Keras's training loss adds the model's L1/L2 penalties (DeepSEA) and runs with dropout;
    # val_loss is the plain cross-entropy early stopping uses: label each for what it is.
    label = "training loss (cross-entropy + penalties, dropout)"
    ax.plot(epochs, [row["loss"] for row in history], "o-", label=label)
    ax.plot(epochs, [row["val_loss"] for row in history], "s-", label="validation cross-entropy")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    right = ax.twinx()
    right.plot(
        epochs,
        [row["val_auroc"] for row in history],
        "^--",
        color="tab:green",
        label="validation AUROC",
    )
    right.set_ylabel("mean validation AUROC")
    handles = ax.get_lines() + right.get_lines()
    for epoch in (row["epoch"] for row in history if row["val_spread"] < CONSTANT_SPREAD):
        label = "constant predictions (collapsed model)"
        ax.axvspan(epoch - 0.5, epoch + 0.5, color="tab:red", alpha=0.15, label=label)
    handles += ax.patches[:1]  # one legend entry for the shaded epochs
    ax.legend(handles, [handle.get_label() for handle in handles], loc="center right")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
