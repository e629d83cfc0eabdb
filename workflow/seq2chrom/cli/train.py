"""CLI subcommands of the train stage: `seq2chrom train`, `predict` and `compare-finetune`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output


def register(subparsers) -> None:
    from seq2chrom.config import default, properties

    train = subparsers.add_parser(
        "train",
        help="train one model on train.h5, early-stopping on valid.h5; resumes from checkpoint/",
        description="Outputs in --out-dir: model.keras, history.tsv, training_curve.png, "
        "config.yaml; checkpoint/ holds resume state (delete it to start over).",
    )
    train.add_argument("--model", required=True, choices=list(properties("models")["properties"]))
    train.add_argument("--train", required=True, type=Path, help="results/data/train.h5")
    train.add_argument("--valid", required=True, type=Path, help="results/data/valid.h5")
    train.add_argument(
        "--model-settings",
        default="{}",
        type=json.loads,
        help='JSON: {"preset": "small", <builder keyword>: value, ...}',
    )
    train.add_argument(
        "--train-settings",
        default="{}",
        type=json.loads,
        help="JSON: the model's train settings, the config's train section with "
        "models.<model>.train over it (missing keys: the schema's defaults)",
    )
    train.add_argument("--seed", type=int, default=default("seed"))
    train.add_argument("--out-dir", required=True, type=Path, help="results/models/{model}")
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
        "--scratch",
        default="",
        metavar="DIR",
        help="copy the split files to DIR (a node-local disk; $VARS expanded, e.g. "
        "'/lscratch/$SLURM_JOB_ID') once per job and read them from there; '': read in place",
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
    predict.add_argument(
        "--device",
        default=default("train", "device"),
        choices=properties("train", "device")["enum"],
        help="as train.device: auto (GPU when the framework sees one), gpu (required) or cpu",
    )
    predict.add_argument(
        "--strands",
        choices=("mean", "each"),
        default="mean",
        help="mean: y_pred (N, T), the mean of both strands' predictions; each: also "
        "y_pred_strands (2, N, T), each strand's own, forward then reverse complement (the "
        "DeepSEA bundle's per-strand comparison with DanQ reads them). Default: %(default)s",
    )
    predict.set_defaults(func=run_predict)

    compare = subparsers.add_parser(
        "compare-finetune",
        help="fine-tuned vs from-scratch model: per-track test AUROC, medians, epochs",
        description="Write comparison.tsv/.html, per_track.tsv/.html and comparison.png to "
        "--out-dir. Tracks missing from the base model are the new ones.",
    )
    compare.add_argument(
        "--data",
        required=True,
        type=Path,
        help="split to score, one that chose no run's best epoch: results/data/test.h5",
    )
    compare.add_argument("--base", required=True, type=Path, help="base model folder")
    compare.add_argument("--tuned", required=True, type=Path, help="fine-tuned model folder")
    compare.add_argument(
        "--from-scratch",
        required=True,
        type=Path,
        help="folder of the model trained from scratch on all tracks",
    )
    compare.add_argument(
        "--min-positives",
        type=int,
        default=default("evaluate", "min_positives"),
        metavar="N",
        help="tracks with fewer positives in --data get no AUROC",
    )
    compare.add_argument("--out-dir", required=True, type=Path, help="results/finetune/{model}")
    compare.add_argument("--batch-size", type=int, default=256)
    compare.set_defaults(func=run_compare_finetune)


def run_train(args: argparse.Namespace) -> None:
    from dataclasses import fields

    from seq2chrom.devices import use_job_threads
    from seq2chrom.training.session import TrainRequest, run_training

    use_job_threads()
    run_training(
        TrainRequest(**{field.name: getattr(args, field.name) for field in fields(TrainRequest)})
    )


def run_predict(args: argparse.Namespace) -> None:
    from seq2chrom.devices import use_job_threads
    from seq2chrom.modelfile.loading import open_trained
    from seq2chrom.splitfile import TRACKS, X, read_split_info

    use_job_threads()
    data = read_split_info(args.data, (X, TRACKS))
    trained = open_trained(args.model, args.device, data.tracks, data_path=args.data)

    from seq2chrom.inference.predict import predict_file

    batch_size = args.batch_size or (1024 if trained.kind == "gpu" else 256)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out) as tmp:
        predict_file(trained.model, args.data, tmp, batch_size, strands=args.strands == "each")


def run_compare_finetune(args: argparse.Namespace) -> None:
    from seq2chrom.devices import use_job_threads
    from seq2chrom.inference.comparison import compare_finetune, log_comparison, write_comparison

    if args.min_positives < 1:
        raise InputError("--min-positives", f"must be at least 1, got {args.min_positives}")
    use_job_threads()
    folders = {"base": args.base, "from_scratch": args.from_scratch, "fine_tuned": args.tuned}
    comparison = compare_finetune(args.data, folders, args.min_positives, args.batch_size)
    log_comparison(comparison.table)
    write_comparison(comparison, args.out_dir)
