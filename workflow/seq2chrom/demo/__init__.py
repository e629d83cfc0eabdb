"""The embedded demo: a synthetic genome with real JASPAR motifs planted at peak sites.

`DEMO_TRACKS` (the track table, importable without numpy) and `build_demo(seed)`, which returns
the genome, one peak table per track and the motif truth; `seq2chrom demo` writes them.
"""

from seq2chrom.demo.tracks import (
    DEMO_TRACK_NAMES,
    DEMO_TRACKS,
    FACTORS,
    TF_TRACK_NAMES,
    DemoTrack,
    demo_track,
)

__all__ = [
    "DEMO_TRACKS",
    "DEMO_TRACK_NAMES",
    "FACTORS",
    "TF_TRACK_NAMES",
    "DemoTrack",
    "build_demo",
    "demo_track",
]


def build_demo(seed: int):
    """Generate the demo from `seed`; see `seq2chrom.demo.build.build_demo`."""
    from seq2chrom.demo.build import build_demo as build

    return build(seed)
