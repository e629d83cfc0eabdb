"""Variants from a VCF: plain, gzip or bgzip, read in chunks (`iter_vcf`) or cut into shards
(`split_vcf`); multi-allelic records split; chromosome names matched to the genome; records that
cannot be scored set aside with a reason.

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

import io
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
_DTYPES = {"variant_id": object, "chrom": object, "pos": np.int64, "ref": object, "alt": object,
           "line": np.int64, "reason": object}  # fmt: skip
SYMBOLIC = "symbolic allele"
REF_MISMATCH = "REF does not match the genome"
PAST_END = "past the end of the chromosome"
NO_CHROMOSOME = "chromosome not in the genome"
_UPPER = np.frombuffer(bytes(range(256)).upper(), np.uint8)  # byte -> its upper case
_BASES = re.compile(r"^[ACGTNacgtn]+$")
#: Records per chunk of `iter_vcf`: a few MB of table, and while scored about 30 bytes per
#: record and track (4096 x 919 tracks: ~120 MB), however long the VCF.
CHUNK_RECORDS = 4096
#: Header line of a `split_vcf` shard: the line number of its first record in the source VCF.
FIRST_LINE = "##seq2chrom_first_line="
SHARD_HEADER = "CHROM\tPOS\tID\tREF\tALT"
_FIX = "give a tab-separated VCF (CHROM POS ID REF ALT ...), e.g. from `bcftools view`"


@dataclass
class VcfRecords:
    """Biallelic records of a VCF and the ones set aside.

    variants: DataFrame with `COLUMNS` + ``line`` (1-based line in the file); ``pos`` is the
    VCF's 1-based position, ``ref``/``alt`` upper case; one row per ALT allele.
    skipped: DataFrame with `SKIPPED_COLUMNS`; records: the data lines read.
    """

    variants: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))
    records: int = 0


def _fields(path: Path, number: int, line: str) -> list[str] | None:
    """The tab-separated fields of a record line; None for a header, comment or blank line."""
    line = line.rstrip("\r\n")
    if not line or line.startswith("#"):
        return None
    fields = line.split("\t")
    if len(fields) < 5:
        raise InputError(
            path,
            f"{len(fields)} tab-separated column(s), a VCF record needs at least 5 "
            "(CHROM POS ID REF ALT)",
            line=number,
            fix=_FIX,
        )
    return fields


def _records(path: Path, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    for number, line in lines:
        fields = _fields(path, number, line)
        if fields is not None:
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
    (no header, no records) is logged as a warning and reads as no records. The whole file in
    memory: `iter_vcf` reads it in chunks.
    """
    chunks = list(iter_vcf(path))
    return VcfRecords(
        pd.concat([c.variants for c in chunks], ignore_index=True),
        pd.concat([c.skipped for c in chunks], ignore_index=True),
        sum(c.records for c in chunks),
    )


def iter_vcf(path: str | Path, chunk_size: int = CHUNK_RECORDS) -> Iterator[VcfRecords]:
    """`read_vcf` in chunks of up to `chunk_size` records (data lines), in file order; the
    last chunk may be empty. Memory is bounded by the chunk, whatever the file's length.

    A shard written by `split_vcf` reports the line numbers of the VCF it was cut from.
    """
    path = Path(path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not path.is_file():
        raise InputError(path, "VCF not found", fix="check the path")
    rows: list[tuple] = []
    skipped: list[tuple] = []
    records = 0
    try:
        _warn_if_empty(path)
        with open_text(path) as handle:
            for number, fields in _records(path, _numbered(handle)):
                _parse(path, number, fields, rows, skipped)
                records += 1
                if records == chunk_size:
                    yield _chunk(rows, skipped, records)
                    rows, skipped, records = [], [], 0
    except (OSError, EOFError, UnicodeError) as error:
        raise InputError(path, f"cannot read: {error}", fix="re-download or recompress") from None
    yield _chunk(rows, skipped, records)


def _chunk(rows: list[tuple], skipped: list[tuple], records: int) -> VcfRecords:
    """Tables of one chunk; text columns of dtype object, whether the chunk is empty or not."""
    variants = pd.DataFrame(rows, columns=[*COLUMNS, "line"])
    skipped = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)
    return VcfRecords(_typed(variants), _typed(skipped), records)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    return table.astype({column: _DTYPES[column] for column in table.columns})


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, line); a `split_vcf` shard's numbers are those of its source VCF."""
    offset = 0
    for number, line in enumerate(lines, start=1):
        if line.startswith(FIRST_LINE):
            offset = int(line[len(FIRST_LINE) :]) - number - 2  # its #CHROM line comes next
            continue
        yield number + offset, line


