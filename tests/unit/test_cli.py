"""The `seq2chrom` entry point: a subcommand registers only its own module (fast start-up)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest
from seq2chrom.cli import COMMANDS, STEP_MODULES, main


def registered(module: str) -> set[str]:
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(subparsers)
    return set(subparsers.choices)


def test_commands_name_every_subcommand_and_its_module() -> None:
    found = {command: module for module in STEP_MODULES for command in registered(module)}
    assert found == COMMANDS, "update COMMANDS in seq2chrom/cli/__init__.py"


def test_a_step_imports_neither_pandas_nor_tensorflow() -> None:
    code = (
        "import sys; from seq2chrom.cli import build_parser; build_parser('label');"
        "build_parser('tracks-table'); print(sorted({'pandas', 'tensorflow', 'keras'}"
        " & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_unknown_steps_fail_listing_every_step(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["no-such-step"])
    error = capsys.readouterr().err
    assert "invalid choice: 'no-such-step'" in error
    assert all(repr(command) in error for command in COMMANDS)
