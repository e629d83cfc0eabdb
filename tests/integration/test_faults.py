"""Faults: a killed data-build step reruns to the same bytes; two runs on one directory do not
both go ahead."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from tests.conftest import BIN, REPO, make_workdir
from tests.integration.test_data_build import TARGETS, write_inputs

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


def test_encode_killed_while_writing_reruns_to_the_same_bytes(tmp_path):
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
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (tmp_path / "out" / "train.h5").exists()  # nothing a later step takes as done

    seq2chrom(tmp_path, *ENCODE)
    assert (tmp_path / "out" / "train.h5").read_bytes() == expected
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["train.h5"]  # no leftovers


def test_second_run_on_the_same_directory_stops_with_the_lock_message(tmp_path):
    workdir = make_workdir(tmp_path)
    write_inputs(workdir)
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory",
               str(workdir), "--cores", "1", *TARGETS]  # fmt: skip
    first = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    locks = workdir / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while not (locks.is_dir() and any(locks.iterdir())):
        assert first.poll() is None and time.monotonic() < deadline, "the first run took no lock"
        time.sleep(0.05)
    second = subprocess.run(command, env=ENV, capture_output=True, text=True)
    output, _ = first.communicate(timeout=600)
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout + second.stderr
    assert first.returncode == 0, output[-3000:]
    assert all((workdir / target).is_file() for target in TARGETS)  # the first run's results
