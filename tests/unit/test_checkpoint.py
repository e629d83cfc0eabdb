"""Checkpoint: a save that fails half-way (full disk) leaves the previous epoch to resume from."""

from __future__ import annotations

import errno
import json
import resource

import keras
import numpy as np
import pytest
from seq2chrom.training.checkpoint import Checkpoint


def _tiny_model() -> keras.Model:
    """Dense 4 -> 2 with an optimizer whose variables exist (as after a first fit)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_a_save_that_runs_out_of_space_keeps_the_previous_epoch(tmp_path):
    model = _tiny_model()
    checkpoint = Checkpoint(tmp_path)
    weights = [np.array(keras.ops.convert_to_numpy(v)) for v in model.variables]
    checkpoint.save(model, {"epoch": 1}, weights)
    model.layers[0].kernel.assign(np.full((4, 2), 7.0, "float32"))

    # The process's file-size limit stands in for a full disk: a write past it fails with
    # EFBIG (Python ignores SIGXFSZ). Each .npz here is several hundred bytes.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
    try:
        with pytest.raises(OSError) as raised:
            checkpoint.save(model, {"epoch": 2}, weights)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert raised.value.errno == errno.EFBIG
    assert sorted(path.name for path in tmp_path.iterdir()) == ["epoch-0001", "latest"]

    state, best = checkpoint.load(model)  # epoch 1, whole
    assert state == {"epoch": 1}
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0].kernel), weights[0])
    assert json.loads((checkpoint.latest() / "state.json").read_text())["epoch"] == 1
    assert len(best) == len(weights)


def test_clear_removes_the_epochs_but_keeps_the_trainers_lock_file(tmp_path):
    """A checkpoint of other settings is cleared while its trainer holds checkpoint/lock:
    removing that file would let a second trainer lock a new one of the same name."""
    checkpoint = Checkpoint(tmp_path)
    checkpoint.save(_tiny_model(), {"epoch": 1}, None)
    (tmp_path / "lock").write_text("pid=1 host=h job=\n")
    checkpoint.clear()
    assert [path.name for path in tmp_path.iterdir()] == ["lock"]
    assert checkpoint.latest() is None
