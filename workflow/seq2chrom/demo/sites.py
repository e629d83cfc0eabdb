"""Regulatory sites of the demo genome: where each factor's motifs are planted and which TF
tracks bind them.

The usable genome is cut into slots of `SLOT` bp; each site takes one slot, so sites lie at
least ~800 bp apart and a 1000 bp window centred on one site's bin rarely reaches the next
site's motifs. Site kinds mimic real regulatory elements: CTCF insulators, CpG-island
promoters (NRF1), cell-type enhancers where several factors co-bind (K562: GATA1 with some
MAFK/CEBPB; HepG2: FOXA1/HNF4A with some CEBPB/MAFK), factor-only sites, motif instances that
nothing binds, and a few peaks without any motif (ChIP noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seq2chrom.demo.tracks import TF_TRACK_NAMES

SLOT = 1250
EDGE = 3000  # keep sites this far from chromosome ends and assembly gaps
# Sites per Mb of usable genome.
DENSITY: dict[str, float] = {
    "ctcf": 75,
    "promoter": 85,
    "k562_enhancer": 95,
    "hepg2_enhancer": 120,
    "cebpb": 55,
    "mafk": 40,
    "spi1": 65,
    "pou5f1": 65,
    "rest": 60,
    "unbound": 30,
}
NOISE_FRACTION = 0.04  # of each TF track's peaks, placed where no motif was planted
# Motif copies per site (homotypic clusters): factor -> (numbers of copies, probabilities).
# Short, low-information motifs (GATA1, FOXA1) come in clusters, as in real enhancers.
COPIES: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "CTCF": ((1, 2), (0.6, 0.4)),
    "REST": ((1, 2), (0.8, 0.2)),
    "NRF1": ((1, 2), (0.4, 0.6)),
    "GATA1": ((2, 3), (0.5, 0.5)),
    "FOXA1": ((2, 3), (0.5, 0.5)),
    "HNF4A": ((1, 2), (0.5, 0.5)),
    "SPI1": ((1, 2), (0.4, 0.6)),
    "CEBPB": ((1, 2), (0.2, 0.8)),
    "MAFK": ((1, 2), (0.3, 0.7)),
    "POU5F1": ((1, 2), (0.5, 0.5)),
}
OFFSETS = np.array([0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150])  # motif centres


@dataclass
class Sites:
    """Site layout over the concatenated genome.

    position: (n,) int64 site centre; kind: (n,) str; bound: (n, n_tf_tracks) bool in
    `TF_TRACK_NAMES` order; free: (m,) int64 centres of slots left without a site.
    motifs: planted instances, each (site index, factor, centre) as three (k,) arrays.
    """

    position: np.ndarray
    kind: np.ndarray
    bound: np.ndarray
    free: np.ndarray
    motif_site: np.ndarray
    motif_factor: np.ndarray
    motif_centre: np.ndarray


def slot_centres(offsets: np.ndarray, gaps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Centres ``(m,)`` int64 of all slots at least `EDGE` bp from chromosome ends and gaps.

    offsets: ``(n_chroms + 1,)`` chromosome starts; gaps: ``(total,)`` bool gap mask.
    """
    bounds = zip(offsets[:-1], offsets[1:], strict=True)
    starts = np.concatenate([np.arange(lo + EDGE, hi - EDGE - SLOT, SLOT) for lo, hi in bounds])
    in_gap = np.concatenate([[0], np.cumsum(gaps)])
    lo, hi = starts - EDGE, starts + SLOT + EDGE
    starts = starts[in_gap[hi] == in_gap[lo]]
    return starts + rng.integers(400, SLOT - 400 + 1, size=len(starts))


def _pattern(rng: np.random.Generator, n: int, both: float, first: float, second: float):
    """Binding in two cell types: (first, second) ``(n,)`` bool each, with P(both), P(first
    only), P(second only); the rest bind in neither."""
    p = np.array([both, first, second, max(0.0, 1 - both - first - second)])
    draw = rng.choice(4, size=n, p=p / p.sum())
    return (draw == 0) | (draw == 1), (draw == 0) | (draw == 2)


