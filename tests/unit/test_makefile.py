"""The Makefile's set-up checks: Python 3.11+ with venv, and no root or system tool for the demo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True, text=True
    )


def test_an_old_python_stops_with_one_line_naming_the_fix(tmp_path):
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.6.8" && exit 0\nexit 1\n')
    old.chmod(0o755)
    run = make("python-check", f"PYTHON={old}", "GOAL=demo")
    assert run.returncode != 0
    [message] = [line for line in run.stderr.splitlines() if not line.startswith("make")]
    assert f"{old} is Python 3.6.8" in message
    assert "make demo PYTHON=/path/to/python3.11" in message
    assert "module load python/3.11" in message and "envs/python.yaml" in message


def test_a_missing_python_is_named_too():
    run = make("python-check", "PYTHON=/nonexistent/python3.11", "GOAL=setup")
    assert run.returncode != 0 and "/nonexistent/python3.11 is not found" in run.stderr


def test_this_python_passes():
    assert make("python-check", "PYTHON=python3").returncode == 0


def test_the_demo_needs_no_system_tool_and_the_tests_need_bedtools():
    demo = make("-n", "demo", "PYTHON=python3").stdout
    assert "bedtools" not in demo and "apt-get" not in demo
    test = make("-n", "test", "PYTHON=python3").stdout
    assert "bedtools" in test


def test_without_a_gpu_the_demo_runs_jobs_on_half_the_cores():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine lists GPUs: the local profile's one-job-per-GPU applies")
    cores = len(os.sched_getaffinity(0))
    demo = make("-n", "demo", "PYTHON=python3").stdout
    half = cores // 2 if cores > 3 else 1
    assert f"--profile profiles/local --resources gpu={cores} --max-threads {half}" in demo


def test_setup_gpu_1_installs_the_gpu_extra():
    """`make setup GPU=1` (a dry run: nothing is installed) adds TensorFlow's CUDA libraries;
    without it, on a machine without GPUs, only the test extra is installed."""
    if (REPO / ".venv" / ".gpu").exists():
        pytest.skip("this venv has the gpu extra already: every reinstall keeps it")
    # -W pyproject.toml: as if it had changed, so that the install would run here too
    gpu = make("-n", "-W", "pyproject.toml", "setup", "GPU=1", "PYTHON=python3").stdout
    assert 'pip install -q -e ".[test,gpu]"' in gpu
    plain = make("-n", "-W", "pyproject.toml", "setup", "GPU=0", "PYTHON=python3").stdout
    assert 'pip install -q -e ".[test]"' in plain and "gpu" not in plain
