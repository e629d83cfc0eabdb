"""`seq2chrom check-gpu`: can this job train on its GPU? Run by rule `check_gpu` before any
GPU job of a run waits in a GPU queue, and by hand on a GPU node (`sinteractive --gres=gpu:...`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from seq2chrom.io import atomic_output


def register(subparsers) -> None:
    check = subparsers.add_parser(
        "check-gpu",
        help="report the GPUs this job was given and seen, and run one small step on a GPU",
        description="Prints what the scheduler gave (CUDA_VISIBLE_DEVICES, SLURM_*GPUS*), the "
        "driver and CUDA versions (nvidia-smi), what TensorFlow (and JAX, when installed) sees, "
        "and where one convolution + LSTM training step with the Keras backend (KERAS_BACKEND) "
        "ran. Exit status 0 only when it ran on a GPU; otherwise one line with the fix.",
    )
    check.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the report here, only when the step ran on a GPU (the workflow's flag file)",
    )
    check.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from seq2chrom import check_gpu

    # JAX would otherwise take 75% of the GPU's memory for a check that needs a few MB
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    report = check_gpu.gpu_report()
    text = "\n".join(report.lines()) + "\n"
    print(text, end="", flush=True)
    check_gpu.verdict(report)
    if args.out is not None:
        with atomic_output(args.out) as tmp:
            tmp.write_text(text)
