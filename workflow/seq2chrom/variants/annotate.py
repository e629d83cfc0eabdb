"""The input VCF annotated with each variant's strongest effects: ``{vcf}.vcf.gz``, bgzipped and
tabix-indexed (``.tbi``, by htslib through pysam), so that bcftools, IGV and the UCSC browser
read it and a region can be fetched without reading the file.

Each record keeps CHROM POS ID REF ALT QUAL FILTER and its INFO; sample columns are dropped
(sites only: a million-sample-column VCF copied would dwarf the scores). Added INFO fields, one
value per ALT allele (``.`` for an allele not scored):

- ``S2C_TRACK``: the track with the largest \\|diff\\| (alt - ref probability);
- ``S2C_DIFF``: that diff (signed);
- ``S2C_TOP``: the `score.STRONGEST` (3) tracks with the largest \\|diff\\|, strongest first, as
  ``track:diff`` joined by ``|``;
- ``S2C_EVALUE`` (with a background): the smallest e-value over the tracks;
- ``S2C_SKIP``: why an allele was not scored (``symbolic_allele``,
  ``REF_does_not_match_the_genome``, ...), ``.`` for the scored ones.

Earlier ``S2C_`` fields of the input are replaced. Records stay in VCF order; a VCF that is not
sorted (a chromosome's records apart, or positions going back) is sorted (chromosomes in order of
appearance, then position) in memory, with a warning, since tabix needs sorted records.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from seq2chrom.io import open_text
from seq2chrom.variants.score import STRONGEST
from seq2chrom.variants.store import Scores
from seq2chrom.variants.tables import read_skipped

log = logging.getLogger("seq2chrom.variants")

PREFIX = "S2C_"
_HEADER = {
    "S2C_TRACK": ("String", "seq2chrom: track with the largest |alt - ref| probability"),
    "S2C_DIFF": ("Float", "seq2chrom: alt - ref probability on S2C_TRACK"),
    "S2C_TOP": (
        "String",
        f"seq2chrom: the {STRONGEST} tracks with the largest "
        "|alt - ref|, strongest first, as track:diff joined by |",
    ),
    "S2C_EVALUE": (
        "Float",
        "seq2chrom: smallest e-value over the tracks (fraction of "
        "background variants with a larger |alt - ref| on the track)",
    ),
    "S2C_SKIP": ("String", "seq2chrom: why the allele was not scored (. when scored)"),
}
_RESERVED = re.compile(r"[%:;=,|\s]")
_TOP_RESERVED = re.compile(r"[%;=,\s]")  # S2C_TOP keeps its own separators, : and |
_COLUMNS8 = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


class _Unsorted(Exception):
    """The VCF is not sorted: write it again, sorted."""


def _percent(match: re.Match) -> str:
    return f"%{ord(match.group()):02X}"


def _encode(text: str) -> str:
    """`text` with the characters INFO values reserve percent-encoded (VCF 4.3)."""
    return _RESERVED.sub(_percent, text)


def _number(value: float) -> str:
    return "." if np.isnan(value) else f"{value:.6g}"


def _allele_values(scores: Scores) -> Iterator[tuple[int, str, dict[str, str]]]:
    """(line, ALT, INFO values) of each scored variant, in order; the variant table only."""
    has_evalue = "min_evalue" in scores.columns
    columns = ["line", "alt", "top_track", "top_diff", "strongest"]
    for start, stop in scores.blocks(4096):
        table = scores.table(start, stop, columns + ["min_evalue"] * has_evalue)
        evalue = table["min_evalue"] if has_evalue else [None] * len(table)
        for line, alt, track, diff, strongest, low in zip(
            *(table[c] for c in columns), evalue, strict=True
        ):
            values = {"S2C_TRACK": _encode(track), "S2C_DIFF": _number(diff),
                      "S2C_TOP": _TOP_RESERVED.sub(_percent, strongest)}  # fmt: skip
            if has_evalue:
                values["S2C_EVALUE"] = _number(low)
            yield int(line), alt, values


def _skipped_alleles(path: Path) -> Iterator[tuple[int, str, str]]:
    for chunk in read_skipped(path):
        for line, alt, reason in zip(chunk["line"], chunk["alt"], chunk["reason"], strict=True):
            yield int(line), alt, reason.replace(" ", "_")


def _by_line(items: Iterator[tuple]) -> Iterator[tuple[int, dict]]:
    """Consecutive items of one line grouped: (line, {allele: value})."""
    line, group = None, {}
    for number, allele, value in items:
        if number != line and line is not None:
            yield line, group
            group = {}
        line = number
        group[allele] = value
    if line is not None:
        yield line, group


def _info(info: str, alleles: list[str], scored: dict, skipped: dict, fields: list[str]) -> str:
    """INFO with the S2C_ fields of `alleles` (earlier S2C_ fields dropped)."""
    kept = [f for f in info.split(";") if f and f != "." and not f.startswith(PREFIX)]
    found = [scored.get(a.upper()) for a in alleles]
    if any(found):
        for key in fields:
            kept.append(f"{key}=" + ",".join(v[key] if v else "." for v in found))
    reasons = [skipped.get(a, skipped.get(a.upper())) for a in alleles]
    if any(reasons):
        kept.append("S2C_SKIP=" + ",".join(_encode(r) if r else "." for r in reasons))
    return ";".join(kept) or "."


def header_lines(lines: list[str], scores: Scores, fields: list[str]) -> list[str]:
    """The input's meta lines (## lines, its S2C_ INFO definitions dropped) with ours added."""
    meta = [line for line in lines if not line.startswith(f"##INFO=<ID={PREFIX}")]
    if not meta or not meta[0].startswith("##fileformat="):
        meta.insert(0, "##fileformat=VCFv4.2")
    declared = {m.group(1) for line in meta if (m := re.match(r"##contig=<ID=([^,>]+)", line))}
    for name, length in zip(
        scores.attrs.get("contigs", []), scores.attrs.get("contig_lengths", []), strict=True
    ):
        if str(name) not in declared:
            meta.append(f"##contig=<ID={name},length={int(length)}>")
    for key in [*fields, "S2C_SKIP"]:
        kind, text = _HEADER[key]
        meta.append(f'##INFO=<ID={key},Number=A,Type={kind},Description="{text}">')
    for key in ("model", "background"):
        if scores.attrs.get(key):
            meta.append(f"##seq2chrom_{key}={scores.attrs[key]}")
    return [*meta, _COLUMNS8]


