"""One trainer per checkpoint folder: an exclusive lock held by the live training process.

Two trainers writing one ``checkpoint/`` would interleave epochs from different runs (a Slurm
job requeued while Snakemake resubmits it, a second `snakemake` or `seq2chrom train` started by
hand). `trainer_lock` takes a POSIX record lock (``fcntl.lockf``) on ``checkpoint/lock``: the
kernel, or the network file system's lock manager for a shared folder, releases it when the
process exits or dies (a crashed node's locks when its lease runs out), so a killed job leaves
no lock behind. NFS serves these locks
to every node (Linux NFS also emulates ``flock`` with them); ``flock`` alone is node-local on
some cluster file systems.

The file names the holder (``pid=... host=... job=...``) and is removed when training ends. A
second trainer stops at once with one line naming the holder, except the same Slurm job started
again (a requeue: the previous run of the job may still be stopping), which waits up to
``REQUEUE_WAIT`` seconds for it first. From a shell, on any node:

    python -m seq2chrom.training.lock results/models/danq/checkpoint   # free, or held by whom
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from seq2chrom.errors import InputError

log = logging.getLogger("seq2chrom.train")

LOCK_NAME = "lock"
#: Seconds a requeued job waits for its previous run to let go of the lock.
REQUEUE_WAIT = 300.0


def holder_line() -> str:
    """This process as the lock file records it: ``pid=... host=... job=...``."""
    job = os.environ.get("SLURM_JOB_ID", "")
    return f"pid={os.getpid()} host={socket.gethostname()} job={job}"


def parse_holder(text: str) -> dict[str, str]:
    """``pid=1 host=n job=7`` -> {"pid": "1", "host": "n", "job": "7"} (missing keys: "")."""
    fields = dict(item.split("=", 1) for item in text.split() if "=" in item)
    return {key: fields.get(key, "") for key in ("pid", "host", "job")}


def describe(holder: dict[str, str]) -> str:
    """A holder in words: ``Slurm job 7 (pid 1 on n)`` or ``pid 1 on n``."""
    where = f"pid {holder['pid'] or '?'} on {holder['host'] or '?'}"
    return f"Slurm job {holder['job']} ({where})" if holder["job"] else where


def _try_lock(handle) -> bool:
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _read_holder(path: Path) -> dict[str, str]:
    try:
        return parse_holder(path.read_text())
    except OSError:
        return parse_holder("")


def _same_file(handle, path: Path) -> bool:
    """Whether `path` still names the open file (another process may have replaced it)."""
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _acquire(path: Path, wait: float):
    """The open lock file of `path`, locked by this process (see `trainer_lock`)."""
    own_job = os.environ.get("SLURM_JOB_ID", "")
    deadline = time.monotonic() + wait
    waiting = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)  # a finished holder removes it if empty
        try:
            handle = open(path, "a+")  # noqa: SIM115 - returned open, closed by the caller
        except FileNotFoundError:
            continue  # removed between mkdir and open
        if _try_lock(handle):
            if _same_file(handle, path):
                return handle
            handle.close()  # locked a file its holder removed on exit: lock the new one
            continue
        handle.close()
        holder = _read_holder(path)
        if not (own_job and holder["job"] == own_job) or time.monotonic() >= deadline:
            raise InputError(
                path.parent,
                f"another trainer is writing this checkpoint: {describe(holder)}",
                fix="let it finish or cancel it, then rerun; two trainers must not share a "
                "checkpoint folder",
            )
        if not waiting:
            log.info("waiting up to %.0f s for %s to stop", wait, describe(holder))
            waiting = True
        time.sleep(1.0)


@contextlib.contextmanager
def trainer_lock(directory: str | Path, wait: float = REQUEUE_WAIT) -> Iterator[Path]:
    """Hold the exclusive lock of checkpoint folder `directory` (created if missing).

    Raises InputError, naming the holder, when another trainer holds it; when the holder is
    an earlier run of this same Slurm job, first waits up to `wait` seconds for it to exit.
    Yields the lock file's path. Leaving the block removes the lock file (and the folders it
    created, `directory` and missing parents, when nothing else is in them) and releases the
    lock; a killed process leaves the file, but not the lock. Do not open the lock file
    elsewhere in this process: closing any descriptor of a file releases the process's POSIX
    locks on it.
    """
    directory = Path(directory)
    path = directory / LOCK_NAME
    # folders this lock creates, deepest first: removed again when left empty
    created = [folder for folder in (directory, *directory.parents) if not folder.exists()]
    handle = _acquire(path, wait)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(holder_line() + "\n")
        handle.flush()
        yield path
    finally:
        # removed while still held, so no other process can lock the file being removed
        path.unlink(missing_ok=True)
        handle.close()  # closing the descriptor releases the lock
        for folder in created:  # a run that stopped before its first epoch leaves no folder
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def main(argv: list[str]) -> int:
    """Print who holds the lock of each checkpoint folder given; exit 1 when one is held."""
    held = False
    for name in argv:
        path = Path(name) / LOCK_NAME
        if not path.exists():
            print(f"{name}: free (no lock file)")
            continue
        try:  # a write lock needs the file open for writing; never create one here
            handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "a")
        except FileNotFoundError:
            print(f"{name}: free (no lock file)")
            continue
        with handle:
            free = _try_lock(handle)
        if free:
            print(f"{name}: free")
        else:
            held = True
            print(f"{name}: held by {describe(_read_holder(path))}")
    return 1 if held else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
