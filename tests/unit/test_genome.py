"""Genome reading: plain, gzip and bgzip FASTA give the same indexed plain FASTA."""

import numpy as np
import pytest
from seq2chrom.data.genome import (
    chromosome_sizes,
    compression,
    open_genome,
    prepare_genome,
    read_chromosome,
)
from seq2chrom.errors import InputError

from tests.conftest import write_compressed

SEQUENCES = {
    "chr1": "ACGTNacgtn" * 13 + "RY",
    "chr2": "GGGcccAAA",
    "chrE": "ACGT" * 30,  # exactly two full lines
    "chrM": "T" * 61,
}
FASTA = "".join(
    f">{name} description\n" + "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    for name, seq in SEQUENCES.items()
)


def write(path, kind):
    return write_compressed(path, FASTA.encode(), kind)


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzip"])
def test_prepare_genome_reads_every_compression(tmp_path, kind):
    source = write(tmp_path / f"genome.{kind}", kind)
    assert compression(source) == kind
    output = tmp_path / "out" / "genome.fa"
    output.parent.mkdir()
    prepare_genome(source, output)
    assert output.read_text() == FASTA
    assert (tmp_path / "out" / "genome.fa.fai").is_file()
    fasta = open_genome(output)
    assert chromosome_sizes(fasta) == {name: len(seq) for name, seq in SEQUENCES.items()}
    for name, seq in SEQUENCES.items():
        assert read_chromosome(fasta, name).tobytes() == seq.encode()  # case and IUPAC kept


def test_open_genome_reads_bgzip_directly(tmp_path):
    fasta = open_genome(write(tmp_path / "genome.fa.gz", "bgzip"))
    assert read_chromosome(fasta, "chr2").tobytes() == b"GGGcccAAA"


def test_open_genome_rejects_plain_gzip_with_fix(tmp_path):
    with pytest.raises(InputError, match="plain gzip.*fix: .*bgzip"):
        open_genome(write(tmp_path / "genome.fa.gz", "gzip"))


def test_crlf_fasta_is_read(tmp_path):
    source = tmp_path / "crlf.fa"
    source.write_bytes(FASTA.replace("\n", "\r\n").encode())
    prepare_genome(source, tmp_path / "genome.fa")
    fasta = open_genome(tmp_path / "genome.fa")
    assert read_chromosome(fasta, "chr1").tobytes() == SEQUENCES["chr1"].encode()


@pytest.mark.parametrize(
    "text, message",
    [
        ("ACGT\n", "not a FASTA"),
        (">a\nACGT\nAC\nACGT\n", "cannot index"),
        (">a\nACGT\n>a\nACGT\n", "Duplicate key.*unique name"),
    ],
    ids=["no-header", "ragged-lines", "duplicate-name"],
)
def test_bad_fasta_is_one_line_input_error(tmp_path, text, message):
    source = tmp_path / "bad.fa"
    source.write_text(text)
    (tmp_path / "genome.fa.fai").write_text("stale\t1\t3\t1\t2\n")  # never reused
    with pytest.raises(InputError, match=message) as error:
        prepare_genome(source, tmp_path / "genome.fa")
    assert str(source) in str(error.value) and "\n" not in str(error.value)


def test_missing_genome(tmp_path):
    with pytest.raises(InputError, match="not found"):
        prepare_genome(tmp_path / "absent.fa", tmp_path / "genome.fa")


def test_empty_sequence_reads_as_empty(tmp_path):
    (tmp_path / "g.fa").write_text(">empty\n>x\nAC\n")
    fasta = open_genome(tmp_path / "g.fa")
    assert read_chromosome(fasta, "x").tobytes() == b"AC"
    assert np.asarray(read_chromosome(fasta, "empty")).shape == (0,)


def test_last_sequence_without_final_newline(tmp_path):
    (tmp_path / "g.fa").write_text(">a\nACGTA\nCC\n>b\nAAAAA\nGG")
    fasta = open_genome(tmp_path / "g.fa")
    assert read_chromosome(fasta, "a").tobytes() == b"ACGTACC"
    assert read_chromosome(fasta, "b").tobytes() == b"AAAAAGG"
