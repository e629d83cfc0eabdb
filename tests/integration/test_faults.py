"""Faults: a data-build, training or evaluation step killed (SIGTERM or SIGKILL) at a random
point reruns to the result of an uninterrupted run; a full disk while writing a split file or a
checkpoint stops in one line and leaves nothing a later step takes for complete; two runs on one
directory do not both go ahead."""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from seq2chrom.splitfile import create_predictions_file, open_split
from seq2chrom.training.checkpoint import Checkpoint

from tests.conftest import BIN, REPO, make_workdir
from tests.integration.test_data_build import TARGETS, write_inputs
from tests.unit.training_data import planted_split

ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", TF_CPP_MIN_LOG_LEVEL="2")


def seq2chrom(folder: Path, *args: str) -> None:
    result = subprocess.run(
        [str(BIN / "seq2chrom"), *args], cwd=folder, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def labelled_genome(folder: Path) -> None:
    """genome.fa (3 x 400 kb) and labels.h5 with one track, built by the steps' commands."""
    rng = np.random.default_rng(5)
    lines = []
    for chrom in ("chr1", "chr2", "chr3"):
        codes = rng.integers(0, 4, 400_000)
        lines += [f">{chrom}\n", np.frombuffer(b"ACGT", np.uint8)[codes].tobytes().decode() + "\n"]
    (folder / "in.fa.gz").write_bytes(gzip.compress("".join(lines).encode(), mtime=0))
    starts = np.sort(rng.integers(0, 399_000, 300))
    peaks = "".join(f"chr{1 + i % 3}\t{s}\t{s + 500}\n" for i, s in enumerate(starts))
    (folder / "a.bed").write_text(peaks)
    (folder / "tracks.tsv").write_text("name\tassay\tcell_type\tpath\nA\tTF\tK562\ta.bed\n")
    seq2chrom(folder, "genome", "--input", "in.fa.gz", "--out", "genome.fa")
    seq2chrom(folder, "tile", "--genome", "genome.fa", "--size", "200", "--window", "1000",
              "--chromosomes", ".*", "--out", "bins.h5")  # fmt: skip
    seq2chrom(folder, "label", "--bins", "bins.h5", "--peaks", "a.bed", "--min-overlap", "0.5",
              "--out", "A.npy")  # fmt: skip
    seq2chrom(folder, "assemble", "--bins", "bins.h5", "--tracks", "tracks.tsv", "--labels",
              "A.npy", "--select", "all", "--test", "chr3", "--valid", "chr2", "--out",
              "labels.h5")  # fmt: skip


ENCODE = ["encode", "--genome", "genome.fa", "--labels", "labels.h5", "--split", "train",
          "--shuffle-seed", "1", "--out", "out/train.h5"]  # fmt: skip


# Python runs no cleanup on either signal (no handler is installed for SIGTERM), so both leave
# the files as a crash would; Slurm sends SIGTERM, then SIGKILL (scancel, time limit, preemption).
SIGNALS = pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"]
)


