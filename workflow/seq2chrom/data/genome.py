"""Reference genome: a FASTA (plain, gzip or bgzip) made an indexed plain FASTA read by pyfaidx.

The workflow first writes `results/genome/genome.fa` (+ `.fai`) with `prepare_genome`: gzip and
bgzip inputs are decompressed, plain ones copied, so every later step reads one uncompressed,
indexed file (fast whole-chromosome reads, no index written beside a read-only reference, and
plain gzip, which pyfaidx cannot read, works). Bases are kept as they are: soft-masked lowercase
and IUPAC codes are interpreted by `one_hot` and `bins`, not here.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyfaidx

from seq2chrom.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
_REWRAP = "rewrap it with equal-length lines, e.g. `seqkit seq -w 60 in.fa > out.fa`"


def compression(path: str | Path) -> str:
    """Return "plain", "gzip" or "bgzip" from the file's first bytes (not its name)."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not head.startswith(GZIP_MAGIC):
        return "plain"
    # BGZF: gzip member with the FEXTRA flag and a "BC" extra subfield (SAM spec, section 4.1).
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzip"
    return "gzip"


def prepare_genome(source: str | Path, output: str | Path) -> None:
    """Write `source` (plain, gzip or bgzip FASTA) uncompressed to `output` and index it.

    Writes `output` and `output.fai`. Raises InputError when `source` is missing, is not a FASTA,
    or cannot be indexed (unequal line lengths inside a sequence, duplicate names).
    """
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise InputError(source, "genome FASTA not found", fix="set `genome` in config.yaml")
    opener = open if compression(source) == "plain" else gzip.open
    try:
        with opener(source, "rb") as reader, open(output, "wb") as writer:
            first = reader.read(1)
            if first != b">":
                raise InputError(
                    source, "not a FASTA file (first byte is not '>')", line=1, fix="give a FASTA"
                )
            writer.write(first)
            shutil.copyfileobj(reader, writer, 16 << 20)
    except (OSError, EOFError) as error:
        raise InputError(source, f"cannot read: {error}", fix="re-download the file") from error
    Path(f"{output}.fai").unlink(missing_ok=True)
    index_genome(output, source_name=source)


def index_genome(path: str | Path, source_name: str | Path | None = None) -> pyfaidx.Fasta:
    """Open a plain or bgzip FASTA, building its `.fai` index if there is none.

    An existing index is reused as it is (never rewritten, so parallel jobs can read one
    genome). Errors name `source_name` (default `path`).
    """
    name = source_name or path
    try:
        return pyfaidx.Fasta(str(path), duplicate_action="stop", rebuild=False)
    except pyfaidx.FastaIndexingError as error:
        raise InputError(name, f"cannot index FASTA: {error}", fix=_REWRAP) from error
    except UnicodeDecodeError as error:
        raise InputError(
            name, f"not a text FASTA ({error.reason})", fix="give a plain-text or gzipped FASTA"
        ) from None
    except ValueError as error:  # duplicate sequence names
        raise InputError(name, str(error), fix="give every sequence a unique name") from error


def open_genome(path: str | Path) -> pyfaidx.Fasta:
    """Open a plain or bgzip FASTA with pyfaidx (builds `.fai` if missing).

    Plain gzip raises InputError: pyfaidx needs random access; use `prepare_genome` first.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "genome FASTA not found", fix="check the path")
    if compression(path) == "gzip":
        raise InputError(
            path,
            "plain gzip FASTA cannot be read directly",
            fix="decompress it (seq2chrom genome) or recompress with `bgzip`",
        )
    return index_genome(path)


def chromosome_sizes(fasta: pyfaidx.Fasta) -> dict[str, int]:
    """Sequence names in FASTA order mapped to their lengths in bp."""
    return {name: int(record.rlen) for name, record in fasta.faidx.index.items()}


def read_chromosome(fasta: pyfaidx.Fasta, name: str) -> np.ndarray:
    """The whole sequence `name` as bytes: (L,) uint8 ASCII codes, case and IUPAC kept.

    Plain FASTA files are read straight from the byte range the index gives, dropping the line
    ends by reshaping to (lines, line bytes); bgzip files go through pyfaidx.
    """
    record = fasta.faidx.index[name]
    length = int(record.rlen)
    if length == 0:
        return np.zeros(0, np.uint8)
    if compression(fasta.filename) != "plain":
        text = fasta.faidx.fetch(name, 1, length).seq
        return np.frombuffer(text.encode("ascii", errors="replace"), np.uint8)
    bases, stride = int(record.lenc), int(record.lenb)  # per full line, without / with ends
    full_lines, rest = divmod(length, bases)
    raw = np.fromfile(fasta.filename, np.uint8, full_lines * stride + rest, offset=record.offset)
    body = raw[: full_lines * stride].reshape(full_lines, stride)[:, :bases]
    return np.concatenate([body.reshape(-1), raw[full_lines * stride :]])


def chromosome_aliases(name: str) -> list[str]:
    """Names a chromosome may have in another naming scheme (chr1 <-> 1, chrM <-> MT)."""
    bare = name[3:] if name.lower().startswith("chr") else name
    names = [name, bare, f"chr{bare}"]
    if bare.upper() in ("M", "MT"):
        names += ["chrM", "MT", "M"]
    return list(dict.fromkeys(names))


def match_chromosomes(
    vcf_names: Iterable[str], genome_names: Iterable[str]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Map VCF chromosome names to the genome's: the same name, else an alias.

    Returns (mapping for the names found, the (VCF name, genome name) pairs that differ).
    Names with no match are left out of the mapping.
    """
    genome = set(genome_names)
    mapping: dict[str, str] = {}
    renamed: list[tuple[str, str]] = []
    for name in dict.fromkeys(vcf_names):
        found = next((alias for alias in chromosome_aliases(name) if alias in genome), None)
        if found is None:
            continue
        mapping[name] = found
        if found != name:
            renamed.append((name, found))
    return mapping, renamed
