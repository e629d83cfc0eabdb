"""The same inputs, config and seed give the same files: byte for byte for the data build, and
on the CPU the same training history and weights.

Each build runs the steps' own commands in its own folder with the same relative paths, as
the rules do. (On a GPU, training is not bit-reproducible: README, "What we guarantee".)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BIN
from tests.unit.training_data import planted_split

TRACKS = "name\tassay\tcell_type\tpath\nA\tTF\tK562\ta.bed\nB\tDNase\tK562\tb.bed.gz\n"


def seq2chrom(folder: Path, *args: str) -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [str(BIN / "seq2chrom"), *args], cwd=folder, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def write_inputs(folder: Path) -> None:
    """A 3-chromosome genome (gzip) and two peak files, from a fixed generator."""
    import gzip

    rng = np.random.default_rng(11)
    fasta = "".join(
        f">chr{i}\n{''.join(rng.choice(list('ACGTN'), 8000, p=[0.24] * 4 + [0.04]))}\n"
        for i in (1, 2, 3)
    )
    (folder / "genome.fa.gz").write_bytes(gzip.compress(fasta.encode(), mtime=0))
    for name in ("a.bed", "b.bed.gz"):
        starts = np.sort(rng.integers(0, 7000, 40))
        chroms = rng.choice(["chr1", "chr2", "chr3"], 40)
        text = "".join(
            f"{c}\t{s}\t{s + rng.integers(100, 900)}\n" for c, s in zip(chroms, starts, strict=True)
        )
        data = gzip.compress(text.encode(), mtime=0) if name.endswith(".gz") else text.encode()
        (folder / name).write_bytes(data)
    (folder / "tracks.tsv").write_text(TRACKS)


def build(folder: Path, seed: int = 5) -> dict[str, bytes]:
    """Run genome -> tile -> label -> assemble -> encode; every file written (name -> bytes)."""
    folder.mkdir()
    write_inputs(folder)
    inputs = {path.name for path in folder.iterdir()}
    seq2chrom(folder, "genome", "--input", "genome.fa.gz", "--out", "genome.fa")
    seq2chrom(folder, "tile", "--genome", "genome.fa", "--size", "200", "--window", "600",
              "--chromosomes", ".*", "--out", "bins.h5")  # fmt: skip
    for name, path in (("A", "a.bed"), ("B", "b.bed.gz")):
        seq2chrom(folder, "label", "--bins", "bins.h5", "--peaks", path, "--min-overlap", "0.5",
                  "--out", f"{name}.npy")  # fmt: skip
    seq2chrom(folder, "assemble", "--bins", "bins.h5", "--tracks", "tracks.tsv", "--labels",
              "A.npy", "B.npy", "--select", "any_positive", "--test", "chr3", "--valid",
              "chr2:1-4,000", "--out", "labels.h5")  # fmt: skip
    for split in ("train", "valid", "test"):
        shuffle = ["--shuffle-seed", str(seed)] if split == "train" else []
        seq2chrom(folder, "encode", "--genome", "genome.fa", "--labels", "labels.h5", "--split",
                  split, *shuffle, "--out", f"{split}.h5")  # fmt: skip
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name not in inputs
    }


def test_data_build_is_byte_identical_for_the_same_seed(tmp_path):
    first, second = build(tmp_path / "first"), build(tmp_path / "second")
    assert set(first) >= {"genome.fa", "genome.fa.fai", "bins.h5", "A.npy", "labels.h5"}
    assert {"train.h5", "valid.h5", "test.h5"} <= set(first)
    different = [name for name in first if first[name] != second.get(name)]
    assert not different and set(first) == set(second)
    # the check can fail: another shuffle seed writes another train.h5
    seq2chrom(tmp_path / "first", "encode", "--genome", "genome.fa", "--labels", "labels.h5",
              "--split", "train", "--shuffle-seed", "6", "--out", "other.h5")  # fmt: skip
    assert (tmp_path / "first" / "other.h5").read_bytes() != first["train.h5"]


HISTORY_TIMING = ["seconds", "samples_per_s", "devices"]  # wall-clock fields, not results


TRAIN_SETTINGS = {"epochs": 3, "batch_size": 50, "learning_rate": 0.01, "device": "cpu"}


def train(folder: Path, splits: tuple[Path, Path]) -> subprocess.CompletedProcess:
    settings = {"conv_filters": 8, "conv_width": 8, "pool_size": 4, "lstm_units": 4,
                "hidden_units": 8}  # fmt: skip
    command = [
        str(BIN / "seq2chrom"), "train", "--model", "danq",
        "--train", str(splits[0]), "--valid", str(splits[1]),
        "--model-settings", json.dumps({"preset": "small", **settings}),
        "--train-settings", json.dumps(TRAIN_SETTINGS),
        "--seed", "3", "--out-dir", str(folder), "--verbose", "0",
    ]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(command, env=env, capture_output=True, text=True)


@pytest.mark.slow  # trains a model
def test_tiny_training_on_cpu_gives_identical_history_and_weights(tmp_path):
    from seq2chrom.modelfile.loading import load_model

    splits = (
        planted_split(tmp_path / "train.h5", 600, seed=0),
        planted_split(tmp_path / "valid.h5", 200, seed=1),
    )
    runs = [tmp_path / "first", tmp_path / "second"]
    for run in runs:
        result = train(run, splits)
        assert result.returncode == 0, result.stderr[-3000:]
    first, second = (pd.read_csv(run / "history.tsv", sep="\t") for run in runs)
    assert len(first) == 3 and first["val_auroc"].notna().all()
    pd.testing.assert_frame_equal(
        first.drop(columns=HISTORY_TIMING),
        second.drop(columns=HISTORY_TIMING),
        check_exact=True,
    )
    weights = [load_model(run / "model.keras").get_weights() for run in runs]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
