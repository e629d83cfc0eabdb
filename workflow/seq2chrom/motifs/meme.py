"""MEME minimal motif format (version 4): write PWMs for the MEME suite, read user motif files.

The format (https://meme-suite.org/meme/doc/meme-format.html) is a header (`MEME version 4`,
`ALPHABET= ACGT`, `strands: + -`, background frequencies) followed by one block per motif::

    MOTIF filter0
    letter-probability matrix: alength= 4 w= 26 nsites= 118 E= 0
    0.250000 0.250000 0.250000 0.250000
    ...

Matrices are held as ``(w, 4)`` float64 rows of A, C, G, T probabilities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seq2chrom.errors import InputError

ALPHABET = "ACGT"


@dataclass
class Motif:
    """One motif: ``matrix`` is ``(w, 4)`` float64, rows of A, C, G, T probabilities."""

    id: str
    matrix: np.ndarray
    name: str = ""
    nsites: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The alternate name when there is one, else the id."""
        return self.name or self.id


def format_meme(motifs: Sequence[Motif], background: Sequence[float] = (0.25,) * 4) -> str:
    """Render motifs as MEME minimal format version 4 text (probabilities with 6 decimals)."""
    lines = [
        "MEME version 4",
        "",
        f"ALPHABET= {ALPHABET}",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{base} {freq:.6f}" for base, freq in zip(ALPHABET, background, strict=True)),
        "",
    ]
    for motif in motifs:
        matrix = np.asarray(motif.matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != 4:
            raise ValueError(f"motif {motif.id}: matrix shape {matrix.shape}, expected (w, 4)")
        if any(len(word.split()) != 1 for word in (motif.id, motif.name or "x")):
            raise ValueError(f"motif {motif.id!r}: id and name must be single words")
        matrix = matrix / matrix.sum(axis=1, keepdims=True)
        lines.append(f"MOTIF {motif.id} {motif.name}".rstrip())
        lines.append(
            f"letter-probability matrix: alength= 4 w= {len(matrix)} nsites= {motif.nsites} E= 0"
        )
        lines.extend(" ".join(f"{value:.6f}" for value in row) for row in matrix)
        lines.append("")
    return "\n".join(lines)


def write_meme(path: str | Path, motifs: Sequence[Motif]) -> None:
    """Write motifs to `path` in MEME minimal format version 4."""
    Path(path).write_text(format_meme(motifs))


def read_background(path: str | Path) -> np.ndarray:
    """The A,C,G,T background of a MEME motif file: ``(4,)`` float64, uniform when absent.

    The numbers on the line after ``Background letter frequencies`` (as Tomtom reads them for
    its pseudocounts), normalised to sum to 1.
    """
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("Background letter frequencies"):
            words = lines[i + 1].split()
            values = dict(zip(words[::2], words[1::2], strict=False))
            try:
                background = np.array([float(values[base]) for base in ALPHABET])
            except (KeyError, ValueError):
                raise InputError(
                    path, "background line needs 'A p C p G p T p'", line=i + 2
                ) from None
            if (background <= 0).any():
                raise InputError(path, "background frequencies must be positive", line=i + 2)
            return background / background.sum()
    return np.full(4, 0.25)


_MATRIX_HEADER = re.compile(r"letter-probability matrix:(?P<attrs>.*)")
_ATTR = re.compile(r"(\w+)=\s*(\S+)")


def read_meme(path: str | Path) -> list[Motif]:
    """Read every motif of a MEME (minimal or full) motif file with the DNA alphabet.

    Returns motifs with ``(w, 4)`` probability matrices (rows renormalised to sum to 1 when
    they are off by more than 1e-5, as MEME does).
    Raises `InputError` naming the line for a non-DNA alphabet, a malformed matrix, or a file
    with no motifs.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "MEME motif file not found", fix="check motifs.meme_file")
    lines = path.read_text().splitlines()
    if not any(line.startswith("MEME version") for line in lines[:50]):
        raise InputError(
            path,
            "not a MEME motif file (no 'MEME version' line)",
            line=1,
            fix="convert it to MEME minimal format (e.g. jaspar2meme, chen2meme)",
        )
    motifs: list[Motif] = []
    current: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[1].strip().split()[0] if "=" in line else ""
            if letters.upper() not in ("ACGT", "DNA"):
                raise InputError(
                    path,
                    f"alphabet {letters!r} is not DNA (ACGT)",
                    line=i + 1,
                    fix="use a DNA motif file",
                )
        elif line.startswith("MOTIF"):
            words = line.split()
            if len(words) < 2:
                raise InputError(path, "MOTIF line without an id", line=i + 1)
            current = (words[1], words[2] if len(words) > 2 else "")
        elif match := _MATRIX_HEADER.match(line):
            if current is None:
                raise InputError(path, "matrix before any MOTIF line", line=i + 1)
            attrs = dict(_ATTR.findall(match["attrs"]))
            try:
                width = int(attrs["w"])
                nsites = int(float(attrs.get("nsites", 0)))
            except (KeyError, ValueError):
                raise InputError(path, "matrix header needs 'w= <width>'", line=i + 1) from None
            rows = []
            for j in range(i + 1, i + 1 + width):
                try:
                    values = [float(value) for value in lines[j].split()]
                except (IndexError, ValueError):
                    raise InputError(
                        path,
                        f"motif {current[0]}: expected {width} rows of 4 numbers",
                        line=j + 1,
                    ) from None
                if len(values) != 4 or min(values) < 0 or sum(values) <= 0:
                    raise InputError(
                        path,
                        f"motif {current[0]}: row {values} is not 4 probabilities",
                        line=j + 1,
                    )
                rows.append(values)
            matrix = np.asarray(rows, dtype=np.float64)
            # As MEME: rows that sum to 1 within 1e-5 stay as written (Tomtom's exact inputs).
            totals = matrix.sum(axis=1, keepdims=True)
            matrix = np.where(np.abs(totals - 1.0) > 1e-5, matrix / totals, matrix)
            motifs.append(Motif(current[0], matrix, current[1], nsites))
            current = None
            i += width
        i += 1
    if not motifs:
        raise InputError(path, "no 'letter-probability matrix' found", fix="check the file")
    return motifs
