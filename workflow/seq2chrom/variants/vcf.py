"""Variants from a VCF: plain, gzip or bgzip; multi-allelic records split; chromosome names
matched to the genome; records that cannot be scored set aside with a reason.

Only the first five columns are read (CHROM POS ID REF ALT); sample columns are ignored. A
record whose ALT is symbolic (``<DEL>``, breakends, ``*``, ``.``), whose REF differs from the
genome, or that lies past the end of its chromosome is not an error: it is returned among the
skipped records with the reason, so one odd line does not stop a large VCF. A line that is not
VCF at all (too few columns, a POS that is not a positive integer, REF or ALT with characters
other than bases) stops with an InputError naming the file, the line and the fix. An empty
file (0 bytes, or a gzip stream of no text) reads as no records, with a warning: it is usually a
failed download, not a VCF that happens to hold no variants (that one still has its header).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import open_text

log = logging.getLogger(__name__)

COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt"]
SKIPPED_COLUMNS = [*COLUMNS, "line", "reason"]
SYMBOLIC = "symbolic allele"
REF_MISMATCH = "REF does not match the genome"
PAST_END = "past the end of the chromosome"
NO_CHROMOSOME = "chromosome not in the genome"
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_FIX = "give a tab-separated VCF (CHROM POS ID REF ALT ...), e.g. from `bcftools view`"


@dataclass
class VcfRecords:
    """Biallelic records of a VCF and the ones set aside.

    variants: DataFrame with `COLUMNS` + ``line`` (1-based line in the file); ``pos`` is the
    VCF's 1-based position, ``ref``/``alt`` upper case; one row per ALT allele.
    skipped: DataFrame with `SKIPPED_COLUMNS`.
    """

    variants: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))


def _records(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 5:
            raise InputError(
                path,
                f"{len(fields)} tab-separated column(s), a VCF record needs at least 5 "
                "(CHROM POS ID REF ALT)",
                line=number,
                fix=_FIX,
            )
        yield number, fields


def variant_id(vcf_id: str, chrom: str, pos: int, ref: str, alt: str) -> str:
    """The VCF's ID, or ``chrom:pos:ref:alt`` when the ID is missing (``.``)."""
    return f"{chrom}:{pos}:{ref}:{alt}" if vcf_id in ("", ".") else vcf_id


def is_symbolic(allele: str) -> bool:
    """True for ALT alleles that are not bases: ``<ID>``, breakends, ``*`` and ``.``."""
    return allele in ("*", ".") or allele.startswith("<") or "[" in allele or "]" in allele


def _warn_if_empty(path: Path) -> None:
    """Log a warning for a file with no text at all: no header line, so not a VCF."""
    if path.stat().st_size == 0:
        log.warning("%s: empty file (0 bytes, no VCF header); usually a failed download", path)
        return
    with open_text(path) as handle:
        if not handle.read(1):
            log.warning(
                "%s: compressed file holds no text (no VCF header); usually a failed download",
                path,
            )


def read_vcf(path: str | Path) -> VcfRecords:
    """Read CHROM, POS, ID, REF, ALT of every record; split multi-allelic records.

    Symbolic ALT alleles go to ``skipped``; malformed lines raise InputError; an empty file
    (no header, no records) is logged as a warning and reads as no records.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "VCF not found", fix="check the path")
    rows: list[tuple] = []
    skipped: list[tuple] = []
    try:
        _warn_if_empty(path)
        with open_text(path) as handle:
            for number, fields in _records(path, handle):
                chrom, pos_text, vcf_id, ref, alt_text = (f.strip() for f in fields[:5])
                if not pos_text.isdigit() or int(pos_text) < 1:
                    raise InputError(
                        path,
                        f"POS {pos_text!r} is not a positive integer",
                        line=number,
                        fix="POS is the 1-based position (column 2)",
                    )
                if not _BASES.match(ref):
                    raise InputError(
                        path,
                        f"REF {ref!r} is not a base sequence (A, C, G, T, N)",
                        line=number,
                        fix="REF is column 4, the reference bases",
                    )
                pos, ref = int(pos_text), ref.upper()
                for alt in alt_text.split(","):
                    if is_symbolic(alt):
                        key = variant_id(vcf_id, chrom, pos, ref, alt)
                        skipped.append((key, chrom, pos, ref, alt, number, SYMBOLIC))
                    elif _BASES.match(alt):
                        alt = alt.upper()
                        key = variant_id(vcf_id, chrom, pos, ref, alt)
                        rows.append((key, chrom, pos, ref, alt, number))
                    else:
                        raise InputError(
                            path,
                            f"ALT {alt_text!r} is not a list of base sequences or symbolic alleles",
                            line=number,
                            fix="ALT is column 5, comma-separated alleles",
                        )
    except (OSError, EOFError, UnicodeError) as error:
        raise InputError(path, f"cannot read: {error}", fix="re-download or recompress") from None
    variants = pd.DataFrame(rows, columns=[*COLUMNS, "line"])
    variants["pos"] = variants["pos"].astype(np.int64)
    return VcfRecords(variants, pd.DataFrame(skipped, columns=SKIPPED_COLUMNS))


def reference_mismatch(sequence: np.ndarray, pos0: np.ndarray, refs: Iterable[str]) -> np.ndarray:
    """Which variants' REF differs from the genome (case-insensitive; N matches only N).

    sequence: (L,) uint8 ASCII of one chromosome; pos0: (n,) 0-based starts inside it.
    Returns (n,) bool.
    """
    upper = np.asarray(sequence, np.uint8)
    mismatch = np.zeros(len(pos0), dtype=bool)
    for i, (start, ref) in enumerate(zip(np.asarray(pos0), refs, strict=True)):
        genome = upper[start : start + len(ref)].tobytes().decode("ascii", errors="replace")
        mismatch[i] = genome.upper() != ref
    return mismatch


def split_placeable(
    variants: pd.DataFrame, sizes: Mapping[str, int], chrom_map: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside variants on unknown chromosomes or past a chromosome's end.

    Adds column ``genome_chrom`` (the genome's name). Returns (kept, skipped) with the reasons.
    """
    variants = variants.assign(genome_chrom=variants["chrom"].map(chrom_map))
    unknown = variants["genome_chrom"].isna().to_numpy()
    length = variants["genome_chrom"].map(sizes).fillna(0).to_numpy(np.int64)
    end = variants["pos"].to_numpy(np.int64) - 1 + variants["ref"].str.len().to_numpy()
    past = ~unknown & (end > length)
    reason = np.where(unknown, NO_CHROMOSOME, PAST_END)
    out = unknown | past
    skipped = variants[out].assign(reason=reason[out])[SKIPPED_COLUMNS]
    return variants[~out].reset_index(drop=True), skipped.reset_index(drop=True)