@SIGNALS
def test_encode_killed_while_writing_reruns_to_the_same_bytes(sig, tmp_path):
    labelled_genome(tmp_path)
    seq2chrom(tmp_path, *ENCODE)
    expected = (tmp_path / "out" / "train.h5").read_bytes()
    (tmp_path / "out" / "train.h5").unlink()

    process = subprocess.Popen(
        [str(BIN / "seq2chrom"), *ENCODE], cwd=tmp_path, env=ENV, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list((tmp_path / "out").glob(".train.h5.tmp*")):  # writing has begun
        assert process.poll() is None and time.monotonic() < deadline, "no temporary file"
        time.sleep(0.005)
    process.send_signal(sig)
    assert process.wait() == -sig
    assert not (tmp_path / "out" / "train.h5").exists()  # nothing a later step takes as done

    seq2chrom(tmp_path, *ENCODE)
    assert (tmp_path / "out" / "train.h5").read_bytes() == expected
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["train.h5"]  # no leftovers


def test_second_run_on_the_same_directory_stops_with_the_lock_message(tmp_path):
    workdir = make_workdir(tmp_path)
    write_inputs(workdir)
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--cores", "1", *TARGETS]  # fmt: skip
    first = subprocess.Popen(
        command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    locks = workdir / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while not (locks.is_dir() and any(locks.iterdir())):
        assert first.poll() is None and time.monotonic() < deadline, "the first run took no lock"
        time.sleep(0.05)
    # The first run (and its jobs) is paused while it holds the lock: a run that finished before
    # the second one built its DAG would leave it "Nothing to be done", which takes no lock.
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        # A plain second run may stop earlier, on the first run's in-progress outputs
        # ("Incomplete files ... --rerun-incomplete"); the flag that message suggests must still
        # meet the lock.
        second = subprocess.run(
            [*command, "--rerun-incomplete"], env=ENV, capture_output=True, text=True
        )
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    output, _ = first.communicate(timeout=600)
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout + second.stderr
    assert first.returncode == 0, output[-3000:]
    assert all((workdir / target).is_file() for target in TARGETS)  # the first run's results


# ---------------------------------------------------------------------------------------------
# Training and evaluation killed at random points; a full disk

# One thread, as a one-core job (Snakemake sets OMP_NUM_THREADS to the job's threads).
JOB_ENV = dict(ENV, OMP_NUM_THREADS="1")


def interrupt(command: list[str], cwd: Path, sig: int, ready: Callable[[], bool], delay: float):
    """Start `command`, wait until `ready()`, `delay` seconds more, then send `sig`."""
    process = subprocess.Popen(
        command, cwd=cwd, env=JOB_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None and time.monotonic() < deadline, "never got ready"
        time.sleep(0.002)
    time.sleep(delay)
    assert process.poll() is None, "finished before the signal: nothing was interrupted"
    process.send_signal(sig)
    assert process.wait() == -sig


def run_command(command: list[str], cwd: Path) -> str:
    """Run `command` to success; its stderr."""
    result = subprocess.run(command, cwd=cwd, env=JOB_ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def ignore_sigxfsz() -> None:
    """In the child: a write past RLIMIT_FSIZE fails with EFBIG, as on a full disk, instead of
    killing the process (Python ignores SIGXFSZ itself; said here for any other program)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


TINY_DANQ = {"preset": "small", "conv_filters": 16, "conv_width": 8, "pool_size": 4,
             "lstm_units": 8, "hidden_units": 16}  # fmt: skip
FINAL_FILES = ["config.yaml", "history.tsv", "model.keras", "training_curve.png"]
MEASURED = ["seconds", "samples_per_s", "devices"]  # history.tsv columns measured, not computed
# On CPU a resumed run repeats the uninterrupted one bit for bit here (the checkpoint holds
# every model and optimizer variable and the dropout seed state; batches are drawn from (seed,
# epoch)); losses and weights are compared within float32 round-off on CPU all the same, for
# kernels (oneDNN) that may sum in another order in another process or on another CPU.
RTOL, ATOL = 1e-5, 1e-7


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> tuple[Path, Path]:
    """train.h5 (600 samples) and valid.h5 (200): 100 bp windows, 3 tracks of planted motifs."""
    folder = tmp_path_factory.mktemp("splits")
    return (
        planted_split(folder / "train.h5", 600, seed=0),
        planted_split(folder / "valid.h5", 200, seed=1),
    )


def train_command(splits: tuple[Path, Path], out_dir: Path) -> list[str]:
    """`seq2chrom train` as the train rule runs it: a tiny DanQ, 3 epochs."""
    train_settings = {"epochs": 3, "batch_size": 50, "learning_rate": 0.01}
    return [str(BIN / "seq2chrom"), "train", "--model", "danq", "--train", str(splits[0]),
            "--valid", str(splits[1]), "--model-settings", json.dumps(TINY_DANQ),
            "--train-settings", json.dumps(train_settings), "--seed", "1",
            "--out-dir", str(out_dir)]  # fmt: skip


@pytest.fixture(scope="module")
def trained(splits, tmp_path_factory) -> Path:
    """The model folder of an uninterrupted run, which every interrupted run must end like."""
    out_dir = tmp_path_factory.mktemp("uninterrupted") / "danq"
    run_command(train_command(splits, out_dir), out_dir.parent)
    return out_dir


def model_weights(path: Path) -> dict[str, np.ndarray]:
    """Every weight array of a .keras file by its HDF5 path (read without Keras)."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    weights = {}

    def keep(name: str, item) -> None:
        if isinstance(item, h5py.Dataset):
            weights[name] = item[()]

    with h5py.File(io.BytesIO(data), "r") as h5:
        h5.visititems(keep)
    return weights


def assert_same_training(got: Path, expected: Path) -> None:
    """Losses and weights equal within RTOL/ATOL; every other output byte-identical apart from
    the measured columns of history.tsv and the devices record of config.yaml."""
    assert sorted(path.name for path in got.iterdir()) == sorted([*FINAL_FILES, "checkpoint"])
    history, reference = (pd.read_csv(d / "history.tsv", sep="\t") for d in (got, expected))
    assert history.columns.tolist() == reference.columns.tolist()
    assert history["epoch"].tolist() == reference["epoch"].tolist() == [1, 2, 3]
    computed = [column for column in reference.columns if column not in MEASURED]
    assert computed == ["epoch", "loss", "val_loss", "val_auroc", "val_spread"]
    np.testing.assert_allclose(history[computed], reference[computed], rtol=RTOL, atol=ATOL)
    weights, reference_weights = (
        model_weights(got / "model.keras"),
        model_weights(expected / "model.keras"),
    )
    assert weights.keys() == reference_weights.keys() and len(weights) > 5
    for name, value in weights.items():
        np.testing.assert_allclose(value, reference_weights[name], rtol=RTOL, atol=ATOL)
    # config.yaml ends with history_best_val_loss (a loss) and the devices record (a rate)
    config, reference_config = (
        (d / "config.yaml").read_text().partition("history_best_val_loss:") for d in (got, expected)
    )
    assert config[0] == reference_config[0] and "tracks:" in config[0]
    best, reference_best = (float(c[2].split()[0]) for c in (config, reference_config))
    np.testing.assert_allclose(best, reference_best, rtol=RTOL, atol=ATOL)
    if history["loss"].tolist() == reference["loss"].tolist():  # the plot shows only losses
        assert (got / "training_curve.png").read_bytes() == (
            expected / "training_curve.png"
        ).read_bytes()


@pytest.mark.slow  # trains a model three times
@SIGNALS
def test_training_killed_at_a_random_point_resumes_to_the_uninterrupted_result(
    sig, splits, trained, tmp_path
):
    """SIGKILL lands in epoch 1 (before any checkpoint), SIGTERM in epoch 2 or while its
    checkpoint is written; seeded delays scaled by the uninterrupted run's epoch times."""
    seconds = pd.read_csv(trained / "history.tsv", sep="\t")["seconds"]
    delay = np.random.default_rng(int(sig)).uniform(0, 0.9)
    out_dir = tmp_path / "danq"
    command = train_command(splits, out_dir)
    if sig == signal.SIGKILL:  # out_dir is made just before the first epoch starts
        interrupt(command, tmp_path, sig, out_dir.is_dir, delay * seconds[0])
    else:
        pointer = out_dir / "checkpoint" / "latest"
        interrupt(command, tmp_path, sig, pointer.exists, delay * seconds[1])
    assert not any((out_dir / name).exists() for name in FINAL_FILES)
    latest = Checkpoint(out_dir / "checkpoint").latest()
    assert sig == signal.SIGKILL or latest is not None
    epoch = 0
    if latest is not None:  # what a rerun resumes from is complete
        assert sorted(p.name for p in latest.iterdir()) == [
            "best.npz", "optimizer.npz", "state.json", "variables.npz"
        ]  # fmt: skip
        epoch = json.loads((latest / "state.json").read_text())["epoch"]
    stderr = run_command(command, tmp_path)
    resumed = f"resuming from checkpoint after epoch {epoch}"
    assert (resumed in stderr) if epoch else ("resuming" not in stderr)
    assert_same_training(out_dir, trained)
    assert sorted(p.name for p in (out_dir / "checkpoint").iterdir()) == ["epoch-0003", "latest"]


@pytest.mark.slow  # trains a model twice
def test_full_disk_while_checkpointing_keeps_the_last_complete_checkpoint(
    splits, trained, tmp_path
):
    """The file-size limit drops below a checkpoint's size once epoch 1 is saved (as a disk
    filling up mid-run): epoch 2's checkpoint fails, in one line, leaving epoch 1 to resume."""
    out_dir = tmp_path / "danq"
    command = train_command(splits, out_dir)
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=JOB_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sigxfsz,
    )
    pointer = out_dir / "checkpoint" / "latest"
    deadline = time.monotonic() + 120
    while not pointer.exists():
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.002)
    limit = 16_384  # bytes; each .npz of the tiny model is about 36 kB
    resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (limit, limit))
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"seq2chrom train: error: {out_dir}: cannot write: File too large (fix: free space on "
        "its file system, or raise the quota or file-size limit, and rerun)"
    )
    assert not any((out_dir / name).exists() for name in FINAL_FILES)
    latest = Checkpoint(out_dir / "checkpoint").latest()
    epoch = json.loads((latest / "state.json").read_text())["epoch"]
    assert epoch < 3  # the limit came before the last checkpoint
    assert sorted(p.name for p in (out_dir / "checkpoint").iterdir()) == [latest.name, "latest"]

    stderr = run_command(command, tmp_path)  # space again
    assert f"resuming from checkpoint after epoch {epoch}" in stderr
    assert_same_training(out_dir, trained)


