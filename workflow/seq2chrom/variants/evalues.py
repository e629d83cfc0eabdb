"""Background e-values: how unusual a variant's effect is on each track.

DeepSEA reported, per chromatin feature, an e-value: the fraction of 1000 Genomes variants whose
predicted effect on that feature is larger. Here the background is any scored VCF (the
``variants.background`` setting, scored once per model); a variant's e-value on track t is

    e(v, t) = #{b in background : |diff(b, t)| > |diff(v, t)|} / n_background

with ``diff = alt_prob - ref_prob`` in float32, strictly larger (a tie does not count). 0 means
larger than every background variant; the resolution is 1 / n_background. The per-variant
minimum over tracks (``min_evalue``) picks out variants unusual on at least one track.
"""

from __future__ import annotations

import numpy as np

from seq2chrom.errors import InputError
from seq2chrom.variants.store import Scores


def background_null(background: Scores) -> np.ndarray:
    """(T, n_background) float32: each row the sorted |diff| of the background on one track.

    Memory: 4 bytes per background variant and track (100,000 variants x 919 tracks: 368 MB).
    """
    if background.n == 0:
        raise InputError(
            background.path,
            "the background has no scored variant",
            fix="give a background VCF with variants the genome holds",
        )
    null = np.empty((len(background.tracks), background.n), np.float32)
    for start, stop in background.blocks():
        diff = background.matrix("alt_prob", start, stop) - background.matrix(
            "ref_prob", start, stop
        )
        null[:, start:stop] = np.abs(diff).T
    null.sort(axis=1)
    return null


def evalues(abs_diff: np.ndarray, null: np.ndarray) -> np.ndarray:
    """E-values of (n, T) |diff| against `background_null` (T, n_background): (n, T) float32,
    the fraction of background values strictly larger, track by track."""
    abs_diff = np.asarray(abs_diff, np.float32)
    if abs_diff.shape[1] != null.shape[0]:
        raise ValueError(f"abs_diff has {abs_diff.shape[1]} tracks, null {null.shape[0]}")
    size = null.shape[1]
    out = np.empty(abs_diff.shape, np.float32)
    for t in range(null.shape[0]):
        out[:, t] = size - np.searchsorted(null[t], abs_diff[:, t], side="right")
    return out / np.float32(size)
