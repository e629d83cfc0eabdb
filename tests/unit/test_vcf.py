"""VCF reading: every malformed line stops with file and line; odd records are set aside."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from seq2chrom.data.genome import match_chromosomes
from seq2chrom.errors import InputError
from seq2chrom.variants.vcf import (
    NO_CHROMOSOME,
    PAST_END,
    SYMBOLIC,
    iter_vcf,
    read_vcf,
    reference_mismatch,
    split_placeable,
    split_vcf,
)

from tests.conftest import write_compressed

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def vcf(tmp_path, body: str, kind: str = "plain", name: str = "in.vcf"):
    return write_compressed(tmp_path / name, (HEADER + body).encode(), kind)


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzip"])
def test_reads_plain_gzip_and_bgzip_alike(tmp_path, kind):
    path = vcf(tmp_path, "chr1\t5\trs1\tA\tG\t.\t.\t.\nchr1\t9\t.\tc\tt\t.\t.\t.\n", kind)
    variants = read_vcf(path).variants
    assert variants["variant_id"].tolist() == ["rs1", "chr1:9:C:T"]
    assert variants["pos"].tolist() == [5, 9]
    assert variants["ref"].tolist() == ["A", "C"] and variants["alt"].tolist() == ["G", "T"]
    assert variants["line"].tolist() == [3, 4]


def test_multi_allelic_records_are_split_and_symbolic_alleles_skipped(tmp_path):
    body = "chr1\t5\t.\tA\tG,T,<DEL>\t.\t.\t.\nchr1\t7\tsv1\tC\t<INS>\t.\t.\t.\n"
    records = read_vcf(vcf(tmp_path, body))
    assert records.variants["variant_id"].tolist() == ["chr1:5:A:G", "chr1:5:A:T"]
    assert records.skipped["alt"].tolist() == ["<DEL>", "<INS>"]
    assert records.skipped["variant_id"].tolist() == ["chr1:5:A:<DEL>", "sv1"]
    assert set(records.skipped["reason"]) == {SYMBOLIC}


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t5\t.\tA\n", "4 tab-separated column"),
        ("chr1 5 . A G\n", "1 tab-separated column"),
        ("chr1\tfive\t.\tA\tG\n", "POS 'five'"),
        ("chr1\t0\t.\tA\tG\n", "POS '0'"),
        ("chr1\t5\t.\tA-\tG\n", "REF 'A-'"),
        ("chr1\t5\t.\tA\tG,X1\n", "ALT 'G,X1'"),
    ],
)
def test_malformed_lines_stop_naming_file_and_line(tmp_path, line, message):
    path = vcf(tmp_path, "chr1\t2\t.\tA\tC\n" + line)
    with pytest.raises(InputError) as caught:
        read_vcf(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:4: ") and message in text and "(fix: " in text


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="VCF not found"):
        read_vcf(tmp_path / "none.vcf")


@pytest.mark.parametrize(
    "kind, said",
    [
        ("plain", "empty file (0 bytes, no VCF header); usually a failed download"),
        ("gzip", "compressed file holds no text (no VCF header); usually a failed download"),
        ("bgzip", "compressed file holds no text (no VCF header); usually a failed download"),
    ],
)
def test_an_empty_file_reads_as_no_records_with_a_warning(tmp_path, caplog, kind, said):
    path = write_compressed(tmp_path / "empty.vcf", b"", kind)
    with caplog.at_level(logging.WARNING, logger="seq2chrom"):
        records = read_vcf(path)
    assert records.variants.empty and records.skipped.empty
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("seq2chrom.variants.vcf", logging.WARNING, f"{path}: {said}")
    ]


def test_a_header_without_records_reads_as_no_records_without_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="seq2chrom"):
        assert read_vcf(vcf(tmp_path, "")).variants.empty
    assert caplog.records == []


def test_chromosome_names_match_across_naming_schemes():
    mapping, renamed = match_chromosomes(["1", "chr2", "MT", "X", "GL000"], ["chr1", "2", "chrM"])
    assert mapping == {"1": "chr1", "chr2": "2", "MT": "chrM"}
    assert renamed == [("1", "chr1"), ("chr2", "2"), ("MT", "chrM")]


def test_variants_past_the_end_or_on_unknown_chromosomes_are_set_aside():
    variants = pd.DataFrame(
        {
            "variant_id": ["a", "b", "c", "d"],
            "chrom": ["1", "1", "1", "7"],
            "pos": [10, 11, 9, 1],
            "ref": ["A", "A", "AC", "A"],
            "alt": ["G", "G", "A", "G"],
            "line": [1, 2, 3, 4],
        }
    )
    kept, skipped = split_placeable(variants, {"chr1": 10}, {"1": "chr1"})
    assert kept["variant_id"].tolist() == ["a", "c"]  # c's REF ends on the last base
    assert kept["genome_chrom"].tolist() == ["chr1", "chr1"]
    assert skipped["variant_id"].tolist() == ["b", "d"]
    assert skipped["reason"].tolist() == [PAST_END, NO_CHROMOSOME]


def test_reference_mismatch_ignores_case_but_not_n():
    sequence = np.frombuffer(b"acgtNA", np.uint8)
    got = reference_mismatch(sequence, np.array([0, 1, 4, 4, 2]), ["A", "CG", "N", "A", "GG"])
    assert got.tolist() == [False, False, False, True, True]


BODY = (
    "chr1\t5\trs1\tA\tG,<DEL>\t.\t.\t.\tGT\t0/1\n"
    "chr1\t9\t.\tC\tT\n"
    "\n"  # a blank line and a comment inside the records still count as lines
    "#a comment\n"
    "chr1\t12\t.\tC\tT,A\n"
    "chr2\t1\tsv\tC\t<INS>\n"
    "chr2\t3\t.\tG\tC\n"
)


@pytest.mark.parametrize("chunk_size", [1, 2, 100])
def test_chunks_hold_the_records_of_the_whole_file(tmp_path, chunk_size):
    path = vcf(tmp_path, BODY, "gzip")
    whole = read_vcf(path)
    chunks = list(iter_vcf(path, chunk_size))
    assert [c.records for c in chunks][:-1] == [chunk_size] * (len(chunks) - 1)
    assert sum(c.records for c in chunks) == whole.records == 5
    joined = pd.concat([c.variants for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole.variants)
    assert whole.variants["line"].tolist() == [3, 4, 7, 7, 9]
    assert [c.skipped["line"].tolist() for c in chunks if len(c.skipped)] == (
        [[3], [8]] if chunk_size < 100 else [[3, 8]]
    )


@pytest.mark.parametrize("shard_size", [1, 2, 3, 10])
def test_shards_read_back_as_the_vcf_with_its_line_numbers(tmp_path, shard_size):
    path = vcf(tmp_path, BODY, "bgzip")
    shards = split_vcf(path, shard_size, tmp_path / "shards")
    assert [p.name for p in shards] == [f"{k:05d}.vcf.gz" for k in range(-(-5 // shard_size))]
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [p.name for p in shards]
    parts = [read_vcf(p) for p in shards]
    assert [p.records for p in parts] == [min(shard_size, 5 - k * shard_size)
                                          for k in range(len(shards))]  # fmt: skip
    whole = read_vcf(path)
    joined = pd.concat([p.variants for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole.variants)
    skipped = pd.concat([p.skipped for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(skipped, whole.skipped)


def test_a_vcf_without_records_gives_one_empty_shard(tmp_path):
    (shard,) = split_vcf(vcf(tmp_path, ""), 10, tmp_path / "shards")
    records = read_vcf(shard)
    assert records.records == 0 and records.variants.empty


def test_a_malformed_line_stops_the_split_naming_the_vcf(tmp_path):
    path = vcf(tmp_path, BODY + "chr2\tfive\t.\tA\tG\n")
    with pytest.raises(InputError, match=f"^{path}:10: POS 'five'"):
        split_vcf(path, 2, tmp_path / "shards")
    assert not (tmp_path / "shards").exists()
