"""The data build run by the real Snakemake on a tiny generated genome and four tracks.

Genome (plain gzip, soft-masked and N runs) -> bins -> labels per track -> labels.h5 -> split
files, checked against the genome text and labels computed here bin by bin. Bad inputs: a
malformed peak line fails with a one-line error and leaves earlier results untouched; bad track
names fail at `snakemake -n`.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_workdir, snakemake

# Not marked slow: this tiny build (about 15 s of CPU) is part of `make test-fast`.

SIZE, WINDOW = 200, 1000
LENGTHS = {"chr1": 24_000, "chr2": 15_000, "chr3": 12_000, "chr4": 9_000}
TRACKS = [  # name, assay, file, peaks per chromosome
    ("CTCF_K562", "TF", "ctcf.narrowPeak.gz", 12),
    ("GATA1_K562", "TF", "gata1.bed", 8),
    ("DNase_K562", "DNase", "dnase.bed", 15),
    ("H3K27ac_K562", "Histone", "empty.bed", 0),
]
TARGETS = [f"results/data/{split}.h5" for split in ("train", "valid", "test")] + [
    "results/data/summary.html"
]
BLACKLIST = ("chr2", 5_000, 6_000)
CONFIG = f"""\
genome: genome.fa.gz
tracks: config/tracks.tsv
seed: 1
bins: {{size: {SIZE}, window: {WINDOW}, min_overlap: 0.5, select: tf_positive,
       blacklist: blacklist.bed}}
