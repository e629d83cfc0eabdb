"""Shared fixtures: the repository root and a helper that runs the real Snakemake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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


def make_workdir(path: Path) -> Path:
    """A workflow directory with a copy of the default config (the embedded demo)."""
    shutil.copytree(REPO / "config", path / "config")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