def _lines(vcf: Path) -> Iterator[tuple[int, str]]:
    """(number, line without its end) of every line of `vcf`."""
    with open_text(vcf) as handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.rstrip("\r\n")


def _records(vcf: Path, scores: Scores, skipped_path: Path, sort_check: bool):
    """(meta lines, iterator of (chrom, pos, text line)) of the annotated VCF."""
    fields = ["S2C_TRACK", "S2C_DIFF", "S2C_TOP"] + (["S2C_EVALUE"] if scores.has_evalue else [])
    lines = _lines(vcf)
    meta: list[str] = []
    first: list[tuple[int, str]] = []
    for number, line in lines:
        if line.startswith("##"):
            meta.append(line)
            continue
        if not line.startswith("#"):  # no #CHROM line: this is the first record
            first.append((number, line))
        break
    return header_lines(meta, scores, fields), _body(
        itertools.chain(first, lines), scores, skipped_path, fields, sort_check
    )


def _body(lines, scores: Scores, skipped_path: Path, fields: list[str], sort_check: bool):
    scored = _by_line(_allele_values(scores))
    skipped = _by_line(_skipped_alleles(skipped_path))
    next_scored, next_skipped = next(scored, (None, {})), next(skipped, (None, {}))
    seen, last = set(), ("", -1)
    for number, line in lines:
        if not line or line.startswith("#"):
            continue
        cols = (line.split("\t") + ["."] * 3)[:8]
        chrom, pos = cols[0], int(cols[1])
        if sort_check:
            if (chrom != last[0] and chrom in seen) or (chrom == last[0] and pos < last[1]):
                raise _Unsorted(f"line {number}: {chrom}:{pos} after {last[0]}:{last[1]}")
            seen.add(chrom)
            last = (chrom, pos)
        here, there = {}, {}
        if next_scored[0] == number:
            here, next_scored = next_scored[1], next(scored, (None, {}))
        if next_skipped[0] == number:
            there, next_skipped = next_skipped[1], next(skipped, (None, {}))
        cols[7] = _info(cols[7], cols[4].split(","), here, there, fields)
        yield chrom, pos, "\t".join(cols)


def _write_bgzip(path: Path, meta: list[str], lines: Iterator[str]) -> None:
    """Write the lines to a BGZF file, about 64 kB per call."""
    from pysam.libcbgzf import BGZFile

    with BGZFile(str(path), "wb") as handle:
        buffer = ["\n".join(meta) + "\n"]
        size = 0
        for line in lines:
            buffer.append(line + "\n")
            size += len(line) + 1
            if size >= 1 << 16:
                handle.write("".join(buffer).encode())
                buffer, size = [], 0
        handle.write("".join(buffer).encode())


def write_annotated_vcf(vcf: Path, scores: Scores, skipped: Path, out: Path, index: Path) -> None:
    """Write `out` (bgzip VCF: `vcf`'s records with the S2C_ INFO fields) and its tabix
    `index`; `skipped` is the VCF's ``.skipped.tsv``."""
    import pysam

    try:
        meta, records = _records(vcf, scores, skipped, sort_check=True)
        _write_bgzip(out, meta, (line for _, _, line in records))
    except _Unsorted as why:
        log.warning(
            "%s is not sorted (%s): the annotated VCF was sorted in memory; sort large "
            "VCFs beforehand (bcftools sort) to keep memory bounded",
            vcf,
            why,
        )
        meta, records = _records(vcf, scores, skipped, sort_check=False)
        rows = list(records)
        rank = {name: k for k, name in enumerate(dict.fromkeys(chrom for chrom, _, _ in rows))}
        rows.sort(key=lambda row: (rank[row[0]], row[1]))  # stable: VCF order within a position
        _write_bgzip(out, meta, (line for _, _, line in rows))
    pysam.tabix_index(str(out), preset="vcf", force=True, index=str(index))
