"""Prediction tracks for a genome browser: strand-averaged predictions along regions, as bigWig.

Each region of a BED file is tiled from its start in steps of ``step`` bp. Step ``k`` is the
model's bin (``bin_size``, 200 bp) starting at ``start + k * step``; the model sees the
``window`` bp (1000) centred on that bin, with N beyond the chromosome ends. The value is
written over the ``step`` bp at the bin's centre: with ``step = bin_size`` (the default) that is
the bin itself, so consecutive values tile the region without gaps or overlaps. Overlapping
regions are merged first, because a bigWig holds one value per base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.data.bins import window_offset
from seq2chrom.data.one_hot import one_hot_encode, padded_windows
from seq2chrom.errors import InputError
from seq2chrom.io import atomic_outputs

log = logging.getLogger("seq2chrom.variants")


class Steps(NamedTuple):
    """Positions predicted on one chromosome: bin starts and the intervals written."""

    bin_start: np.ndarray  # (n,) int64, 0-based start of each predicted bin
    start: np.ndarray  # (n,) int64, start of the written interval
    end: np.ndarray  # (n,) int64, end (exclusive) of the written interval


def merge_regions(regions: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping or touching regions (columns chrom, start, end) per chromosome.

    Chromosomes keep their order of first appearance; regions are sorted by start within one.
    """
    merged = []
    for chrom, group in regions.groupby("chrom", sort=False):
        group = group.sort_values("start")
        starts, ends = group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64)
        reach = np.maximum.accumulate(ends)
        new = np.concatenate([[True], starts[1:] > reach[:-1]])
        first = np.flatnonzero(new)
        last = np.concatenate([first[1:], [len(starts)]]) - 1
        merged.append(pd.DataFrame({"chrom": chrom, "start": starts[first], "end": reach[last]}))
    if not merged:
        return pd.DataFrame({"chrom": [], "start": [], "end": []})
    return pd.concat(merged, ignore_index=True)


def region_steps(starts: np.ndarray, ends: np.ndarray, step: int, bin_size: int) -> Steps:
    """Steps of merged, sorted regions on one chromosome (see module docstring).

    A region shorter than `step` still gets one value; the last written interval of a region is
    cut at the region's end.
    """
    bins, lo, hi = [], [], []
    for start, end in zip(np.asarray(starts), np.asarray(ends), strict=True):
        bin_start = np.arange(start, max(end - step, start) + 1, step, dtype=np.int64)
        centre = bin_start + bin_size // 2
        written = np.clip(centre - step // 2, start, end)
        bins.append(bin_start)
        lo.append(written)
        hi.append(np.minimum(np.append(written[1:], end), end))
    if not bins:
        empty = np.zeros(0, np.int64)
        return Steps(empty, empty, empty)
    steps = Steps(np.concatenate(bins), np.concatenate(lo), np.concatenate(hi))
    keep = steps.end > steps.start
    return Steps(steps.bin_start[keep], steps.start[keep], steps.end[keep])


def centred_windows(sequence: np.ndarray, bin_start: np.ndarray, bin_size: int, window: int):
    """One-hot windows ``(n, window, 4)`` uint8 centred on bins, N outside the chromosome."""
    first = np.asarray(bin_start, np.int64) + window_offset(bin_size, window)
    return one_hot_encode(padded_windows(sequence, first, window))


def predicted_steps(
    model,
    chromosome: Callable[[str], np.ndarray],
    regions: pd.DataFrame,
    step: int = 200,
    bin_size: int = 200,
    batch_size: int = 256,
) -> Iterator[tuple[str, Steps, np.ndarray]]:
    """Per chromosome: its steps and the strand-averaged predictions ``(n, T)`` float32."""
    from seq2chrom.inference.predict import predict_both_strands

    window = int(model.input_shape[1])
    for chrom, group in merge_regions(regions).groupby("chrom", sort=False):
        sequence = chromosome(str(chrom))
        steps = region_steps(group["start"], group["end"], step, bin_size)
        blocks = []
        for first in range(0, len(steps.bin_start), batch_size):
            x = centred_windows(
                sequence, steps.bin_start[first : first + batch_size], bin_size, window
            )
            blocks.append(predict_both_strands(model, x.astype(np.float32)))
        n_tracks = int(model.output_shape[-1])
        yield str(chrom), steps, (np.concatenate(blocks) if blocks else np.zeros((0, n_tracks)))


def write_bigwigs(
    paths: Mapping[str, Path],
    chrom_sizes: Sequence[tuple[str, int]],
    chunks: Sequence[tuple[str, Steps, np.ndarray]],
    columns: Mapping[str, int],
) -> None:
    """Write one bigWig per track: ``paths[track]`` gets column ``columns[track]`` of each
    chunk's values. `chrom_sizes` is the genome's (name, length) list for the header;
    `chunks` must come in that chromosome order."""
    import pyBigWig

    order = {name: i for i, (name, _) in enumerate(chrom_sizes)}
    chunks = sorted(chunks, key=lambda chunk: order[chunk[0]])
    for track, path in paths.items():
        handle = pyBigWig.open(str(path), "w")
        try:
            handle.addHeader(list(chrom_sizes), maxZooms=4)
            for chrom, steps, values in chunks:
                if not len(steps.start):
                    continue
                handle.addEntries(
                    [chrom] * len(steps.start),
                    steps.start.tolist(),
                    ends=steps.end.tolist(),
                    values=values[:, columns[track]].astype(np.float64).tolist(),
                )
        finally:
            handle.close()


def write_prediction_tracks(
    model_path: Path,
    genome: Path,
    regions_path: Path,
    out_dir: Path,
    *,
    tracks: Sequence[str] = (),
    step: int = 200,
    bin_size: int = 200,
    batch_size: int = 256,
    device: str = "auto",
) -> None:
    """`seq2chrom predict-region`: write out_dir/{track}.bw for each of `tracks` (default:
    every track of the model), one strand-averaged value per `step` bp along the regions.

    Only those files are written (other files in out_dir are kept), each atomically: on an
    error none of them is replaced or left half-written.
    """
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.regions import place_regions, read_regions
    from seq2chrom.modelfile.loading import open_trained

    if step < 1 or bin_size < 1:
        raise InputError("--step", "--step and --bin-size must be positive")
    fasta = open_genome(genome)
    sizes = chromosome_sizes(fasta)
    regions = place_regions(read_regions(regions_path), sizes, regions_path)
    trained = open_trained(model_path, device)
    model, names = trained.model, trained.tracks
    chosen = list(tracks) or names
    unknown = [t for t in chosen if t not in names]
    if unknown:
        raise InputError("--tracks", f"not tracks of {model_path}: {unknown}")
    chunks = list(
        predicted_steps(
            model, lambda name: read_chromosome(fasta, name), regions, step, bin_size, batch_size
        )
    )
    # other files in out_dir are left alone (it may be a folder the user keeps other things in)
    with atomic_outputs(out_dir / f"{track}.bw" for track in chosen) as temporary:
        paths = dict(zip(chosen, temporary, strict=True))
        columns = {track: names.index(track) for track in chosen}
        write_bigwigs(paths, list(sizes.items()), chunks, columns)
    n_values = sum(len(steps.start) for _, steps, _ in chunks)
    log.info("%d values per track, %d bigWig files in %s", n_values, len(chosen), out_dir)
