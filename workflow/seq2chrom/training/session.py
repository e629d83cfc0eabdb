"""One training run, from split files to a model folder: what `seq2chrom train` does.

`run_training(request)` checks the settings against the config schema's train section, reads
the tracks and window of the split files, builds and compiles the model, starts it from a
trained model (`finetune.start_from`) or from JASPAR motifs (DanQ-JASPAR), trains it
(`trainer.train`) and writes model.keras, history.tsv, training_curve.png and config.yaml to the
output folder. Keras is imported only after the devices are chosen (`devices.select_devices`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from seq2chrom.config import check_finetune_options
from seq2chrom.errors import InputError, TrainingError
from seq2chrom.io import atomic_output
from seq2chrom.modelfile import config_file, model_file, track_difference
from seq2chrom.splitfile import read_split_info
from seq2chrom.training.lock import trainer_lock
from seq2chrom.training.scratch import scratch_folder, stage_to_scratch

log = logging.getLogger("seq2chrom.train")

#: Keys of the config's train section passed to `seq2chrom train` as options, not settings.
OPTION_KEYS = ("init_from", "freeze_epochs")
#: Keys of the train section that say how a run is carried out, not what it is (`Control`): a
#: run resumed with more epochs, or on another device, is the same run.
CONTROL_KEYS = ("epochs", "device")
#: train.patience_rule -> epochs in a row without a lower validation loss that stop training,
#: given train.patience. Keras 3's EarlyStopping stops after `patience` such epochs; Keras
#: 0.2.0's (keras/callbacks.py, used by DanQ_train.py and DanQ-JASPAR_train.py) tested
#: `wait >= patience` before counting the epoch, so it stopped after patience + 1.
PATIENCE_RULES = {"keras3": 0, "keras0.2": 1}


@dataclass(frozen=True)
class TrainRequest:
    """Everything one run is given: the command line of `seq2chrom train`."""

    model: str
    train: Path
    valid: Path
    out_dir: Path
    seed: int
    model_settings: dict = field(default_factory=dict)  # {"preset": ..., builder keywords}
    train_settings: dict = field(default_factory=dict)  # the config's train section
    init_from: str = ""  # folder of a trained model to fine-tune from
    freeze_epochs: int = 0
    exclude_tracks: str = ""  # comma-separated track names
    verbose: int = 0
    scratch: str = ""  # local folder to read the split files from ($VARS expanded); '': none


@dataclass(frozen=True)
class DataTracks:
    """Tracks the model is trained on: names, label columns (None: all), and the file's names."""

    tracks: list[str]
    columns: list[int] | None
    data_tracks: list[str]
    seq_len: int


def train_settings(given: dict) -> dict:
    """The train section's defaults (config schema) updated by `given`; InputError on a key the
    schema does not know or one passed as an option (OPTION_KEYS)."""
    from seq2chrom.config import defaults

    if set(OPTION_KEYS) & set(given):
        raise InputError(
            "--train-settings",
            "init_from and freeze_epochs are not settings here",
            fix="pass them as --init-from and --freeze-epochs",
        )
    known = {k: v for k, v in defaults("train").items() if k not in OPTION_KEYS}
    unknown = set(given) - set(known)
    if unknown:
        raise InputError("--train-settings", f"unknown keys {sorted(unknown)}")
    return {**known, **given}


def stopping_patience(patience: int, rule: str) -> int:
    """Epochs in a row without a lower validation loss after which training stops, for
    train.patience `patience` counted as train.patience_rule `rule` (PATIENCE_RULES)."""
    if rule not in PATIENCE_RULES:
        raise InputError(
            "--train-settings", f"patience_rule {rule!r}", fix=f"use {list(PATIENCE_RULES)}"
        )
    return patience + PATIENCE_RULES[rule]


