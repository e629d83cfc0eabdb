"""Rule check_gpu in the plan (`snakemake -n` on the demo config): absent from CPU runs and from
the demo (train.device auto on profiles/local), once per GPU partition and type before every GPU
job otherwise. The dry runs run side by side."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from tests.conftest import BIN, REPO, make_workdir

pytestmark = pytest.mark.slow  # three Snakemake dry runs of the whole workflow

GPU_RULES = {
    "train",
    "predict",
    "motif_pwms",
    "variant_effects",
    "predict_region",
    "mutagenesis",
    "attributions",
    "contribution_tracks",
}
RUNS = {
    "demo": ("auto", []),
    "gpu here": ("gpu", []),
    "biowulf": ("auto", ["--profile", str(REPO / "profiles" / "biowulf")]),
}


def plan_jobs(stdout: str) -> list[tuple[str, str]]:
    """(rule, reason) of each job a dry run lists."""
    blocks = re.split(r"^(?:local)?(?:rule|checkpoint) (\w+):$", stdout, flags=re.M)
    return [
        (rule, match[1] if (match := re.search(r"^\s+reason: (.*)$", text, flags=re.M)) else "")
        for rule, text in zip(blocks[1::2], blocks[2::2], strict=True)
    ]


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    running = {}
    for name, (device, args) in RUNS.items():
        workdir = make_workdir(tmp_path_factory.mktemp(name.replace(" ", "_")))
        config_path = workdir / "config" / "config.yaml"
        config = yaml.safe_load(config_path.read_text())
        config["train"]["device"] = device
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-n", *args]
        running[name] = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
    plans = {}
    for name, process in running.items():
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out[-5000:]
        plans[name] = plan_jobs(out)
    return plans


def test_the_demo_checks_nothing(plans):
    """train.device auto without a profile that asks for GPUs (CPU runs: test_check_gpu.py)."""
    rules = [rule for rule, _ in plans["demo"]]
    assert "train" in rules and "check_gpu" not in rules


@pytest.mark.parametrize(
    ("name", "flag"),
    [("gpu here", "results/checks/gpu/default-any.txt"),
     ("biowulf", "results/checks/gpu/gpu-v100x.txt")],
)  # fmt: skip
def test_one_check_runs_before_every_gpu_job(plans, name, flag):
    jobs = plans[name]
    assert [reason for rule, reason in jobs if rule == "check_gpu"] == [
        f"Missing output files: {flag}"
    ]
    gpu_jobs = [(rule, reason) for rule, reason in jobs if rule in GPU_RULES]
    assert {rule for rule, _ in gpu_jobs} == GPU_RULES
    # each waits for the check (Snakemake lists the flag as an input made by another job)
    assert all(flag in reason for _, reason in gpu_jobs), gpu_jobs
    others = [reason for rule, reason in jobs if rule not in GPU_RULES | {"all", "check_gpu"}]
    assert others and all(flag not in reason for reason in others)
