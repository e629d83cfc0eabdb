"""Peak files (BED, narrowPeak, broadPeak; plain or gzip) read into per-chromosome intervals.

Only the first three columns are used. `track`, `browser` and `#` header lines and blank lines
are skipped; CRLF line ends are accepted; an empty file is a valid track without peaks. Any
other problem raises InputError naming the file, the line and the fix. Peaks on a chromosome
that is not in the genome are an error, not silently dropped: a naming mismatch ("1" vs
"chr1") would otherwise give a track without a single positive. Peaks running past a
chromosome's end are clipped to it (peak callers emit these), with a logged warning.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seq2chrom.errors import InputError

log = logging.getLogger(__name__)

HEADER_PREFIXES = ("track", "browser", "#")


@dataclass(frozen=True)
class Intervals:
    """Half-open, 0-based intervals of one chromosome: starts, ends (n,) int64, sorted by start."""

    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return int(self.starts.shape[0])


def read_text(path: str | Path) -> str:
    """A text file, gunzipped when its first bytes are the gzip magic (gzip and bgzip)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", fix="check the path in the track sheet")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    except (OSError, EOFError) as error:
        raise InputError(path, f"cannot read: {error}", fix="re-download the file") from error
    return decode_text(path, data, fix="give a BED file")


def decode_text(source: str | Path, data: bytes, fix: str) -> str:
    """``data`` as UTF-8 text; InputError naming ``source`` and the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(source, "not a text file (invalid UTF-8)", line=line, fix=fix) from error


def _coordinate(path: Path, number: int, field: str, what: str) -> int:
    if field.isascii() and field.isdigit():
        return int(field)
    if field.startswith("-") and field[1:].isascii() and field[1:].isdigit():
        raise InputError(
            path, f"{what} {field} is negative", line=number, fix="remove or correct the line"
        )
    raise InputError(
        path,
        f"{what} {field!r} is not an integer",
        line=number,
        fix="BED columns 2 and 3 are 0-based integer start and end",
    )


def _data_lines(text: str) -> tuple[list[int], list[str]]:
    """Line numbers (1-based) and text of the lines that are not blank or headers."""
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith(HEADER_PREFIXES)
    ]
    return [number for number, _ in numbered], [line for _, line in numbered]


def _parse_lines(
    path: Path, numbers: list[int], lines: list[str], chrom_sizes: Mapping[str, int] | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Line by line, raising InputError at the first bad line."""
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for number, line in zip(numbers, lines, strict=True):
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise InputError(
                path,
                f"{len(fields)} column(s), a BED line needs at least 3 (chrom, start, end)",
                line=number,
                fix="separate columns with tabs or remove the line",
            )
        chrom = fields[0].strip()
        start = _coordinate(path, number, fields[1].strip(), "start")
        end = _coordinate(path, number, fields[2].strip(), "end")
        if start > end:
            raise InputError(
                path, f"start {start} > end {end}", line=number, fix="swap or correct the columns"
            )
        if not chrom:
            raise InputError(path, "empty chromosome name", line=number, fix="correct the line")
        if chrom_sizes is not None and chrom not in chrom_sizes:
            raise InputError(
                path,
                f"chromosome {chrom!r} is not in the genome",
                line=number,
                fix="remove the line or use a genome with this chromosome "
                "(check the naming, e.g. 'chr1' vs '1')",
            )
        chroms.append(chrom)
        starts.append(start)
        ends.append(end)
    return chroms, np.array(starts, np.int64), np.array(ends, np.int64)


def parse_peaks(
    path: str | Path, text: str, chrom_sizes: Mapping[str, int] | None = None
) -> dict[str, Intervals]:
    """Parse BED-like `text` (read from `path`, named in errors) into intervals per chromosome.

    chrom_sizes: when given, chromosomes must be in it and ends are clipped to the lengths.
    Returns {chrom: Intervals sorted by start}; chromosomes without peaks are absent.
    """
    path = Path(path)
    numbers, lines = _data_lines(text)
    if not lines:
        log.warning("%s: no peaks; every bin is negative for this track", path)
        return {}
    return _group(path, *_parse_lines(path, numbers, lines, chrom_sizes), chrom_sizes)


def _group(
    path: Path,
    chroms: list[str],
    starts: np.ndarray,
    ends: np.ndarray,
    chrom_sizes: Mapping[str, int] | None,
) -> dict[str, Intervals]:
    index = {name: code for code, name in enumerate(dict.fromkeys(chroms))}
    codes = np.fromiter(map(index.__getitem__, chroms), np.int64, len(chroms))
    order = np.lexsort((starts, codes))
    codes, starts, ends = codes[order], starts[order], ends[order]
    bounds = np.searchsorted(codes, np.arange(len(index) + 1))
    grouped = {}
    for name, code in index.items():
        lo, hi = bounds[code], bounds[code + 1]
        chrom_starts, chrom_ends = starts[lo:hi], ends[lo:hi]
        if chrom_sizes is not None:
            size = chrom_sizes[name]
            past = int(np.count_nonzero(chrom_ends > size))
            if past:
                log.warning("%s: %d peak(s) run past the end of %s; clipped", path, past, name)
                chrom_starts = np.minimum(chrom_starts, size)
                chrom_ends = np.minimum(chrom_ends, size)
        grouped[name] = Intervals(chrom_starts, chrom_ends)
    return grouped


def read_peaks(
    path: str | Path, chrom_sizes: Mapping[str, int] | None = None
) -> dict[str, Intervals]:
    """Read a peak file (plain or gzip); see `parse_peaks`."""
    return parse_peaks(path, read_text(path), chrom_sizes)


def count_peaks(path: str | Path) -> int:
    """Peaks (data lines) of a peak file, read and checked as `read_peaks` reads it."""
    return sum(len(intervals) for intervals in read_peaks(path).values())


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals as disjoint, sorted intervals (as `bedtools merge`).

    starts, ends: (n,) int, sorted by start. Overlapping and book-ended intervals are joined.
    Returns merged starts, ends: (m,) int64, m <= n, starts strictly increasing.
    """
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    if starts.size == 0:
        return starts, ends
    reach = np.maximum.accumulate(ends)
    # A new merged interval starts where a start lies beyond every earlier end.
    new = np.empty(starts.shape, bool)
    new[0] = True
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], starts.size) - 1
    return starts[first], reach[last]