def layout_sites(
    offsets: np.ndarray, gaps: np.ndarray, rng: np.random.Generator, density=DENSITY
) -> Sites:
    """Place every site kind in random slots, choose its motifs and the TF tracks that bind it."""
    centres = rng.permutation(slot_centres(offsets, gaps, rng))
    megabases = len(centres) * SLOT / 1e6
    counts = {kind: round(per_mb * megabases) for kind, per_mb in density.items()}
    column = {name: j for j, name in enumerate(TF_TRACK_NAMES)}
    n_sites = sum(counts.values())
    if n_sites > len(centres):
        raise ValueError(f"{n_sites} sites do not fit in {len(centres)} slots")
    kind = np.repeat(list(counts), list(counts.values()))
    bound = np.zeros((n_sites, len(TF_TRACK_NAMES)), dtype=bool)
    motifs: list[list[str]] = [[] for _ in range(n_sites)]

    def plant(rows: np.ndarray, factor: str) -> None:
        choices, p = COPIES[factor]
        for row, n_copies in zip(rows, rng.choice(choices, size=len(rows), p=p), strict=True):
            motifs[row] += [factor] * int(n_copies)

    def bind(rows: np.ndarray, track: str, p: float = 0.95) -> None:
        bound[rows[rng.random(len(rows)) < p], column[track]] = True

    def chance(rows: np.ndarray, p: float) -> np.ndarray:
        return rows[rng.random(len(rows)) < p]

    def partners(rows: np.ndarray, factors: tuple[tuple[str, float], ...], cell: str) -> None:
        """Each factor planted in (and bound in `cell` at) a random fraction p of `rows`."""
        for factor, p in factors:
            extra = chance(rows, p)
            plant(extra, factor)
            bind(extra, f"{factor}_{cell}")

    rows = {name: np.flatnonzero(kind == name) for name in counts}
    # CTCF: constitutive insulators, most shared between cell types.
    site = rows["ctcf"]
    plant(site, "CTCF")
    k562, hepg2 = _pattern(rng, len(site), 0.72, 0.13, 0.13)
    bound[site[k562], column["CTCF_K562"]] = True
    bound[site[hepg2], column["CTCF_HepG2"]] = True
    # CpG-island promoters, most with NRF1 motifs (bound in K562 and/or GM12878).
    site = chance(rows["promoter"], 0.85)
    plant(site, "NRF1")
    k562, gm12878 = _pattern(rng, len(site), 0.65, 0.15, 0.15)
    bound[site[k562], column["NRF1_K562"]] = True
    bound[site[gm12878], column["NRF1_GM12878"]] = True
    # K562 enhancers: GATA1 pairs, some with MAFK or CEBPB bound only in K562.
    site = rows["k562_enhancer"]
    plant(site, "GATA1")
    bind(site, "GATA1_K562")
    partners(site, (("MAFK", 0.3), ("CEBPB", 0.25)), "K562")
    # HepG2 enhancers: FOXA1 and/or HNF4A, some with CEBPB or MAFK bound only in HepG2.
    site = rows["hepg2_enhancer"]
    combination = rng.choice(3, size=len(site), p=[0.35, 0.3, 0.35])
    foxa1, hnf4a = site[combination != 1], site[combination != 0]
    plant(foxa1, "FOXA1")
    bind(foxa1, "FOXA1_HepG2")
    plant(hnf4a, "HNF4A")
    bind(hnf4a, "HNF4A_HepG2")
    partners(site, (("CEBPB", 0.25), ("MAFK", 0.2)), "HepG2")
    # Factor-only sites; CEBPB and MAFK mostly shared by HepG2 and K562.
    for name, first, second in (("cebpb", "HepG2", "K562"), ("mafk", "K562", "HepG2")):
        site = rows[name]
        factor = name.upper()
        plant(site, factor)
        in_first, in_second = _pattern(rng, len(site), 0.78, 0.1, 0.1)
        bound[site[in_first], column[f"{factor}_{first}"]] = True
        bound[site[in_second], column[f"{factor}_{second}"]] = True
    for name, track in (("spi1", "SPI1_GM12878"), ("pou5f1", "POU5F1_H1"), ("rest", "REST_K562")):
        site = rows[name]
        plant(site, name.upper())
        bind(site, track)
    # Motif instances in closed chromatin: planted, bound by nothing.
    site = rows["unbound"]
    factors = sorted({factor for planted in motifs for factor in planted})
    for row, factor in zip(site, rng.choice(factors, size=len(site)), strict=True):
        motifs[row].append(str(factor))

    # ChIP noise: peaks with no motif, a few per TF track, in slots left free.
    n_noise = np.maximum(2, np.round(NOISE_FRACTION * bound.sum(axis=0))).astype(int)
    if n_sites + n_noise.sum() > len(centres):
        raise ValueError("too few slots for the noise peaks")
    noise = np.zeros((n_noise.sum(), len(TF_TRACK_NAMES)), dtype=bool)
    noise[np.arange(n_noise.sum()), np.repeat(np.arange(len(TF_TRACK_NAMES)), n_noise)] = True
    bound = np.vstack([bound, noise])
    kind = np.concatenate([kind, np.full(n_noise.sum(), "noise")])
    position = centres[: len(kind)]

    site_index, factor_names, centre = [], [], []
    signs = rng.choice([-1, 1], size=n_sites)
    for row, planted in enumerate(motifs):
        if len(planted) > len(OFFSETS):
            raise ValueError(f"site {row}: {len(planted)} motifs, room for {len(OFFSETS)}")
        site_index += [row] * len(planted)
        factor_names += planted
        centre += list(position[row] + signs[row] * OFFSETS[: len(planted)])
    centre = np.asarray(centre, dtype=np.int64) + rng.integers(-3, 4, size=len(centre))
    return Sites(
        position=position,
        kind=kind,
        bound=bound,
        free=np.sort(centres[len(kind) :]),
        motif_site=np.asarray(site_index, dtype=np.int64),
        motif_factor=np.asarray(factor_names),
        motif_centre=centre,
    )
