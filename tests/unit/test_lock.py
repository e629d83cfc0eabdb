"""One trainer per checkpoint folder: real second processes meet the lock of the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from seq2chrom.training.lock import LOCK_NAME, main, trainer_lock

# A trainer stand-in: holds the lock of argv[1] while it writes "start" and "end" lines (with
# times) to argv[2], `hold` seconds apart; prints the one-line error when the lock is taken.
TRAINER = """
import sys, time
from seq2chrom.errors import InputError
from seq2chrom.training.lock import trainer_lock
folder, record, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    with trainer_lock(folder, wait=float(sys.argv[4])):
        with open(record, "a") as out:
            out.write(f"start {time.monotonic()}\\n")
        time.sleep(hold)
        with open(record, "a") as out:
            out.write(f"end {time.monotonic()}\\n")
except InputError as error:
    print(error)
    sys.exit(2)
"""


def _trainer(folder: Path, record: Path, hold: float, wait: float = 0.0, job: str = ""):
    env = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}
    env |= {"SLURM_JOB_ID": job} if job else {}
    command = [sys.executable, "-c", TRAINER, str(folder), str(record), str(hold), str(wait)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def _wait_for(path: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.02)


def test_a_second_trainer_stops_at_once_naming_the_first(tmp_path):
    folder = tmp_path / "checkpoint"
    first = _trainer(folder, tmp_path / "first.txt", hold=1.0, job="101")
    _wait_for(tmp_path / "first.txt")
    started = time.monotonic()
    second = _trainer(folder, tmp_path / "second.txt", hold=0.0, job="202")
    out, _ = second.communicate(timeout=20)
    assert second.returncode == 2 and time.monotonic() - started < 1.5
    assert out.strip().splitlines() == [
        f"{folder}: another trainer is writing this checkpoint: Slurm job 101 (pid {first.pid} "
        f"on {os.uname().nodename}) (fix: let it finish or cancel it, then rerun; two trainers "
        "must not share a checkpoint folder)"
    ]
    assert not (tmp_path / "second.txt").exists()  # it never wrote
    assert first.wait(timeout=20) == 0
    assert (tmp_path / "first.txt").read_text().split()[::2] == ["start", "end"]
    assert not folder.exists()  # the lock file is removed on exit, and the empty folder


def test_a_requeued_job_waits_for_its_previous_run_and_they_never_overlap(tmp_path):
    """The same Slurm job started again waits for its earlier run to let go: the two write
    one after the other, never at once."""
    record = tmp_path / "record.txt"
    first = _trainer(tmp_path / "checkpoint", record, hold=1.0, job="303")
    _wait_for(record)
    second = _trainer(tmp_path / "checkpoint", record, hold=0.2, wait=20, job="303")
    assert second.wait(timeout=30) == 0 and first.wait(timeout=30) == 0
    events = [line.split() for line in record.read_text().splitlines()]
    assert [kind for kind, _ in events] == ["start", "end", "start", "end"]
    assert float(events[1][1]) <= float(events[2][1])  # the second started after the first ended


def test_a_killed_trainer_leaves_no_lock(tmp_path):
    folder = tmp_path / "checkpoint"
    first = _trainer(folder, tmp_path / "first.txt", hold=60.0)
    _wait_for(tmp_path / "first.txt")
    assert main([str(folder)]) == 1  # held
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert (folder / LOCK_NAME).exists()  # SIGKILL leaves the file, but the kernel's lock is gone
    assert main([str(folder)]) == 0
    with trainer_lock(folder, wait=0):  # taken at once
        pass
    assert list(folder.iterdir()) == []  # its lock file removed; the folder was there before


def test_the_lock_file_names_this_process_while_held(tmp_path, capsys):
    with trainer_lock(tmp_path / "c", wait=0):
        # read from another process: closing a descriptor of the file here would release
        # this process's lock (POSIX), and in one process the locks do not conflict anyway
        probe = subprocess.run(
            [sys.executable, "-m", "seq2chrom.training.lock", str(tmp_path / "c")],
            capture_output=True,
            text=True,
        )
        assert probe.returncode == 1, probe.stderr
        assert probe.stdout.startswith(f"{tmp_path / 'c'}: held by ")
        assert f"pid {os.getpid()} on {os.uname().nodename}" in probe.stdout
    assert main([str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.strip().endswith("free (no lock file)")


def test_seq2chrom_train_stops_when_another_trainer_holds_its_checkpoint(tmp_path):
    """The wiring: `seq2chrom train` takes the lock before anything else (data, devices)."""
    out_dir = tmp_path / "danq"
    first = _trainer(out_dir / "checkpoint", tmp_path / "first.txt", hold=30.0, job="404")
    _wait_for(tmp_path / "first.txt")
    try:
        command = [str(Path(sys.executable).parent / "seq2chrom"), "train", "--model", "danq"]
        command += ["--train", "train.h5", "--valid", "valid.h5", "--out-dir", str(out_dir)]
        env = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    finally:
        first.kill()
        first.wait(timeout=10)
    assert done.returncode != 0
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"seq2chrom train: error: {out_dir / 'checkpoint'}: another trainer is writing this "
            f"checkpoint: Slurm job 404 (pid {first.pid} on "
        )
    )