split: {{test: [chr4], valid: ["chr3:1-6,000"]}}
models: {{danq: {{preset: small}}}}
"""


def write_inputs(workdir: Path) -> tuple[dict[str, str], dict[str, list[tuple[str, int, int]]]]:
    rng = np.random.default_rng(7)
    genome = {}
    for chrom, length in LENGTHS.items():
        bases = rng.choice(list("ACGT"), length)
        lower = rng.random(length) < 0.2
        bases[lower] = np.char.lower(bases[lower])  # soft-masked repeats
        bases[rng.integers(0, length - 50, 3)[:, None] + np.arange(50)] = "R"  # IUPAC runs
        bases[: 1_500 if chrom == "chr1" else 0] = "N"  # telomere-like N run
        genome[chrom] = "".join(bases)
    text = "".join(f">{c} test\n" + "\n".join(s[i : i + 70] for i in range(0, len(s), 70)) + "\n"
                   for c, s in genome.items())  # fmt: skip
    (workdir / "genome.fa.gz").write_bytes(gzip.compress(text.encode()))  # plain gzip
    (workdir / "blacklist.bed").write_text("{}\t{}\t{}\nchrUn\t1\t10\n".format(*BLACKLIST))
    peaks, rows = {}, ["name\tassay\tcell_type\tpath"]
    (workdir / "peaks").mkdir()
    for name, assay, file, n in TRACKS:
        peaks[name] = []
        for chrom, length in LENGTHS.items():
            starts = rng.integers(0, length - 600, n)
            ends = starts + rng.integers(50, 600, n)
            peaks[name] += list(zip([chrom] * n, starts.tolist(), ends.tolist(), strict=True))
        peaks[name] += [("chr4", LENGTHS["chr4"] - 300, LENGTHS["chr4"])] if n else []
        lines = [f"{c}\t{s}\t{e}\tpeak\t0\t." for c, s, e in peaks[name]]
        body = "track name=x\r\n" + "\r\n".join(lines) + ("\r\n" if lines else "")
        path = workdir / "peaks" / file
        path.write_bytes(gzip.compress(body.encode()) if file.endswith(".gz") else body.encode())
        rows.append(f"{name}\t{assay}\tK562\tpeaks/{file}")
    (workdir / "config" / "tracks.tsv").write_text("\n".join(rows) + "\n")
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    return genome, peaks


def expected_bins(genome):
    """Kept bins and their labels, computed bin by bin the slow, obvious way."""
    kept = []
    for chrom, seq in genome.items():
        for start in range(0, len(seq) - SIZE + 1, SIZE):
            begin = start - (WINDOW - SIZE) // 2
            if begin < 0 or begin + WINDOW > len(seq):
                continue
            window = seq[begin : begin + WINDOW]
            if sum(base not in "ACGTacgt" for base in window) > WINDOW / 2:
                continue
            if chrom == BLACKLIST[0] and start < BLACKLIST[2] and start + SIZE > BLACKLIST[1]:
                continue
            kept.append((chrom, start))
    return kept


def label(peaks, chrom, start):
    covered = np.zeros(SIZE, bool)
    for c, s, e in peaks:
        if c == chrom:
            covered[max(s - start, 0) : max(min(e - start, SIZE), 0)] = True
    return covered.sum() / SIZE > 0.5


def one_hot(text):
    return np.array([[base == b for b in "ACGT"] for base in text.upper()], np.uint8)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("data_build"))
    genome, peaks = write_inputs(workdir)
    snakemake(workdir, *TARGETS)
    return workdir, genome, peaks


def test_split_files_hold_the_genome_windows_and_labels(built):
    workdir, genome, peaks = built
    names = [track[0] for track in TRACKS]
    kept = expected_bins(genome)
    labels = {key: [label(peaks[n], *key) for n in names] for key in kept}
    selected = [key for key in kept if labels[key][0] or labels[key][1]]  # a TF positive
    assert len(selected) > 30
    seen = []
    for split in ("train", "valid", "test"):
        with h5py.File(workdir / "results" / "data" / f"{split}.h5") as h5:
            assert list(h5["tracks"].asstr()[:]) == names
            assert list(h5["assays"].asstr()[:]) == [track[1] for track in TRACKS]
            assert list(h5["cell_types"].asstr()[:]) == ["K562"] * 4
            assert (h5.attrs["bin_size"], h5.attrs["window"]) == (SIZE, WINDOW)
            x, y = h5["x"][:], h5["y"][:]
            assert x.dtype == y.dtype == np.uint8 and x.shape[1:] == (WINDOW, 4)
            for row, (chrom, start) in enumerate(
                zip(h5["chrom"].asstr()[:], h5["start"][:].tolist(), strict=True)
            ):
                begin = start - (WINDOW - SIZE) // 2
                np.testing.assert_array_equal(
                    x[row], one_hot(genome[chrom][begin : begin + WINDOW])
                )
                assert y[row].tolist() == labels[(chrom, start)]
                in_valid = chrom == "chr3" and start < 6_000
                assert split == ("test" if chrom == "chr4" else "valid" if in_valid else "train")
                seen.append((chrom, start))
    assert sorted(seen) == sorted(selected)
    assert not y[:, 3].any()  # the empty track


def test_summary_counts_and_report_caption(built):
    workdir, *_ = built
    summary = pd.read_csv(workdir / "results" / "data" / "summary.tsv", sep="\t")
    with h5py.File(workdir / "results" / "data" / "train.h5") as h5:
        assert summary.loc[0, "train"] == h5["x"].shape[0]
        assert summary.loc[1:, "train"].tolist() == h5["y"][:].sum(axis=0).tolist()
    assert summary["track"].tolist()[1:] == [track[0] for track in TRACKS]
    assert "<table" in (workdir / "results" / "data" / "summary.html").read_text()
    assert "no peaks" in (workdir / "logs" / "label" / "H3K27ac_K562.log").read_text()
    assert snakemake(workdir, "-n", *TARGETS).stdout.count("Nothing to be done") == 1


def job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_adding_a_track_labels_only_the_new_one(built):
    workdir, *_ = built
    sheet = workdir / "config" / "tracks.tsv"
    original = sheet.read_text()
    try:
        sheet.write_text(original + "GATA1_again\tTF\tK562\tpeaks/gata1.bed\n")
        counts = job_counts(snakemake(workdir, "-n", *TARGETS).stdout)
        assert counts == {"label": 1, "assemble": 1, "encode": 3, "data_summary": 1}
    finally:
        sheet.write_text(original)


def test_missing_peak_file_is_named_before_any_job(built):
    workdir, *_ = built
    sheet = workdir / "config" / "tracks.tsv"
    original = sheet.read_text()
    try:
        sheet.write_text(original + "Absent\tTF\tK562\tpeaks/absent.bed\n")
        result = snakemake(workdir, "-n", *TARGETS, check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        line = len(original.splitlines()) + 1  # the appended row
        assert (
            f"tracks.tsv:{line}: column path: peak file 'peaks/absent.bed' of track 'Absent'"
            " not found (fix: correct the path column" in output
        )
    finally:
        sheet.write_text(original)


def test_bad_peak_line_fails_with_one_line_error_and_keeps_results(built):
    workdir, *_ = built
    bed = workdir / "peaks" / "gata1.bed"
    original = bed.read_bytes()
    outputs = sorted((workdir / "results").rglob("*"))
    before = {path: path.stat().st_mtime_ns for path in outputs if path.is_file()}
    try:
        bed.write_bytes(original + b"chr2\t900\t100\r\n")
        result = snakemake(workdir, *TARGETS, check=False)
        assert result.returncode != 0
        errors = [
            line
            for line in (workdir / "logs" / "label" / "GATA1_K562.log").read_text().splitlines()
            if "error" in line.lower()
        ]
        line_number = original.count(b"\n") + 1
        assert errors == [
            f"seq2chrom label: error: peaks/gata1.bed:{line_number}: start 900 > end 100 "
            "(fix: swap or correct the columns)"
        ]
        after = sorted((workdir / "results").rglob("*"))
        assert not [path for path in after if ".tmp" in path.name]
        assert not (workdir / "results" / "labels" / "GATA1_K562.npy").exists()
        for path, mtime in before.items():  # downstream results untouched
            if "GATA1" not in path.name:
                assert path.stat().st_mtime_ns == mtime, path
    finally:
        bed.write_bytes(original)


@pytest.mark.parametrize(
    "rows, message",
    [
        (["a\tTF\tK562\tp.bed", "a\tDNase\tK562\tq.bed"], "duplicate track name 'a'"),
        (["../x\tTF\tK562\tp.bed"], "tracks.tsv:2: bad track name '../x'"),
        ([".\tTF\tK562\tp.bed"], "tracks.tsv:2: bad track name '.'"),
    ],
    ids=["duplicate", "path", "dot"],
)
def test_bad_track_names_fail_before_any_job(tmp_path, rows, message):
    workdir = make_workdir(tmp_path)
    sheet = "\n".join(["name\tassay\tcell_type\tpath", *rows]) + "\n"
    (workdir / "config" / "tracks.tsv").write_text(sheet)
    result = snakemake(workdir, "-n", *TARGETS, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr  # Snakemake prints parse errors to stdout
    assert [line for line in output.splitlines() if message in line]
    assert not (workdir / "results").exists()
