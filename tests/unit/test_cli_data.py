"""Data-stage CLI: one-line errors, exit status 1, earlier outputs untouched, no temporaries."""

import gzip
import logging

import h5py
from seq2chrom.cli import main
from seq2chrom.data.labels import load_labels


def run(*args) -> int:
    return main([str(arg) for arg in args])


def build(tmp_path):
    (tmp_path / "genome.fa.gz").write_bytes(gzip.compress(b">chr1\n" + b"ACGT" * 1000 + b"\n"))
    genome = tmp_path / "g" / "genome.fa"
    assert run("genome", "--input", tmp_path / "genome.fa.gz", "--out", genome) == 0
    assert (tmp_path / "g" / "genome.fa.fai").is_file()
    assert sorted(p.name for p in genome.parent.iterdir()) == ["genome.fa", "genome.fa.fai"]
    tile = ["tile", "--genome", genome, "--size", 200, "--window", 1000]
    assert run(*tile, "--blacklist=", "--out", tmp_path / "bins.h5") == 0  # as the rule calls it
    assert run(*tile, "--out", tmp_path / "bins.h5") == 0
    return tile


def label(tmp_path, peaks):
    output = tmp_path / "out" / "t.npy"
    return run("label", "--bins", tmp_path / "bins.h5", "--peaks", peaks, "--min-overlap", 0.5,
               "--out", output)  # fmt: skip


def test_label_error_is_one_line_and_keeps_earlier_output(tmp_path, capsys):
    build(tmp_path)
    good = tmp_path / "good.bed"
    good.write_text("chr1\t400\t700\n")
    assert label(tmp_path, good) == 0
    before = (tmp_path / "out" / "t.npy").read_bytes()
    assert load_labels(tmp_path / "out" / "t.npy", 16)[:3].tolist() == [True, False, False]

    bad = tmp_path / "bad.bed"
    bad.write_text("track name=bad\nchr1\t400\t700\nchr1\t900\t800\n")
    capsys.readouterr()
    assert label(tmp_path, bad) == 1
    error = capsys.readouterr().err.strip()
    assert error == (
        f"seq2chrom label: error: {bad}:3: start 900 > end 800 (fix: swap or correct the columns)"
    )
    assert (tmp_path / "out" / "t.npy").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t.npy"]


def test_missing_peak_file_and_genome(tmp_path, capsys):
    build(tmp_path)
    capsys.readouterr()
    assert label(tmp_path, tmp_path / "absent.bed") == 1
    assert "absent.bed: file not found" in capsys.readouterr().err
    output = tmp_path / "x" / "genome.fa"
    assert run("genome", "--input", tmp_path / "no.fa", "--out", output) == 1
    assert "no.fa: genome FASTA not found" in capsys.readouterr().err
    assert not list((tmp_path / "x").iterdir())


def test_blacklist_on_other_contigs_is_ignored_with_a_warning(tmp_path, caplog):
    tile = build(tmp_path)
    blacklist = tmp_path / "blacklist.bed"
    blacklist.write_text("chr1\t1000\t1001\nchrUn_x\t1\t5\n")
    with caplog.at_level(logging.WARNING):
        assert run(*tile, "--blacklist", blacklist, "--out", tmp_path / "bins2.h5") == 0
    assert "chrUn_x" in caplog.text
    with h5py.File(tmp_path / "bins2.h5") as h5:
        assert 1000 not in h5["start"][:] and 800 in h5["start"][:]
