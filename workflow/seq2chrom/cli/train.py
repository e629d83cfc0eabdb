"""CLI subcommands of the train stage: `seq2chrom train` and `seq2chrom predict`."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output
from seq2chrom.training.model_tracks import track_difference

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
        "--init-from",
        default="",
        metavar="DIR",
        help="fine-tune: start from the trained model in DIR (model.keras + config.yaml); "
        "every layer is copied, output weights by track name, new tracks start fresh",
    )
    train.add_argument(
        "--freeze-epochs",
        type=int,
        default=0,
        metavar="N",
        help="with --init-from: keep conv1 (the motif filters) frozen for the first N epochs",
    )
    train.add_argument(
        "--exclude-tracks",
        default="",
        metavar="A,B,C",
        help="train on the data's tracks except these (comma-separated names)",
    )
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
        "--model",
        required=True,
        type=Path,
        help="results/models/{model}/model.keras; its tracks are read from config.yaml beside it",
    )
    predict.add_argument("--data", required=True, type=Path, help="results/data/test.h5")
    predict.add_argument(
        "--out", required=True, type=Path, help="results/predictions/{model}/test.h5"
    )
    predict.add_argument(
        "--batch-size", type=int, default=0, help="sequences per batch (0: 1024 on GPU, 256 on CPU)"
    )
    predict.set_defaults(func=run_predict)

    compare = subparsers.add_parser(
        "compare-finetune",
        help="fine-tuned vs from-scratch model: per-track validation AUROC, medians, epochs",
        description="Write comparison.tsv/.html, per_track.tsv/.html and comparison.png to "
        "--outdir. Tracks missing from the base model are the new ones.",
    )
    compare.add_argument("--valid", required=True, type=Path, help="results/data/valid.h5")
    compare.add_argument("--base", required=True, type=Path, help="base model folder")
    compare.add_argument("--tuned", required=True, type=Path, help="fine-tuned model folder")
    compare.add_argument(
        "--scratch", required=True, type=Path, help="from-scratch model folder (all tracks)"
    )
    compare.add_argument(
        "--min-positives",
        type=int,
        default=10,
        metavar="N",
        help="tracks with fewer validation positives get no AUROC",
    )
    compare.add_argument("--outdir", required=True, type=Path, help="results/finetune/{model}")
    compare.add_argument("--batch-size", type=int, default=256)
    compare.set_defaults(func=run_compare_finetune)


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
    if {"init_from", "freeze_epochs"} & set(args.train_settings):
        raise InputError(
            "--train-settings",
            "init_from and freeze_epochs are not settings here",
            fix="pass them as --init-from and --freeze-epochs",
        )
    unknown = set(args.train_settings) - set(TRAIN_DEFAULTS)
    if unknown:
        raise InputError("--train-settings", f"unknown keys {sorted(unknown)}")
    init_from = Path(args.init_from) if args.init_from else None
    if args.freeze_epochs < 0 or (args.freeze_epochs and init_from is None):
        raise InputError(
            "--freeze-epochs",
            f"{args.freeze_epochs}: must be 0, or positive together with --init-from",
        )
    settings = {**TRAIN_DEFAULTS, **args.train_settings}
    with h5py.File(args.train, "r") as handle:
        data_tracks = handle["tracks"].asstr()[:].tolist() if "tracks" in handle else []
        seq_len = int(handle["x"].shape[1])
        n_columns = int(handle["y"].shape[1])
    valid_tracks = _data_tracks(args.valid, required=False)
    if valid_tracks != data_tracks:
        raise InputError(
            args.valid,
            f"tracks differ from {args.train}: {track_difference(valid_tracks, data_tracks)}",
            fix="build both splits from the same track sheet",
        )
    columns = None
    tracks = data_tracks
    if args.exclude_tracks:
        columns, tracks = _kept_columns(args.train, data_tracks, args.exclude_tracks)
    n_tracks = len(columns) if columns is not None else n_columns
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
    init = _init_from(model, init_from, tracks) if init_from is not None else None

    seed = args.seed
    batch_size = int(settings["batch_size"])
    train_batches = H5Batches(
        args.train,
        batch_size,
        shuffle=True,
        reverse_complement=settings["reverse_complement"],
        seed=seed,
        track_columns=columns,
    )
    valid_batches = H5Batches(
        args.valid,
        max(batch_size, 256),
        shuffle=False,
        reverse_complement=settings["reverse_complement"],
        seed=seed,
        track_columns=columns,
    )
    run = {
        "model": args.model,
        "preset": preset,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "train": {
            **settings,
            "init_from": args.init_from,
            "freeze_epochs": args.freeze_epochs,
        },
        "seed": seed,
        "seq_len": seq_len,
        "n_tracks": n_tracks,
        "tracks": tracks,
        "excluded_tracks": [t for t in data_tracks if t not in set(tracks)],
        "init": init,
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
                "freeze_epochs": args.freeze_epochs,
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


def _kept_columns(path: Path, tracks: list[str], exclude: str) -> tuple[list[int], list[str]]:
    """Label columns and names of ``tracks`` without the comma-separated names ``exclude``."""
    excluded = [name.strip() for name in exclude.split(",") if name.strip()]
    unknown = [name for name in excluded if name not in tracks]
    if unknown:
        raise InputError(
            path, f"--exclude-tracks names tracks it does not have: {unknown}", fix="check names"
        )
    columns = [j for j, name in enumerate(tracks) if name not in set(excluded)]
    if not columns:
        raise InputError("--exclude-tracks", "excludes every track")
    return columns, [tracks[j] for j in columns]


def _init_from(model, folder: Path, tracks: list[str]) -> dict:
    """Copy the trained model in `folder` into `model` (`finetune.transfer_weights`).

    Returns what identifies the start (folder, model, preset, file hash: the checkpoint
    fingerprint includes it, so a checkpoint of a run from another init is never resumed) and
    which tracks were copied or are new.
    """
    import hashlib

    import keras
    import yaml

    from seq2chrom.training.finetune import transfer_weights
    from seq2chrom.training.model_tracks import model_config_path, model_tracks

    path = folder / "model.keras"
    fix = "set train.init_from to the folder of a trained model (model.keras and config.yaml)"
    if not path.is_file():
        raise InputError(folder, "no model.keras to fine-tune from", fix=fix)
    init_tracks = model_tracks(path)
    if init_tracks is None:
        raise InputError(
            model_config_path(path), "not found: the model's tracks are unknown", fix=fix
        )
    record = yaml.safe_load(model_config_path(path).read_text()) or {}
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    init_model = keras.models.load_model(path, compile=False)
    try:
        transfer = transfer_weights(model, init_model, tracks, init_tracks)
    except ValueError as error:
        raise InputError(
            path,
            f"cannot fine-tune {model.name} from it ({record.get('model')}, preset "
            f"{record.get('preset')}): {error}",
            fix="fine-tune from a model of the same architecture, preset, sizes and window",
        ) from None
    del init_model
    log.info(
        "fine-tuning from %s: %d layers copied; output weights of %d tracks copied, %d new "
        "(%s), %d dropped",
        folder,
        len(transfer.layers),
        len(transfer.copied),
        len(transfer.new),
        ", ".join(transfer.new) or "none",
        len(transfer.dropped),
    )
    return {
        "path": str(folder),
        "model": record.get("model"),
        "preset": record.get("preset"),
        "sha256": digest.hexdigest(),
        "tracks_copied": len(transfer.copied),
        "tracks_new": transfer.new,
        "tracks_dropped": transfer.dropped,
    }


def run_predict(args: argparse.Namespace) -> None:
    import keras

    from seq2chrom.training.model_tracks import check_model_tracks
    from seq2chrom.training.predict import predict_file
    from seq2chrom.training.trainer import visible_gpus

    for path in (args.model, args.data):
        if not path.exists():
            raise InputError(path, "file not found")
    _threads()
    batch_size = args.batch_size or (1024 if visible_gpus() else 256)
    model = keras.models.load_model(args.model, compile=False)
    check_model_tracks(args.model, model.output_shape[-1], args.data, _data_tracks(args.data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out) as tmp:
        predict_file(model, args.data, tmp, batch_size)


def _data_tracks(path: Path, required: bool = True) -> list[str]:
    """Track names of a split file; [] when it has none and they are not `required`."""
    import h5py

    with h5py.File(path, "r") as handle:
        if "tracks" in handle:
            return handle["tracks"].asstr()[:].tolist()
    if required:
        raise InputError(path, "no dataset 'tracks'", fix="rebuild the split")
    return []


def run_compare_finetune(args: argparse.Namespace) -> None:
    import h5py
    import keras
    import numpy as np
    import pandas as pd

    from seq2chrom.evaluate.metrics import track_metrics
    from seq2chrom.report.tables import table_html
    from seq2chrom.training.comparison import (
        MAX_EPOCH_FRACTION,
        TOLERANCE,
        comparison_table,
        per_track_table,
        plot_comparison,
    )
    from seq2chrom.training.model_tracks import check_model_tracks, model_tracks
    from seq2chrom.training.predict import predict_split

    if args.min_positives < 1:
        raise InputError("--min-positives", f"must be at least 1, got {args.min_positives}")
    if not args.valid.is_file():
        raise InputError(args.valid, "file not found", fix="build the data first")
    with h5py.File(args.valid, "r") as handle:
        for name in ("y", "tracks", "assays"):
            if name not in handle:
                raise InputError(args.valid, f"no dataset {name!r}", fix="rebuild the split")
        y = handle["y"][:]
        tracks = handle["tracks"].asstr()[:].tolist()
        assays = handle["assays"].asstr()[:].tolist()
    _threads()
    folders = {"base": args.base, "from_scratch": args.scratch, "fine_tuned": args.tuned}
    aurocs, histories, n_tracks = {}, {}, {}
    new = None
    for run, folder in folders.items():
        path = folder / "model.keras"
        for needed in (path, folder / "history.tsv"):
            if not needed.is_file():
                raise InputError(needed, "not found", fix=f"train the {run} model first")
        run_tracks = model_tracks(path)
        if run_tracks is None:
            raise InputError(folder / "config.yaml", "not found: the model's tracks are unknown")
        model = keras.models.load_model(path, compile=False)
        if run == "base":
            unknown = [t for t in run_tracks if t not in set(tracks)]
            if unknown:
                raise InputError(
                    path,
                    f"base model tracks not in {args.valid}: {unknown}",
                    fix="compare models trained on this data set",
                )
            new = np.array([t not in set(run_tracks) for t in tracks])
            if not new.any():
                raise InputError(path, "the base model already has every track: none is new")
            columns = np.flatnonzero(~new)
        else:
            check_model_tracks(path, model.output_shape[-1], args.valid, tracks, run_tracks)
            columns = np.arange(len(tracks))
        predictions = predict_split(model, args.valid, args.batch_size)
        auroc, _, n_pos = track_metrics(y[:, columns], predictions)
        auroc[n_pos < args.min_positives] = np.nan
        aurocs[run] = np.full(len(tracks), np.nan)
        aurocs[run][columns] = auroc
        histories[run] = pd.read_csv(folder / "history.tsv", sep="\t")
        n_tracks[run] = len(run_tracks)
        keras.backend.clear_session()
    per_track = per_track_table(tracks, assays, y.sum(axis=0), new, aurocs)
    table = comparison_table(
        per_track, histories, {run: str(folder) for run, folder in folders.items()}, n_tracks
    )
    for row in table.itertuples():
        log.info(
            "%s: %d epochs, %.0f s, median validation AUROC old %.4f, new %.4f",
            row.run,
            row.epochs,
            row.train_seconds,
            row.median_auroc_old,
            row.median_auroc_new,
        )
    tuned = table.set_index("run").loc["fine_tuned"]
    log.info(
        "goal (gaps <= %s, epochs <= %.2f of from scratch): gap old %.4f, new %.4f, "
        "epoch fraction %.2f -> %s",
        TOLERANCE,
        MAX_EPOCH_FRACTION,
        tuned["auroc_gap_old"],
        tuned["auroc_gap_new"],
        tuned["epoch_fraction"],
        "met" if tuned["goal_met"] else "NOT met",
    )
    outdir = args.outdir
    float_format = "%.6f"
    with atomic_output(outdir / "comparison.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format=float_format)
    with atomic_output(outdir / "per_track.tsv") as tmp:
        per_track.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format=float_format)
    note = (
        f"Validation split ({len(y):,} samples); new tracks: "
        f"{', '.join(t for t, n in zip(tracks, new, strict=True) if n)}. Gaps are from-scratch "
        f"minus fine-tuned median AUROC; the goal is met when both are <= {TOLERANCE} and the "
        f"fine-tuned run used at most {MAX_EPOCH_FRACTION:.2f} of the from-scratch epochs."
    )
    with atomic_output(outdir / "comparison.html") as tmp:
        tmp.write_text(
            table_html(table, title="Fine-tuning versus retraining from scratch", note=note),
            encoding="utf-8",
        )
    with atomic_output(outdir / "per_track.html") as tmp:
        tmp.write_text(
            table_html(per_track, title="Validation AUROC per track and run", note=note),
            encoding="utf-8",
        )
    with atomic_output(outdir / "comparison.png") as tmp:
        plot_comparison(
            per_track, histories, tmp, title=f"Fine-tuning vs from scratch: {outdir.name}"
        )
