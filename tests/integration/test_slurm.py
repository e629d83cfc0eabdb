"""The workflow on a real single-node Slurm cluster (tests/slurm_cluster.sh) through profiles/.

One small demo configuration (4 tracks, DanQ small, 3 epochs) runs twice: locally with
profiles/local, and through profiles/slurm on the cluster while a saboteur thread cancels the
first `predict` job with `scancel` and requeues the training job with `scontrol requeue` after
its first checkpoint. The tests then read the evidence: Slurm's own job records (squeue and
scontrol keep finished jobs for MinJobAge = 1 h), the plugin's logs, Snakemake's log and the
results of both runs.

Without slurmdbd `sacct` has no data, so the plugin polls with `--slurm-status-command squeue`,
the requeue-aware one that tests/slurm_cluster.sh writes to $STATE/bin (first on PATH here).

Also here: the controller job (profiles/slurm/controller.sh) submitted with sbatch, stopped as at
its time limit and resubmitting itself, and a 60-track data build counting its submissions
(label jobs travel in groups of 50).
"""

from __future__ import annotations

import json
import os
import re
import shlex
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
    # The node has 2 CPUs; rules asking for 8 threads (train; the profile's `cores`) would
    # never schedule. Group jobs ask for one job's CPUs (the profiles' group_slots).
    "--max-threads",
    "2",
    "--cores",
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


PROFILE_GROUPS = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())["groups"]


def _jobs_from(workdir: Path, env: dict, before: set[str]) -> list[dict]:
    """Jobs submitted since `before` whose working directory is `workdir` (other sessions may
    share the test cluster)."""
    return [
        job
        for job in _squeue(env)
        if job["id"] not in before
        and Path(_job_record(job["id"], env).get("WorkDir", "")).resolve() == workdir.resolve()
    ]


def _rules_of(comment: str) -> set[str]:
    """Plugin job comment `rule_<rule>`, `rule_<rule>_wildcards_<values>` or, for a group job,
    `rule_<group>_<rule>_<rule>...` -> the rule names."""
    name = re.sub(r"_wildcards_.*$", "", comment.strip()).removeprefix("rule_")
    for group in set(PROFILE_GROUPS.values()):
        if name.startswith(f"{group}_"):
            members = name.removeprefix(f"{group}_")
            return {r for r, g in PROFILE_GROUPS.items() if g == group and r in members}
    return {name}


