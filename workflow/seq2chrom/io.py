"""File helpers shared by all steps: atomic outputs, so a failed step leaves nothing half-done;
reading plain or gzipped text; the one TSV writer (`write_tsv`) and reader (`read_tsv`).

pandas is imported inside the TSV functions, so that `seq2chrom <step>` starts fast.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

#: Float formats of seq2chrom's TSV tables, decided here: a table's writer names one of them
#: and every float column of the table is written with it (None: the shortest exact repr).
METRIC_FLOATS = "%.6f"  # AUROC, AUPRC and their summaries: fixed decimals, aligned columns
SIGNIFICANT_FLOATS = "%.6g"  # scores, effects, p- and E-values: 6 significant digits at any scale
PUBLISHED_FLOATS = "%.4f"  # beside the published AUCs (DanQ's aucs.txt), which have 4 decimals

#: Cells that `read_tsv` reads as missing (seq2chrom writes "NA", or "" in older tables).
MISSING = ("", "NA", "NaN", "nan")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds.

    Works for files and directories. On error the temporary is removed and any earlier
    `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{suffix}")
    # One job writes a given output, so any other temporary of `path` was left by a killed
    # run (SIGKILL skips the cleanup below): remove it rather than let temporaries pile up.
    prefix = f".{path.name}.tmp"
    for stale in path.parent.iterdir():
        if stale.name.startswith(prefix) and stale.name.endswith(suffix):
            _remove(stale)
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_outputs(paths: Iterable[str | Path]) -> Iterator[list[Path]]:
    """`atomic_output` for several files that belong together: temporary paths in the order of
    `paths`, all renamed into place once the block ends without an error, none otherwise."""
    with contextlib.ExitStack() as outputs:
        yield [outputs.enter_context(atomic_output(path)) for path in paths]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def open_text(path: str | Path):
    """Open a plain, gzip or bgzip text file for reading (bgzip is multi-member gzip)."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def write_tsv(
    table: pd.DataFrame,
    path: str | Path,
    *,
    floats: str | None = None,
    na: str = "NA",
    header: bool = True,
    index: bool = False,
) -> None:
    """Write `table` as a tab-separated file, atomically, with "\\n" line ends.

    floats: the format of every float column, one of the `*_FLOATS` formats above (None:
    Python's shortest exact repr); na: the text of a missing cell; header, index: as in
    `DataFrame.to_csv` (index=True writes the index as the first column, under its name).
    """
    with atomic_output(path) as tmp:
        _to_tsv(table, tmp, floats=floats, na=na, header=header, index=index)


def tsv_text(table: pd.DataFrame, *, header: bool = True) -> str:
    """`table` as the text `write_tsv` writes with its defaults, for a caller that compresses it."""
    return _to_tsv(table, None, floats=None, na="NA", header=header, index=False)


def _to_tsv(
    table: pd.DataFrame,
    target: Path | None,
    *,
    floats: str | None,
    na: str,
    header: bool,
    index: bool,
) -> str | None:
    return table.to_csv(
        target,
        sep="\t",
        index=index,
        header=header,
        na_rep=na,
        float_format=floats,
        lineterminator="\n",
    )


def read_tsv(path: str | Path, *, text: Collection[str] | Literal["all"] = ()) -> pd.DataFrame:
    """Read a TSV table with a header line: one NA handling for every seq2chrom table.

    A cell is missing (NaN) when it is one of `MISSING`, except in the `text` columns, which
    are read as strings, verbatim (a track may be named "NA", an allele "NA" is N then A);
    text="all" reads every column so. Other columns get pandas' inferred types.
    """
    import pandas as pd

    if text == "all":
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if not text:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=list(MISSING))
    columns = pd.read_csv(path, sep="\t", nrows=0).columns
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values={column: list(MISSING) for column in columns if column not in text},
        dtype={column: str for column in text if column in columns},
    )
