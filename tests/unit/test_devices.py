"""Devices: what the scheduler gave, the decision for auto|gpu|cpu, and the stop in a real job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from seq2chrom.devices import (
    Devices,
    decide,
    distribution_for,
    hide_gpus,
    median_rate,
    scheduler_gpus,
    select_devices,
)
from seq2chrom.errors import InputError

from tests.unit.training_data import planted_split


@pytest.mark.parametrize(
    ("environ", "given"),
    [
        ({}, {}),
        ({"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "0"}),
        ({"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_GPUS_ON_NODE": "2"},
         {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_GPUS_ON_NODE": "2"}),
        ({"SLURM_JOB_GPUS": "0"}, {"SLURM_JOB_GPUS": "0"}),  # index 0: one GPU
        ({"SLURM_STEP_GPUS": "1"}, {"SLURM_STEP_GPUS": "1"}),  # an srun step's GPU
        ({"SLURM_GPUS_ON_NODE": "0"}, {}),  # a count: none
        ({"CUDA_VISIBLE_DEVICES": ""}, {}),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, {}),
        ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, {}),
        # the job hid its GPUs: Slurm's record of the allocation does not count
        ({"CUDA_VISIBLE_DEVICES": "-1", "SLURM_JOB_GPUS": "3"}, {}),
        ({"SLURM_JOB_GPUS": "NoDevFiles", "OTHER": "1"}, {}),
    ],
)  # fmt: skip
def test_scheduler_gpus_reads_what_was_given(environ, given):
    assert scheduler_gpus(environ) == given


def test_decide_auto_gpu_cpu():
    names = ["NVIDIA A100"]
    assert decide("auto", {}, [], "TensorFlow", "tensorflow") == "cpu"
    assert decide("auto", {}, names, "TensorFlow", "tensorflow") == "gpu"
    assert decide("auto", {"SLURM_JOB_GPUS": "0"}, names, "JAX", "jax") == "gpu"
    assert decide("gpu", {}, names, "TensorFlow", "tensorflow") == "gpu"
    # cpu is the only way to run on CPU inside a GPU allocation
    assert decide("cpu", {"CUDA_VISIBLE_DEVICES": "0"}, [], "TensorFlow", "tensorflow") == "cpu"
    with pytest.raises(InputError, match=r"gave this job GPUs \(CUDA_VISIBLE_DEVICES=0\)") as info:
        decide("auto", {"CUDA_VISIBLE_DEVICES": "0"}, [], "TensorFlow 2.21.0", "tensorflow")
    message = str(info.value)
    assert "TensorFlow 2.21.0 sees none" in message
    assert 'make setup GPU=1 (pip install -e ".[gpu]"' in message
    assert "with no CUDA or cuDNN module loaded" in message  # one CUDA on the library path
    assert "train.device: cpu" in message and "\n" not in message
    with pytest.raises(InputError, match="jax\\[cuda12\\]"):
        decide("gpu", {"SLURM_GPUS_ON_NODE": "1"}, [], "JAX 0.4 (cpu)", "jax")
    with pytest.raises(InputError, match="no GPU: the scheduler gave none"):
        decide("gpu", {}, [], "TensorFlow", "tensorflow")


def test_select_devices_rejects_unknown_and_cpu_hides_gpus():
    with pytest.raises(InputError, match="'tpu' is not one of auto, gpu, cpu"):
        select_devices("tpu", {})
    environ = {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_GPUS": "0"}
    selection = select_devices("cpu", environ)
    assert selection.kind == "cpu" and selection.given == {
        "CUDA_VISIBLE_DEVICES": "0",
        "SLURM_JOB_GPUS": "0",
    }
    assert environ["CUDA_VISIBLE_DEVICES"] == "-1" and environ["JAX_PLATFORMS"] == "cpu"
    env = {"CUDA_VISIBLE_DEVICES": "1"}
    hide_gpus(env)
    assert scheduler_gpus(env) == {}


def test_devices_record_and_distribution():
    two = Devices("jax", "gpu", ("NVIDIA H100", "NVIDIA H100"), True, 100, "data_parallel")
    assert two.count == 2 and two.batch_per_device == 50
    assert two.summary() == "2 x NVIDIA H100 (jax, mixed_float16, 50/device)"
    cpu = Devices("tensorflow", "cpu", (), False, 100)
    assert cpu.record()["names"] == ["CPU"] and cpu.record()["batch_per_device"] == 100
    assert distribution_for("tensorflow", 2) == "mirrored"
    assert distribution_for("jax", 4) == "data_parallel"
    assert distribution_for("jax", 1) == distribution_for("torch", 2) == "none"
    assert median_rate([{"samples_per_s": 10.0}, {"samples_per_s": 30.0}, {}]) == 20.0
    assert median_rate([{"epoch": 1}]) is None


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    return planted_split(folder / "train.h5", 300, seed=0), planted_split(
        folder / "valid.h5", 100, seed=1
    )


def _train(splits, outdir: Path, device: str, **env) -> subprocess.CompletedProcess:
    tiny = {"conv_filters": [8, 8, 8], "conv_width": 4, "pool_size": 4, "hidden_units": 8}
    command = [
        str(Path(sys.executable).parent / "seq2chrom"), "train",
        "--model", "deepsea", "--train", str(splits[0]), "--valid", str(splits[1]),
        "--model-settings", json.dumps({"preset": "small", **tiny}),
        "--train-settings", json.dumps({"epochs": 1, "batch_size": 50, "device": device}),
        "--out-dir", str(outdir),
    ]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES",)}
    environ.update(OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", **env)
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # trains a model
def test_gpu_given_but_not_seen_stops_in_seconds_with_one_line(splits, tmp_path):
    """A job Slurm gave GPU 0 on a machine whose TensorFlow sees none: one line, no training."""
    stopped = _train(splits, tmp_path / "m", "auto", CUDA_VISIBLE_DEVICES="0", SLURM_JOB_GPUS="0")
    assert stopped.returncode == 1
    errors = [line for line in stopped.stderr.splitlines() if "seq2chrom train: error:" in line]
    assert len(errors) == 1, stopped.stderr[-2000:]
    assert "CUDA_VISIBLE_DEVICES=0, SLURM_JOB_GPUS=0" in errors[0]
    assert "sees none" in errors[0] and 'pip install -e ".[gpu]"' in errors[0]
    assert "train.device: cpu" in errors[0]
    # stopped before the first batch (a wall-clock bound here failed under load)
    assert not (tmp_path / "m" / "checkpoint").exists()
    assert not (tmp_path / "m" / "history.tsv").exists()


@pytest.mark.slow  # trains a model
def test_cpu_trains_inside_a_gpu_allocation_and_records_the_devices(splits, tmp_path):
    import yaml

    done = _train(splits, tmp_path / "m", "cpu", CUDA_VISIBLE_DEVICES="0", SLURM_JOB_GPUS="0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "devices used: CPU (tensorflow, float32, 50/device)" in done.stderr
    record = yaml.safe_load((tmp_path / "m" / "config.yaml").read_text())["devices"]
    assert record["kind"] == "cpu" and record["count"] == 1 and record["batch_per_device"] == 50
    assert record["samples_per_s"] > 0
    history = (tmp_path / "m" / "history.tsv").read_text().splitlines()
    assert history[0].split("\t")[-2:] == ["samples_per_s", "devices"]
    assert history[1].endswith("CPU (tensorflow, float32, 50/device)")