def test_full_disk_while_encoding_leaves_no_split_file(tmp_path):
    labelled_genome(tmp_path)

    def small_disk() -> None:
        ignore_sigxfsz()
        resource.setrlimit(resource.RLIMIT_FSIZE, (65_536, 65_536))  # train.h5 is ~1 MB

    result = subprocess.run(
        [str(BIN / "seq2chrom"), *ENCODE],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "seq2chrom encode: error: out/train.h5: cannot write: File too large (fix: free space "
        "on its file system, or raise the quota or file-size limit, and rerun)"
    )
    assert list((tmp_path / "out").iterdir()) == []  # no split file, no temporary
    seq2chrom(tmp_path, *ENCODE)
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["train.h5"]


EVAL_FILES = ["curves.png", "metrics.html", "metrics.tsv", "summary.html", "summary.tsv"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    """test.h5 (3,000 samples, 3 tracks) and predictions.h5 scoring positives higher."""
    folder = tmp_path_factory.mktemp("scored")
    planted_split(folder / "test.h5", 3000, seed=2)
    with (
        open_split(folder / "test.h5") as split,
        create_predictions_file(folder / "predictions.h5", split, 3) as y_pred,
    ):
        y = split.y[:]
        noise = np.random.default_rng(3).random(y.shape)
        y_pred[:] = (0.6 * noise + 0.4 * y).astype(np.float32)
    return folder


def evaluate_command(scored: Path) -> list[str]:
    """`seq2chrom evaluate` as the evaluate rule runs it, writing to eval/."""
    return [str(BIN / "seq2chrom"), "evaluate", "--predictions", str(scored / "predictions.h5"),
            "--data", str(scored / "test.h5"), "--min-positives", "5", "--model", "toy",
            "--threads", "1", "--out-dir", "eval"]  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(scored, tmp_path_factory) -> tuple[Path, float]:
    """An uninterrupted evaluation's folder, and the seconds from its first output to its last."""
    folder = tmp_path_factory.mktemp("evaluated")
    process = subprocess.Popen(
        evaluate_command(scored), cwd=folder, env=ENV, stderr=subprocess.DEVNULL
    )
    first = last = None
    while process.poll() is None:
        now = time.monotonic()
        if first is None and (folder / "eval").is_dir():
            first = now
        if last is None and (folder / "eval" / "curves.png").exists():  # written last
            last = now
        time.sleep(0.002)
    assert process.returncode == 0 and first is not None
    return folder / "eval", (last or time.monotonic()) - first


@SIGNALS
def test_evaluation_killed_at_a_random_point_reruns_to_the_same_bytes(
    sig, scored, evaluated, tmp_path
):
    """Killed at a seeded random point while it writes its five outputs: any output already
    there is complete (byte-identical), and the rerun gives the uninterrupted run's bytes."""
    expected, writing_seconds = evaluated
    delay = np.random.default_rng(int(sig)).uniform(0, 0.6) * writing_seconds
    out_dir = tmp_path / "eval"
    interrupt(evaluate_command(scored), tmp_path, sig, out_dir.is_dir, delay)
    written = [name for name in EVAL_FILES if (out_dir / name).exists()]
    for name in written:  # no partial file under an output's name
        assert (out_dir / name).read_bytes() == (expected / name).read_bytes()

    seq2chrom(tmp_path, *evaluate_command(scored)[1:])
    assert sorted(path.name for path in out_dir.iterdir()) == EVAL_FILES  # no temporaries
    for name in EVAL_FILES:
        assert (out_dir / name).read_bytes() == (expected / name).read_bytes(), name
