"""JASPAR motifs read offline from the SQLite databases bundled with pyjaspar."""

from __future__ import annotations

import numpy as np

from seq2chrom.motifs.meme import Motif


def load_jaspar(
    release: str = "JASPAR2024", collection: str = "CORE", tax_group: str = "vertebrates"
) -> list[Motif]:
    """The latest version of every motif of a JASPAR release, collection and taxonomic group.

    Returns motifs with ``id`` the matrix ID (``MA0139.2``), ``name`` the factor name with
    spaces replaced by ``_``, ``matrix`` ``(w, 4)`` A,C,G,T probabilities (counts / column total)
    and ``nsites`` the first column's count total. An empty ``tax_group`` means all groups.
    Raises ValueError for an unknown release or an empty selection.
    """
    from pyjaspar import jaspardb

    database = jaspardb(release=release)
    if release not in database.get_releases():
        choices = database.get_releases()
        raise ValueError(f"unknown JASPAR release {release!r}; choose from {choices}")
    found = database.fetch_motifs(
        collection=[collection], tax_group=[tax_group] if tax_group else None
    )
    motifs = []
    for record in found:
        counts = np.array([record.counts[base] for base in "ACGT"], dtype=np.float64).T
        totals = counts.sum(axis=1, keepdims=True)
        motifs.append(
            Motif(
                record.matrix_id,
                counts / np.where(totals > 0, totals, 1),
                "_".join(str(record.name).split()),
                int(round(totals[0, 0])),
            )
        )
    if not motifs:
        raise ValueError(f"no JASPAR motifs for {release} {collection} {tax_group!r}")
    return motifs


def danq_jaspar_pwms() -> list[np.ndarray]:
    """The 519 JASPAR CORE 2016 vertebrate motifs that initialise DanQ-JASPAR, in its order.

    pyjaspar's JASPAR2016 CORE vertebrates (latest version of each matrix) sorted by matrix ID:
    the order of the DanQ repository's ``JASPAR_CORE_2016_vertebrates.npy``, to which
    ``DanQ-JASPAR_train.py`` refers by index. Returns (w, 4) float64 A,C,G,T probabilities
    (the npy has A,G,C,T columns), widths 6-21.
    """
    motifs = load_jaspar("JASPAR2016", "CORE", "vertebrates")
    return [motif.matrix for motif in sorted(motifs, key=lambda motif: motif.id)]
