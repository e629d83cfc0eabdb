"""Assemble the demo: genome sequence, planted motifs and CpG islands, peaks and motif truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from seq2chrom.demo.genome import (
    ASCII,
    CHROM_SIZES,
    N,
    add_repeats,
    background,
    chrom_offsets,
    cpg_island,
    gap_mask,
)
from seq2chrom.demo.motifs import FactorMotif, load_factor_motifs, sample_instances
from seq2chrom.demo.peaks import demo_peaks
from seq2chrom.demo.sites import Sites, layout_sites
from seq2chrom.demo.tracks import DEMO_TRACKS


@dataclass
class Demo:
    """The demo data set: `genome` chrom -> ``(n,)`` uint8 ASCII (soft-masked, N gaps), `peaks`
    track -> peak table, `truth` one row per track, and the `sites` layout behind them."""

    genome: dict[str, np.ndarray]
    peaks: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    sites: Sites


def plant_motifs(
    seq: np.ndarray, sites: Sites, motifs: dict[str, FactorMotif], rng: np.random.Generator
) -> None:
    """Write a PFM-sampled instance, on a random strand, at every planted motif centre of
    `sites`, into `seq` ``(total,)`` uint8 ASCII (in place, upper case)."""
    for factor in sorted(motifs):
        centre = sites.motif_centre[sites.motif_factor == factor]
        pfm = motifs[factor].pfm
        width = len(pfm)
        bases = sample_instances(pfm, len(centre), rng)
        minus = rng.random(len(centre)) < 0.5
        bases[minus] = 3 - bases[minus, ::-1]
        start = centre - width // 2
        seq[start[:, None] + np.arange(width)] = ASCII[bases]


def plant_cpg_islands(seq: np.ndarray, centres: np.ndarray, rng: np.random.Generator) -> None:
    """Replace 0.8-1.5 kb around each promoter centre ``(n,)`` with CpG-island sequence."""
    for centre in centres:
        length = int(rng.integers(800, 1_500))
        start = centre - length // 2 + int(rng.integers(-100, 101))
        seq[start : start + length] = cpg_island(length, rng)


def raise_genic_gc(
    seq: np.ndarray,
    domains: pd.DataFrame,
    offsets: dict[str, int],
    protected: np.ndarray,
    rng: np.random.Generator,
    fraction: float = 0.06,
) -> None:
    """Turn `fraction` of A/T bases inside gene-body `domains` into C/G (genes lie in GC-rich
    isochores), in place, sparing `protected` ``(total,)`` bool positions (planted motifs)."""
    inside = np.zeros(len(seq) + 1, dtype=np.int64)
    starts = domains["chrom"].map(offsets).to_numpy() + domains["start"].to_numpy()
    np.add.at(inside, starts, 1)
    np.add.at(inside, starts + (domains["end"] - domains["start"]).to_numpy(), -1)
    upper = seq & 0xDF
    weak = (upper == ord("A")) | (upper == ord("T"))
    chosen = np.flatnonzero((np.cumsum(inside)[:-1] > 0) & weak & ~protected)
    chosen = chosen[rng.random(len(chosen)) < fraction]
    c_ok = upper[chosen + 1] != ord("G")  # create no new CpG
    g_ok = upper[chosen - 1] != ord("C")
    want_c = rng.random(len(chosen)) < 0.5
    strong = np.where(want_c & c_ok | ~g_ok, ord("C"), ord("G")).astype(np.uint8)
    chosen, strong = chosen[c_ok | g_ok], strong[c_ok | g_ok]
    seq[chosen] = strong | (seq[chosen] & 0x20)  # keep soft-masking


def truth_table(motifs: dict[str, FactorMotif]) -> pd.DataFrame:
    """Columns track, assay, cell_type, motif_ids, motif_names (comma-separated JASPAR IDs and
    names of the factors whose sites drive each track)."""
    return pd.DataFrame(
        {
            "track": [track.name for track in DEMO_TRACKS],
            "assay": [track.assay for track in DEMO_TRACKS],
            "cell_type": [track.cell_type for track in DEMO_TRACKS],
            "motif_ids": [
                ",".join(motifs[f].matrix_id for f in track.factors) for track in DEMO_TRACKS
            ],
            "motif_names": [
                ",".join(motifs[f].name for f in track.factors) for track in DEMO_TRACKS
            ],
        }
    )


def build_demo(seed: int) -> Demo:
    """Generate the whole demo from `seed` (same seed, same data).

    Background sequence with soft-masked repeats, then the sites (CpG islands at promoters,
    PFM-sampled motif instances), then the peaks drawn around the sites, then a slight GC rise
    over the H3K36me3 gene bodies, and last the N gaps.
    """
    rng = np.random.default_rng(seed)
    chroms = list(CHROM_SIZES)
    offsets = chrom_offsets()
    gaps = gap_mask()
    motifs = load_factor_motifs()
    seq = add_repeats(background(int(offsets[-1]), rng), rng)
    sites = layout_sites(offsets, gaps, rng)
    plant_cpg_islands(seq, sites.position[sites.kind == "promoter"], rng)
    plant_motifs(seq, sites, motifs, rng)
    peaks = demo_peaks(sites, offsets, chroms, gaps, rng)
    protected = np.zeros(len(seq), dtype=bool)
    for shift in range(-12, 13):
        protected[sites.motif_centre + shift] = True
    chrom_start = dict(zip(chroms, offsets[:-1].tolist(), strict=True))
    raise_genic_gc(seq, peaks["H3K36me3_GM12878"], chrom_start, protected, rng)
    seq[gaps] = N
    genome = {chrom: seq[offsets[i] : offsets[i + 1]] for i, chrom in enumerate(chroms)}
    return Demo(genome, peaks, truth_table(motifs), sites)
