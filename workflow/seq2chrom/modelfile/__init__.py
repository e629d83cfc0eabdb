"""The trained-model folder `results/models/{model}/`, the contract between training and its users.

Layout (written by `seq2chrom train`, `training/session.py`, through `model_file` and
`config_file`):
  model.keras   the Keras archive, loaded only in Keras' safe mode (`load_model`)
  config.yaml   the run's settings; key ``tracks`` is the track of each output column, in order
A model's output column ``j`` means track ``tracks[j]`` of the data it was trained on.
Predicting, evaluating or reading filter influence with a model on data whose ``tracks`` differ
would silently misalign columns, so every consumer opens the folder through `open_trained`,
(`modelfile.loading`), which loads the model safely, reads its track list and checks it against
the data's. Only this package names the two files. This module imports no framework (the report
steps read track lists without Keras); `modelfile.loading` loads models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seq2chrom.errors import InputError

MODEL_NAME = "model.keras"
CONFIG_NAME = "config.yaml"
_SHOWN = 5  # names listed in a message before "..."


def model_file(folder: str | Path) -> Path:
    """``model.keras`` of a trained-model folder."""
    return Path(folder) / MODEL_NAME


def config_file(folder: str | Path) -> Path:
    """``config.yaml`` of a trained-model folder."""
    return Path(folder) / CONFIG_NAME


def model_config_path(model_path: str | Path) -> Path:
    """``config.yaml`` beside a ``model.keras``, inside a model folder, or the file itself."""
    path = Path(model_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    return config_file(path if path.is_dir() else path.parent)


def read_model_config(model_path: str | Path) -> dict:
    """The settings a model was trained with (its ``config.yaml``); {} when absent or empty."""
    import yaml

    path = model_config_path(model_path)
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def model_tracks(model_path: str | Path) -> list[str] | None:
    """Track names of a trained model, from the ``config.yaml`` beside it; None if absent.

    Raises InputError when the file exists but holds no ``tracks`` list.
    """
    path = model_config_path(model_path)
    if not path.is_file():
        return None
    tracks = read_model_config(path).get("tracks")
    if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
        raise InputError(
            path, "no 'tracks' list", fix="train the model again with `seq2chrom train`"
        )
    return tracks


def require_model_tracks(model_path: str | Path, fix: str | None = None) -> list[str]:
    """`model_tracks` for a step that cannot go on without them: InputError naming the
    ``config.yaml`` (with `fix`) when it is absent."""
    tracks = model_tracks(model_path)
    if tracks is None:
        raise InputError(
            model_config_path(model_path), "not found: the model's tracks are unknown", fix=fix
        )
    return tracks


def track_difference(
    model: Sequence[str], data: Sequence[str], *, names: tuple[str, str] = ("model", "data")
) -> str:
    """One phrase on how a model's track list differs from a data file's; "" when equal.

    names: what the two lists belong to, as the phrase calls them ("1 data tracks not in the
    model"); e.g. ("danq model", "deepsea model") when two models' metrics are compared.
    """
    model, data = list(model), list(data)
    if model == data:
        return ""
    model_name, data_name = names
    unknown = [t for t in data if t not in set(model)]
    dropped = [t for t in model if t not in set(data)]
    parts = []
    if unknown:
        parts.append(
            f"{len(unknown)} {data_name} tracks not in the {model_name} ({_names(unknown)})"
        )
    if dropped:
        parts.append(
            f"{len(dropped)} {model_name} tracks not in the {data_name} ({_names(dropped)})"
        )
    if parts:
        return "; ".join(parts)
    if len(model) != len(data):  # the same names, some repeated
        return f"{len(model)} tracks in the {model_name}, {len(data)} in the {data_name}"
    column = next(i for i, (a, b) in enumerate(zip(model, data, strict=True)) if a != b)
    return (
        f"same tracks in another order (column {column} is {model[column]!r} in the "
        f"{model_name}, {data[column]!r} in the {data_name})"
    )


def check_model_tracks(
    model_path: str | Path,
    n_outputs: int,
    data_path: str | Path,
    data_tracks: Sequence[str],
    tracks: Sequence[str] | None = None,
) -> None:
    """Stop with a one-line InputError unless the model's tracks are the data's, in order.

    ``tracks`` defaults to `model_tracks(model_path)`. Without a stored list (a model file
    copied without its ``config.yaml``) only the number of outputs can be compared.
    """
    if tracks is None:
        tracks = model_tracks(model_path)
    data_tracks = list(data_tracks)
    fix = (
        "use data built from the model's track sheet, or fine-tune the model to these tracks "
        "(train.init_from)"
    )
    if tracks is None:
        if n_outputs != len(data_tracks):
            raise InputError(
                model_path,
                f"{n_outputs} outputs but {data_path} has {len(data_tracks)} tracks",
                fix=fix,
            )
        return
    if len(tracks) != n_outputs:
        raise InputError(
            model_config_path(model_path),
            f"lists {len(tracks)} tracks but {model_path} has {n_outputs} outputs",
            fix=f"keep each {MODEL_NAME} with the {CONFIG_NAME} written with it",
        )
    difference = track_difference(tracks, data_tracks)
    if difference:
        raise InputError(
            model_path,
            f"model tracks ({model_config_path(model_path)}) differ from the tracks of "
            f"{data_path}: {difference}",
            fix=fix,
        )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (", ..." if len(names) > _SHOWN else "")
