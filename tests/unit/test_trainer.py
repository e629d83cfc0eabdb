"""Trainer: learns a planted motif, stops on NaN, resumes after SIGKILL to the same result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from seq2chrom.models import build_model
from seq2chrom.training.batches import H5Batches
from seq2chrom.training.checkpoint import Checkpoint
from seq2chrom.training.optimizers import compile_model, optimizer_settings
from seq2chrom.training.trainer import (
    Control,
    Plan,
    TrainingError,
    binary_crossentropy,
    fingerprint,
    mean_auroc,
    train,
)
from sklearn.metrics import roc_auc_score

from tests.unit.training_data import kill_after_epoch, planted_split

TINY = {"conv_filters": 16, "conv_width": 8, "pool_size": 4, "lstm_units": 8, "hidden_units": 16}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    return planted_split(folder / "train.h5", 2000, seed=0), planted_split(
        folder / "valid.h5", 400, seed=1
    )


def _tiny_danq(learning_rate=0.01):
    keras.utils.set_random_seed(1)
    model = build_model("danq", 3, 100, "small", **TINY)
    return compile_model(model, optimizer_settings("danq", "small", learning_rate))


def _train_quietly(model, splits, epochs: int, checkpoint_dir):
    """`train` on the tiny splits with patience = epochs (no early stop)."""
    return train(
        model,
        H5Batches(splits[0], 50),
        H5Batches(splits[1], 200, shuffle=False),
        Plan(patience=epochs),
        Control(epochs=epochs, checkpoint_dir=checkpoint_dir, verbose=0),
    )


def test_mean_auroc_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 4)) < 0.3).astype(np.uint8)
    y[:, 3] = 0  # no positives: skipped
    score = np.round(rng.random((300, 4)) + y * 0.5, 1)  # ties on purpose
    expected = np.mean([roc_auc_score(y[:, k], score[:, k]) for k in range(3)])
    assert mean_auroc(y, score) == pytest.approx(expected, abs=1e-12)
    expected_loss = keras.ops.convert_to_numpy(
        keras.losses.binary_crossentropy(y.astype("float32"), np.clip(score, 0, 1))
    ).mean()
    assert binary_crossentropy(y, np.clip(score, 0, 1)) == pytest.approx(expected_loss, rel=1e-4)


def test_the_fingerprint_is_the_plan():
    plan = Plan(patience=5, identity={"model": "danq", "train": {"batch_size": 100}})
    assert fingerprint(plan) == fingerprint(
        Plan(5, identity={"model": "danq", "train": {"batch_size": 100}})
    )
    assert fingerprint(
        Plan(5, identity={"model": "danq", "train": {"batch_size": 50}})
    ) != fingerprint(plan)
    assert fingerprint(Plan(6, identity=plan.identity)) != fingerprint(plan)
    assert fingerprint(Plan(5, freeze_epochs=1, identity=plan.identity)) != fingerprint(plan)


@pytest.mark.slow  # trains a model
def test_tiny_model_learns_the_planted_motifs(splits, tmp_path):
    model = _tiny_danq()
    history = train(
        model,
        H5Batches(splits[0], 50, seed=1),
        H5Batches(splits[1], 200, shuffle=False),
        Plan(patience=5),
        Control(epochs=4, checkpoint_dir=tmp_path / "checkpoint", verbose=0),
    )
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["val_auroc"] > 0.9
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    state = json.loads((Checkpoint(tmp_path / "checkpoint").latest() / "state.json").read_text())
    assert state["epoch"] == 4 and state["best_val_loss"] == min(r["val_loss"] for r in history)


def test_nan_loss_stops_with_a_clear_error_and_no_checkpoint(splits, tmp_path):
    model = _tiny_danq()
    kernel = model.get_layer("output").kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(TrainingError, match="nan at epoch 1"):
        _train_quietly(model, splits, epochs=2, checkpoint_dir=tmp_path / "ck")
    assert Checkpoint(tmp_path / "ck").latest() is None


def test_dead_relus_stop_as_a_collapse_before_early_stopping(splits, tmp_path):
    """Every hidden ReLU switched off: constant predictions; the run stops after 3 epochs."""
    model = _tiny_danq()
    bias = model.get_layer("hidden").bias
    bias.assign(np.full(bias.shape, -1e3, "float32"))  # no input reaches above zero
    with pytest.raises(TrainingError, match=r"training collapsed: .* for 3 epochs \(epochs 1-3"):
        _train_quietly(model, splits, epochs=20, checkpoint_dir=tmp_path / "ck")
    state = json.loads((Checkpoint(tmp_path / "ck").latest() / "state.json").read_text())
    assert state["epoch"] == 2 and state["flat_epochs"] == 2


def test_cli_stops_a_collapsed_run_at_a_very_high_learning_rate(splits, tmp_path, capsys):
    """RMSprop at rate 1 kills the tiny DanQ's ReLUs: one line, exit 3, no model.keras."""
    from seq2chrom.cli import EXIT_TRAINING, main

    command = _train_command(splits, tmp_path / "out")[1:]
    settings = json.dumps({"epochs": 30, "batch_size": 50, "learning_rate": 1.0})
    command[command.index("--train-settings") + 1] = settings
    assert main(command) == EXIT_TRAINING
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("seq2chrom train: error: ") and "training collapsed" in error
    assert "(fix: lower train.learning_rate (this run: 1; try 0.3)" in error
    assert not (tmp_path / "out" / "model.keras").exists()
    assert not (tmp_path / "out" / "history.tsv").exists()


