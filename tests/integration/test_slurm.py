"""The workflow on a real single-node Slurm cluster (tests/slurm_cluster.sh) through profiles/.

One small demo configuration (4 tracks, DanQ small, 3 epochs) runs twice: locally with
profiles/local, and through profiles/slurm on the cluster while a saboteur thread cancels the
first `predict` job with `scancel` and requeues the training job with `scontrol requeue` after
its first checkpoint. The tests then read the evidence: Slurm's own job records (squeue and
scontrol keep finished jobs for MinJobAge = 1 h), the plugin's logs, Snakemake's log and the
results of both runs.

Without slurmdbd `sacct` has no data, so the plugin polls with `--slurm-status-command squeue`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLUSTER = REPO / "tests" / "slurm_cluster.sh"
STATE = Path(os.environ.get("SEQ2CHROM_SLURM_DIR", "/tmp/seq2chrom-slurm"))

pytestmark = pytest.mark.slurm

MODEL = "danq"
TARGETS = [f"results/eval/{MODEL}/metrics.tsv", f"results/motifs/{MODEL}/filters.meme"]
GPU_RULES = {"train", "predict", "motif_pwms"}
# Fast polling for a test; real sites keep the plugin's defaults. The plugin checks first after
# the initial interval, then backs off by 10 s per check that finds nothing finished (reset when
# a job finishes); 6 s is about one small job here, so most jobs are seen at the first check.
SLURM_TEST_ARGS = [
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "6",
    "--seconds-between-status-checks",
    "2",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    # The node has 2 CPUs; rules asking for 8 threads would never schedule.
    "--max-threads",
    "2",
]


def _skip_reason() -> str | None:
    installed = all(shutil.which(tool) for tool in ("munged", "slurmctld", "slurmd", "sbatch"))
    if os.geteuid() != 0:
        return "not root: tests/slurm_cluster.sh runs munged, slurmctld and slurmd as root"
    if not installed and not shutil.which("apt-get"):
        return "slurm-wlm/munge are not installed and apt-get is not available to install them"
    if Path("/etc/slurm/slurm.conf").exists():
        return "/etc/slurm/slurm.conf exists: a real Slurm site, the test cluster would clash"
    return None


def _squeue(env: dict) -> list[dict]:
    """Every job slurmctld still knows (finished ones for MinJobAge), as dicts."""
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%i|%k|%T|%P"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        dict(zip(("id", "comment", "state", "partition"), line.split("|"), strict=True))
        for line in out.splitlines()
        if line.strip()
    ]


def _job_record(job_id: str, env: dict) -> dict[str, str]:
    """`scontrol show job -o ID` as a dict of its Key=Value fields."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], env=env, capture_output=True, text=True
    ).stdout
    return dict(re.findall(r"(\w[\w/:]*)=(\S*)", out))


def _rule_of(comment: str) -> str:
    """Plugin job comment `rule_<rule>` or `rule_<rule>_wildcards_<values>` -> rule name."""
    return re.sub(r"_wildcards_.*$", "", comment.strip()).removeprefix("rule_")


