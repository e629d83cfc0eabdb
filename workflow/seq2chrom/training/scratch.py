"""Copy the split files to a job's local scratch disk once, so training reads them from there.

On a cluster the split files sit on a shared file system, and training reads every batch of
every epoch from them; a node-local disk (Biowulf: /lscratch/$SLURM_JOB_ID, asked for with
`--gres=lscratch:N`) serves those reads without loading the shared servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.train")

FIX = (
    "ask for local scratch for the job (Biowulf: gres lscratch:N), "
    "or drop the rule's `scratch` resource from the profile"
)


def scratch_folder(text: str) -> Path | None:
    """The folder `text` names after expanding environment variables ($SLURM_JOB_ID); None for
    ''. InputError when a variable is unset or the folder is missing or not writable."""
    if not text:
        return None
    folder = Path(os.path.expandvars(text))
    if "$" in str(folder):
        raise InputError(text, "--scratch names an unset environment variable", fix=FIX)
    if not folder.is_dir():
        raise InputError(folder, "--scratch folder not found", fix=FIX)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(folder, "--scratch folder not writable", fix=FIX)
    return folder


def _same_file(copy: Path, source: os.stat_result) -> bool:
    """Whether `copy` exists with the size and modification time (ns) of `source`."""
    try:
        stat = copy.stat()
    except FileNotFoundError:
        return False
    return stat.st_size == source.st_size and stat.st_mtime_ns == source.st_mtime_ns


def stage_to_scratch(paths: Sequence[Path], scratch_dir: Path) -> list[Path]:
    """Copy each of `paths` into `scratch_dir` (same file name) and return the copies' paths.

    A copy already there with the source's size and mtime is kept (a job requeued on the same
    node copies nothing). Each copy is written under a temporary name and renamed when
    complete, so an interrupted copy never leaves a partial file under the final name.
    """
    names = [Path(path).name for path in paths]
    if len(set(names)) != len(names):
        raise InputError(scratch_dir, f"two files to stage share a name: {names}")
    staged = []
    for path in map(Path, paths):
        copy = scratch_dir / path.name
        source = path.stat()
        if _same_file(copy, source):
            log.info("%s: already on local scratch as %s", path, copy)
        else:
            start = time.perf_counter()
            try:
                with atomic_output(copy) as tmp:
                    shutil.copyfile(path, tmp)
                    # the source's mtime marks a complete copy of this version of the file
                    os.utime(tmp, ns=(source.st_atime_ns, source.st_mtime_ns))
            except OSError as error:  # full disk, above all
                raise InputError(
                    scratch_dir, f"cannot copy {path} here: {error.strerror}", fix=FIX
                ) from None
            seconds = time.perf_counter() - start
            log.info(
                "%s: copied to %s (%.2f GB, %.1f s)", path, copy, source.st_size / 1e9, seconds
            )
        staged.append(copy)
    return staged
