"""Tiny split files in the layout of results/data/{split}.h5, with motifs planted per track."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
from seq2chrom.training.checkpoint import Checkpoint

MOTIFS = ["GATAAGGC", "CACGTGAC", "TGACTCAT"]


def one_hot(sequences: np.ndarray) -> np.ndarray:
    """(N, L) uint8 codes 0-3 (A,C,G,T) -> (N, L, 4) uint8."""
    return np.eye(4, dtype=np.uint8)[sequences]


def write_split(path: Path, x: np.ndarray, y: np.ndarray, chunk_rows: int = 64) -> Path:
    """Write x (N, L, 4) uint8 and y (N, T) uint8 with track names, chunked along N."""
    n, n_tracks = y.shape
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=x, chunks=(min(chunk_rows, n), *x.shape[1:]))
        handle.create_dataset("y", data=y, chunks=(min(chunk_rows, n), n_tracks))
        names = [f"track{i}" for i in range(n_tracks)]
        for key, values in (
            ("tracks", names),
            ("assays", ["TF"] * n_tracks),
            ("cell_types", ["demo"] * n_tracks),
        ):
            handle.create_dataset(key, data=values, dtype=h5py.string_dtype())
        handle.create_dataset("chrom", data=["chr1"] * n, dtype=h5py.string_dtype())
        handle.create_dataset("start", data=np.arange(n, dtype=np.int64) * 200)
        handle.attrs["bin_size"], handle.attrs["window"] = 200, x.shape[1]
    return path


def planted_split(
    path: Path, n: int, seq_len: int = 100, seed: int = 0, centre: int | None = None, **kwargs
) -> Path:
    """Random sequences; track k is 1 exactly where MOTIFS[k] was planted (p = 0.3 each).

    Motifs go anywhere, or within the central `centre` bp (as peaks in a bin centred window).
    """
    lo, hi = (0, seq_len) if centre is None else ((seq_len - centre) // 2, (seq_len + centre) // 2)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, seq_len), dtype=np.uint8)
    y = (rng.random((n, len(MOTIFS))) < 0.3).astype(np.uint8)
    lookup = {base: i for i, base in enumerate("ACGT")}
    for k, motif in enumerate(MOTIFS):
        motif_codes = np.array([lookup[b] for b in motif], dtype=np.uint8)
        for row in np.flatnonzero(y[:, k]):
            start = rng.integers(lo, hi - len(motif))
            codes[row, start : start + len(motif)] = motif_codes
    return write_split(path, one_hot(codes), y, **kwargs)


def kill_after_epoch(command: list[str], env: dict, outdir: Path, epoch: int = 2) -> int:
    """Run a `seq2chrom train` command, SIGKILL it once outdir/checkpoint holds `epoch`, and
    return the epoch of the last checkpoint it left (a kill can land a little later)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pointer = outdir / "checkpoint" / "latest"
    deadline = time.monotonic() + 120
    while not (pointer.exists() and pointer.read_text().strip() >= f"epoch-{epoch:04d}"):
        assert process.poll() is None and time.monotonic() < deadline, (
            f"no epoch-{epoch} checkpoint"
        )
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    latest = Checkpoint(outdir / "checkpoint").latest()
    return int(json.loads((latest / "state.json").read_text())["epoch"])