@pytest.fixture(scope="session")
def slurm_env() -> dict:
    """The test cluster up for the session (installed first when missing); the client env.

    Torn down afterwards unless it was already running before the session."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    already_up = subprocess.run([str(CLUSTER), "status"], capture_output=True).returncode == 0
    started = time.perf_counter()
    up = subprocess.run([str(CLUSTER), "up"], capture_output=True, text=True, timeout=900)
    assert up.returncode == 0, f"tests/slurm_cluster.sh up failed:\n{up.stdout}\n{up.stderr}"
    print(f"slurm cluster up in {time.perf_counter() - started:.1f} s")
    env = dict(
        os.environ,
        SLURM_CONF=str(STATE / "slurm.conf"),
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    yield env
    if not already_up:  # a cluster someone started by hand stays up
        subprocess.run([str(CLUSTER), "down"], capture_output=True, text=True, timeout=120)


def _small_workdir(path: Path) -> Path:
    """A workdir with the demo config cut down: 4 tracks, DanQ small, 3 epochs."""
    shutil.copytree(REPO / "config", path / "config")
    sheet = pd.read_csv(path / "config" / "tracks.tsv", sep="\t", dtype=str)
    sheet.head(4).to_csv(path / "config" / "tracks.tsv", sep="\t", index=False)
    config = yaml.safe_load((path / "config" / "config.yaml").read_text())
    config["models"] = {MODEL: {"preset": "small"}}
    config["finetune_comparison"] = {}  # its held-out tracks are not among the 4 kept
    config["train"].update(epochs=3, patience=5)
    config["motifs"].update(max_sequences=300, influence_sequences=20)
    (path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _snakemake(workdir: Path, env: dict, *args: str) -> list[str]:
    return [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
        *TARGETS,
    ]


class Saboteur(threading.Thread):
    """Cancels the first running `predict` job; requeues `train` once it has a checkpoint."""

    def __init__(self, workdir: Path, env: dict):
        super().__init__(daemon=True)
        self.workdir, self.env = workdir, env
        self.cancelled: str | None = None
        self.requeued: str | None = None
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        checkpoint = self.workdir / "results" / "models" / MODEL / "checkpoint" / "latest"
        while not self.done.is_set() and not (self.cancelled and self.requeued):
            try:
                jobs = _squeue(self.env)
            except subprocess.CalledProcessError as error:
                self.errors.append(str(error))
                jobs = []
            for job in jobs:
                rule = _rule_of(job["comment"])
                if job["state"] != "RUNNING":
                    continue
                if rule == "predict" and self.cancelled is None:
                    self._slurm("scancel", job["id"])
                    self.cancelled = job["id"]
                if rule == "train" and self.requeued is None and checkpoint.exists():
                    self._slurm("scontrol", "requeue", job["id"])
                    self.requeued = job["id"]
                    self._start_now(job["id"])
            time.sleep(0.3)

    def _start_now(self, job_id: str) -> None:
        """Slurm holds a requeued job back for 2 minutes (BeginTime); once it is pending again
        (not while it is still completing), let it start at once."""
        for _ in range(300):
            time.sleep(0.2)
            state = {job["id"]: job["state"] for job in _squeue(self.env)}.get(job_id)
            if state == "PENDING":
                self._slurm("scontrol", "update", f"jobid={job_id}", "StartTime=now")
                return
        self.errors.append(f"requeued job {job_id} never became pending")

    def _slurm(self, *command: str) -> bool:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            self.errors.append(f"{' '.join(command)}: {result.stderr.strip()}")
        return result.returncode == 0


@pytest.fixture(scope="session")
def runs(slurm_env: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The Slurm run (a predict job cancelled, train requeued) and, beside it, the local run.

    The local run goes on while the Slurm run waits on the scheduler; together they take
    about as long as the Slurm run alone. Both give training 2 threads (TensorFlow's results
    depend on the thread count).
    """
    local = _small_workdir(tmp_path_factory.mktemp("local"))
    cluster = _small_workdir(tmp_path_factory.mktemp("slurm"))
    before = {job["id"] for job in _squeue(slurm_env)}
    saboteur = Saboteur(cluster, slurm_env)
    saboteur.start()
    started = time.perf_counter()
    local_run = subprocess.Popen(
        _snakemake(local, slurm_env, "--profile", str(REPO / "profiles" / "local"), "--cores", "2"),
        env=slurm_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = subprocess.run(
        _snakemake(
            cluster, slurm_env, "--profile", str(REPO / "profiles" / "slurm"), *SLURM_TEST_ARGS
        ),
        env=slurm_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    slurm_seconds = time.perf_counter() - started
    saboteur.done.set()
    saboteur.join(timeout=10)
    local_log = local_run.communicate(timeout=900)[1]
    assert local_run.returncode == 0, local_log[-10000:]
    jobs = [job for job in _squeue(slurm_env) if job["id"] not in before]
    records = {job["id"]: _job_record(job["id"], slurm_env) for job in jobs}
    print(f"slurm run {slurm_seconds:.0f} s, local run alongside")
    for job in jobs:
        record = records[job["id"]]
        print(
            f"  job {job['id']:>4} {job['comment']:<40} {job['state']:<10} {job['partition']:<5}"
            f" run {record.get('RunTime', '?')} restarts {record.get('Restarts', '?')}"
        )
    return {
        "local": local,
        "cluster": cluster,
        "result": result,
        "log": result.stderr,
        "jobs": jobs,
        "records": records,
        "saboteur": saboteur,
    }


def _rules_run(log: str) -> set[str]:
    """Rules Snakemake executed, from its log (`rule x:` remote, `localrule x:` local)."""
    return set(re.findall(r"^\s*(?:local)?rule (\w+):", log, flags=re.M)) - {"all"}


def test_slurm_run_succeeds(runs):
    assert runs["result"].returncode == 0, runs["log"][-10000:]
    assert not runs["saboteur"].errors, runs["saboteur"].errors


def test_every_non_local_rule_was_submitted_with_sbatch(runs):
    log = runs["log"]
    assert not re.search(r"^\s*localrule (\w+):", log, flags=re.M), "a job ran on the head node"
    submitted = {_rule_of(job["comment"]) for job in runs["jobs"]}
    assert _rules_run(log) <= submitted, f"ran {_rules_run(log)}, Slurm saw {submitted}"
    assert {"demo", "tile", "label", "encode", "train", "predict", "evaluate"} <= submitted
    # Snakemake's own account of each submission, with the Slurm job id and the plugin's log.
    ids = set(re.findall(r"has been submitted with SLURM jobid (\d+)", log))
    assert ids == {job["id"] for job in runs["jobs"]}
    assert all(
        record.get("StdOut", "").startswith(str(runs["cluster"] / ".snakemake" / "slurm_logs"))
        for record in runs["records"].values()
    )


def test_gpu_rules_ran_on_the_gpu_partition_with_a_gpu(runs):
    for job in runs["jobs"]:
        record = runs["records"][job["id"]]
        gpus = record.get("TresPerJob", "") + record.get("TresPerNode", "")
        if _rule_of(job["comment"]) in GPU_RULES:
            assert job["partition"] == "gpu", job
            assert "gpu:1" in gpus, record
        else:
            assert job["partition"] == "main", job
            assert "gpu" not in gpus, record


def test_results_equal_a_local_run(runs):
    local, cluster = runs["local"], runs["cluster"]
    for split in ("train", "valid", "test"):
        with (
            h5py.File(local / f"results/data/{split}.h5") as a,
            h5py.File(cluster / f"results/data/{split}.h5") as b,
        ):
            for key in ("x", "y", "start"):
                np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=f"{split}.h5 {key}")
    # Training resumed after a requeue: as the trainer's resume test, equal to rtol 1e-4.
    a = pd.read_csv(local / f"results/eval/{MODEL}/metrics.tsv", sep="\t")
    b = pd.read_csv(cluster / f"results/eval/{MODEL}/metrics.tsv", sep="\t")
    assert a["track"].tolist() == b["track"].tolist()
    np.testing.assert_allclose(b[["auroc", "auprc"]], a[["auroc", "auprc"]], rtol=1e-3, atol=1e-4)
    with (
        h5py.File(local / f"results/predictions/{MODEL}/test.h5") as a,
        h5py.File(cluster / f"results/predictions/{MODEL}/test.h5") as b,
    ):
        np.testing.assert_allclose(b["y_pred"][:], a["y_pred"][:], rtol=1e-3, atol=1e-4)


def test_cancelled_job_is_reported_failed_and_retried(runs):
    cancelled = runs["saboteur"].cancelled
    assert cancelled, "the saboteur never saw a running predict job"
    assert runs["records"][cancelled]["JobState"] == "CANCELLED"
    log = runs["log"]
    assert re.search(rf"Error in rule predict:.*?external_jobid: {cancelled}", log, flags=re.S)
    retries = [
        job
        for job in runs["jobs"]
        if _rule_of(job["comment"]) == "predict" and job["id"] != cancelled
    ]
    assert [job["state"] for job in retries] == ["COMPLETED"], retries
    # The retry is attempt 2: the rule's attempt-scaled runtime doubled its time limit.
    assert runs["records"][cancelled]["TimeLimit"] == "04:00:00"
    assert runs["records"][retries[0]["id"]]["TimeLimit"] == "08:00:00"
    assert (runs["cluster"] / f"results/predictions/{MODEL}/test.h5").exists()


def test_requeued_training_resumes_from_its_checkpoint(runs):
    requeued = runs["saboteur"].requeued
    assert requeued, "the saboteur never saw a running train job with a checkpoint"
    record = runs["records"][requeued]
    # The one Slurm job ran twice (Restarts=1) and completed; Snakemake saw one job.
    assert record["Requeue"] == "1" and record["Restarts"] == "1", record
    assert record["JobState"] == "COMPLETED"
    trains = [job for job in runs["jobs"] if _rule_of(job["comment"]) == "train"]
    assert [job["id"] for job in trains] == [requeued]
    train_log = (runs["cluster"] / f"logs/train/{MODEL}.log").read_text()
    assert "resuming from checkpoint after epoch" in train_log, train_log[-3000:]
    history = pd.read_csv(runs["cluster"] / f"results/models/{MODEL}/history.tsv", sep="\t")
    assert history["epoch"].tolist() == [1, 2, 3]
    # Only training asks to be requeueable (profiles/slurm: slurm_extra --requeue).
    for job in runs["jobs"]:
        expected = "1" if _rule_of(job["comment"]) == "train" else "0"
        assert runs["records"][job["id"]]["Requeue"] == expected, job


TINY_SNAKEFILE = """
rule all:
    input: "model.txt"

rule prep:
    output: "data.txt"
    shell: "echo $TMPDIR > {output}"

rule train:
    input: "data.txt"
    output: "model.txt"
    threads: 1
    resources: gpu=1
    shell: "echo $CUDA_VISIBLE_DEVICES > {output}"
"""


def test_biowulf_profile_asks_for_typed_gpus_lscratch_and_n_gpus(slurm_env, tmp_path):
    """profiles/biowulf, edited as profiles/README.md says for 2 GPUs, on the test cluster
    (which has Biowulf's partition names, v100x GPUs and lscratch)."""
    profile = yaml.safe_load((REPO / "profiles/biowulf/config.yaml").read_text())
    profile["set-resources"]["train"]["gres"] = "'gpu:v100x:2'"
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile/config.yaml").write_text(yaml.safe_dump(profile))
    (tmp_path / "Snakefile").write_text(TINY_SNAKEFILE)
    before = {job["id"] for job in _squeue(slurm_env)}
    run = subprocess.run(
        [str(BIN / "snakemake"), "--profile", str(tmp_path / "profile"), *SLURM_TEST_ARGS]
        + ["--max-status-checks-per-second", "10"],
        cwd=tmp_path,
        env=slurm_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    jobs = {_rule_of(job["comment"]): job for job in _squeue(slurm_env) if job["id"] not in before}
    assert set(jobs) == {"prep", "train"}
    prep, train = (_job_record(jobs[rule]["id"], slurm_env) for rule in ("prep", "train"))
    assert prep["Partition"] == "norm" and prep["TresPerNode"] == "gres:lscratch:10"
    assert prep["Requeue"] == "0"
    assert train["Partition"] == "gpu" and train["TresPerNode"] == "gres:gpu:v100x:2"
    assert "TresPerJob" not in train  # no second, untyped --gpus request
    assert train["Requeue"] == "1"
    # Both GPUs of the allocation are visible to the job (MirroredStrategy would use both).
    assert (tmp_path / "model.txt").read_text().strip() == "0,1"
