"""The project's own checks: ruff, snakefmt, `snakemake --lint` and the import layers
(`lint-imports`, pyproject.toml's [tool.importlinter]) must be clean."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile", "workflow/Snakefile", "workflow/rules"],
        ["snakemake", "--lint", "--cores", "1"],
        ["lint-imports"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt", "snakemake-lint", "import-layers"],
)
def test_clean(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
