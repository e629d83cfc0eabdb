"""Model zoo: builder functions with published defaults and `small`/`full` presets.

`build_model("danq", n_tracks=21, preset="small")` returns an uncompiled `keras.Model`: the
architecture only (optimisers and compiling are `training.optimizers`).
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

__all__ = [
    "build_model",
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