def data_tracks(train: Path, valid: Path, exclude: str = "") -> DataTracks:
    """Tracks of the train split (checked equal to valid's) without the `exclude` names."""
    for path in (train, valid):
        if not path.exists():
            raise InputError(
                path, "file not found", fix="build the data with `snakemake results/data/train.h5`"
            )
    info = read_split_info(train)
    valid_tracks = read_split_info(valid).tracks
    if valid_tracks != info.tracks:
        raise InputError(
            valid,
            f"tracks differ from {train}: {track_difference(valid_tracks, info.tracks)}",
            fix="build both splits from the same track sheet",
        )
    if not exclude:
        return DataTracks(info.tracks, None, info.tracks, info.window)
    excluded = [name.strip() for name in exclude.split(",") if name.strip()]
    unknown = [name for name in excluded if name not in info.tracks]
    if unknown:
        raise InputError(
            train, f"--exclude-tracks names tracks it does not have: {unknown}", fix="check names"
        )
    columns = [j for j, name in enumerate(info.tracks) if name not in set(excluded)]
    if not columns:
        raise InputError("--exclude-tracks", "excludes every track")
    return DataTracks([info.tracks[j] for j in columns], columns, info.tracks, info.window)


def run_training(request: TrainRequest) -> None:
    """Train one model as `request` says and write its folder (see the module docstring).

    The whole run holds the lock of the folder's checkpoint/ (`lock.trainer_lock`): a second
    trainer of the same folder stops with one line naming this one."""
    with trainer_lock(request.out_dir / "checkpoint"):
        _run_training(request)


def _run_training(request: TrainRequest) -> None:
    import yaml

    from seq2chrom.devices import median_rate, select_devices, setup_device

    # before Keras starts the framework: `cpu` must hide the GPUs first, and a job that cannot
    # use the GPUs it was given stops within seconds
    settings = train_settings(request.train_settings)
    patience = stopping_patience(int(settings["patience"]), settings["patience_rule"])
    if "train" in request.model_settings:
        raise InputError(
            "--model-settings",
            "holds train settings",
            fix="merge them into --train-settings (the workflow passes models.<name>.train so)",
        )
    scratch = scratch_folder(request.scratch)
    selection = select_devices(settings["device"])
    import keras

    from seq2chrom.models import BUILDERS, build_model, resolved_kwargs
    from seq2chrom.training.batches import H5Batches
    from seq2chrom.training.finetune import start_from
    from seq2chrom.training.optimizers import compile_model, optimizer_settings
    from seq2chrom.training.trainer import Control, Plan, plot_history, train, write_history

    if request.model not in BUILDERS:
        raise InputError(
            "--model", f"unknown model {request.model!r}", fix=f"use {sorted(BUILDERS)}"
        )
    model_settings = dict(request.model_settings)
    preset = model_settings.pop("preset", "full")
    init_from = Path(request.init_from) if request.init_from else None
    check_finetune_options(
        request.init_from, request.freeze_epochs, where="--freeze-epochs", init_name="--init-from"
    )
    data = data_tracks(request.train, request.valid, request.exclude_tracks)
    splits = [request.train, request.valid]
    if scratch is not None:
        splits = stage_to_scratch(splits, scratch)
    n_tracks = len(data.tracks)
    try:
        kwargs = resolved_kwargs(request.model, preset, **model_settings)
    except ValueError as error:
        raise InputError("--model-settings", str(error)) from None

    devices = setup_device(
        selection, request.seed, settings["mixed_precision"], int(settings["batch_size"])
    )
    with devices.scope:
        try:
            model = build_model(request.model, n_tracks, data.seq_len, preset, **model_settings)
        except TypeError as error:
            raise InputError(
                "--model-settings", str(error), fix="use the builder's keyword names"
            ) from None
        keys = ("learning_rate", "optimizer", "lr_schedule")
        rate, choice, schedule = (settings[key] for key in keys)
        try:
            optimizer = optimizer_settings(request.model, preset, rate, choice, schedule)
        except ValueError as error:
            raise InputError("--train-settings", str(error)) from None
        compile_model(model, optimizer)
    log.info(
        "%s (%s): %d parameters, %d tracks", request.model, preset, model.count_params(), n_tracks
    )
    init = start_from(model, init_from, data.tracks) if init_from is not None else None
    if request.model == "danq_jaspar" and init is None:
        init = _init_jaspar(model, request.seed)

    seed = request.seed
    batch_size = int(settings["batch_size"])
    batches = [
        H5Batches(
            path,
            size,
            shuffle=shuffle,
            reverse_complement=settings["reverse_complement"],
            seed=seed,
            track_columns=data.columns,
            # TensorFlow's one-worker input path (tf.data prefetching over a generator) stalls
            # ~3.7 s at the start of about half the epochs on a 2-core node; Keras's threaded
            # enqueuer does not. Not under JAX: no tf.data there, and its prefetching enqueuer
            # made a resumed run differ from an uninterrupted one (test_backends)
            workers=2 if shuffle and keras.backend.backend() == "tensorflow" else 1,
        )
        for path, size, shuffle in (
            (splits[0], batch_size, True),
            (splits[1], max(batch_size, 256), False),
        )
    ]
    run = {
        "model": request.model,
        "preset": preset,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "train": {
            **settings,
            "init_from": request.init_from,
            "freeze_epochs": request.freeze_epochs,
        },
        "seed": seed,
        "seq_len": data.seq_len,
        "n_tracks": n_tracks,
        "tracks": data.tracks,
        "excluded_tracks": [t for t in data.data_tracks if t not in set(data.tracks)],
        "init": init,
        "parameters": int(model.count_params()),
        "optimizer_settings": optimizer,
        "optimizer": {"class_name": type(model.optimizer).__name__}
        | keras.optimizers.serialize(model.optimizer)["config"],
    }
    out_dir = request.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = Plan(
        patience=patience,
        freeze_epochs=request.freeze_epochs,
        optimizer=optimizer,
        identity={
            **run,
            "train": {k: v for k, v in run["train"].items() if k not in CONTROL_KEYS},
        },
    )
    control = Control(
        epochs=int(settings["epochs"]),
        checkpoint_dir=out_dir / "checkpoint",
        verbose=request.verbose,
        devices=devices.summary(),
    )
    try:
        history = train(model, *batches, plan, control)
    except TrainingError as error:
        raise TrainingError(
            f"training stopped: {error.message}; no model written",
            path=out_dir,
            fix=_lower_rate_fix(optimizer["learning_rate"], preset),
        ) from None
    run["history_best_val_loss"] = min(row["val_loss"] for row in history)
    devices.samples_per_s = median_rate(
        [row for row in history if row.get("devices") == devices.summary()]
    )
    run["devices"] = devices.record()
    log.info("devices used: %s, %s training samples/s", devices.summary(), devices.samples_per_s)
    write_history(history, out_dir / "history.tsv")
    with atomic_output(out_dir / "training_curve.png") as tmp:
        plot_history(history, tmp, title=f"{request.model} ({preset})")
    with atomic_output(config_file(out_dir)) as tmp:
        tmp.write_text(yaml.safe_dump(run, sort_keys=False))
    with atomic_output(model_file(out_dir)) as tmp:
        model.save(tmp)
    for split_batches in batches:
        split_batches.close()