def _parse(path: Path, number: int, fields: list[str], rows: list, skipped: list) -> None:
    """One record: its biallelic variants appended to `rows`, symbolic alleles to `skipped`."""
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
            rows.append((variant_id(vcf_id, chrom, pos, ref, alt), chrom, pos, ref, alt, number))
        else:
            raise InputError(
                path,
                f"ALT {alt_text!r} is not a list of base sequences or symbolic alleles",
                line=number,
                fix="ALT is column 5, comma-separated alleles",
            )


def split_vcf(path: str | Path, shard_size: int, out_dir: str | Path) -> list[Path]:
    """Cut a VCF into shards of `shard_size` records: `out_dir`/00000.vcf.gz, 00001.vcf.gz ...

    Each shard holds CHROM POS ID REF ALT of its records (the lines between them kept, so that
    `iter_vcf` numbers its lines as in `path`); a VCF without records gives one empty shard.
    Every record is checked as `iter_vcf` does, so a malformed line stops here, naming `path`.
    Returns the shard paths in order; `out_dir` is replaced as a whole.
    """
    from seq2chrom.io import atomic_output

    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "VCF not found", fix="check the path")
    with atomic_output(out_dir) as tmp:
        tmp.mkdir()
        shards = _write_shards(path, shard_size, tmp)
    return [Path(out_dir) / shard.name for shard in shards]


def _write_shards(path: Path, shard_size: int, folder: Path) -> list[Path]:
    shards: list[Path] = []
    handle, records, pending = None, shard_size, []  # pending: lines before the next record
    try:
        _warn_if_empty(path)
        with open_text(path) as source:
            for number, line in _numbered(source):
                fields = _fields(path, number, line)
                if fields is None:  # header, comment or blank: a blank line keeps the numbers
                    pending.append("\n")
                    continue
                _parse(path, number, fields, [], [])
                if records == shard_size:
                    handle = _next_shard(folder, shards, handle, number)
                    records, pending = 0, []
                handle.write("".join(pending) + "\t".join(fields[:5]) + "\n")
                records, pending = records + 1, []
        if handle is None:
            handle = _next_shard(folder, shards, handle, 1)
    except (OSError, EOFError, UnicodeError) as error:
        raise InputError(path, f"cannot read: {error}", fix="re-download or recompress") from None
    finally:
        if handle is not None:
            handle.close()
    return shards


def _next_shard(folder: Path, shards: list[Path], handle, first_line: int):
    """Close `handle` and open the next shard, its first record from line `first_line`."""
    import gzip

    if handle is not None:
        handle.close()
    shards.append(folder / f"{len(shards):05d}.vcf.gz")
    raw = gzip.GzipFile(shards[-1], "wb", compresslevel=1, mtime=0)
    handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    handle.write(f"##fileformat=VCFv4.2\n{FIRST_LINE}{first_line}\n#{SHARD_HEADER}\n")
    return handle


def reference_mismatch(sequence: np.ndarray, pos0: np.ndarray, refs: Iterable[str]) -> np.ndarray:
    """Which variants' REF differs from the genome (case-insensitive; N matches only N).

    sequence: (L,) uint8 ASCII of one chromosome; pos0: (n,) 0-based starts inside it.
    Returns (n,) bool. Single-base REFs are compared at once, longer ones one by one.
    """
    genome = np.asarray(sequence, np.uint8)
    pos0 = np.asarray(pos0, np.int64)
    refs = list(refs)
    mismatch = np.zeros(len(pos0), dtype=bool)
    single = np.fromiter((len(ref) == 1 for ref in refs), bool, len(refs))
    if single.any():
        bases = np.frombuffer("".join(r for r, s in zip(refs, single, strict=True) if s).encode(),
                              np.uint8)  # fmt: skip
        mismatch[single] = _UPPER[genome[pos0[single]]] != bases
    for i in np.flatnonzero(~single):
        start = pos0[i]
        text = genome[start : start + len(refs[i])].tobytes().decode("ascii", errors="replace")
        mismatch[i] = text.upper() != refs[i]
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
