"""Information-content sequence logos, drawn fast.

Each letter is a glyph path (matplotlib `TextPath`) normalised once to the unit square; a
logo is four compound paths (one per base colour) built by scaling and shifting those
vertices with numpy, drawn on one reused Agg figure. About 20 ms per logo instead of ~0.4 s
for a logomaker loop; `draw_logos` spreads the logos over worker processes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from seq2chrom.motifs.pwms import information_content

BASES = "ACGT"
COLOURS = ("#109648", "#255c99", "#f7b32b", "#d62839")  # A green, C blue, G yellow, T red
_MARGIN = 0.04  # horizontal gap on each side of a letter, in columns


@functools.cache
def _glyphs() -> tuple:
    """(vertices (n, 2) in the unit square, codes (n,)) of each base's bold glyph."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="DejaVu Sans", weight="bold")
    glyphs = []
    for base in BASES:
        path = TextPath((0, 0), base, size=1, prop=font)
        vertices = np.asarray(path.vertices, dtype=np.float64)
        low, high = vertices.min(axis=0), vertices.max(axis=0)
        glyphs.append(((vertices - low) / (high - low), np.asarray(path.codes)))
    return tuple(glyphs)


def letter_heights(pwm: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo: ``(w, 4)`` probabilities -> ``(w, 4)``
    bits, ``p(b) x IC(column)``."""
    pwm = np.asarray(pwm, dtype=np.float64)
    pwm = pwm / pwm.sum(axis=1, keepdims=True)
    return pwm * information_content(pwm)[:, None]


def logo_paths(heights: np.ndarray) -> list:
    """One compound `matplotlib.path.Path` per base for a ``(w, 4)`` height matrix, letters
    stacked smallest at the bottom, column j spanning x in [j, j + 1]."""
    from matplotlib.path import Path as MplPath

    heights = np.asarray(heights, dtype=np.float64)
    order = np.argsort(heights, axis=1, kind="stable")
    stacked = np.take_along_axis(heights, order, axis=1)
    bottoms_sorted = np.cumsum(stacked, axis=1) - stacked
    bottoms = np.empty_like(heights)
    np.put_along_axis(bottoms, order, bottoms_sorted, axis=1)
    paths = []
    for b, (vertices, codes) in enumerate(_glyphs()):
        columns = np.flatnonzero(heights[:, b] > 1e-3)
        if not len(columns):
            paths.append(None)
            continue
        x = columns[:, None] + _MARGIN + vertices[None, :, 0] * (1 - 2 * _MARGIN)
        y = bottoms[columns, b][:, None] + vertices[None, :, 1] * heights[columns, b][:, None]
        paths.append(
            MplPath(np.stack([x, y], axis=-1).reshape(-1, 2), np.tile(codes, len(columns)))
        )
    return paths


class LogoCanvas:
    """A reusable Agg figure that draws one logo at a time and saves it as PNG."""

    def __init__(self, width: int, *, dpi: int = 80):
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(max(3.0, 0.26 * width + 0.8), 1.9), dpi=dpi)
        self.axes = self.figure.add_axes((0.09, 0.16, 0.89, 0.68))
        self.axes.set_ylim(0, 2)
        self.axes.set_yticks([0, 1, 2])
        self.axes.set_ylabel("bits")
        self.axes.spines[["top", "right"]].set_visible(False)
        self.width = width
        self._patches: list = []
        self._set_width(width)

    def _set_width(self, width: int) -> None:
        self.axes.set_xlim(0, width)
        ticks = np.arange(0, width, 5 if width > 12 else 1)
        self.axes.set_xticks(ticks + 0.5, [str(t + 1) for t in ticks])
        self.width = width

    def draw(self, pwm: np.ndarray, title: str, path: str | Path) -> None:
        """Draw the information-content logo of ``(w, 4)`` `pwm` to PNG `path`."""
        from matplotlib.patches import PathPatch

        for patch in self._patches:
            patch.remove()
        if len(pwm) != self.width:
            self._set_width(len(pwm))
        # add_artist, not add_patch: limits are fixed, and add_patch's data-limit update walks
        # every Bezier segment of the glyphs (60% of the drawing time).
        self._patches = [
            self.axes.add_artist(
                PathPatch(
                    compound, facecolor=colour, edgecolor="none", transform=self.axes.transData
                )
            )
            for compound, colour in zip(logo_paths(letter_heights(pwm)), COLOURS, strict=True)
            if compound is not None
        ]
        self.axes.set_title(title, fontsize=9, loc="left")
        self.figure.savefig(path, format="png")


def _draw_chunk(jobs: list[tuple[np.ndarray, str, str]], dpi: int) -> None:
    canvas = None
    for pwm, title, path in jobs:
        if canvas is None:
            canvas = LogoCanvas(len(pwm), dpi=dpi)
        canvas.draw(pwm, title, path)


def draw_logos(
    pwms: Sequence[np.ndarray],
    titles: Sequence[str],
    paths: Sequence[str | Path],
    *,
    threads: int = 1,
    dpi: int = 80,
) -> None:
    """Draw one PNG logo per ``(w, 4)`` PWM; with ``threads > 1`` in that many processes."""
    jobs = [(np.asarray(p), str(t), str(o)) for p, t, o in zip(pwms, titles, paths, strict=True)]
    if threads <= 1 or len(jobs) < 16:
        _draw_chunk(jobs, dpi)
        return
    chunks = [jobs[i::threads] for i in range(threads)]
    with ProcessPoolExecutor(max_workers=threads) as pool:
        list(pool.map(_draw_chunk, chunks, [dpi] * len(chunks)))
