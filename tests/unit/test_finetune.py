"""Fine-tuning: weights copied by layer and by track name, conv1 frozen for the first epochs,
clear errors for other architectures, and a killed fine-tune that resumes exactly."""

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
import yaml
from seq2chrom.cli import main
from seq2chrom.modelfile.loading import load_model
from seq2chrom.models import build_model
from seq2chrom.training.batches import H5Batches
from seq2chrom.training.checkpoint import Checkpoint
from seq2chrom.training.finetune import set_frozen, transfer_weights
from seq2chrom.training.optimizers import compile_model, optimizer_settings
from seq2chrom.training.trainer import Control, Plan, train

from tests.unit.training_data import kill_after_epoch, planted_split

TINY = {"conv_filters": 16, "conv_width": 8, "pool_size": 4, "lstm_units": 8, "hidden_units": 16}
BIN = Path(sys.executable).parent


def _danq(n_tracks: int, seed: int, seq_len: int = 100, **sizes) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model("danq", n_tracks, seq_len, "small", **{**TINY, **sizes})


def _weights(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {
        layer.name: [np.array(w) for w in layer.get_weights()]
        for layer in model.layers
        if layer.weights
    }


def test_layers_are_copied_and_output_columns_follow_track_names():
    old = _danq(3, seed=1)
    new = _danq(4, seed=2)
    before, reference = _weights(new), _weights(old)
    transfer = transfer_weights(new, old, ["t2", "added", "t0", "t1"], ["t0", "t1", "t2"])
    after = _weights(new)
    assert transfer.copied == ["t2", "t0", "t1"] and transfer.new == ["added"]
    assert transfer.dropped == [] and "conv1" in transfer.layers and "output" not in transfer.layers
    for name in ("conv1", "blstm", "hidden"):
        for got, expected in zip(after[name], reference[name], strict=True):
            np.testing.assert_array_equal(got, expected)
    (kernel, bias), (old_kernel, old_bias) = after["output"], reference["output"]
    np.testing.assert_array_equal(kernel[:, [0, 2, 3]], old_kernel[:, [2, 0, 1]])
    np.testing.assert_array_equal(bias[[0, 2, 3]], old_bias[[2, 0, 1]])
    # the added track keeps the new model's own fresh initialisation
    np.testing.assert_array_equal(kernel[:, 1], before["output"][0][:, 1])
    assert not np.allclose(kernel[:, 1], 0)


def test_tracks_the_new_list_lacks_are_dropped():
    old = _danq(3, seed=1)
    new = _danq(2, seed=2)
    transfer = transfer_weights(new, old, ["t1", "t0"], ["t0", "t1", "t2"])
    assert transfer.dropped == ["t2"] and transfer.new == []
    np.testing.assert_array_equal(
        new.get_layer("output").get_weights()[0],
        old.get_layer("output").get_weights()[0][:, [1, 0]],
    )


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (lambda: _danq(3, seed=1, conv_filters=8), "layer 'conv1' has weight shapes"),
        (lambda: _danq(3, seed=1, seq_len=120), "layer 'hidden' has weight shapes"),
        (
            lambda: build_model("deepsea", 3, 100, "small", conv_filters=(8, 8, 8), pool_size=2),
            "not in",
        ),
    ],
)
def test_another_architecture_is_refused_and_nothing_changes(other, message):
    new = _danq(3, seed=2)
    before = _weights(new)
    with pytest.raises(ValueError, match=message):
        transfer_weights(new, other(), ["a", "b", "c"], ["a", "b", "c"])
    for name, weights in _weights(new).items():
        for got, expected in zip(weights, before[name], strict=True):
            np.testing.assert_array_equal(got, expected)


def test_track_lists_must_fit_the_outputs():
    with pytest.raises(ValueError, match="2 init tracks for 3 outputs"):
        transfer_weights(_danq(3, seed=2), _danq(3, seed=1), ["a", "b", "c"], ["a", "b"])
    with pytest.raises(ValueError, match="repeat"):
        transfer_weights(_danq(3, seed=2), _danq(3, seed=1), ["a", "a", "c"], ["a", "b", "c"])


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    return planted_split(folder / "train.h5", 1000, seed=0), planted_split(
        folder / "valid.h5", 300, seed=1
    )


def _conv1_kernel_index(model: keras.Model) -> int:
    kernel = model.get_layer("conv1").kernel
    return next(i for i, v in enumerate(model.variables) if v is kernel)


@pytest.mark.slow  # trains a model
def test_conv1_stays_frozen_for_the_freeze_epochs_then_learns_across_a_resume(splits, tmp_path):
    model = compile_model(_danq(3, seed=1), optimizer_settings("danq", "full", 0.01))
    start = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
    hidden_start = keras.ops.convert_to_numpy(model.get_layer("hidden").kernel)
    plan = Plan(patience=10, freeze_epochs=2)

    def run(epochs: int) -> list[np.ndarray]:
        train(
            model,
            H5Batches(splits[0], 50, seed=1),
            H5Batches(splits[1], 200, shuffle=False),
            plan,
            Control(epochs=epochs, checkpoint_dir=tmp_path, verbose=0),
        )
        with np.load(Checkpoint(tmp_path).latest() / "variables.npz") as saved:
            return [saved[f"arr_{i}"] for i in range(len(saved.files))]

    index = _conv1_kernel_index(model)
    frozen = run(2)  # epochs 1-2: conv1 frozen, the rest learns
    np.testing.assert_array_equal(frozen[index], start)
    hidden = next(i for i, v in enumerate(model.variables) if v is model.get_layer("hidden").kernel)
    assert not np.allclose(frozen[hidden], hidden_start)
    assert all(layer.trainable for layer in model.layers)  # the model is returned unfrozen

    # a new process would rebuild the model: resume from the epoch-2 checkpoint, epochs 3-4
    model = compile_model(_danq(3, seed=1), optimizer_settings("danq", "full", 0.01))
    unfrozen = run(4)
    assert not np.allclose(unfrozen[index], start)


