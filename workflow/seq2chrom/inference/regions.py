"""Regions to predict or mutate, from a BED file, checked against the genome before a model runs."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.data.bins import window_offset
from seq2chrom.data.genome import match_chromosomes
from seq2chrom.errors import InputError
from seq2chrom.io import open_text

log = logging.getLogger(__name__)

REGION_COLUMNS = ["chrom", "start", "end", "name", "track"]
_SKIP = ("#", "track ", "track\t", "browser ")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def read_regions(path: str | Path) -> pd.DataFrame:
    """BED (plain or gzipped; header, track and browser lines skipped) -> `REGION_COLUMNS`.

    ``name`` is column 4, or ``chrom:start-end`` when absent or ``.``; ``track`` is column 5
    when it is not a number (BED's score), else empty. start/end are 0-based, half-open.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "regions BED not found", fix="check the path")
    rows = []
    with open_text(path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith(_SKIP):
                continue
            fields = line.split("\t")
            fix = "give tab-separated chrom, start, end (0-based, end > start)"
            if len(fields) < 3:
                raise InputError(
                    path, f"{len(fields)} column(s), BED needs 3", line=number, fix=fix
                )
            chrom, start, end = fields[0], fields[1].strip(), fields[2].strip()
            if not (start.isdigit() and end.isdigit()) or int(end) <= int(start):
                raise InputError(path, f"bad interval {start!r}-{end!r}", line=number, fix=fix)
            name = (
                fields[3].strip() if len(fields) > 3 and fields[3].strip() not in ("", ".") else ""
            )
            track = fields[4].strip() if len(fields) > 4 else ""
            if re.fullmatch(r"[-+0-9.eE]*", track):
                track = ""  # a BED score, not a track name
            rows.append((chrom, int(start), int(end), name or f"{chrom}:{start}-{end}", track))
    if not rows:
        raise InputError(path, "no regions", fix="give at least one BED line")
    return pd.DataFrame(rows, columns=REGION_COLUMNS)


def place_regions(
    regions: pd.DataFrame, sizes: Mapping[str, int], path: str | Path
) -> pd.DataFrame:
    """Rename chromosomes to the genome's (chr1 <-> 1) and check every region lies inside it."""
    mapping, _ = match_chromosomes(regions["chrom"], sizes)
    unknown = sorted(set(regions["chrom"]) - set(mapping))
    if unknown:
        raise InputError(
            path, f"chromosome(s) not in the genome: {unknown[:5]}", fix="use the genome's names"
        )
    regions = regions.assign(chrom=regions["chrom"].map(mapping))
    past = regions["end"].to_numpy() > regions["chrom"].map(sizes).to_numpy()
    if past.any():
        row = regions[past].iloc[0]
        raise InputError(
            path,
            f"region {row['name']} ends past the end of {row['chrom']} "
            f"({sizes[row['chrom']]:,} bp)",
            fix="clip the regions to the chromosome lengths",
        )
    return regions


def file_stem(name: str) -> str:
    """A region name made safe as a file name (other characters become _)."""
    return _UNSAFE.sub("_", name)


def best_test_windows(
    predictions, y: np.ndarray, tracks: list[str], window: int, bin_size: int
) -> pd.DataFrame:
    """`REGION_COLUMNS` rows: for each of `tracks`, the window of the positive test bin with the
    highest prediction (`predictions`: splitfile.Predictions of the test split; y (N, T) its
    labels). A track with no positive test bin gets no row (logged)."""
    rows = []
    for track in tracks:
        j = predictions.tracks.index(track)
        score = np.where(y[:, j] > 0, predictions.y_pred[:, j], -np.inf)
        if not np.isfinite(score).any():
            log.warning("%s: no positive test bin; no best sequence", track)
            continue
        i = int(np.argmax(score))
        first = int(predictions.start[i]) + window_offset(bin_size, window)
        rows.append((predictions.chrom[i], first, first + window, f"best_{track}", track))
    return pd.DataFrame(rows, columns=REGION_COLUMNS)


def variant_windows(top: pd.DataFrame, window: int) -> pd.DataFrame:
    """`REGION_COLUMNS` rows: the window centred on each variant of a `.top.tsv` table, named
    after it and labelled with its strongest track."""
    first = top["pos"].astype(int) - 1 - window // 2
    return pd.DataFrame(
        {
            "chrom": top["chrom"],
            "start": first.clip(lower=0),
            "end": first + window,
            "name": "variant_" + top["variant_id"].astype(str),
            "track": top["top_track"],
        },
        columns=REGION_COLUMNS,
    )
