"""The embedded demo's tracks and the JASPAR motifs of the factors that drive them.

Pure data, no heavy imports: the Snakemake rule `demo` reads `DEMO_TRACK_NAMES` at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Factor:
    """A transcription factor planted in the demo genome.

    ``jaspar_name`` is looked up by name in JASPAR CORE vertebrates; ``base_id`` picks one
    matrix when the name has several (the latest version of that base ID is used).
    """

    name: str
    jaspar_name: str
    base_id: str


@dataclass(frozen=True)
class DemoTrack:
    """One demo track: its name, assay class, cell type and the factors whose sites drive it."""

    name: str
    assay: str
    cell_type: str
    factors: tuple[str, ...]


FACTORS: dict[str, Factor] = {
    factor.name: factor
    for factor in (
        Factor("CTCF", "CTCF", "MA0139"),
        Factor("GATA1", "GATA1", "MA0035"),
        Factor("FOXA1", "FOXA1", "MA0148"),
        Factor("HNF4A", "HNF4A", "MA1494"),
        Factor("SPI1", "SPI1", "MA0080"),
        Factor("CEBPB", "CEBPB", "MA0466"),
        Factor("REST", "REST", "MA0138"),
        Factor("MAFK", "MAFK", "MA0496"),
        Factor("POU5F1", "Pou5f1::Sox2", "MA0142"),
        Factor("NRF1", "NRF1", "MA0506"),
    )
}

_K562 = ("CTCF", "GATA1", "CEBPB", "REST", "MAFK", "NRF1")
_HEPG2 = ("CTCF", "FOXA1", "HNF4A", "CEBPB", "MAFK")

DEMO_TRACKS: tuple[DemoTrack, ...] = (
    DemoTrack("CTCF_K562", "TF", "K562", ("CTCF",)),
    DemoTrack("CTCF_HepG2", "TF", "HepG2", ("CTCF",)),
    DemoTrack("GATA1_K562", "TF", "K562", ("GATA1",)),
    DemoTrack("FOXA1_HepG2", "TF", "HepG2", ("FOXA1",)),
    DemoTrack("HNF4A_HepG2", "TF", "HepG2", ("HNF4A",)),
    DemoTrack("SPI1_GM12878", "TF", "GM12878", ("SPI1",)),
    DemoTrack("CEBPB_HepG2", "TF", "HepG2", ("CEBPB",)),
    DemoTrack("CEBPB_K562", "TF", "K562", ("CEBPB",)),
    DemoTrack("REST_K562", "TF", "K562", ("REST",)),
    DemoTrack("MAFK_K562", "TF", "K562", ("MAFK",)),
    DemoTrack("MAFK_HepG2", "TF", "HepG2", ("MAFK",)),
    DemoTrack("POU5F1_H1", "TF", "H1", ("POU5F1",)),
    DemoTrack("NRF1_K562", "TF", "K562", ("NRF1",)),
    DemoTrack("NRF1_GM12878", "TF", "GM12878", ("NRF1",)),
    DemoTrack("DNase_K562", "DNase", "K562", _K562),
    DemoTrack("DNase_HepG2", "DNase", "HepG2", _HEPG2),
    DemoTrack("DNase_GM12878", "DNase", "GM12878", ("SPI1", "NRF1")),
    DemoTrack("DNase_H1", "DNase", "H1", ("POU5F1",)),
    DemoTrack("H3K4me3_K562", "Histone", "K562", ("NRF1",)),
    DemoTrack("H3K27ac_HepG2", "Histone", "HepG2", ("FOXA1", "HNF4A", "CEBPB", "MAFK")),
    DemoTrack("H3K36me3_GM12878", "Histone", "GM12878", ("NRF1",)),
)

DEMO_TRACK_NAMES: list[str] = [track.name for track in DEMO_TRACKS]
TF_TRACK_NAMES: list[str] = [track.name for track in DEMO_TRACKS if track.assay == "TF"]


def demo_track(name: str) -> DemoTrack:
    """The demo track called `name` (KeyError if there is none)."""
    for track in DEMO_TRACKS:
        if track.name == name:
            return track
    raise KeyError(name)
