"""In-silico mutagenesis: the effect of every single-base substitution of a window on one track.

For a ``(L, 4)`` one-hot window, each position is changed to each base it does not have (three
per A/C/G/T position, four at an N), the mutants go through the model in batches with their
reverse complements (`predict_both_strands`), and ``effects[i, b]`` is the mutant's prediction
minus the reference prediction of the track (0 for the reference base itself). A position's
importance is the largest ``|effect|`` of its substitutions: how much one change there can move
the prediction, up or down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from seq2chrom import BASES


class Mutagenesis(NamedTuple):
    """Effects of single-base substitutions on one track for R windows of length L."""

    effects: np.ndarray  # (R, L, 4) float32, mutant minus reference prediction; 0 at the ref base
    importance: np.ndarray  # (R, L) float32, max |effect| over a position's substitutions
    reference: np.ndarray  # (R,) float32, the reference window's prediction


def substitutions(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, bases) of every substitution of a ``(L, 4)`` one-hot window, position-major.

    Returns two (m,) int64 arrays; m = 3L for a window without N.
    """
    positions, bases = np.nonzero(np.asarray(x) == 0)
    return positions.astype(np.int64), bases.astype(np.int64)


def mutants(x: np.ndarray, positions: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """``(m, L, 4)`` float32 copies of `x`, copy k with position ``positions[k]`` set to base
    ``bases[k]``."""
    batch = np.repeat(np.asarray(x, np.float32)[None], len(positions), axis=0)
    rows = np.arange(len(positions))
    batch[rows, positions, :] = 0
    batch[rows, positions, bases] = 1
    return batch


def mutagenesis(
    model, x: np.ndarray, track_index: Sequence[int], batch_size: int = 1000
) -> Mutagenesis:
    """Effects of every substitution of each window on its track.

    x: (R, L, 4) uint8 one-hot windows; track_index: (R,) output column per window;
    batch_size: mutants per forward pass (each also reverse-complemented).
    """
    from seq2chrom.training.predict import predict_both_strands

    x = np.asarray(x)
    track_index = np.asarray(track_index, np.int64)
    effects = np.zeros(x.shape, np.float32)
    reference = predict_both_strands(model, x.astype(np.float32))[np.arange(len(x)), track_index]
    for r in range(len(x)):
        positions, bases = substitutions(x[r])
        for first in range(0, len(positions), batch_size):
            part = slice(first, first + batch_size)
            prob = predict_both_strands(model, mutants(x[r], positions[part], bases[part]))
            effects[r, positions[part], bases[part]] = prob[:, track_index[r]] - reference[r]
    return Mutagenesis(effects, np.abs(effects).max(axis=2), reference.astype(np.float32))


def strongest_span(importance: np.ndarray, width: int = 50) -> tuple[int, int]:
    """``[start, end)`` of the `width`-bp stretch with the largest summed importance (L,)."""
    width = min(width, len(importance))
    sums = np.convolve(importance, np.ones(width), mode="valid")
    start = int(np.argmax(sums))
    return start, start + width


def plot_mutagenesis(
    effects: np.ndarray,
    x: np.ndarray,
    *,
    title: str,
    width: int = 50,
    offset: int = 0,
):
    """Figure: importance along the window, and for its strongest `width` bp a logo-style row
    (the reference base drawn as tall as the position's importance) over a heat map of all
    substitution effects.

    effects: (L, 4) float32; x: (L, 4) one-hot reference; offset: genome position of index 0
    (for the axis labels). Returns a matplotlib Figure (the caller saves it).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch

    from seq2chrom.motifs.logos import COLOURS, logo_paths

    importance = np.abs(effects).max(axis=1)
    start, end = strongest_span(importance, width)
    figure = Figure(figsize=(10, 5.2), dpi=90)
    overview, logo, heat = figure.subplots(
        3, 1, gridspec_kw={"height_ratios": [1, 1.3, 1.1], "hspace": 0.45}
    )
    overview.plot(np.arange(len(importance)), importance, color="#3e4c59", linewidth=0.8)
    overview.axvspan(start, end, color="#f7b32b", alpha=0.35)
    overview.set_xlim(0, len(importance))
    overview.set_ylabel("importance")
    overview.set_title(title, fontsize=10, loc="left")
    overview.set_xlabel(f"window position (0 = {offset:,})", fontsize=8)

    shown = importance[start:end]
    heights = np.asarray(x[start:end], np.float64) * shown[:, None]
    for compound, colour in zip(logo_paths(heights), COLOURS, strict=True):
        if compound is not None:
            logo.add_artist(PathPatch(compound, facecolor=colour, edgecolor="none"))
    logo.set_xlim(0, end - start)
    logo.set_ylim(0, max(float(shown.max()), 1e-6) * 1.05)
    logo.set_ylabel("max |effect|")
    logo.set_xticks([])
    logo.spines[["top", "right"]].set_visible(False)

    values = effects[start:end].T
    limit = max(float(np.abs(values).max()), 1e-6)
    image = heat.imshow(
        values,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
        extent=(0, end - start, 3.5, -0.5),
    )
    heat.set_yticks(range(4), list(BASES))
    ticks = np.arange(0, end - start, 10)
    heat.set_xticks(ticks + 0.5, [f"{offset + start + t:,}" for t in ticks], fontsize=7)
    heat.set_xlabel("genome position (0-based); colour: mutant minus reference prediction")
    # an inset colour bar keeps the heat map as wide as the logo above it, column for column
    figure.colorbar(image, cax=heat.inset_axes((1.01, 0, 0.012, 1)))
    return figure
