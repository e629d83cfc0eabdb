"""JASPAR motifs of the demo factors (offline, from pyjaspar) and instances sampled from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seq2chrom.demo.tracks import FACTORS

JASPAR_RELEASE = "JASPAR2024"
BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])  # A, C, G, T of the demo genome


@dataclass(frozen=True)
class FactorMotif:
    """A factor's JASPAR matrix: ``pfm`` is ``(w, 4)`` float64 A,C,G,T probabilities."""

    factor: str
    matrix_id: str
    name: str
    pfm: np.ndarray


def load_factor_motifs(release: str = JASPAR_RELEASE) -> dict[str, FactorMotif]:
    """Look up every demo factor by name in JASPAR CORE vertebrates (pyjaspar, offline).

    When a name has several matrices, the latest version of the factor's pinned base ID is used.
    Raises LookupError when a factor is missing from the release.
    """
    from pyjaspar import jaspardb

    database = jaspardb(release=release)
    motifs = {}
    for factor in FACTORS.values():
        found = [
            record
            for record in database.fetch_motifs_by_name(factor.jaspar_name)
            if record.collection == "CORE"
            and record.tax_group == "vertebrates"
            and record.base_id == factor.base_id
        ]
        if not found:
            raise LookupError(
                f"{release}: no CORE vertebrates matrix {factor.base_id} named {factor.jaspar_name}"
            )
        record = max(found, key=lambda record: int(record.version))
        counts = np.array([record.counts[base] for base in "ACGT"], dtype=np.float64).T
        pfm = (counts + 0.01) / (counts + 0.01).sum(axis=1, keepdims=True)
        motifs[factor.name] = FactorMotif(factor.name, record.matrix_id, str(record.name), pfm)
    return motifs


def log_odds(pfm: np.ndarray, pseudocount: float = 0.01) -> np.ndarray:
    """Position weight matrix ``(w, 4)`` float64: log2 of `pfm` over the demo background."""
    probabilities = (pfm + pseudocount) / (1 + 4 * pseudocount)
    return np.log2(probabilities / BACKGROUND)


def sample_instances(
    pfm: np.ndarray, n: int, rng: np.random.Generator, min_score: float = 0.8
) -> np.ndarray:
    """Sample `n` binding sites from `pfm`, keeping those scoring at least `min_score` of the best.

    Each column is drawn from the PFM's base probabilities; draws whose log-odds score is below
    ``min_score * max_score`` are rejected (real bound sites are strong ones), so the planted
    sites follow the PFM's composition without weak, unrecognisable instances.

    Returns
    -------
    (n, w) uint8 base indices, A,C,G,T = 0..3, forward strand.
    """
    width = pfm.shape[0]
    pwm = log_odds(pfm)
    best = pwm.max(axis=1).sum()
    cumulative = np.cumsum(pfm, axis=1)
    kept: list[np.ndarray] = []
    total = 0
    while total < n:
        draws = rng.random((max(4 * n, 64), width))
        bases = (draws[:, :, None] > cumulative[None, :, :3]).sum(axis=2).astype(np.uint8)
        scores = pwm[np.arange(width), bases].sum(axis=1)
        good = bases[scores >= min_score * best]
        kept.append(good)
        total += len(good)
    return np.concatenate(kept)[:n]


def information_content(pfm: np.ndarray) -> float:
    """Total information content of `pfm` ``(w, 4)`` in bits."""
    p = np.clip(pfm, 1e-9, 1)
    return float((2 + (p * np.log2(p)).sum(axis=1)).sum())
