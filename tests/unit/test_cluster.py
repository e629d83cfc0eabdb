"""`seq2chrom install-profile`: the profile lands where `snakemake --profile NAME` finds it."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
    for path in sorted((PROFILES.parent / "workflow" / "rules").glob("*.smk")):
        # `use rule train as finetune_base with:` inherits train's resources
        for parent, child in re.findall(r"^use rule (\w+) as (\w+)", path.read_text(), re.M):
            rules += [child] if parent in rules else []
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
            requests = f"{resources.get('gres', '')} {resources.get('slurm_extra', '')}"
            assert resources.get("gpu") or re.search(r"gpu:|--gpus-per-node=", requests)
        # Slurm may requeue any job and the plugin follows it (its own option, not --requeue
        # in slurm_extra, which it does not know of and reports a NODE_FAIL as failed)
        assert profile["slurm-requeue"] is True
        assert "--requeue" not in yaml.safe_dump(profile["set-resources"])


def test_copy_then_refuse_then_force_and_link(tmp_path):
    target = install_profile("slurm", PROFILES, tmp_path)
    assert target == tmp_path / "slurm" and not target.is_symlink()
    assert (target / "config.yaml").read_text() == (PROFILES / "slurm/config.yaml").read_text()
    assert sorted(path.name for path in target.iterdir()) == ["config.yaml"]  # no controller.sh
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


# Partition time limits in minutes: Biowulf's (https://hpc.nih.gov/docs/userguide.html).
BIOWULF_LIMITS = {"quick": 4 * 60, "norm": 10 * 24 * 60, "gpu": 10 * 24 * 60}


def _resource(value, attempt: int) -> int:
    """A profile resource at `attempt`: a number, or an expression as Snakemake evaluates it."""
    if isinstance(value, int):
        return value
    return eval(str(value), {"min": min, "max": max}, {"attempt": attempt})  # noqa: S307


@pytest.mark.parametrize("name", ["slurm", "biowulf"])
def test_runtime_and_memory_grow_with_the_attempt(name):
    profile = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
    entries = [profile["default-resources"], *profile["set-resources"].values()]
    scaled = [entry for entry in entries if "mem_mb" in entry or "runtime" in entry]
    for entry in scaled:
        for key in ("runtime", "mem_mb"):
            if key in entry:
                assert _resource(entry[key], 2) > _resource(entry[key], 1), (key, entry)


def test_biowulf_jobs_stay_under_their_partition_limits():
    """Every attempt Snakemake makes (retries + 1) fits its partition, group jobs too: a group
    runs its jobs one at a time (the plugin's --jobs 1), so it takes `components` runtimes."""
    profile = yaml.safe_load((PROFILES / "biowulf" / "config.yaml").read_text())
    last = profile["retries"] + 1
    default = profile["default-resources"]
    groups = profile["groups"]
    for rule, entry in {"(default)": {}, **profile["set-resources"]}.items():
        merged = {**default, **entry}
        partition = merged["slurm_partition"]
        if "runtime" not in entry and rule != "(default)":
            continue  # the rule's own runtime: checked on the example config's dry run
        runtime = _resource(merged["runtime"], last)
        if rule in groups:
            runtime *= profile["group-components"][groups[rule]]
        assert runtime <= BIOWULF_LIMITS[partition], (rule, partition, runtime)
    # grouped rules go to quick together (a group job has one partition)
    for group in set(groups.values()):
        members = [rule for rule, g in groups.items() if g == group]
        partitions = {profile["set-resources"][rule]["slurm_partition"] for rule in members}
        assert partitions == {"quick"}, (group, partitions)


def test_919_labels_need_at_most_20_submissions():
    for name in ("slurm", "biowulf"):
        profile = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
        group = profile["groups"]["label"]
        assert math.ceil(919 / profile["group-components"][group]) <= 20


TRAINING_RULES = {"train", "finetune_base", "finetune_tuned"}


def test_no_k80_and_local_scratch_only_for_the_rules_that_read_it():
    """TensorFlow 2.16+ (CUDA 12) cannot use a K80. Only training reads from local scratch (the
    rule's `scratch` resource, passed as `seq2chrom train --scratch`), so only the training rules
    ask for lscratch, each with its folder; on Biowulf they do, with a typed GPU beside it."""
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm.validation import validate_slurm_extra

    rules = (PROFILES.parent / "workflow" / "rules" / "train.smk").read_text()
    assert "--scratch={resources.scratch:q}" in rules and 'scratch="",' in rules
    for name in ("slurm", "biowulf"):
        profile = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
        entries = {"(default)": profile["default-resources"], **profile["set-resources"]}
        for rule, entry in entries.items():
            keys = ("gres", "gpu_model", "slurm_extra")
            requests = " ".join(str(entry.get(key, "")) for key in keys).lower()
            assert "k80" not in requests, (name, rule)
            assert ("lscratch" in requests) == ("scratch" in entry), (name, rule)
            assert "scratch" not in entry or rule in TRAINING_RULES, (name, rule)
    biowulf = yaml.safe_load((PROFILES / "biowulf" / "config.yaml").read_text())
    for rule in TRAINING_RULES:
        entry = {
            k: v.strip("'") if isinstance(v, str) else v
            for k, v in biowulf["set-resources"][rule].items()
        }
        assert entry["scratch"] == "/lscratch/$SLURM_JOB_ID" and entry["gpu"] == 0
        # what the installed plugin accepts and submits (one GRES; the GPUs in slurm_extra)
        job = SimpleNamespace(resources=Resources(entry))
        validate_slurm_extra(job)
        assert set_gres_string(job) == " --gres=lscratch:100"
        assert entry["slurm_extra"].split() == ["--gpus-per-node=v100x:1"]


class Resources(dict):
    """A job's resources as the plugin reads them: `.name` and `.get(name)`."""

    __getattr__ = dict.get


@pytest.mark.parametrize("name", ["slurm", "biowulf"])
def test_controller_scripts_are_valid_batch_scripts(name):
    script = PROFILES / name / "controller.sh"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "#SBATCH --signal=B:USR1@" in text  # the early warning that stops Snakemake
    limit = re.search(r"#SBATCH --time=(?:(\d+)-)?(\d+):", text)
    days = int(limit.group(1) or 0) + int(limit.group(2)) / 24
    assert days <= 10


@pytest.mark.parametrize("name", ["slurm", "biowulf"])
def test_group_jobs_ask_for_one_job_at_a_time(name):
    """The plugin runs a group job's jobs one at a time (it starts the group with --jobs 1), so
    each job takes the one `group_slots` slot a group submission has (scope local): Snakemake
    then stacks them, and the group asks for one job's CPUs and the sum of the runtimes
    (measured on the test cluster: tests/integration/test_slurm.py)."""
    profile = yaml.safe_load((PROFILES / name / "config.yaml").read_text())
    assert profile["resources"] == {"group_slots": 1}
    assert profile["set-resource-scopes"] == {"group_slots": "local"}
    assert profile["default-resources"]["group_slots"] == 1
    assert not any("group_slots" in entry for entry in profile["set-resources"].values())


def _controller(script: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """A controller run outside Slurm with `--version` for Snakemake: it prints which profile it
    chose, and Snakemake its version."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SEQ2CHROM_"))}
    environ["PATH"] = f"{BIN}{os.pathsep}{environ['PATH']}"
    return subprocess.run(
        ["bash", str(script), "--version"],
        cwd=cwd,
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_controller_uses_the_installed_profile_and_says_so(tmp_path):
    xdg = tmp_path / "xdg"
    installed = install_profile("biowulf", PROFILES, xdg / "snakemake")
    run = _controller(PROFILES / "biowulf/controller.sh", tmp_path, XDG_CONFIG_HOME=str(xdg))
    assert run.returncode == 0, run.stderr
    assert f"controller: profile {installed} (installed by seq2chrom install-profile" in run.stdout
    # SEQ2CHROM_PROFILE wins, and must name a profile folder
    run = _controller(
        PROFILES / "slurm/controller.sh", tmp_path, SEQ2CHROM_PROFILE=str(tmp_path / "none")
    )
    assert run.returncode == 2
    assert f"no config.yaml in the profile folder {tmp_path / 'none'}" in run.stderr


def test_a_copied_controller_says_to_submit_the_repositorys(tmp_path):
    for name in ("slurm", "biowulf"):
        (tmp_path / name).mkdir()
        copy = tmp_path / name / "controller.sh"
        copy.write_text((PROFILES / name / "controller.sh").read_text())
        run = _controller(copy, tmp_path)
        assert run.returncode == 2, run.stdout
        assert run.stderr.strip().endswith(
            f"submit the repository's: sbatch /path/to/seq2chrom/profiles/{name}/controller.sh"
        )
