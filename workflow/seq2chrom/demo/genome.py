"""Synthetic demo genome: human-like base composition, CpG depletion, soft-masked repeats, N gaps.

The genome is held as one uint8 array of ASCII bases (all chromosomes end to end) plus the
chromosome offsets; every step is vectorised numpy over the whole array.
"""

from __future__ import annotations

import numpy as np

CHROM_SIZES: dict[str, int] = {
    "chr1": 720_000,
    "chr2": 700_000,
    "chr3": 690_000,
    "chr4": 680_000,
    "chr5": 670_000,
    "chr6": 660_000,
    "chr7": 400_000,
    "chr8": 500_000,
    "chr9": 480_000,
}
# Assembly gaps (chrom, start, end): telomere-like runs at chromosome ends, centromere-like inside.
N_GAPS: tuple[tuple[str, int, int], ...] = (
    ("chr1", 0, 10_000),
    ("chr1", 330_000, 370_000),
    ("chr4", 300_000, 320_000),
    ("chr6", 650_000, 660_000),
    ("chr8", 0, 5_000),
    ("chr9", 470_000, 480_000),
)

ASCII = np.frombuffer(b"ACGT", dtype=np.uint8)
LOWER = np.uint8(32)  # ASCII upper -> lower case
A, C, G, T, N = (np.uint8(ord(base)) for base in "ACGTN")


def chrom_offsets(sizes: dict[str, int] = CHROM_SIZES) -> np.ndarray:
    """Start of each chromosome in the concatenated genome: ``(n_chroms + 1,)`` int64."""
    return np.concatenate([[0], np.cumsum(list(sizes.values()))]).astype(np.int64)


def random_bases(gc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent bases with per-position GC probability `gc` ``(n,)``: ``(n,)`` uint8 ASCII."""
    n = len(gc)
    strong = rng.random(n, dtype=np.float32) < gc
    first = rng.random(n, dtype=np.float32) < 0.5
    index = np.where(strong, np.where(first, 1, 2), np.where(first, 0, 3))
    return ASCII[index]


def deplete_cpg(seq: np.ndarray, rng: np.random.Generator, fraction: float = 0.88) -> np.ndarray:
    """Mutate `fraction` of CpG dinucleotides to TpG or CpA (methyl-C deamination), in place.

    `seq` is ``(n,)`` uint8 ASCII upper case; returns it.
    """
    site = np.flatnonzero((seq[:-1] == C) & (seq[1:] == G))
    site = site[rng.random(len(site)) < fraction]
    on_minus = rng.random(len(site)) < 0.5
    seq[site[~on_minus]] = T
    seq[site[on_minus] + 1] = A
    return seq


def background(
    total: int, rng: np.random.Generator, gc: float = 0.41, block: int = 20_000
) -> np.ndarray:
    """Bulk sequence ``(total,)`` uint8 ASCII: GC varying by `block` (isochore-like), CpG depleted.

    The default GC before CpG depletion (0.41) ends near 39%; gene bodies are raised later.
    """
    n_blocks = -(-total // block)
    block_gc = np.clip(rng.normal(gc, 0.03, n_blocks), 0.33, 0.55).astype(np.float32)
    seq = random_bases(np.repeat(block_gc, block)[:total], rng)
    return deplete_cpg(seq, rng)


def repeat_families(rng: np.random.Generator) -> list[np.ndarray]:
    """Consensus sequences of a few repeat families (uint8 ASCII): SINE-, LINE-, MIR- and
    simple-repeat-like."""
    sine = deplete_cpg(random_bases(np.full(300, 0.55, np.float32), rng), rng, 0.4)
    line = deplete_cpg(random_bases(np.full(6000, 0.38, np.float32), rng), rng)
    mir = deplete_cpg(random_bases(np.full(260, 0.45, np.float32), rng), rng)
    simple = [np.frombuffer(unit * 60, dtype=np.uint8).copy() for unit in (b"CA", b"TTAGGG", b"A")]
    return [sine, line, mir, *simple]


def add_repeats(
    seq: np.ndarray, rng: np.random.Generator, fraction: float = 0.12, divergence: float = 0.12
) -> np.ndarray:
    """Insert diverged, soft-masked (lower-case) repeat copies covering about `fraction` of `seq`.

    Copies are fragments of `repeat_families` consensus sequences with up to `divergence`
    substitutions, on either strand. Modifies `seq` ``(n,)`` uint8 ASCII in place; returns it.
    """
    families = repeat_families(rng)
    weights = np.array([0.45, 0.35, 0.12, 0.03, 0.03, 0.02])
    mean_length = np.array([300, 1200, 200, 80, 80, 40])
    n_copies = int(fraction * len(seq) / (weights @ mean_length))
    family = rng.choice(len(families), size=n_copies, p=weights)
    starts = rng.integers(0, len(seq) - 7000, size=n_copies)
    for start, which in zip(starts, family, strict=True):
        consensus = families[which]
        length = min(len(consensus), int(rng.gamma(2.0, mean_length[which] / 2)) + 30)
        offset = rng.integers(0, len(consensus) - length + 1)
        copy = consensus[offset : offset + length].copy()
        mutated = rng.random(length) < rng.uniform(0.02, divergence)
        copy[mutated] = ASCII[rng.integers(0, 4, int(mutated.sum()))]
        if rng.random() < 0.5:
            copy = reverse_complement(copy)
        seq[start : start + length] = copy | LOWER
    return seq


def reverse_complement(seq: np.ndarray) -> np.ndarray:
    """Reverse complement of upper-case ASCII `seq` ``(n,)`` uint8."""
    table = np.arange(256, dtype=np.uint8)
    table[[A, C, G, T]] = [T, G, C, A]
    return table[seq[::-1]]


def cpg_island(length: int, rng: np.random.Generator) -> np.ndarray:
    """A CpG island ``(length,)`` uint8 ASCII: GC about 65%, CpG not depleted."""
    return random_bases(np.full(length, 0.65, np.float32), rng)


def gap_mask(sizes: dict[str, int] = CHROM_SIZES, gaps=N_GAPS) -> np.ndarray:
    """``(total,)`` bool, True inside the assembly gaps."""
    offsets = dict(zip(sizes, chrom_offsets(sizes)[:-1], strict=True))
    mask = np.zeros(sum(sizes.values()), dtype=bool)
    for chrom, start, end in gaps:
        mask[offsets[chrom] + start : offsets[chrom] + end] = True
    return mask


def to_fasta(genome: dict[str, np.ndarray], line_width: int = 60) -> bytes:
    """FASTA text of `genome` (name -> ``(n,)`` uint8 ASCII), `line_width` bases a line."""
    parts = []
    for name, seq in genome.items():
        full = len(seq) // line_width * line_width
        lines = np.empty((full // line_width, line_width + 1), dtype=np.uint8)
        lines[:, :line_width] = seq[:full].reshape(-1, line_width)
        lines[:, line_width] = ord("\n")
        parts += [f">{name}\n".encode(), lines.tobytes()]
        if full < len(seq):
            parts += [seq[full:].tobytes(), b"\n"]
    return b"".join(parts)
