"""Integration fixtures: the whole demo workflow, run once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import FINETUNE_OVERLAY, make_workdir, snakemake


@pytest.fixture(scope="session")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow directory in which the whole demo ran: demo -> data -> train -> eval -> motifs,
    with the fine-tuning comparison (`make demo-finetune`: the default config plus
    config/examples/finetune.yaml, merged into the directory's config.yaml).

    Runs `snakemake` (rule all) once per session; every integration test that needs finished
    results shares it, so the report, rerun and fine-tuning tests see every section. Set
    SEQ2CHROM_DEMO_DIR to a directory to keep the results between sessions (Snakemake then only
    reruns what changed).
    """
    kept = os.environ.get("SEQ2CHROM_DEMO_DIR")
    if kept:
        workdir = Path(kept).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if not (workdir / "config").exists():
            make_workdir(workdir, FINETUNE_OVERLAY)
    else:
        workdir = make_workdir(tmp_path_factory.mktemp("demo"), FINETUNE_OVERLAY)
    snakemake(workdir, "--max-threads", "1")  # as `make demo` without a GPU: models side by side
    return workdir
