"""Tables written from a scores file (`variants.store`), each in bounded memory: the strongest
variants (``.top.tsv``), the effects table for chosen tracks and effects (``.tsv.gz``), and the
records not scored (``.skipped.tsv``, streamed while scoring).

Which tracks go into the effects table (``variants.tracks``, ``--tsv-tracks``): ``auto`` (the
default) is every track for a VCF of at most `AUTO_MAX_VARIANTS` scored variants, or when a
minimum |diff| is set, and none above (the scores file holds every number); otherwise a list
whose entries are track names, assay classes of the track sheet (TF, DNase, Histone) or
regular expressions matched against whole track names; an empty list writes the header only.
Rows are kept where |diff| >= ``min_abs_diff`` (default 0: all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, write_tsv
from seq2chrom.variants.vcf import SKIPPED_COLUMNS

if TYPE_CHECKING:  # the workflow imports `select_tracks` at parse time: no h5py, no numba
    from seq2chrom.variants.store import Scores

AUTO = "auto"
#: With tracks ``auto``, VCFs of up to this many scored variants get every track in the table.
AUTO_MAX_VARIANTS = 10_000
#: Variants in ``.top.tsv`` by default, strongest first.
TOP_VARIANTS = 10_000
#: Variant-table columns that ``.top.tsv`` leaves out.
_NOT_IN_TOP = ("line",)


class TableSettings(NamedTuple):
    """What the tables of a scores file hold: the effects table's tracks (`AUTO` or entries)
    and minimum |diff|, and the variants of ``.top.tsv``."""

    tracks: str | Sequence[str] = AUTO
    min_abs_diff: float = 0.0
    top: int = TOP_VARIANTS


def select_tracks(
    entries: Iterable[str], tracks: Sequence[str], assays: Sequence[str] | None = None
) -> list[int]:
    """Indices (in model order) of the tracks that `entries` name: each entry a track name, an
    assay class of `assays` or a regular expression matching whole names. ValueError naming
    an entry that matches no track."""
    chosen: set[int] = set()
    for entry in entries:
        if entry in tracks:
            chosen.add(list(tracks).index(entry))
            continue
        if assays is not None and entry in assays:
            chosen.update(i for i, assay in enumerate(assays) if assay == entry)
            continue
        try:
            pattern = re.compile(entry)
        except re.error as error:
            raise ValueError(
                f"{entry!r} is no track or assay class, nor a valid regular expression ({error})"
            ) from None
        found = [i for i, track in enumerate(tracks) if pattern.fullmatch(track)]
        if not found:
            raise ValueError(f"{entry!r} matches no track, assay class or track name pattern")
        chosen.update(found)
    return sorted(chosen)


def table_tracks(
    spec: str | Sequence[str],
    tracks: Sequence[str],
    assays: Sequence[str] | None,
    n_variants: int,
    min_abs_diff: float,
) -> list[int]:
    """Indices of the tracks of the effects table for `spec` (``auto`` or entries)."""
    if isinstance(spec, str) and spec == AUTO:
        return (
            list(range(len(tracks))) if n_variants <= AUTO_MAX_VARIANTS or min_abs_diff > 0 else []
        )
    return select_tracks(spec, tracks, assays)


def strongest_variants(scores: Scores, top: int) -> pd.DataFrame:
    """The `top` variants with the largest ``max_abs_diff``, strongest first (ties in VCF
    order), with the variant table's columns but ``line``. Memory: about 2 x `top` rows."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    index = np.zeros(0, np.int64)
    value = np.zeros(0, np.float64)
    for start, stop in scores.blocks():
        block = scores.column("max_abs_diff", start, stop).astype(np.float64)
        index = np.concatenate([index, np.arange(start, stop)])
        value = np.concatenate([value, np.where(np.isnan(block), -np.inf, block)])
        if len(index) > 2 * top:
            index, value = _best(index, value, top)
    index, value = _best(index, value, top)
    rows = []
    wanted = np.sort(index)
    for start, stop in scores.blocks():
        inside = wanted[(wanted >= start) & (wanted < stop)]
        if len(inside):
            rows.append(scores.table(start, stop).iloc[inside - start].set_index(inside))
    columns = [c for c in scores.columns if c not in _NOT_IN_TOP]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows).loc[index, columns].reset_index(drop=True)


def _best(index: np.ndarray, value: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The `top` largest values, in order (ties: smaller index first)."""
    order = np.lexsort((index, -value))[:top]
    return index[order], value[order]


def write_top(scores: Scores, path: Path, top: int = TOP_VARIANTS) -> None:
    """``.top.tsv``: `strongest_variants`, numbers with 6 significant digits."""
    write_tsv(strongest_variants(scores, top), path, floats=SIGNIFICANT_FLOATS, na="")


def write_effects(
    scores: Scores, path: Path, columns: Sequence[int], min_abs_diff: float = 0.0
) -> int:
    """The effects table (gzip TSV, `EffectsWriter`) of the tracks `columns` (indices), rows
    with |diff| >= `min_abs_diff`. Returns the rows written."""
    from seq2chrom.variants.effects import EffectsWriter

    columns = np.asarray(columns, np.int64)
    names = [scores.tracks[i] for i in columns]
    written = 0
    with open(path, "wb") as handle, EffectsWriter(handle, names, evalues=scores.has_evalue) as out:
        if not len(columns):
            return 0
        for start, stop in scores.blocks():
            ref = scores.matrix("ref_prob", start, stop)[:, columns]
            alt = scores.matrix("alt_prob", start, stop)[:, columns]
            evalue = scores.matrix("evalue", start, stop)[:, columns] if scores.has_evalue else None
            keep = np.abs(alt - ref) >= min_abs_diff if min_abs_diff > 0 else None
            if keep is not None and not keep.any():
                continue
            written += int(keep.sum()) if keep is not None else ref.size
            out.write(scores.table(start, stop), ref, alt, evalue, keep)
    return written


class SkippedWriter:
    """The records not scored, streamed: ``.skipped.tsv`` with `SKIPPED_COLUMNS` (the VCF's
    line and the reason), in VCF order; `write` one chunk's records at a time."""

    def __init__(self, handle: TextIO):
        self._handle = handle
        handle.write("\t".join(SKIPPED_COLUMNS) + "\n")
        self.count = 0
        self.reasons: dict[str, int] = {}

    def write(self, skipped: pd.DataFrame) -> None:
        if skipped.empty:
            return
        skipped = skipped[SKIPPED_COLUMNS]
        skipped.to_csv(
            self._handle, sep="\t", index=False, header=False, na_rep="", lineterminator="\n"
        )
        self.count += len(skipped)
        for reason, count in skipped["reason"].value_counts(sort=False).items():
            self.reasons[reason] = self.reasons.get(reason, 0) + int(count)


def concatenate_skipped(parts: Sequence[Path], out: TextIO) -> None:
    """The ``.skipped.tsv`` of a whole VCF from its shards' (one header)."""
    for k, part in enumerate(parts):
        with open(part, encoding="utf-8", newline="") as handle:
            header = handle.readline()
            if header.rstrip("\n").split("\t") != SKIPPED_COLUMNS:
                raise InputError(part, "not a .skipped.tsv table", fix="score the shard again")
            if k == 0:
                out.write(header)
            for line in handle:
                out.write(line)


def read_skipped(path: Path, chunk_size: int = 100_000):
    """The rows of a ``.skipped.tsv``, chunk by chunk (text columns as str)."""
    yield from pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, chunksize=chunk_size)
