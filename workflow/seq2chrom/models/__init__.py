"""Model zoo: builder functions with published defaults, `small`/`full` presets, optimisers.

`build_model("danq", n_tracks=21, preset="small")` returns an uncompiled `keras.Model`;
`compile_model(model, "danq")` attaches the published optimiser and binary cross-entropy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras

from seq2chrom.models import danq as _danq
from seq2chrom.models import deepsea as _deepsea
from seq2chrom.models.danq import danq, danq_jaspar
from seq2chrom.models.deepsea import deepsea

BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "deepsea": deepsea,
    "danq": danq,
    "danq_jaspar": danq_jaspar,
}
PRESETS: dict[str, dict[str, dict]] = {
    "deepsea": _deepsea.PRESETS,
    "danq": _danq.PRESETS,
    "danq_jaspar": _danq.JASPAR_PRESETS,
}
OPTIMIZERS: dict[str, Callable[[float | None], keras.optimizers.Optimizer]] = {
    "deepsea": _deepsea.optimizer,
    "danq": _danq.optimizer,
    "danq_jaspar": _danq.optimizer,
}

__all__ = [
    "build_model",
    "build_optimizer",
    "compile_model",
    "danq",
    "danq_jaspar",
    "deepsea",
    "model_kwargs",
]


def model_kwargs(name: str, preset: str = "full", **overrides) -> dict:
    """The builder keyword arguments of `preset` for model `name`, updated by `overrides`."""
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(BUILDERS)}")
    if preset not in PRESETS[name]:
        raise ValueError(
            f"unknown preset {preset!r} for {name}; choose from {sorted(PRESETS[name])}"
        )
    return {**PRESETS[name][preset], **overrides}


def resolved_kwargs(name: str, preset: str = "full", **overrides) -> dict:
    """Every builder keyword of model `name` with its value for `preset` + `overrides`."""
    defaults = {
        key: parameter.default
        for key, parameter in inspect.signature(BUILDERS[name]).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and key != "name"
    }
    return {**defaults, **model_kwargs(name, preset, **overrides)}


def build_model(
    name: str, n_tracks: int, seq_len: int = 1000, preset: str = "full", **overrides
) -> keras.Model:
    """Build model `name` (deepsea, danq, danq_jaspar) from a preset plus size overrides."""
    return BUILDERS[name](seq_len, n_tracks, **model_kwargs(name, preset, **overrides))


def build_optimizer(
    name: str, preset: str = "full", learning_rate: float | None = None
) -> keras.optimizers.Optimizer:
    """Optimiser of model `name`: the published one for `full`; faster ones for `small`.

    ``small`` trains on a few thousand samples in minutes, where the published settings are too
    slow or fail: DeepSEA's SGD at lr 1 (tuned for 919 tracks and 4.4M samples) leaves the
    small DeepSEA dead (every ReLU off, AUROC 0.5), so it gets Adam at lr 3e-3; DanQ keeps
    RMSprop at lr 3e-3 instead of 1e-3. ``learning_rate`` overrides the rate in every case.
    """
    if preset == "small":
        rate = 3e-3 if learning_rate is None else learning_rate
        if name == "deepsea":
            return keras.optimizers.Adam(rate)
        return keras.optimizers.RMSprop(rate)
    return OPTIMIZERS[name](learning_rate)


def compile_model(
    model: keras.Model, name: str, learning_rate: float | None = None, preset: str = "full"
) -> keras.Model:
    """Compile with `build_optimizer(name, preset)` and binary cross-entropy; returns `model`."""
    model.compile(
        optimizer=build_optimizer(name, preset, learning_rate), loss="binary_crossentropy"
    )
    return model
