"""Fine-tuning settings at parse time (`snakemake -n`): impossible ones stop naming the key and
the fix; train.init_from reaches the train rule as input files and parameters; the fine-tuning
comparison runs only when a config sets it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import FINETUNE_OVERLAY, REPO, make_workdir, snakemake


def _workdir(tmp_path: Path, train: dict | None = None, comparison: dict | None = None) -> Path:
    workdir = make_workdir(tmp_path)
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["train"].update(train or {})
    if comparison is not None:
        config["finetune_comparison"] = comparison
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


@pytest.mark.parametrize(
    ("train", "comparison", "message"),
    [
        ({"init_from": "results/models/{model}"}, {}, "model deepsea would start from itself"),
        (
            {"freeze_epochs": 2},
            {},
            "key train.freeze_epochs: 2: must be 0, or positive together with train.init_from",
        ),
        ({}, {"model": "danq_jaspar", "holdout": ["CTCF_K562"]}, "is not in models"),
        ({}, {"model": "danq", "holdout": ["CTCF_K562", "nope"]}, "['nope'] not tracks of"),
    ],
)
def test_impossible_settings_stop_before_any_job(tmp_path, train, comparison, message):
    result = snakemake(_workdir(tmp_path, train, comparison), "-n", check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1 and "config/config.yaml: key " in lines[0] and "(fix: " in lines[0]


def test_init_from_is_an_input_and_a_parameter_of_train(tmp_path):
    workdir = _workdir(tmp_path, {"init_from": "old/{model}", "freeze_epochs": 1}, {})
    for model in ("deepsea", "danq"):
        (workdir / "old" / model).mkdir(parents=True)
        for name in ("model.keras", "config.yaml"):
            (workdir / "old" / model / name).write_text("")
    result = snakemake(workdir, "-n", "-p", "results/models/danq/model.keras")
    out = result.stdout
    assert "old/danq/model.keras" in out and "old/danq/config.yaml" in out
    assert "--init-from=old/danq --freeze-epochs 1" in out
    assert "finetune" not in out  # the comparison is off

    off = snakemake(workdir, "-n", "results/finetune/danq/comparison.tsv", check=False)
    assert off.returncode != 0  # finetune_comparison is off: no rule makes its outputs


def test_the_comparison_runs_only_with_its_config_file(tmp_path):
    """The shipped config leaves it off; `--configfile config/examples/finetune.yaml` (what
    `make demo-finetune` passes) adds its three jobs to the demo."""
    assert "finetune_comparison" not in yaml.safe_load((REPO / "config/config.yaml").read_text())
    workdir = make_workdir(tmp_path)
    plain = snakemake(workdir, "-n").stdout
    assert re.search(r"^train\s+2$", plain, re.M) and "finetune" not in plain
    overlay = snakemake(workdir, "-n", "--configfile", str(FINETUNE_OVERLAY)).stdout
    for rule in ("finetune_base", "finetune_tuned", "finetune_comparison"):
        assert re.search(rf"^{rule}\s+1$", overlay, re.M), rule
