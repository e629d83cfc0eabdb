"""Integration fixtures: the whole demo workflow, run once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import make_workdir, snakemake


@pytest.fixture(scope="session")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow directory in which the whole demo ran: demo -> data -> train -> eval -> motifs.

    Runs `snakemake` (rule all) on a copy of the default config once per session; every
    integration test that needs finished results shares it. Set SEQ2CHROM_DEMO_DIR to a
    directory to keep the results between sessions (Snakemake then only reruns what changed).
    """
    kept = os.environ.get("SEQ2CHROM_DEMO_DIR")
    if kept:
        workdir = Path(kept).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if not (workdir / "config").exists():
            make_workdir(workdir)
    else:
        workdir = make_workdir(tmp_path_factory.mktemp("demo"))
    snakemake(workdir)
    return workdir
