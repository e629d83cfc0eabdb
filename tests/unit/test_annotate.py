"""The annotated VCF: bgzipped and tabix-indexed, read back (and a region fetched) with pysam,
one INFO value per ALT allele, sorted when the input was not."""

from __future__ import annotations

import logging

import numpy as np
import pysam
from seq2chrom.variants.annotate import write_annotated_vcf
from seq2chrom.variants.score import strongest_text
from seq2chrom.variants.store import ScoresWriter, contig_attrs, open_scores

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=1000>\n"
    '##INFO=<ID=S2C_TRACK,Number=1,Type=String,Description="an older run">\n'
    '##INFO=<ID=AF,Number=A,Type=Float,Description="allele frequency">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
)
TRACKS = ["CTCF", "GATA1", "DNase", "H3K4me3"]


def scores_file(path, variants, diffs, evalue=None):
    """A scores file of `variants` (variant_id, chrom, pos, ref, alt, line) whose diffs are
    `diffs` (n, 4) on a reference of 0.5."""
    diffs = np.asarray(diffs, np.float32)
    ref = np.full(diffs.shape, 0.5, np.float32)
    n = len(variants)
    names = ["variant_id", "chrom", "pos", "ref", "alt", "line"]
    table = {key: np.array([v[k] for v in variants], dtype=object) for k, key in enumerate(names)}
    table["pos"] = table["pos"].astype(np.int64)
    table["line"] = table["line"].astype(np.int64)
    top = np.abs(diffs).argmax(axis=1)
    table["top_track"] = np.array(TRACKS, dtype=object)[top]
    table["top_diff"] = diffs[np.arange(n), top]
    table["strongest"] = strongest_text(diffs, TRACKS)
    columns = {k: (object if v.dtype == object else v.dtype) for k, v in table.items()}
    matrices = {"ref_prob": ref, "alt_prob": ref + diffs}
    if evalue is not None:
        columns["min_evalue"] = np.float32
        table["min_evalue"] = np.asarray(evalue, np.float32).min(axis=1)
        matrices["evalue"] = np.asarray(evalue, np.float32)
    attrs = {"model": "m/model.keras", "background": ""}
    with ScoresWriter(path, TRACKS, columns, list(matrices), attrs) as writer:
        writer.append(table, matrices)
        writer.set_attrs(**contig_attrs({"chr1": 1000, "chr2": 500}))
    return open_scores(path)


def write_vcf(path, body: str):
    path.write_text(HEADER + body)
    return path


SKIPPED = (
    "variant_id\tchrom\tpos\tref\talt\tline\treason\n"
    "chr1:10:A:<DEL>\tchr1\t10\tA\t<DEL>\t6\tsymbolic allele\n"
    "bad\tchr1\t20\tC\tT\t7\tREF does not match the genome\n"
)


def annotated(tmp_path, body, variants, diffs, evalue=None):
    vcf = write_vcf(tmp_path / "in.vcf", body)
    (tmp_path / "s.skipped.tsv").write_text(SKIPPED)
    out = tmp_path / "out.vcf.gz"
    with scores_file(tmp_path / "s.h5", variants, diffs, evalue) as scores:
        write_annotated_vcf(vcf, scores, tmp_path / "s.skipped.tsv", out, tmp_path / "out.tbi")
    return pysam.VariantFile(str(out), index_filename=str(tmp_path / "out.tbi"))


BODY = (
    "chr1\t10\trs1\tA\tG,<DEL>,T\t50\tPASS\tAF=0.1,0.2,0.3;S2C_TRACK=old\tGT\t0/1\n"
    "chr1\t20\tbad\tC\tT\t.\t.\t.\tGT\t0/0\n"
    "chr2\t5\trs3\tG\tGA\t.\t.\t.\tGT\t1/1\n"
)
VARIANTS = [("rs1", "chr1", 10, "A", "G", 6), ("rs1", "chr1", 10, "A", "T", 6),
            ("rs3", "chr2", 5, "G", "GA", 8)]  # fmt: skip
DIFFS = [[0.1, -0.4, 0.0, 0.2], [0.0, 0.0, 0.05, 0.0], [-0.3, 0.0, 0.0, 0.0]]


def test_info_fields_per_allele_read_back_with_pysam(tmp_path):
    evalue = [[0.5, 0.01, 1, 0.2], [1, 1, 0.3, 1], [0.02, 1, 1, 1]]
    with annotated(tmp_path, BODY, VARIANTS, DIFFS, evalue) as vcf:
        assert list(vcf.header.samples) == []  # sites only
        assert {"chr1", "chr2"} <= set(vcf.header.contigs)
        assert vcf.header.info["S2C_TRACK"].number == "A"
        records = list(vcf)
        assert [(r.chrom, r.pos, r.id) for r in records] == [
            ("chr1", 10, "rs1"), ("chr1", 20, "bad"), ("chr2", 5, "rs3"),
        ]  # fmt: skip
        first, second, third = records
        assert first.info["S2C_TRACK"] == (
            "GATA1",
            ".",
            "DNase",
        )  # htslib: "." for a missing string
        np.testing.assert_allclose(first.info["S2C_DIFF"][0], -0.4, rtol=1e-6)
        assert first.info["S2C_DIFF"][1] is None
        assert first.info["S2C_TOP"][0] == "GATA1:-0.4|H3K4me3:0.2|CTCF:0.1"
        assert first.info["S2C_SKIP"] == (".", "symbolic_allele", ".")
        np.testing.assert_allclose(first.info["S2C_EVALUE"][0], 0.01, rtol=1e-6)
        np.testing.assert_allclose(first.info["AF"], (0.1, 0.2, 0.3), rtol=1e-6)  # kept
        assert first.qual == 50 and list(first.filter) == ["PASS"]
        assert "S2C_TRACK" not in second.info and second.info["S2C_SKIP"] == (
            "REF_does_not_match_the_genome",
        )
        assert third.info["S2C_TRACK"] == ("CTCF",)
        fetched = [(r.chrom, r.pos) for r in vcf.fetch("chr1", 15, 30)]  # through the index
        assert fetched == [("chr1", 20)]
        assert [r.id for r in vcf.fetch("chr2")] == ["rs3"]


def test_an_unsorted_vcf_is_sorted_with_a_warning(tmp_path, caplog):
    body = BODY.splitlines(keepends=True)
    unsorted = body[2] + body[1] + body[0]  # chr2 first, then chr1 going backwards
    variants = [VARIANTS[2], *VARIANTS[:2]]
    lines = {"rs3": 6, "rs1": 8}
    variants = [(*v[:5], lines[v[0]]) for v in variants]
    (tmp_path / "s.skipped.tsv").write_text(SKIPPED.replace("\t6\t", "\t8\t"))
    with caplog.at_level(logging.WARNING), annotated(tmp_path, unsorted, variants,
                                                     [DIFFS[2], *DIFFS[:2]]) as vcf:  # fmt: skip
        assert [(r.chrom, r.pos) for r in vcf] == [("chr2", 5), ("chr1", 10), ("chr1", 20)]
        assert [r.pos for r in vcf.fetch("chr1")] == [10, 20]
    assert any("is not sorted (line 8: chr1:10 after chr1:20)" in m for m in caplog.messages)