def test_set_frozen_recompiles_only_on_change():
    model = compile_model(_danq(3, seed=1), optimizer_settings("danq", "full", 0.01))
    optimizer = model.optimizer
    assert set_frozen(model, True) and not model.get_layer("conv1").trainable
    assert model.optimizer is optimizer and model.compiled
    assert not set_frozen(model, True)
    assert set_frozen(model, False) and model.get_layer("conv1").trainable


def _train_command(splits, outdir: Path, *extra: str, epochs: int = 5) -> list[str]:
    return [
        str(BIN / "seq2chrom"),
        "train",
        "--model",
        "danq",
        "--train",
        str(splits[0]),
        "--valid",
        str(splits[1]),
        "--model-settings",
        json.dumps({"preset": "small", **TINY}),
        "--train-settings",
        json.dumps({"epochs": epochs, "batch_size": 50, "learning_rate": 0.01}),
        "--out-dir",
        str(outdir),
        "--verbose",
        "0",
        *extra,
    ]


ENV = dict(os.environ, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")


def _run(command: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def base(splits, tmp_path_factory):
    """A model trained without track2 (the held-out track)."""
    outdir = tmp_path_factory.mktemp("base") / "base"
    _run(_train_command(splits, outdir, "--exclude-tracks", "track2", epochs=2))
    return outdir


@pytest.mark.slow  # trains a model
def test_base_model_records_its_tracks_and_fine_tune_widens_it(base, splits, tmp_path):
    record = yaml.safe_load((base / "config.yaml").read_text())
    assert record["tracks"] == ["track0", "track1"] and record["excluded_tracks"] == ["track2"]
    assert load_model(base / "model.keras").output_shape == (None, 2)

    outdir = tmp_path / "tuned"
    result = _run(
        _train_command(splits, outdir, "--init-from", str(base), "--freeze-epochs", "1", epochs=2)
    )
    assert "output weights of 2 tracks copied, 1 new (track2)" in result.stderr
    tuned = yaml.safe_load((outdir / "config.yaml").read_text())
    assert tuned["tracks"] == ["track0", "track1", "track2"]
    assert tuned["init"]["path"] == str(base) and tuned["init"]["tracks_new"] == ["track2"]
    assert tuned["train"]["init_from"] == str(base) and tuned["train"]["freeze_epochs"] == 1
    assert len(tuned["init"]["sha256"]) == 64
    model = load_model(outdir / "model.keras")
    assert model.output_shape == (None, 3) and model.get_layer("conv1").trainable


@pytest.mark.slow  # trains a model
def test_killed_fine_tune_resumes_from_its_checkpoint_not_from_the_init(base, splits, tmp_path):
    extra = ("--init-from", str(base), "--freeze-epochs", "2")
    _run(_train_command(splits, tmp_path / "whole", *extra))

    outdir = tmp_path / "killed"
    killed_at = kill_after_epoch(_train_command(splits, outdir, *extra), ENV, outdir)
    assert 2 <= killed_at < 5

    resumed = _run(_train_command(splits, outdir, *extra))
    assert f"resuming from checkpoint after epoch {killed_at}" in resumed.stderr
    expected = pd.read_csv(tmp_path / "whole" / "history.tsv", sep="\t")
    got = pd.read_csv(outdir / "history.tsv", sep="\t")
    assert got["epoch"].tolist() == expected["epoch"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=1e-4)

    # the same outdir fine-tuned from another init: its checkpoint is not resumed
    other = tmp_path / "other_base"
    _run(_train_command(splits, other, "--exclude-tracks", "track2", "--seed", "2", epochs=1))
    restarted = _run(_train_command(splits, outdir, "--init-from", str(other), epochs=1))
    assert "from other settings: starting over" in restarted.stderr
    assert "resuming" not in restarted.stderr


def test_bad_fine_tune_options_are_one_line_errors(base, splits, tmp_path, capsys):
    def error(*extra: str) -> str:
        command = _train_command(splits, tmp_path / "out", *extra)[1:]
        assert main(command) == 1
        lines = capsys.readouterr().err.strip().splitlines()
        return lines[-1]

    assert "--exclude-tracks names tracks it does not have: ['nope']" in error(
        "--exclude-tracks", "nope"
    )
    assert "must be 0, or positive together with --init-from" in error("--freeze-epochs", "2")
    assert "no model.keras to fine-tune from" in error("--init-from", str(tmp_path))
    message = error("--init-from", str(base), "--model-settings", '{"preset": "small"}')
    assert "cannot fine-tune danq from it (danq, preset small): layer 'conv1'" in message
    assert "fix: fine-tune from a model of the same architecture" in message
    assert not (tmp_path / "out" / "model.keras").exists()
