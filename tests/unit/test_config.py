"""Defaults and names come from the config schema: the CLI, the registry and the rules agree."""

from __future__ import annotations

import argparse
import re

import pytest
import yaml
from seq2chrom.config import (
    SCHEMA_PATH,
    default,
    defaults,
    model_builder_settings,
    model_train,
    properties,
    schema,
)
from seq2chrom.errors import InputError
from seq2chrom.training.session import train_settings


def test_defaults_are_read_from_the_schema():
    raw = yaml.safe_load(SCHEMA_PATH.read_text())
    epochs = raw["properties"]["train"]["properties"]["epochs"]["default"]
    assert defaults("train")["epochs"] == epochs == 60
    assert default("seed") == 1 and default("motifs", "evalue") == 0.01


def test_schemas_declare_each_key_once():
    """YAML keeps the last of two equal keys silently: a second `train.device` hid the first."""

    class UniqueKeys(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        keys = [loader.construct_object(key) for key, _ in node.value]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        assert not repeated, f"line {node.start_mark.line + 1}: {repeated} declared twice"
        return loader.construct_mapping(node)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    for path in (SCHEMA_PATH, SCHEMA_PATH.with_name("tracks.schema.yaml")):
        yaml.load(path.read_text(), Loader=UniqueKeys)


def test_train_settings_fill_schema_defaults_and_refuse_unknown_keys():
    settings = train_settings({"epochs": 3})
    assert settings["epochs"] == 3 and settings["batch_size"] == defaults("train")["batch_size"]
    assert "init_from" not in settings and "freeze_epochs" not in settings
    with pytest.raises(InputError, match=r"unknown keys \['epoch'\]"):
        train_settings({"epoch": 3})
    with pytest.raises(InputError, match="pass them as --init-from"):
        train_settings({"init_from": "x"})


def test_model_names_agree_between_schema_registry_and_cli():
    from seq2chrom.cli.train import register
    from seq2chrom.models import BUILDERS, PRESETS

    schema_models = set(properties("models")["properties"])
    compared = set(properties("finetune_comparison", "model")["enum"])
    assert schema_models == compared == set(BUILDERS) == set(PRESETS)
    subparsers = argparse.ArgumentParser().add_subparsers()
    register(subparsers)
    choices = {a.dest: a.choices for a in subparsers.choices["train"]._actions}
    assert set(choices["model"]) == set(BUILDERS)


def test_presets_in_the_schema_are_the_registry_presets():
    from seq2chrom.models import PRESETS

    raw = yaml.safe_load(SCHEMA_PATH.read_text())
    presets = set(raw["$defs"]["preset"]["enum"])
    assert all(set(PRESETS[name]) == presets for name in PRESETS)


def _validated(models: dict, train: dict | None = None) -> dict:
    """A config validated as the workflow does (snakemake.utils.validate fills defaults)."""
    from snakemake.utils import validate

    config = {
        "genome": "g.fa", "tracks": "t.tsv", "bins": {}, "split": {},
        "models": models, "train": dict(train or {}),
    }  # fmt: skip
    validate(config, str(SCHEMA_PATH))
    return config


def test_model_train_takes_every_train_key_but_device():
    own = schema()["$defs"]["model_train"]
    assert set(own["properties"]) == set(properties("train")["properties"]) - {"device"}
    for key, spec in own["properties"].items():  # the train key's own rules, no default
        assert spec == {"$ref": f"#/properties/train/properties/{key}"}
    for model in properties("models")["properties"].values():
        assert model["properties"]["train"] == {"$ref": "#/$defs/model_train"}


def test_a_model_train_key_replaces_the_train_key_for_that_model_only():
    danq = {"epochs": 60, "patience_rule": "keras0.2", "optimizer": {"name": "adam"}}
    config = _validated(
        {"deepsea": {"preset": "full"}, "danq": {"preset": "full", "train": danq}},
        {"epochs": 30, "optimizer": {"name": "sgd", "momentum": 0.5}},
    )
    # no defaults filled into the model's own keys: they would hide the train section's
    assert set(config["models"]["danq"]["train"]) == set(danq)
    assert model_train(config, "deepsea") == config["train"]
    settings = model_train(config, "danq")
    assert settings["epochs"] == 60 and settings["patience_rule"] == "keras0.2"
    assert settings["batch_size"] == config["train"]["batch_size"] == 100
    # an object is replaced whole; its missing keys take the schema's defaults, not train's
    optimizer = properties("train", "optimizer")["properties"]
    expected = {key: spec["default"] for key, spec in optimizer.items()} | {"name": "adam"}
    assert settings["optimizer"] == expected and expected["momentum"] is None  # not train's 0.5
    assert model_builder_settings(config, "danq") == {"preset": "full"}


@pytest.mark.parametrize(
    ("own", "message"),
    [
        ({"epoch": 60}, "Additional properties are not allowed ('epoch'"),
        ({"device": "cpu"}, "Additional properties are not allowed ('device'"),
        ({"patience_rule": "keras2"}, "'keras2' is not one of"),
        ({"patience": 0}, "0 is less than the minimum of 1"),
        ({"optimizer": {"name": "sgd", "momentun": 0.9}}, "('momentun' was unexpected)"),
    ],
)
def test_model_train_is_validated_like_train(own, message):
    with pytest.raises(Exception, match=re.escape(message)):
        _validated({"danq": {"preset": "small", "train": own}})