def _rule_of(comment: str) -> str:
    """The one rule of a job's comment (a group job: its rules joined by '+')."""
    return "+".join(sorted(_rules_of(comment)))


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
        PATH=os.pathsep.join([str(STATE / "bin"), str(BIN), os.environ["PATH"]]),
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
    for step in ("variants", "prediction_tracks", "mutagenesis", "attributions"):  # other tracks
        config.pop(step, None)
    # the GRES "GPUs" are /dev/null links no framework sees: without cpu, training stops
    config["train"].update(epochs=3, patience=5, device="cpu")
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
        and the node has finished cleaning up its previous run, let it start at once. (Started
        while the node still completes that run, slurmd refuses it, "Job credential revoked",
        and Slurm ends the job FAILED: the 2 minutes exist for that.)"""
        for _ in range(300):
            time.sleep(0.2)
            state = {job["id"]: job["state"] for job in _squeue(self.env)}.get(job_id)
            if state == "PENDING" and not self._node_completing():
                time.sleep(1)  # the node's own cleanup of the job's credential
                self._slurm("scontrol", "update", f"jobid={job_id}", "StartTime=now")
                return
        self.errors.append(f"requeued job {job_id} never became pending on an idle node")

    def _node_completing(self) -> bool:
        """Whether any node is still completing a job (its state has a COMPLETING flag)."""
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env,
                                capture_output=True, text=True)  # fmt: skip
        return result.returncode != 0 or "completing" in result.stdout.lower()

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
    jobs = _jobs_from(cluster, slurm_env, before)
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


def _without_printed_logs(log: str) -> str:
    """Snakemake's own lines: a failed job's log files, which show-failed-logs prints between
    ==== rules (a Slurm job's log holds the job's inner `localrule` lines), left out."""
    return re.sub(r"^Logfile [^\n]*:\n={80}\n.*?^={80}$", "", log, flags=re.M | re.S)


def test_every_non_local_rule_was_submitted_with_sbatch(runs):
    log = _without_printed_logs(runs["log"])
    assert not re.search(r"^\s*localrule (\w+):", log, flags=re.M), "a job ran on the head node"
    submitted = set().union(*(_rules_of(job["comment"]) for job in runs["jobs"]))
    assert _rules_run(log) <= submitted, f"ran {_rules_run(log)}, Slurm saw {submitted}"
    assert {"demo", "tile", "label", "encode", "train", "predict", "evaluate"} <= submitted
    # The 4 label jobs went as one group job; the small tables as another. A group job runs its
    # jobs one at a time, and asks for that: one job's CPU, 4 x 2 minutes (profiles/slurm).
    labels = [job for job in runs["jobs"] if _rule_of(job["comment"]) == "label"]
    assert len(labels) == 1, labels
    assert runs["records"][labels[0]["id"]]["NumCPUs"] == "1"
    assert runs["records"][labels[0]["id"]]["TimeLimit"] == "00:08:00"
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
    # Followed, not resubmitted: one Slurm job for the model, which ran twice (Restarts=1)
    trains = [job for job in runs["jobs"] if _rule_of(job["comment"]) == "train"]
    assert [job["id"] for job in trains] == [requeued], trains
    assert record["Requeue"] == "1", record
    assert record["Restarts"] == "1" and record["JobState"] == "COMPLETED", record
    train_log = (runs["cluster"] / f"logs/train/{MODEL}.log").read_text()
    assert "resuming from checkpoint after epoch" in train_log, train_log[-3000:]
    history = pd.read_csv(runs["cluster"] / f"results/models/{MODEL}/history.tsv", sep="\t")
    assert history["epoch"].tolist() == [1, 2, 3]
    # Every job may be requeued (profiles/slurm: slurm-requeue, the plugin's own option).
    for job in runs["jobs"]:
        assert runs["records"][job["id"]]["Requeue"] == "1", job


TINY_SNAKEFILE = """
rule all:
    input: "model.txt", expand("times/{i}.txt", i=range(3))

rule prep:
    output: "data.txt"
    shell: "echo $TMPDIR > {output}"

# named as the workflow's rule, so the profile groups it (labels on quick): start and end times
rule label:
    output: "times/{i}.txt"
    shell: "date +%s.%N > {output}; sleep 1; date +%s.%N >> {output}"

rule train:
    input: "data.txt"
    output: "model.txt"
    threads: 1
    resources: gpu=1
    shell: "echo $CUDA_VISIBLE_DEVICES > {output}"
