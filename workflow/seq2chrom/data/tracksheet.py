"""The track sheet (config/tracks.tsv) and the bundle's track table: one reader for both.

A track sheet names one label column per row: `name, assay, cell_type, path` (and an optional
`md5`). The DeepSEA bundle's track table (resources/deepsea_919_targets.tsv, or the table in
`data.bundle_targets`) names its label columns in a `track` column, with `assay` and
`cell_type`. `read_table` reads either as strings and checks what both share: the columns are
there, names are usable as file names and assays known (both as workflow/schemas/
tracks.schema.yaml says: `^[A-Za-z0-9_.-]+$`, never `.` or `..`; TF, DNase or Histone), and
no name repeats. The workflow reads the sheet with it at parse time
(workflow/rules/common.smk), the data step with `read_track_sheet`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import read_tsv

SHEET_COLUMNS = ("name", "assay", "cell_type", "path")
TABLE_COLUMNS = ("track", "assay", "cell_type")
_MD5 = re.compile(r"^[0-9a-f]{32}$")  # tracks.schema.yaml: md5


@dataclass(frozen=True)
class Track:
    """One row of the track sheet."""

    name: str
    assay: str
    cell_type: str
    path: str


def read_table(
    path: str | Path,
    columns: tuple[str, ...] = SHEET_COLUMNS,
    name_column: str = "name",
    key: str = "tracks",
    check: bool = True,
) -> pd.DataFrame:
    """Read a TSV of tracks as strings (other columns kept) and check it (`check_table`).

    `columns` must be present; `name_column` holds the track names; `key` is the config key
    that names the file (named in the fix when it is missing). Raises InputError naming the
    file, the line (header line 1) and the fix. `check=False` leaves the rows to the caller
    (the workflow validates them against workflow/schemas/tracks.schema.yaml first).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "track sheet not found", fix=f"set `{key}` in config.yaml")
    try:
        table = read_tsv(path, text="all")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(
            path,
            f"cannot read the track table: {error}",
            fix="write a tab-separated table with a header line: " + ", ".join(columns),
        ) from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(
            path, f"missing columns {missing}", line=1, fix="use columns " + ", ".join(columns)
        )
    if check:
        check_table(table, path, name_column)
    return table


@functools.cache
def row_rules() -> tuple[re.Pattern, tuple[str, ...], tuple[str, ...]]:
    """Track-name pattern, names never allowed, and assays, as tracks.schema.yaml says."""
    from seq2chrom.config import TRACKS_SCHEMA_PATH, schema

    spec = schema(TRACKS_SCHEMA_PATH)["properties"]
    name = spec["name"]
    return re.compile(name["pattern"]), tuple(name["not"]["enum"]), tuple(spec["assay"]["enum"])


def check_table(table: pd.DataFrame, path: str | Path, name_column: str = "name") -> None:
    """InputError naming the file, the line, the column and the fix on the first bad cell.

    Checks, as tracks.schema.yaml says: at least one track; names safe as file names and
    unique; assays known; `cell_type` and `path` (when the table has them) not empty; `md5`
    empty or 32 lowercase hex digits.
    """
    if table.empty:
        raise InputError(path, "no tracks below the header", line=2, fix="add one row per track")
    pattern, forbidden, assays = row_rules()
    required = [column for column in ("cell_type", "path") if column in table.columns]
    md5s = table["md5"] if "md5" in table.columns else [""] * len(table)
    rows = zip(table[name_column], table["assay"], md5s, strict=True)
    for line, (name, assay, md5) in enumerate(rows, 2):
        if not pattern.match(name) or name in forbidden:
            raise InputError(
                path,
                f"bad track name {name!r} in column {name_column}: not a safe file name",
                line=line,
                fix="use only letters, digits, '_', '.' and '-'",
            )
        if assay not in assays:
            raise InputError(
                path,
                f"assay {assay!r} is not one of {list(assays)} (column assay)",
                line=line,
                fix="use " + ", ".join(assays),
            )
        for column in required:
            if not table[column].iloc[line - 2].strip():
                raise InputError(
                    path, f"empty {column} for track {name!r}", line=line, fix=f"fill in {column}"
                )
        if md5 and not _MD5.match(md5):
            raise InputError(
                path,
                f"md5 {md5!r} of track {name!r} is not 32 lowercase hex digits (column md5)",
                line=line,
                fix="give the file's MD5 (md5sum FILE), or leave the column empty",
            )
    repeated = table[name_column].duplicated()
    if repeated.any():
        line = int(repeated.to_numpy().argmax()) + 2
        raise InputError(
            path,
            f"duplicate track name {table[name_column][repeated].iloc[0]!r} "
            f"in column {name_column}",
            line=line,
            fix="make names unique",
        )


def read_track_sheet(path: str | Path) -> list[Track]:
    """Tracks of a track sheet (TSV with columns name, assay, cell_type, path), in sheet order."""
    table = read_table(path)
    return [Track(*row) for row in table[list(SHEET_COLUMNS)].itertuples(index=False)]
