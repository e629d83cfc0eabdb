"""Backends: train, resume, predict under KERAS_BACKEND=jax; JAX data parallelism over 2 devices.

Every run is a real `seq2chrom` subprocess: the backend is fixed when Keras is first imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.unit.training_data import planted_split

if importlib.util.find_spec("jax") is None:  # fail, not skip: the test extra brings CPU JAX
    raise ImportError('JAX is missing: pip install -e ".[test]"')

pytestmark = pytest.mark.slow  # trains models in subprocesses

SEQ2CHROM = str(Path(sys.executable).parent / "seq2chrom")
TINY = {"conv_filters": 8, "conv_width": 8, "pool_size": 4, "lstm_units": 4, "hidden_units": 8}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    return planted_split(folder / "train.h5", 400, seed=0), planted_split(
        folder / "valid.h5", 100, seed=1
    )


def _run(args: list[str], backend: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([SEQ2CHROM, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _train(splits, out_dir: Path, epochs: int, backend: str) -> subprocess.CompletedProcess:
    return _run(
        [
            "train", "--model", "danq", "--train", str(splits[0]), "--valid", str(splits[1]),
            "--model-settings", json.dumps({"preset": "small", **TINY}),
            "--train-settings",
            json.dumps({"epochs": epochs, "batch_size": 50, "learning_rate": 0.01,
                        "device": "cpu"}),
            "--out-dir", str(out_dir),
        ],
        backend,
    )  # fmt: skip


def _predict(model_dir: Path, split: Path, out: Path, backend: str) -> np.ndarray:
    _run(
        ["predict", "--model", str(model_dir / "model.keras"), "--data", str(split),
         "--out", str(out), "--device", "cpu"],
        backend,
    )  # fmt: skip
    with h5py.File(out, "r") as handle:
        return handle["y_pred"][:]


def test_jax_trains_resumes_and_predicts_like_an_uninterrupted_run(splits, tmp_path):
    whole = tmp_path / "whole"
    done = _train(splits, whole, 3, "jax")
    assert "devices used: CPU (jax, float32, 50/device)" in done.stderr

    resumed = tmp_path / "resumed"
    _train(splits, resumed, 1, "jax")
    done = _train(splits, resumed, 3, "jax")  # more epochs keep the checkpoint
    assert "resuming from checkpoint after epoch 1" in done.stderr
    expected = pd.read_csv(whole / "history.tsv", sep="\t")
    got = pd.read_csv(resumed / "history.tsv", sep="\t")
    assert got["epoch"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=1e-4)
    assert got["loss"].iloc[-1] < got["loss"].iloc[0]  # it learns

    on_jax = _predict(whole, splits[1], tmp_path / "jax.h5", "jax")
    np.testing.assert_allclose(
        _predict(resumed, splits[1], tmp_path / "resumed.h5", "jax"), on_jax, atol=1e-4
    )
    # the saved model is backend-neutral: TensorFlow predicts what JAX predicts
    on_tf = _predict(whole, splits[1], tmp_path / "tf.h5", "tensorflow")
    np.testing.assert_allclose(on_tf, on_jax, atol=1e-4)
    assert on_jax.shape == (100, 3) and on_jax.std() > 0.01


def test_jax_data_parallel_trains_over_two_devices_with_uneven_batches(splits):
    """Two host CPU devices stand in for two GPUs (the keras.distribution path is the same):
    the trainer cuts training batches of 49 to 48 (202 items: 4 x 48 + 6 trained) and pads the
    101 validation samples to 102, which JAX would otherwise refuse to split."""
    script = textwrap.dedent(
        """
        import json, sys
        import keras
        from seq2chrom.models import build_model
        from seq2chrom.training.optimizers import compile_model, optimizer_settings
        from seq2chrom.training.batches import H5Batches
        from seq2chrom.devices import jax_data_parallel
        from seq2chrom.training.trainer import Control, Plan, train

        train_path, valid_path, tiny = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        devices = keras.distribution.list_devices("cpu")
        distribution = jax_data_parallel(devices)
        keras.utils.set_random_seed(1)
        model = compile_model(
            build_model("danq", 3, 100, "small", **tiny), optimizer_settings("danq", "full", 0.01)
        )
        history = train(
            model,
            H5Batches(train_path, 49, seed=1),
            H5Batches(valid_path, 256, shuffle=False, reverse_complement=False),
            Plan(patience=2),
            Control(epochs=2, verbose=0),
        )
        kernel = model.get_layer("output").kernel.value
        print(json.dumps({
            "devices": len(devices),
            "mesh": list(distribution.device_mesh.shape),
            "kernel_on": len(kernel.sharding.device_set),
            "history": history,
        }))
        """
    )
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    train_101 = planted_split(splits[0].parent / "train_101.h5", 101, seed=2)
    valid_101 = planted_split(splits[0].parent / "valid_101.h5", 101, seed=3)
    done = subprocess.run(
        [sys.executable, "-c", script, str(train_101), str(valid_101), json.dumps(TINY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["mesh"] == [2]
    assert result["kernel_on"] == 2  # weights replicated on both devices
    assert [row["epoch"] for row in result["history"]] == [1, 2]
    assert all(np.isfinite(row["val_loss"]) for row in result["history"])
    assert 0.3 < result["history"][0]["val_auroc"] <= 1


def test_gpu_bench_runs_without_tensorflow_in_quick_mode(tmp_path):
    """`python -m tests.bench gpu` on JAX where TensorFlow cannot be imported (as on a GPU node
    with only a JAX stack): every code path once at tiny sizes, one table, JSON rows."""
    blocker = tmp_path / "no_tf" / "tensorflow"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('TensorFlow is not installed here')\n")
    repo = Path(__file__).resolve().parents[2]
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        BENCH_GPU_QUICK="1",
        BENCH_GPU_JSON=str(tmp_path / "bench.json"),
        BENCH_GPU_DIR=str(tmp_path),
        PYTHONPATH=os.pathsep.join([str(blocker.parent), str(repo / "workflow"), str(repo)]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "gpu"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "device: CPU (no GPU visible); JAX" in done.stdout
    assert "goal train/s" in done.stdout and "input pipeline alone" in done.stdout
    assert re.search(
        r"attributions \(gradient.*: danq [\d,]+, deepsea [\d,]+ windows/s", done.stdout
    )
    assert re.search(r"variants \(deepsea small.*\): [\d,]+ variants/s", done.stdout), done.stdout
    record = json.loads((tmp_path / "bench.json").read_text())
    rows = {(r["model"], r["precision"]): r for r in record["rows"]}
    assert set(rows) == {("danq", "float32"), ("deepsea", "mixed_float16")}
    assert rows["danq", "float32"]["batch"] == 16
    assert rows["deepsea", "mixed_float16"]["batch"] == 32  # the largest tried fits on CPU
    assert all(r["train_per_s"] > 0 and r["predict_per_s"] > 0 for r in rows.values())