"""


def test_biowulf_profile_asks_for_typed_gpus_and_lscratch_for_training_only(slurm_env, tmp_path):
    """profiles/biowulf, edited as profiles/README.md says for 2 GPUs, on the test cluster
    (which has Biowulf's partition names, v100x GPUs and lscratch). Also: how many jobs of a
    group job run at once, and Biowulf's own way to write the training request."""
    profile = yaml.safe_load((REPO / "profiles/biowulf/config.yaml").read_text())
    profile["set-resources"]["train"]["slurm_extra"] = "'--gpus-per-node=v100x:2'"
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
    jobs = {_rule_of(job["comment"]): job for job in _jobs_from(tmp_path, slurm_env, before)}
    assert set(jobs) == {"prep", "train", "label"}
    prep, train, group = (_job_record(jobs[r]["id"], slurm_env) for r in ("prep", "train", "label"))
    # only training reads local scratch, so only it asks; minutes and MB of attempt 1
    assert prep["Partition"] == "norm" and "TresPerNode" not in prep, prep
    assert prep["TimeLimit"] == "02:00:00" and prep["MinMemoryNode"] == "8000M", prep
    assert prep["Requeue"] == train["Requeue"] == "1"  # slurm-requeue
    assert train["Partition"] == "gpu", train
    # --gpus-per-node is recorded as --gres=gpu:v100x:2 would be, beside the lscratch GRES
    assert set(train["TresPerNode"].split(",")) == {"gres:gpu:v100x:2", "gres:lscratch:100"}
    assert "TresPerJob" not in train  # no second, untyped --gpus request
    # Both GPUs of the allocation are visible to the job (MirroredStrategy would use both).
    assert (tmp_path / "model.txt").read_text().strip() == "0,1"
    # Biowulf's documented form of the same request asks Slurm for the same (held, never run)
    held = subprocess.run(
        ["sbatch", "--parsable", "--hold", "--partition=gpu", "--gres=gpu:v100x:2,lscratch:100",
         "--wrap=true"], env=slurm_env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    biowulf_form = _job_record(held, slurm_env)
    subprocess.run(["scancel", held], env=slurm_env, check=True)
    assert set(biowulf_form["TresPerNode"].split(",")) == set(train["TresPerNode"].split(","))
    # The 3 label jobs ran one at a time in their group job, which asked for that: one CPU and
    # 3 x 2 minutes on quick.
    spans = sorted(
        tuple(map(float, path.read_text().split())) for path in (tmp_path / "times").iterdir()
    )
    assert len(spans) == 3 and all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), (
        spans
    )
    assert (group["Partition"], group["NumCPUs"], group["TimeLimit"]) == ("quick", "1", "00:06:00")


def _wait_for(predicate, seconds: float, step: float = 1.0):
    """Poll `predicate()` until it returns something true (returned) or `seconds` pass (None)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def test_controller_job_stops_at_its_limit_resubmits_itself_and_finishes(slurm_env, tmp_path):
    """profiles/slurm/controller.sh submitted with sbatch from a project folder runs the demo
    through profiles/slurm. A second controller started in the same folder meanwhile meets
    Snakemake's lock and stops. The first one's time-limit signal (sent early here with
    `scancel --signal`) makes it stop Snakemake, which cancels the running training job, and
    submit itself again; the second round resumes training from its checkpoint and finishes."""
    workdir = _small_workdir(tmp_path / "project")
    target = f"results/eval/{MODEL}/metrics.tsv"
    before = {job["id"] for job in _squeue(slurm_env)}
    env = dict(slurm_env, XDG_CONFIG_HOME=str(tmp_path / "xdg"))  # no installed profile
    controller = [str(REPO / "profiles/slurm/controller.sh"), *SLURM_TEST_ARGS]
    controller += ["--max-threads", "1", "--cores", "1", target]
    submit = subprocess.run(
        # The controller takes 1 of the node's 2 CPUs (the next round asks for the same), so
        # its jobs get 1 thread each. (Slurm 22.05 refuses --mem-per-cpu beside the script's
        # --mem; where a newer Slurm takes it, the next round keeps --mem-per-cpu.)
        ["sbatch", "--parsable", "--cpus-per-task=1", "--mem=1G", *controller],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    first = submit.stdout.strip().split(";")[0]
    checkpoint = workdir / "results" / "models" / MODEL / "checkpoint" / "latest"

    # Once the first one's Snakemake holds its lock: a second controller in the same folder
    # (run outside Slurm, the node's CPUs being taken) stops with Snakemake's lock message.
    assert _wait_for(lambda: list(workdir.glob(".snakemake/locks/*.lock")), 300, step=0.5)
    again = subprocess.run(
        ["bash", *controller], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-3000:]
    assert "round 1 of at most 10" in again.stdout
    assert "Error: Directory cannot be locked" in again.stdout + again.stderr
    assert "controller: snakemake finished with status 1" in again.stdout

    def training_with_checkpoint():
        jobs = _jobs_from(workdir, slurm_env, before)
        if {job["id"]: job["state"] for job in jobs}.get(first) not in ("PENDING", "RUNNING"):
            return "controller ended"
        running = [
            job for job in jobs if _rule_of(job["comment"]) == "train" and job["state"] == "RUNNING"
        ]
        return running[0]["id"] if running and checkpoint.exists() else None

    train = _wait_for(training_with_checkpoint, 900)
    log = workdir / f"seq2chrom-controller-{first}.log"
    assert train and train != "controller ended", log.read_text()[-5000:]
    signal = ["scancel", "--signal=USR1", "--batch", first]
    subprocess.run(signal, env=slurm_env, check=True)

    def finished():
        jobs = _jobs_from(workdir, slurm_env, before)
        controllers = [job for job in jobs if job["comment"] in ("", "(null)")]
        controllers = [job for job in controllers if job["id"] != first] or [None]
        second = controllers[-1]
        return second if second and second["state"] in ("COMPLETED", "FAILED") else None

    second = _wait_for(finished, 1200, step=2)
    logs = {path.name: path.read_text() for path in workdir.glob("seq2chrom-controller-*.log")}
    assert second and second["state"] == "COMPLETED", logs
    assert "resubmitted as job" in logs[f"seq2chrom-controller-{first}.log"]
    assert "round 2 of at most 10" in logs[f"seq2chrom-controller-{second['id']}.log"]
    assert (
        f"profile {REPO / 'profiles/slurm'} (the repository's"
        in logs[f"seq2chrom-controller-{first}.log"]
    )
    resubmitted = _job_record(second["id"], slurm_env)
    assert (resubmitted["NumCPUs"], resubmitted["MinMemoryNode"]) == ("1", "1G")  # as round 1
    assert _job_record(first, slurm_env)["JobState"] == "COMPLETED"
    assert _job_record(train, slurm_env)["JobState"] == "CANCELLED"  # Snakemake cancelled it
    assert (workdir / target).exists()
    train_log = (workdir / f"logs/train/{MODEL}.log").read_text()
    assert "resuming from checkpoint after epoch" in train_log, train_log[-3000:]
    history = pd.read_csv(workdir / f"results/models/{MODEL}/history.tsv", sep="\t")
    assert history["epoch"].tolist() == [1, 2, 3]


def test_controller_uses_the_installed_profile_and_stops_on_a_job_that_can_never_start(
    slurm_env, tmp_path
):
    """`seq2chrom install-profile slurm`, then an override in the installed copy: the demo's
    first job on partition quick with one CPU more than the node has. The controller runs the
    installed copy (the job reaches sbatch so: its partition and CPUs), charges the jobs to its
    own account (sbatch -A), and stops the run with one line when Slurm leaves the job pending
    with reason PartitionConfig; Snakemake cancels it, and no next round is submitted."""
    workdir = _small_workdir(tmp_path / "project")
    env = dict(slurm_env, XDG_CONFIG_HOME=str(tmp_path / "xdg"), SEQ2CHROM_CONTROLLER_POLL="1")
    subprocess.run([str(BIN / "seq2chrom"), "install-profile", "slurm"], env=env, check=True)
    installed = tmp_path / "xdg/snakemake/slurm"
    profile = yaml.safe_load((installed / "config.yaml").read_text())
    nodes = subprocess.check_output(["sinfo", "-h", "-N", "-p", "quick", "-o", "%c %m"], env=env)
    columns = zip(*map(str.split, nodes.decode().splitlines()), strict=True)
    node_cpus, node_mb = (max(map(int, values)) for values in columns)
    profile["set-resources"]["demo"] = {"slurm_partition": "quick", "cpus_per_task": node_cpus + 1}
    (installed / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    before = {job["id"] for job in _squeue(slurm_env)}
    submit = subprocess.run(
        ["sbatch", "--parsable", "--cpus-per-task=1", "--mem=1G", "--account=lab42"]
        + [str(REPO / "profiles/slurm/controller.sh"), *SLURM_TEST_ARGS, "results/data/train.h5"],
        cwd=workdir, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    controller = submit.stdout.strip().split(";")[0]
    ended = _wait_for(
        lambda: _job_record(controller, slurm_env).get("JobState") in ("COMPLETED", "FAILED"), 300
    )
    log = (workdir / f"seq2chrom-controller-{controller}.log").read_text()
    assert ended, log[-3000:]
    assert f"controller: profile {installed} (installed by seq2chrom install-profile" in log
    jobs = [job for job in _jobs_from(workdir, slurm_env, before) if job["id"] != controller]
    assert [_rule_of(job["comment"]) for job in jobs] == ["demo"], jobs
    demo = _job_record(jobs[0]["id"], slurm_env)
    assert (demo["Partition"], demo["NumCPUs"]) == ("quick", str(node_cpus + 1)), demo
    assert demo["Account"] == "lab42" and demo["JobState"] == "CANCELLED", demo
    errors = [line for line in log.splitlines() if line.startswith("controller: error:")]
    assert errors == [
        f"controller: error: job {jobs[0]['id']} of rule demo can never start on partition "
        f"quick: it asks for {node_cpus + 1} CPUs, 4000M memory and 1:00:00; the partition's "
        f"largest node has {node_cpus} CPUs and {node_mb} MB, "
        "its time limit is infinite (Slurm: PartitionConfig); lower the rule's "
        f"threads/cpus_per_task, mem_mb or runtime in {installed}/config.yaml"
    ], log[-3000:]
    assert _job_record(controller, slurm_env)["JobState"] == "FAILED"
    assert "resubmitted" not in log and "stopped without a next round" in log


def test_a_60_track_data_build_needs_ten_submissions(slurm_env, tmp_path):
    """60 tracks (the demo's 21 peak files under 60 names): the label jobs go as 2 group jobs
    of at most 50 (profiles/slurm `group-components`), so the whole data build is 10 sbatch
    calls instead of 68; at hg19 scale 919 labels are 19."""
    workdir = _small_workdir(tmp_path / "tracks60")
    sheet = pd.read_csv(REPO / "config" / "tracks.tsv", sep="\t", dtype=str)
    rows = [sheet.iloc[i % len(sheet)].copy() for i in range(60)]
    for i, row in enumerate(rows):
        row["name"] = f"{row['name']}_{i:02d}"
    pd.DataFrame(rows).to_csv(workdir / "config" / "tracks.tsv", sep="\t", index=False)
    before = {job["id"] for job in _squeue(slurm_env)}
    targets = [f"results/data/{split}.h5" for split in ("train", "valid", "test")]
    run = subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile")]
        + ["--profile", str(REPO / "profiles" / "slurm"), *SLURM_TEST_ARGS]
        + [*targets, "results/data/summary.html"],
        cwd=workdir,
        env=slurm_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-5000:]
    submitted = [_rule_of(job["comment"]) for job in _jobs_from(workdir, slurm_env, before)]
    assert sorted(submitted) == sorted(
        ["demo", "genome", "tile", "label", "label", "assemble"] + ["encode"] * 3 + ["data_summary"]
    ), submitted
    # one job's CPU and memory, 2 minutes per label (one at a time): 50 and 10 labels
    groups = [
        _job_record(job["id"], slurm_env)
        for job in _jobs_from(workdir, slurm_env, before)
        if _rule_of(job["comment"]) == "label"
    ]
    assert sorted(record["TimeLimit"] for record in groups) == ["00:20:00", "01:40:00"]
    assert {(record["NumCPUs"], record["MinMemoryNode"]) for record in groups} == {("1", "1000M")}
    assert len(list((workdir / "results" / "labels").glob("*.npy"))) == 60


def test_a_gpu_job_whose_framework_sees_no_gpu_stops_in_seconds(slurm_env, tmp_path):
    """The cluster's GRES gives the job a "GPU" (a /dev/null link) that no framework can use:
    `train.device: auto` stops at once with one line instead of training on the CPU."""
    from tests.unit.training_data import planted_split

    splits = [planted_split(tmp_path / f"{s}.h5", 100, seed=i) for i, s in enumerate("tv")]
    tiny = {"preset": "small", "conv_filters": [8, 8, 8], "conv_width": 4, "hidden_units": 8}
    command = [
        str(BIN / "seq2chrom"), "train", "--model", "deepsea",
        "--train", str(splits[0]), "--valid", str(splits[1]),
        "--model-settings", json.dumps(tiny), "--train-settings", '{"epochs": 1}',
        "--out-dir", str(tmp_path / "model"),
    ]  # fmt: skip
    script = tmp_path / "train.sh"
    script.write_text("#!/bin/bash\nenv | grep -E '^(CUDA_VISIBLE|SLURM_JOB_GPUS|SLURM_GPUS)'\n"
                      f"exec {shlex.join(command)}\n")  # fmt: skip
    started = time.perf_counter()
    job = subprocess.run(
        ["sbatch", "--wait", "--partition=gpu", "--gres=gpu:1", f"--output={tmp_path}/job.log",
         str(script)],
        env=slurm_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    log = (tmp_path / "job.log").read_text()
    assert job.returncode != 0, log[-3000:]
    errors = [line for line in log.splitlines() if line.startswith("seq2chrom train: error:")]
    assert len(errors) == 1, log[-3000:]
    assert "the scheduler gave this job GPUs (" in errors[0] and "sees none" in errors[0]
    assert "train.device: cpu" in errors[0]
    assert time.perf_counter() - started < 120
    assert not (tmp_path / "model" / "checkpoint").exists()


REQUEUE_SNAKEFILE = """
rule all:
    input: "done.txt"

rule work:
    output: "done.txt"
    shell: "if [ -e started ]; then touch {output}; else touch started; sleep 120; fi"
"""


# Ten rounds were run when the requeue-aware status check was written (10 of 10 passed);
# CI runs three to keep the suite's time down. SEQ2CHROM_REQUEUE_ROUNDS=10 repeats the evidence.
REQUEUE_ROUNDS = int(os.environ.get("SEQ2CHROM_REQUEUE_ROUNDS", "3"))


@pytest.mark.parametrize("repeat", range(REQUEUE_ROUNDS))
def test_a_requeued_job_is_not_reported_failed(slurm_env, tmp_path, repeat):
    """Slurm requeues a running job (as for preemption or node failure); Snakemake keeps
    waiting on the same job id and never reports it failed: with no retries allowed, one false
    failed state from the status command would fail the run. Polls every second."""
    (tmp_path / "Snakefile").write_text(REQUEUE_SNAKEFILE)
    before = {job["id"] for job in _squeue(slurm_env)}
    command = [str(BIN / "snakemake"), "--executor", "slurm", "--jobs", "1", "--retries", "0"]
    command += ["--slurm-requeue"]  # as the profiles: sbatch --requeue, and the plugin follows
    command += [*SLURM_TEST_ARGS, "--slurm-init-seconds-before-status-checks", "1"]
    command += ["--seconds-between-status-checks", "1", "--max-status-checks-per-second", "10"]
    run = subprocess.Popen(command, cwd=tmp_path, env=slurm_env, stderr=subprocess.PIPE, text=True)

    def running_after_start():
        jobs = _jobs_from(tmp_path, slurm_env, before)
        started = (tmp_path / "started").exists()
        return jobs[0]["id"] if started and jobs and jobs[0]["state"] == "RUNNING" else None

    job = _wait_for(running_after_start, 120, step=0.2)
    assert job, "the job never started"
    subprocess.run(["scontrol", "requeue", job], env=slurm_env, check=True)
    pending = _wait_for(
        lambda: {j["id"]: j["state"] for j in _squeue(slurm_env)}.get(job) == "PENDING", 60, 0.2
    )
    assert pending, "the requeued job never became pending"
    subprocess.run(["scontrol", "update", f"jobid={job}", "StartTime=now"], env=slurm_env)
    log = run.communicate(timeout=300)[1]
    assert run.returncode == 0, log[-5000:]
    assert [j["id"] for j in _jobs_from(tmp_path, slurm_env, before)] == [job]
    assert _job_record(job, slurm_env)["Restarts"] == "1"
