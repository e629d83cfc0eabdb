"""Contribution tracks for a genome browser: per-base contributions along regions, as bigWig.

The regions are tiled as the prediction tracks tile them (`inference.tracks`, with one step per
bin): each bin is explained on the window centred on it, and each base of the bin gets its
contribution to that window's logit of the track (``contrib``: the hypothetical score of the
base present, 0 at N; `attribution.methods`). Windows overlap; each base is read from the one
window whose central bin holds it, where the model sees it with the most context on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.attribution.methods import Settings, attribute, gradient_function, logit_model
from seq2chrom.data.bins import window_offset
from seq2chrom.errors import InputError
from seq2chrom.inference.tracks import (
    Steps,
    centred_windows,
    merge_regions,
    region_steps,
    write_bigwigs,
)
from seq2chrom.io import atomic_outputs

log = logging.getLogger("seq2chrom.attribution")


def bases_of_steps(steps: Steps, first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every base written by `steps`: its position, its step and its index in that step's
    window (whose first base is ``first[step]``)."""
    lengths = steps.end - steps.start
    step = np.repeat(np.arange(len(lengths)), lengths)
    within = np.arange(len(step)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = steps.start[step] + within
    return position, step, position - first[step]


def contribution_steps(
    model,
    chromosome: Callable[[str], np.ndarray],
    regions: pd.DataFrame,
    columns: Sequence[int],
    settings: Settings,
    rng: np.random.Generator,
    bin_size: int = 200,
    gradient=None,
) -> Iterator[tuple[str, Steps, np.ndarray]]:
    """Per chromosome: one step per base of the merged regions and the contributions
    ``(n_bases, len(columns))`` float32 of each base to the logit of each output column.

    model: the logit model (`logit_model`); gradient: its `gradient_function`, made here when
    None and the method needs one. Windows are explained `settings.batch_size` at a time.
    """
    window = int(model.input_shape[1])
    if settings.method != "ism" and gradient is None:
        gradient = gradient_function(model)
    for chrom, group in merge_regions(regions).groupby("chrom", sort=False):
        sequence = chromosome(str(chrom))
        steps = region_steps(group["start"], group["end"], bin_size, bin_size)
        first = steps.bin_start + window_offset(bin_size, window)
        position, step, index = bases_of_steps(steps, first)
        values = np.zeros((len(position), len(columns)), np.float32)
        for lo in range(0, len(steps.bin_start), settings.batch_size):
            hi = lo + settings.batch_size
            x = centred_windows(sequence, steps.bin_start[lo:hi], bin_size, window)
            rows = slice(*np.searchsorted(step, [lo, hi]))
            for k, column in enumerate(columns):
                hypothetical = attribute(model, x, column, settings, rng, gradient)
                contrib = (hypothetical * x).sum(axis=-1)
                values[rows, k] = contrib[step[rows] - lo, index[rows]]
        yield str(chrom), Steps(position, position, position + 1), values


def write_contribution_tracks(
    model_path: Path,
    genome: Path,
    regions_path: Path,
    tracks: Sequence[str],
    out_dir: Path,
    *,
    settings: Settings,
    bin_size: int = 200,
    seed: int = 0,
    device: str = "auto",
) -> None:
    """`seq2chrom attribute-regions`: write ``out_dir/{track}.bw`` for each of `tracks`, the
    per-base contributions to the track along the regions. Only those files are written, each
    atomically: on an error none of them is replaced or left half-written."""
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.regions import place_regions, read_regions
    from seq2chrom.modelfile.loading import open_trained

    fasta = open_genome(genome)
    sizes = chromosome_sizes(fasta)
    regions = place_regions(read_regions(regions_path), sizes, regions_path)
    trained = open_trained(model_path, device)
    unknown = [t for t in tracks if t not in trained.tracks]
    if unknown:
        raise InputError("--tracks", f"not tracks of {model_path}: {unknown}")
    columns = [trained.tracks.index(t) for t in tracks]
    chunks = list(
        contribution_steps(
            logit_model(trained.model), lambda name: read_chromosome(fasta, name), regions,
            columns, settings, np.random.default_rng(seed), bin_size,
        )
    )  # fmt: skip
    with atomic_outputs(out_dir / f"{track}.bw" for track in tracks) as temporary:
        paths = dict(zip(tracks, temporary, strict=True))
        write_bigwigs(paths, list(sizes.items()), chunks, {t: k for k, t in enumerate(tracks)})
    n_bases = sum(len(steps.start) for _, steps, _ in chunks)
    log.info("%d bases per track by %s, %d bigWig files in %s",
             n_bases, settings.method, len(tracks), out_dir)  # fmt: skip
