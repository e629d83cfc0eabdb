"""Per-epoch training checkpoints that survive SIGKILL: write an epoch folder, then flip a pointer.

Layout of ``checkpoint/``::

    latest                 name of the newest complete epoch folder (replaced atomically)
    epoch-0003/
        variables.npz      every model variable (weights, dropout seed-generator state)
        optimizer.npz      every optimizer variable (iteration count, momenta)
        best.npz           model variables at the best validation loss so far
        state.json         epoch, early-stopping state, history rows, settings fingerprint
    lock                   held by the training process (`lock.trainer_lock`), kept by clear()

A kill at any moment leaves ``latest`` pointing at a complete folder; older folders are
removed only after the pointer moved.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np

from seq2chrom.errors import InputError
from seq2chrom.training.lock import LOCK_NAME


class Checkpoint:
    """Save and restore training state in ``directory`` (see module docstring)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def latest(self) -> Path | None:
        pointer = self.directory / "latest"
        if not pointer.exists():
            return None
        folder = self.directory / pointer.read_text().strip()
        return folder if (folder / "state.json").exists() else None

    def save(
        self,
        model: keras.Model,
        state: dict,
        best_weights: list[np.ndarray] | None,
        best_changed: bool = True,
    ) -> Path:
        """Write epoch ``state["epoch"]``: model + optimizer variables, best weights, state.

        ``state`` must be JSON-serialisable. When ``best_changed`` is False the previous best
        weights are hard-linked instead of rewritten.
        """
        previous = self.latest()
        folder = self.directory / f"epoch-{state['epoch']:04d}"
        tmp = self.directory / f".{folder.name}.tmp"
        pointer = self.directory / ".latest.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _save_arrays(
                tmp / "variables.npz", [keras.ops.convert_to_numpy(v) for v in model.variables]
            )
            _save_arrays(
                tmp / "optimizer.npz",
                [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables],
            )
            if best_weights is not None:
                if not best_changed and previous is not None and (previous / "best.npz").exists():
                    _link_or_copy(previous / "best.npz", tmp / "best.npz")
                else:
                    _save_arrays(tmp / "best.npz", best_weights)
            (tmp / "state.json").write_text(json.dumps(state, indent=1))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
            pointer.write_text(folder.name + "\n")
            os.replace(pointer, self.directory / "latest")
        except BaseException:
            # A full disk (or any failed write): leave no half-written folder behind; ``latest``
            # still names the previous complete epoch, which a rerun resumes from.
            shutil.rmtree(tmp, ignore_errors=True)
            pointer.unlink(missing_ok=True)
            raise
        for old in self.directory.glob("epoch-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return folder

    def load(self, model: keras.Model) -> tuple[dict, list[np.ndarray] | None] | None:
        """Restore model and optimizer variables in place; return (state, best weights) or None."""
        folder = self.latest()
        if folder is None:
            return None
        state = json.loads((folder / "state.json").read_text())
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        _assign(model.variables, _load_arrays(folder / "variables.npz"), folder)
        _assign(model.optimizer.variables, _load_arrays(folder / "optimizer.npz"), folder)
        best = _load_arrays(folder / "best.npz") if (folder / "best.npz").exists() else None
        return state, best

    def clear(self) -> None:
        """Remove every saved epoch; the trainer's lock file (`lock.LOCK_NAME`) stays: removing
        it while held would let a second trainer lock a new file of the same name."""
        if not self.directory.is_dir():
            return
        for path in self.directory.iterdir():
            if path.name == LOCK_NAME:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _save_arrays(path: Path, arrays: list[np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, *arrays)


def _load_arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _assign(variables, arrays: list[np.ndarray], folder: Path) -> None:
    if len(variables) != len(arrays) or any(
        tuple(v.shape) != a.shape for v, a in zip(variables, arrays, strict=False)
    ):
        raise InputError(
            folder,
            "checkpoint does not match the model being trained",
            fix=f"delete {folder.parent} to start training from scratch",
        )
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
