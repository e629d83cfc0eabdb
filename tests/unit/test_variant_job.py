"""Scoring a VCF as a stream: memory does not grow with the number of variants, a malformed
line half-way leaves no output, and the reading thread's errors reach the caller."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import yaml
from seq2chrom.errors import InputError
from seq2chrom.variants.job import output_paths, prefetched, score_vcf
from seq2chrom.variants.tables import TableSettings

from tests.unit.toy_models import random_model

N_TRACKS = 1024  # 256-row chunks in the scores file: its buffers fill within the smaller run
WINDOW = 40
LENGTH = 200_000
WEIGHTS = np.random.default_rng(1).normal(size=(4, N_TRACKS)).astype(np.float32)


def composition(model, x: np.ndarray) -> np.ndarray:
    """A predictor in numpy (the model's own outputs are not needed to measure the memory of
    the reading and writing around it): sigmoid of a linear map of the base composition."""
    score = (x.mean(axis=1)[:, :, None] * WEIGHTS[None]).sum(axis=1)
    return (1 / (1 + np.exp(-score))).astype(np.float32)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    sequence = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, LENGTH)]
    (folder / "genome.fa").write_text(">chr1\n" + sequence.tobytes().decode() + "\n")
    (folder / "m").mkdir()
    random_model(WINDOW, N_TRACKS).save(folder / "m" / "model.keras")
    tracks = [f"t{j}" for j in range(N_TRACKS)]
    (folder / "m" / "config.yaml").write_text(yaml.safe_dump({"tracks": tracks}))

    def vcf(n: int, tail: str = ""):
        pos0 = np.sort(rng.choice(np.arange(100, LENGTH - 100), n, replace=False))
        ref = sequence[pos0].tobytes().decode()
        lines = [f"chr1\t{p + 1}\t.\t{r}\t{'C' if r != 'C' else 'G'}\n"
                 for p, r in zip(pos0.tolist(), ref, strict=True)]  # fmt: skip
        path = folder / f"n{n}.vcf"
        path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n" + "".join(lines) + tail)
        return path

    return folder, vcf


def score(folder, vcf, out, **settings):
    score_vcf(vcf, folder / "genome.fa", folder / "m" / "model.keras", out,
              predict=composition, device="cpu", batch_size=64, **settings)  # fmt: skip


def peak_memory(folder, vcf, out) -> int:
    """Peak Python heap (numpy arrays included) of scoring `vcf` and writing every output."""
    tracemalloc.start()
    try:
        score(folder, vcf, out, tables=TableSettings(["t0"], top=50), chunk_size=1000)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_variants(setup, tmp_path):
    folder, vcf = setup
    small, large = vcf(2000), vcf(20_000)
    score(folder, vcf(300), tmp_path / "warm.h5")  # imports and first calls, not measured
    peaks = [peak_memory(folder, path, tmp_path / f"{path.stem}.h5") for path in (small, large)]
    assert peaks[1] <= 1.2 * peaks[0], f"peak {peaks[1] / 1e6:.1f} MB vs {peaks[0] / 1e6:.1f} MB"
    with open(tmp_path / "n20000.top.tsv") as handle:
        assert sum(1 for _ in handle) == 51  # the 50 strongest and a header


def test_a_malformed_line_half_way_leaves_no_output(setup, tmp_path):
    folder, vcf = setup
    path = vcf(600, "chr1\t12\t.\tA\n")  # line 603 of 603, chunks of 250 records
    with pytest.raises(InputError, match=r"n600.vcf:603: 4 tab-separated column"):
        score(folder, path, tmp_path / "out.h5", chunk_size=250)
    assert list(tmp_path.iterdir()) == []
    assert [p.name for p in output_paths(tmp_path / "out.h5")] == [
        "out.h5", "out.skipped.tsv", "out.top.tsv", "out.tsv.gz", "out.vcf.gz", "out.vcf.gz.tbi",
    ]  # fmt: skip


def test_the_reading_threads_errors_reach_the_caller():
    def items():
        yield 1
        raise InputError("x.vcf", "broken", line=7)

    got = []
    with pytest.raises(InputError, match="x.vcf:7: broken"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1]
    assert list(prefetched(iter(range(5)), depth=1)) == [0, 1, 2, 3, 4]
