"""Defaults of the workflow config, read from its schema (workflow/schemas/config.schema.yaml),
the rules of a track-sheet row (workflow/schemas/tracks.schema.yaml), each model's train settings
(`model_train`: the train section with ``models.<name>.train`` over it), and the checks a schema
cannot express that both the workflow (common.smk) and a subcommand make (`check_finetune_options`).

The schema is the one source of defaults: Snakemake fills them into the config before any rule
runs, and subcommands called by hand take theirs from here. The schema is found beside the
package (`pip install -e .` keeps the package in workflow/seq2chrom, next to workflow/schemas).
"""

from __future__ import annotations

import functools
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
TRACKS_SCHEMA_PATH = SCHEMA_PATH.with_name("tracks.schema.yaml")  # one row of the track sheet


@functools.cache
def schema(path: Path = SCHEMA_PATH) -> dict:
    """The config schema as a dict (read once per process)."""
    import yaml

    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: config schema not found; install seq2chrom from its repository "
            "(pip install -e .), which keeps workflow/schemas beside the package"
        )
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def properties(*keys: str) -> dict:
    """The schema of the config key at `keys` (e.g. "train", "device"); () for the whole."""
    spec = schema()
    for key in keys:
        spec = spec["properties"][key]
    return spec


def defaults(section: str) -> dict:
    """Default of every key of a config section that has one, e.g. defaults("train")["epochs"]."""
    return {
        key: spec["default"]
        for key, spec in properties(section)["properties"].items()
        if "default" in spec
    }


def default(*keys: str):
    """Default of one config key, e.g. default("motifs", "evalue") -> 0.01, default("seed")."""
    return properties(*keys)["default"]


def model_train(config: dict, model: str) -> dict:
    """The train settings of `model`: the config's train section with the keys of
    ``models.<model>.train`` replacing their values (an object such as ``optimizer`` whole).

    config: the workflow config (defaults filled or not); model: a key of config["models"].
    Without ``models.<model>.train`` the train section itself, keys in its order.

    >>> model_train({"train": {"epochs": 30, "patience": 5},
    ...              "models": {"danq": {"train": {"epochs": 60}}}}, "danq")
    {'epochs': 60, 'patience': 5}
    """
    return {**config.get("train", {}), **config["models"][model].get("train", {})}


def model_builder_settings(config: dict, model: str) -> dict:
    """``models.<model>`` without its train settings: the preset and the builder's keywords."""
    return {k: v for k, v in config["models"][model].items() if k != "train"}


def check_finetune_options(
    init_from: str, freeze_epochs: int, *, where: str, init_name: str, fix: str | None = None
) -> None:
    """InputError unless `freeze_epochs` is 0, or positive with `init_from` (a folder) set.

    where: what the message names first, the option (``--freeze-epochs``) or the config file and
    key; init_name: how the caller names init_from (``--init-from``, ``train.init_from``).
    """
    from seq2chrom.errors import InputError

    if freeze_epochs < 0 or (freeze_epochs and not init_from):
        raise InputError(
            where, f"{freeze_epochs}: must be 0, or positive together with {init_name}", fix=fix
        )
