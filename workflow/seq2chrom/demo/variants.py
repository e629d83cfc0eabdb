"""Demo variants and regions for the steps that use a trained model.

Variants (a VCF): for each planted factor, single-base changes that destroy a planted motif
instance at its most informative position (the base the motif least expects), preferring sites
with one copy of that factor, and a few deletions of a motif's core; and control SNVs at the
centres of slots without any site, more than a window's half away from every planted motif.
Background (a second VCF, `demo_background`): random SNVs of the same chromosomes, the
demo's stand-in for DeepSEA's 1000 Genomes background: each variant's e-value on a track is
the fraction of them with a larger effect. Regions (a BED): a few stretches around sites, for
prediction tracks. All lie on the chromosomes of `VARIANT_CHROMS`, the shipped config's test
chromosomes, so no model trained on them. Nothing else in the demo depends on these files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2chrom.demo.motifs import FactorMotif
from seq2chrom.demo.sites import Sites

VARIANT_CHROMS = ("chr8", "chr9")  # config/config.yaml split.test
PER_FACTOR = 10  # motif-destroying SNVs per factor
DELETIONS = 10  # motif-core deletions, over all factors
CONTROLS = 40
MIN_CONTROL_DISTANCE = 600  # bp from any planted motif centre (a window's half is 500)
BACKGROUND = 300  # random SNVs: e-values in steps of 1/300, at a few seconds per model
_COMPLEMENT = np.array([3, 2, 1, 0])
_ASCII = np.frombuffer(b"ACGT", np.uint8)
_CODE = np.full(256, -1, np.int64)
_CODE[np.frombuffer(b"ACGTacgt", np.uint8)] = [0, 1, 2, 3, 0, 1, 2, 3]

VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    "##source=seq2chrom demo\n"
    '##INFO=<ID=KIND,Number=1,Type=String,Description="motif (destroys a planted motif), '
    'control (no motif within 600 bp)">\n'
    '##INFO=<ID=FACTOR,Number=1,Type=String,Description="factor whose motif is destroyed">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def _chrom_of(position: np.ndarray, offsets: np.ndarray, chroms: list[str]):
    index = np.searchsorted(offsets, position, side="right") - 1
    return np.asarray(chroms)[index], position - offsets[index]


def _instance_strand(bases: np.ndarray, pfm: np.ndarray) -> bool:
    """True when the planted instance `bases` (w,) codes reads on the minus strand."""
    if (bases < 0).any():
        return False
    forward = np.log(pfm[np.arange(len(pfm)), bases] + 1e-3).sum()
    reverse = np.log(pfm[::-1][np.arange(len(pfm)), _COMPLEMENT[bases]] + 1e-3).sum()
    return bool(reverse > forward)


def demo_variants(
    seq: np.ndarray,
    offsets: np.ndarray,
    chroms: list[str],
    sites: Sites,
    motifs: dict[str, FactorMotif],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Demo variants: columns chrom, pos (1-based), id, ref, alt, kind, factor; sorted.

    seq: (total,) uint8 ASCII of the concatenated genome; offsets: chromosome starts.
    """
    chrom_of = np.searchsorted(offsets, sites.motif_centre, side="right") - 1
    on_test = np.isin(np.asarray(chroms)[chrom_of], VARIANT_CHROMS)
    bound = sites.kind[sites.motif_site] != "unbound"
    rows = []
    deletion_factors = rng.permutation(sorted(motifs))[:DELETIONS]
    for factor in sorted(motifs):
        pfm = motifs[factor].pfm
        width = len(pfm)
        column = int(np.argmax((pfm * np.log2(np.clip(pfm, 1e-9, 1) / 0.25)).sum(axis=1)))
        chosen = np.flatnonzero((sites.motif_factor == factor) & on_test & bound)
        copies = np.bincount(sites.motif_site[chosen], minlength=len(sites.position))
        single = chosen[copies[sites.motif_site[chosen]] == 1]
        pool = single if len(single) >= PER_FACTOR else chosen
        picked = rng.permutation(pool)[: PER_FACTOR + 1]
        for k, instance in enumerate(picked):
            start = int(sites.motif_centre[instance]) - width // 2
            bases = _CODE[seq[start : start + width]]
            minus = _instance_strand(bases, pfm)
            at = start + (width - 1 - column if minus else column)
            worst = int(np.argmin(pfm[column]))
            alt = _COMPLEMENT[worst] if minus else worst
            ref = int(_CODE[seq[at]])
            if ref < 0 or ref == alt:
                continue
            if k == PER_FACTOR:  # one more instance: a deletion of the core, if chosen
                if factor in deletion_factors:
                    core = slice(start + width // 2 - 3, start + width // 2 + 3)
                    anchor = core.start - 1
                    ref_text = seq[anchor : core.stop].tobytes().decode().upper()
                    rows.append((anchor, ref_text, ref_text[0], "motif", factor))
                continue
            rows.append((at, chr(_ASCII[ref]), chr(_ASCII[alt]), "motif", factor))
    motif_centres = np.sort(sites.motif_centre)
    free = sites.free[np.isin(_chrom_of(sites.free, offsets, chroms)[0], VARIANT_CHROMS)]
    nearest = np.searchsorted(motif_centres, free)
    left = np.abs(free - motif_centres[np.clip(nearest - 1, 0, None)])
    right = np.abs(motif_centres[np.clip(nearest, None, len(motif_centres) - 1)] - free)
    free = free[np.minimum(left, right) > MIN_CONTROL_DISTANCE]
    for at in rng.permutation(free)[:CONTROLS]:
        ref = int(_CODE[seq[at]])
        if ref < 0:
            continue
        alt = int(rng.choice([b for b in range(4) if b != ref]))
        rows.append((int(at), chr(_ASCII[ref]), chr(_ASCII[alt]), "control", "."))
    table = pd.DataFrame(rows, columns=["at", "ref", "alt", "kind", "factor"])
    chrom, local = _chrom_of(table["at"].to_numpy(np.int64), offsets, chroms)
    table = table.assign(chrom=chrom, pos=local + 1).sort_values(["chrom", "pos"])
    table["id"] = [f"demo_{kind}_{i + 1}" for i, kind in enumerate(table["kind"])]
    return table[["chrom", "pos", "id", "ref", "alt", "kind", "factor"]].reset_index(drop=True)


def vcf_text(variants: pd.DataFrame) -> str:
    """The VCF of `demo_variants` (INFO: KIND and FACTOR)."""
    lines = [
        f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\tKIND={r.kind};FACTOR={r.factor}\n"
        for r in variants.itertuples()
    ]
    return VCF_HEADER + "".join(lines)


def demo_background(
    seq: np.ndarray,
    offsets: np.ndarray,
    chroms: list[str],
    rng: np.random.Generator,
    n: int = BACKGROUND,
) -> pd.DataFrame:
    """`n` random SNVs on `VARIANT_CHROMS` at A, C, G or T bases, each to one of the other three
    bases: columns chrom, pos (1-based), id, ref, alt; sorted."""
    starts = [int(offsets[chroms.index(c)]) for c in VARIANT_CHROMS]  # offsets: (n + 1,)
    stops = [int(offsets[chroms.index(c) + 1]) for c in VARIANT_CHROMS]
    pool = np.concatenate([np.arange(a + 500, b - 500) for a, b in zip(starts, stops, strict=True)])
    at = rng.choice(pool, 2 * n, replace=False)
    at = np.sort(at[_CODE[seq[at]] >= 0][:n])
    ref = _CODE[seq[at]]
    alt = (ref + rng.integers(1, 4, len(at))) % 4
    chrom, local = _chrom_of(at, offsets, chroms)
    names = [f"demo_background_{i + 1}" for i in range(len(at))]
    return pd.DataFrame(
        {"chrom": chrom, "pos": local + 1, "id": names,
         "ref": [chr(c) for c in _ASCII[ref]], "alt": [chr(c) for c in _ASCII[alt]]}
    )  # fmt: skip


def background_vcf_text(variants: pd.DataFrame) -> str:
    """The VCF of `demo_background`."""
    lines = [f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\n"
             for r in variants.itertuples()]  # fmt: skip
    header = "##fileformat=VCFv4.2\n##source=seq2chrom demo background\n"
    return header + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(lines)


def demo_regions(
    offsets: np.ndarray, chroms: list[str], sites: Sites, n: int = 3, length: int = 20_000
) -> pd.DataFrame:
    """`n` regions of `length` bp on the first test chromosome, each centred on a bound site
    (BED columns chrom, start, end, name)."""
    chrom, local = _chrom_of(sites.position, offsets, chroms)
    keep = (chrom == VARIANT_CHROMS[0]) & (sites.kind != "unbound") & (sites.kind != "noise")
    centres = np.sort(local[keep])
    picked = centres[np.linspace(len(centres) // 5, 4 * len(centres) // 5, n).astype(int)]
    start = (picked - length // 2) // 200 * 200
    return pd.DataFrame(
        {
            "chrom": VARIANT_CHROMS[0],
            "start": start,
            "end": start + length,
            "name": [f"demo_region_{i + 1}" for i in range(n)],
        }
    )
