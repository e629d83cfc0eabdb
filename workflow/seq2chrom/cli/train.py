"""CLI subcommands of the train stage: `seq2chrom train` and `seq2chrom predict`."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.train")

TRAIN_DEFAULTS = {
    "epochs": 60,
    "batch_size": 100,
    "learning_rate": None,
    "patience": 5,
    "reverse_complement": True,
    "mixed_precision": False,
}


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="train one model on train.h5, early-stopping on valid.h5; resumes from checkpoint/",
        description="Outputs in --outdir: model.keras, history.tsv, training_curve.png, "
        "config.yaml; checkpoint/ holds resume state (delete it to start over).",
    )
    train.add_argument("--model", required=True, choices=["deepsea", "danq", "danq_jaspar"])
    train.add_argument("--train", required=True, type=Path, help="results/data/train.h5")
    train.add_argument("--valid", required=True, type=Path, help="results/data/valid.h5")
    train.add_argument(
        "--model-settings",
        default="{}",
        type=json.loads,
        help='JSON: {"preset": "small", <builder keyword>: value, ...}',
    )
    train.add_argument(
        "--train-settings", default="{}", type=json.loads, help="JSON: the config's train section"
    )
    train.add_argument("--seed", type=int, default=1)
    train.add_argument("--outdir", required=True, type=Path, help="results/models/{model}")
    train.add_argument(
        "--verbose",
        type=int,
        default=0,
        help="Keras fit progress on stdout (0 none, 1 bar, 2 line)",
    )
    train.set_defaults(func=run_train)

    predict = subparsers.add_parser(
        "predict", help="strand-averaged predictions of a trained model for a split"
    )
    predict.add_argument(
        "--model", required=True, type=Path, help="results/models/{model}/model.keras"
    )
    predict.add_argument("--data", required=True, type=Path, help="results/data/test.h5")
    predict.add_argument(
        "--out", required=True, type=Path, help="results/predictions/{model}/test.h5"
    )
    predict.add_argument(
        "--batch-size", type=int, default=0, help="sequences per batch (0: 1024 on GPU, 256 on CPU)"
    )
    predict.set_defaults(func=run_predict)


def _threads() -> None:
    """Let TensorFlow use the cores Snakemake granted (SNAKEMAKE threads via OMP_NUM_THREADS)."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
        except RuntimeError:  # TensorFlow already initialised in this process (tests)
            pass


def run_train(args: argparse.Namespace) -> None:
    import h5py
    import keras
    import yaml

    from seq2chrom.models import build_model, compile_model, resolved_kwargs
    from seq2chrom.training.batches import H5Batches
    from seq2chrom.training.trainer import (
        TrainingError,
        plot_history,
        setup_device,
        train,
        write_history,
    )

    for path in (args.train, args.valid):
        if not path.exists():
            raise InputError(
                path, "file not found", fix="build the data with `snakemake results/data/train.h5`"
            )
    model_settings = dict(args.model_settings)
    preset = model_settings.pop("preset", "full")
    unknown = set(args.train_settings) - set(TRAIN_DEFAULTS) - {"init_from", "freeze_epochs"}
    if unknown:
        raise InputError("--train-settings", f"unknown keys {sorted(unknown)}")
    settings = {**TRAIN_DEFAULTS, **args.train_settings}
    with h5py.File(args.train, "r") as handle:
        tracks = handle["tracks"].asstr()[:].tolist() if "tracks" in handle else []
        seq_len = int(handle["x"].shape[1])
        n_tracks = int(handle["y"].shape[1])
    try:
        kwargs = resolved_kwargs(args.model, preset, **model_settings)
    except ValueError as error:
        raise InputError("--model-settings", str(error)) from None

    _threads()
    scope = setup_device(args.seed, settings["mixed_precision"])
    with scope:
        try:
            model = build_model(args.model, n_tracks, seq_len, preset, **model_settings)
        except TypeError as error:
            raise InputError(
                "--model-settings", str(error), fix="use the builder's keyword names"
            ) from None
        compile_model(model, args.model, settings["learning_rate"], preset)
    log.info(
        "%s (%s): %d parameters, %d tracks", args.model, preset, model.count_params(), n_tracks
    )

    seed = args.seed
    batch_size = int(settings["batch_size"])
    train_batches = H5Batches(
        args.train,
        batch_size,
        shuffle=True,
        reverse_complement=settings["reverse_complement"],
        seed=seed,
    )
    valid_batches = H5Batches(
        args.valid,
        max(batch_size, 256),
        shuffle=False,
        reverse_complement=settings["reverse_complement"],
        seed=seed,
    )
    run = {
        "model": args.model,
        "preset": preset,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "train": settings,
        "seed": seed,
        "seq_len": seq_len,
        "n_tracks": n_tracks,
        "tracks": tracks,
        "parameters": int(model.count_params()),
        "optimizer": {"class_name": type(model.optimizer).__name__}
        | keras.optimizers.serialize(model.optimizer)["config"],
    }
    args.outdir.mkdir(parents=True, exist_ok=True)
    try:
        history = train(
            model,
            train_batches,
            valid_batches,
            {
                **run,
                "epochs": settings["epochs"],
                "patience": settings["patience"],
                "checkpoint_dir": args.outdir / "checkpoint",
                "verbose": args.verbose,
            },
        )
    except TrainingError as error:
        raise InputError(
            args.outdir,
            f"training stopped: {error}; no model written",
            fix="lower train.learning_rate or use a smaller model preset",
        ) from None
    run["history_best_val_loss"] = min(row["val_loss"] for row in history)
    with atomic_output(args.outdir / "history.tsv") as tmp:
        write_history(history, tmp)
    with atomic_output(args.outdir / "training_curve.png") as tmp:
        plot_history(history, tmp, title=f"{args.model} ({preset})")
    with atomic_output(args.outdir / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(run, sort_keys=False))
    with atomic_output(args.outdir / "model.keras") as tmp:
        model.save(tmp)
    for batches in (train_batches, valid_batches):
        batches.close()


def run_predict(args: argparse.Namespace) -> None:
    import keras

    from seq2chrom.training.predict import predict_file
    from seq2chrom.training.trainer import visible_gpus

    for path in (args.model, args.data):
        if not path.exists():
            raise InputError(path, "file not found")
    _threads()
    batch_size = args.batch_size or (1024 if visible_gpus() else 256)
    model = keras.models.load_model(args.model, compile=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out) as tmp:
        predict_file(model, args.data, tmp, batch_size)
