"""File helpers shared by all steps: atomic outputs, so a failed step leaves nothing half-done;
reading plain or gzipped text."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds.

    Works for files and directories. On error the temporary is removed and any earlier
    `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{suffix}")
    # One job writes a given output, so any other temporary of `path` was left by a killed
    # run (SIGKILL skips the cleanup below): remove it rather than let temporaries pile up.
    prefix = f".{path.name}.tmp"
    for stale in path.parent.iterdir():
        if stale.name.startswith(prefix) and stale.name.endswith(suffix):
            _remove(stale)
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def open_text(path: str | Path):
    """Open a plain, gzip or bgzip text file for reading (bgzip is multi-member gzip)."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")
