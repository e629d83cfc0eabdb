"""`seq2chrom install-profile`: the profile lands where `snakemake --profile NAME` finds it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from seq2chrom.cli.cluster import PROFILES, install_profile
from seq2chrom.errors import InputError

BIN = Path(sys.executable).parent


def gpu_rules() -> list[str]:
    """Rules of the workflow whose resources ask for a GPU (`gpu=1`)."""
    rules = []
    for path in sorted((PROFILES.parent / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", path.read_text(), flags=re.MULTILINE)[1:]:
            if re.search(r"^\s+gpu=1,", block, flags=re.MULTILINE):
                rules.append(block.split(":", 1)[0])
    return rules


def test_the_workflow_has_gpu_rules():
    assert {"train", "predict", "motif_pwms", "finetune_base"} <= set(gpu_rules())


@pytest.mark.parametrize("name", ["slurm", "biowulf", "local"])
def test_every_profile_is_valid_yaml_with_its_executor(name):
    profile = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
    assert profile.get("executor", "local") == ("local" if name == "local" else "slurm")
    if name != "local":
        # GPU rules are configured in one place, each with a GPU request on the GPU partition.
        for rule in gpu_rules():
            resources = profile["set-resources"][rule]
            assert resources["slurm_partition"] == "gpu"
            assert resources.get("gpu") or "gpu:" in resources.get("gres", "")
        assert "--requeue" in profile["set-resources"]["train"]["slurm_extra"]


def test_copy_then_refuse_then_force_and_link(tmp_path):
    target = install_profile("slurm", PROFILES, tmp_path)
    assert target == tmp_path / "slurm" and not target.is_symlink()
    assert (target / "config.yaml").read_text() == (PROFILES / "slurm/config.yaml").read_text()
    with pytest.raises(InputError, match="add --force"):
        install_profile("slurm", PROFILES, tmp_path)
    linked = install_profile("slurm", PROFILES, tmp_path, link=True, force=True)
    assert linked.is_symlink() and linked.resolve() == (PROFILES / "slurm").resolve()


def test_unknown_profile_names_the_available_ones(tmp_path):
    with pytest.raises(InputError, match="biowulf"):
        install_profile("slurmm", PROFILES, tmp_path)


def test_snakemake_finds_the_installed_profile_by_name(tmp_path):
    """After the CLI installs into $XDG_CONFIG_HOME/snakemake, `--profile local` resolves there
    (from a directory without profiles/), as `--profile slurm` does on a cluster."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    command = [str(BIN / "seq2chrom"), "install-profile", "local"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "xdg/snakemake/local/config.yaml").is_file()
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "Snakefile").write_text('rule all:\n    output: "x"\n    shell: "touch {output}"\n')
    run = subprocess.run(
        [str(BIN / "snakemake"), "--profile", "local", "--dry-run"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    # The profile's settings were applied (printshellcmds shows the command in the dry run).
    assert "touch x" in run.stdout + run.stderr
