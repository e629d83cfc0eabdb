"""Shared fixtures: the repository root and a helper that runs the real Snakemake."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The fine-tuning comparison, off in the shipped config (`make demo-finetune` adds it).
FINETUNE_OVERLAY = REPO / "config" / "examples" / "finetune.yaml"


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real `snakemake` on this repository's Snakefile inside `workdir`."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    command = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *args,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-5000:]}\n"
            f"{result.stderr[-10000:]}"
        )
    return result


def write_compressed(path: Path, data: bytes, kind: str) -> Path:
    """Write `data` to `path` plain, gzip or bgzip (`kind`), as users hand in FASTA and VCF."""
    if kind == "plain":
        path.write_bytes(data)
    elif kind == "gzip":
        path.write_bytes(gzip.compress(data))
    else:
        from Bio import bgzf

        with bgzf.BgzfWriter(str(path), "wb") as handle:
            handle.write(data)
    return path


def make_workdir(path: Path, *overlays: Path) -> Path:
    """A workflow directory with a copy of the default config (the embedded demo).

    Each overlay (a YAML file such as config/examples/finetune.yaml) is merged into the copy's
    config.yaml key by key, as `snakemake --configfile` merges it, so that a plain `snakemake`
    in the directory runs with it.
    """
    shutil.copytree(REPO / "config", path / "config")
    if overlays:
        config_path = path / "config" / "config.yaml"
        config = yaml.safe_load(config_path.read_text())
        for overlay in overlays:
            merge_config(config, yaml.safe_load(Path(overlay).read_text()))
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def merge_config(config: dict, overlay: dict) -> dict:
    """Update `config` in place with `overlay`: sections merged recursively, values replaced."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            merge_config(config[key], value)
        else:
            config[key] = value
    return config


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
