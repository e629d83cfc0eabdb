"""Peak tables of the demo tracks, drawn around the sites of `seq2chrom.demo.sites`.

TF tracks: one narrowPeak (10 columns) per bound site, 150-400 bp, summit at the site.
DNase tracks: the union of the cell type's bound sites, wider, plus some open chromatin
without a planted factor. Histone tracks: broad domains (broadPeak, 9 columns, 1-5 kb) at
promoters (H3K4me3), enhancers (H3K27ac) or over gene bodies downstream of promoters
(H3K36me3). Coordinates are computed on the concatenated genome and converted to
per-chromosome, 0-based half-open ones at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2chrom.demo.sites import Sites
from seq2chrom.demo.tracks import DEMO_TRACKS, TF_TRACK_NAMES
from seq2chrom.io import tsv_text

NARROWPEAK = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "signalValue",
    "pValue",
    "qValue",
    "peak",
]
BROADPEAK = NARROWPEAK[:-1]


def _signal(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """signalValue, pValue, qValue and score columns for `n` peaks."""
    signal = np.round(rng.lognormal(np.log(12), 0.5, n), 3)
    p_value = np.round(signal * rng.uniform(2.5, 4.0, n), 3)
    q_value = np.round(np.maximum(p_value - rng.uniform(0.5, 2.0, n), 0), 3)
    score = np.minimum(1000, (signal * 40).astype(np.int64))
    return signal, p_value, q_value, score


def _table(
    track: str,
    start: np.ndarray,
    end: np.ndarray,
    summit: np.ndarray | None,
    offsets: np.ndarray,
    chroms: list[str],
    gap_prefix: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """narrowPeak (with `summit`) or broadPeak table, sorted, clipped to chromosomes, no gaps.

    start, end, summit: ``(n,)`` int64 positions on the concatenated genome; gap_prefix:
    ``(total + 1,)`` number of gap bases before each position.
    """
    middle = (start + end) // 2
    which = np.searchsorted(offsets, middle, side="right") - 1
    start = np.maximum(start, offsets[which])
    end = np.minimum(end, offsets[which + 1])
    keep = (end > start) & (gap_prefix[end] == gap_prefix[start])
    order = np.lexsort((start[keep], which[keep]))
    which, start, end = which[keep][order], start[keep][order], end[keep][order]
    signal, p_value, q_value, score = _signal(len(start), rng)
    table = pd.DataFrame(
        {
            "chrom": np.asarray(chroms)[which],
            "start": start - offsets[which],
            "end": end - offsets[which],
            "name": [f"{track}_peak{i + 1}" for i in range(len(start))],
            "score": score,
            "strand": ".",
            "signalValue": signal,
            "pValue": p_value,
            "qValue": q_value,
        }
    )
    if summit is not None:
        table["peak"] = np.clip(summit[keep][order] - start, 0, end - start - 1)
    return table


def _merge(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals ``(n,)`` int64 as sorted, non-overlapping (starts, ends)."""
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    if len(start) == 0:
        return start, end
    new = np.concatenate([[True], start[1:] > reach[:-1]])
    return start[new], np.maximum.reduceat(end, np.flatnonzero(new))


def narrow_intervals(
    centre: np.ndarray, rng: np.random.Generator, median: float, low: int, high: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peaks around site centres ``(n,)``: (start, end, summit) ``(n,)`` int64 each.

    Summits lie within ~10 bp of the centre; widths are log-normal around `median`, clipped to
    [`low`, `high`]; the summit sits 35-65% of the way into the peak.
    """
    summit = centre + np.round(rng.normal(0, 10, len(centre))).astype(np.int64)
    width = np.clip(np.round(rng.lognormal(np.log(median), 0.25, len(centre))), low, high)
    start = summit - np.round(width * rng.uniform(0.35, 0.65, len(centre))).astype(np.int64)
    return start, start + width.astype(np.int64), summit


def gene_body_domains(
    promoter: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """H3K36me3-like domains: 1-5 kb pieces with short breaks over a 5-25 kb gene body that
    starts 0.5-1.5 kb from each promoter ``(n,)``, on a random strand."""
    starts, ends = [], []
    for centre in promoter:
        direction = rng.choice([-1, 1])
        length = rng.integers(5_000, 25_000)
        cursor = int(rng.integers(500, 1_500))
        while cursor < length:
            width = int(rng.integers(1_000, 5_000))
            lo, hi = centre + direction * cursor, centre + direction * (cursor + width)
            starts.append(min(lo, hi))
            ends.append(max(lo, hi))
            cursor += width + int(rng.integers(200, 2_000))
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)


def demo_peaks(
    sites: Sites,
    offsets: np.ndarray,
    chroms: list[str],
    gaps: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    """Peak table of every demo track, in `DEMO_TRACKS` order (narrowPeak or broadPeak columns)."""
    peaks: dict[str, pd.DataFrame] = {}
    position, kind = sites.position, sites.kind
    column = {name: j for j, name in enumerate(TF_TRACK_NAMES)}
    gap_prefix = np.concatenate([[0], np.cumsum(gaps)])

    def table(track, start, end, summit=None):
        peaks[track] = _table(track, start, end, summit, offsets, chroms, gap_prefix, rng)

    for track in DEMO_TRACKS:
        if track.assay == "TF":
            centre = position[sites.bound[:, column[track.name]]]
            table(track.name, *narrow_intervals(centre, rng, 270, 150, 400))
        elif track.assay == "DNase":
            tf_tracks = [
                column[other.name]
                for other in DEMO_TRACKS
                if other.assay == "TF" and other.cell_type == track.cell_type
            ]
            open_sites = position[sites.bound[:, tf_tracks].any(axis=1)]
            extra = rng.choice(sites.free, size=min(len(sites.free), len(open_sites) // 10))
            centre = np.sort(np.concatenate([open_sites, extra]))
            table(track.name, *narrow_intervals(centre, rng, 450, 250, 900))
    promoter = position[kind == "promoter"]
    promoter = promoter[rng.random(len(promoter)) < 0.85]
    centre = promoter + np.round(rng.normal(200, 250, len(promoter))).astype(np.int64)
    half = rng.integers(500, 2_000, len(promoter))
    table("H3K4me3_K562", *_merge(centre - half, centre + half))

    hepg2 = sites.bound[:, [column["CEBPB_HepG2"], column["MAFK_HepG2"]]].any(axis=1)
    enhancer = np.concatenate(
        [
            position[(kind == "hepg2_enhancer") & (rng.random(len(kind)) < 0.9)],
            position[np.isin(kind, ["cebpb", "mafk"]) & hepg2 & (rng.random(len(kind)) < 0.6)],
        ]
    )
    centre = enhancer + np.round(rng.normal(0, 300, len(enhancer))).astype(np.int64)
    half = rng.integers(500, 1_750, len(enhancer))
    table("H3K27ac_HepG2", *_merge(centre - half, centre + half))

    active = (kind == "promoter") & sites.bound[:, column["NRF1_GM12878"]]
    active &= rng.random(len(kind)) < 0.7
    table("H3K36me3_GM12878", *_merge(*gene_body_domains(position[active], rng)))
    return {track.name: peaks[track.name] for track in DEMO_TRACKS}


def to_bed_text(table: pd.DataFrame) -> str:
    """Tab-separated BED text of a peak table, no header."""
    return tsv_text(table, header=False)
