"""Loading a trained model folder's `model.keras`: always in Keras' safe mode, and through
`open_trained` with its track list checked (see `seq2chrom.modelfile`)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seq2chrom.errors import InputError
from seq2chrom.modelfile import CONFIG_NAME, MODEL_NAME, check_model_tracks, model_tracks


def load_model(path: str | Path):
    """The uncompiled `keras.Model` saved at `path` (a `.keras` archive), loaded in safe mode.

    A `.keras` file can carry Python code (a `Lambda` layer's function) that runs when it is
    loaded, and models come from users (train.init_from, a shared results folder), so Keras'
    safe mode stays on. Raises InputError naming `path` when the file is missing, is not a
    Keras archive, or holds code (a Lambda layer) that safe mode refuses to run.
    """
    import keras

    import seq2chrom.models.custom  # noqa: F401  registers seq2chrom's layers for loading

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model not found", fix="train the model first, or correct the path")
    if not zipfile.is_zipfile(path):
        raise InputError(
            path,
            "not a Keras model archive (.keras is a zip file)",
            fix=f"give a model saved by seq2chrom train ({MODEL_NAME})",
        )
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error):
            raise InputError(
                path,
                "refused: the model holds Python code (a Lambda layer), which Keras' safe "
                "mode does not run",
                fix="use a model saved by seq2chrom train, whose layers are all built in",
            ) from None
        raise InputError(
            path, f"cannot load the model: {error}".splitlines()[0], fix="retrain the model"
        ) from None


@dataclass(frozen=True)
class TrainedModel:
    """A trained model opened by `open_trained`.

    model: the uncompiled keras.Model; tracks: the track of each output column (``track_<j>``
    when the folder has no config.yaml, ``named`` False); kind: the device kind chosen
    ('gpu' or 'cpu'; '' when the caller chose none).
    """

    path: Path
    model: Any
    tracks: list[str]
    named: bool
    kind: str

    @property
    def n_outputs(self) -> int:
        return int(self.model.output_shape[-1])

    def check_tracks(self, data_path: str | Path, data_tracks: Sequence[str]) -> None:
        """InputError unless the model's tracks are `data_tracks` of `data_path`, in order."""
        stored = self.tracks if self.named else None
        check_model_tracks(self.path, self.n_outputs, data_path, data_tracks, stored)


def open_trained(
    path: str | Path,
    device: str | None = "auto",
    data_tracks: Sequence[str] | None = None,
    *,
    data_path: str | Path = "the data",
) -> TrainedModel:
    """Open the ``model.keras`` at `path` with its track list, checked (`TrainedModel`).

    device: auto, gpu or cpu, chosen (`devices.select_devices`) before Keras starts; None
    leaves the devices as the process has them. With `data_tracks` (the tracks of the data
    file `data_path`) the model's tracks must be those, in order; without, the stored list
    must have one name per output. The missing-file check comes before the framework's
    seconds of start-up.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model not found", fix="train the model first, or correct the path")
    kind = ""
    if device is not None:
        from seq2chrom.devices import select_devices

        kind = select_devices(device).kind
    model = load_model(path)
    stored = model_tracks(path)
    n_outputs = int(model.output_shape[-1])
    tracks = stored if stored is not None else [f"track_{j}" for j in range(n_outputs)]
    trained = TrainedModel(path, model, list(tracks), stored is not None, kind)
    if data_tracks is not None:
        trained.check_tracks(data_path, data_tracks)
    elif len(tracks) != n_outputs:
        raise InputError(
            path, f"{n_outputs} outputs but {CONFIG_NAME} lists {len(tracks)} tracks",
            fix=f"keep each {MODEL_NAME} with the {CONFIG_NAME} written with it",
        )  # fmt: skip
    return trained