def _lower_rate_fix(rate: float, preset: str) -> str:
    """What to change after a diverged or collapsed run of learning rate `rate`."""
    fix = f"lower train.learning_rate (this run: {rate:g}; try {rate / 3:.1g}) and rerun"
    return fix if preset == "small" else f"{fix}, or try models.<model>.preset: small"


def _init_jaspar(model, seed: int) -> dict:
    """Write DanQ-JASPAR's 525 motifs into conv1, as many as it has filters; what was done."""
    import numpy as np

    from seq2chrom.models.danq import init_conv_from_pwms, published_jaspar_pwms
    from seq2chrom.motifs.jaspar import danq_jaspar_pwms

    pwms = published_jaspar_pwms(danq_jaspar_pwms())
    layer = model.get_layer("conv1")
    try:
        n = init_conv_from_pwms(layer, pwms, np.random.default_rng(seed))
    except ValueError as error:
        raise InputError("models.danq_jaspar", str(error)) from None
    message = f"conv1: {n} of {layer.filters} filters initialised from JASPAR 2016 motifs"
    if n < len(pwms):
        message += f" (the first {n} of the published {len(pwms)}: fewer filters than motifs)"
    log.info(message)
    return {"jaspar": "JASPAR2016 CORE vertebrates", "filters_initialised": n, "motifs": len(pwms)}