def test_cli_reports_a_diverged_run_as_a_training_error(splits, tmp_path, capsys):
    """A NaN loss is not the user's input at fault: its own one-line error and exit code 3."""
    from seq2chrom.cli import EXIT_TRAINING, main

    start = tmp_path / "start"
    start.mkdir()
    model = _tiny_danq()
    kernel = model.get_layer("output").kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))  # copied into the fine-tune
    model.save(start / "model.keras")
    (start / "config.yaml").write_text("tracks: [track0, track1, track2]\n")
    command = _train_command(splits, tmp_path / "out")[1:]
    assert main([*command, "--init-from", str(start)]) == EXIT_TRAINING == 3
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("seq2chrom train: error: ") and "loss is nan at epoch 1" in error
    assert "no model written (fix: lower train.learning_rate" in error
    assert not (tmp_path / "out" / "model.keras").exists()


def _train_command(splits, outdir: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "seq2chrom"),
        "train",
        "--model", "danq",
        "--train", str(splits[0]),
        "--valid", str(splits[1]),
        "--model-settings", json.dumps({"preset": "small", **TINY}),
        "--train-settings", json.dumps({"epochs": 6, "batch_size": 50, "learning_rate": 0.01}),
        "--out-dir", str(outdir),
        "--verbose", "0",
    ]  # fmt: skip


@pytest.mark.slow  # trains a model
def test_killed_run_resumes_and_ends_like_an_uninterrupted_one(splits, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    whole = subprocess.run(
        _train_command(splits, tmp_path / "whole"), env=env, capture_output=True, text=True
    )
    assert whole.returncode == 0, whole.stderr[-3000:]

    outdir = tmp_path / "killed"
    killed_at = kill_after_epoch(_train_command(splits, outdir), env, outdir)
    assert not (outdir / "model.keras").exists()
    assert 2 <= killed_at < 6

    resumed = subprocess.run(
        _train_command(splits, outdir), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from checkpoint after epoch {killed_at}" in resumed.stderr
    expected = pd.read_csv(tmp_path / "whole" / "history.tsv", sep="\t")
    got = pd.read_csv(outdir / "history.tsv", sep="\t")
    assert got["epoch"].tolist() == expected["epoch"].tolist()
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=1e-4)
    assert (outdir / "model.keras").exists() and (outdir / "training_curve.png").exists()
    config = (outdir / "config.yaml").read_text()
    assert "track0" in config and "conv_filters: 16" in config
