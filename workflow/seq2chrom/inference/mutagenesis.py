"""In-silico mutagenesis: the effect of every single-base substitution of a window on one track.

For a ``(L, 4)`` one-hot window, each position is changed to each base it does not have (three
per A/C/G/T position, four at an N), the mutants go through the model in batches with their
reverse complements (`predict_both_strands`), and ``effects[i, b]`` is the mutant's prediction
minus the reference prediction of the track (0 for the reference base itself). A position's
importance is the largest ``|effect|`` of its substitutions: how much one change there can move
the prediction, up or down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.data.one_hot import BASES
from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_outputs, read_tsv, write_tsv

log = logging.getLogger("seq2chrom.variants")


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
    from seq2chrom.inference.predict import predict_both_strands

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


def region_windows(
    chromosome: Callable[[str], np.ndarray], regions: pd.DataFrame, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot windows of `window` bp centred on each region, in the regions' order.

    regions: columns chrom, start, end (0-based, end exclusive); chromosome: name -> (L,)
    uint8 ASCII, read once per chromosome. Returns x (R, window, 4) uint8 and the (R,) int64
    0-based genome start of each window (N beyond the chromosome ends).
    """
    from seq2chrom.inference.tracks import centred_windows

    centre = (regions["start"].to_numpy(np.int64) + regions["end"].to_numpy(np.int64)) // 2
    window_start = centre - window // 2
    groups = regions.groupby("chrom", sort=False).indices
    x = np.concatenate([
        centred_windows(chromosome(str(chrom)), window_start[rows], window, window)
        for chrom, rows in groups.items()
    ])  # fmt: skip
    order = np.concatenate(list(groups.values()))
    return x[np.argsort(order)], window_start


def write_mutagenesis(
    model_path: Path,
    genome: Path,
    regions_path: Path,
    out_dir: Path,
    *,
    track: str = "",
    device: str = "auto",
    batch_size: int = 1000,
    span: int = 50,
) -> None:
    """`seq2chrom mutagenesis`: write out_dir/mutagenesis.h5 (effects (R, L, 4), importance
    (R, L), reference predictions, windows), out_dir/regions.tsv and one out_dir/{region}.png.

    track: the track mutated for every region (default: each region's track, BED column 5);
    span: bp shown in each logo. Only those files are written (other files in out_dir are
    kept), each atomically: on an error none of them is replaced or left half-written.
    """
    import h5py

    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.regions import file_stem, place_regions, read_regions
    from seq2chrom.modelfile.loading import open_trained

    fasta = open_genome(genome)
    regions = place_regions(read_regions(regions_path), chromosome_sizes(fasta), regions_path)
    if track:
        regions["track"] = track
    if (regions["track"] == "").any():
        raise InputError(
            regions_path, "regions without a track", fix="give --track, or a track in column 5"
        )
    trained = open_trained(model_path, device)
    model, tracks = trained.model, trained.tracks
    unknown = sorted(set(regions["track"]) - set(tracks))
    if unknown:
        raise InputError(regions_path, f"not tracks of {model_path}: {unknown}")
    window = int(model.input_shape[1])
    x, window_start = region_windows(lambda name: read_chromosome(fasta, name), regions, window)
    started = time.perf_counter()
    result = mutagenesis(model, x, [tracks.index(t) for t in regions["track"]], batch_size)
    elapsed = time.perf_counter() - started
    stems = [file_stem(name) for name in regions["name"]]
    if len(set(stems)) < len(stems):
        stems = [f"{i}_{stem}" for i, stem in enumerate(stems)]
    peak = result.importance.argmax(axis=1)
    table = pd.DataFrame({
        "name": regions["name"], "chrom": regions["chrom"], "window_start": window_start,
        "track": regions["track"], "prediction": result.reference,
        "peak_index": peak, "peak_position": window_start + peak,
        "peak_importance": result.importance[np.arange(len(peak)), peak],
        "plot": [f"{stem}.png" for stem in stems],
    })  # fmt: skip
    # other files in out_dir are left alone (run by hand it may be a folder the user keeps
    # other things in)
    names = ["mutagenesis.h5", "regions.tsv", *table["plot"]]
    with atomic_outputs(out_dir / name for name in names) as (h5_path, tsv, *plots):
        with h5py.File(h5_path, "w") as h5:
            h5.create_dataset("effects", data=result.effects, compression="gzip")
            h5.create_dataset("importance", data=result.importance)
            h5.create_dataset("reference", data=result.reference)
            h5.create_dataset("x", data=x, compression="gzip")
            for column in ("name", "chrom", "track"):
                h5.create_dataset(column, data=regions[column].to_numpy(dtype="S"))
            h5.create_dataset("window_start", data=window_start)
            h5.attrs["bases"] = "ACGT"
            h5.attrs["effects"] = "mutant minus reference prediction, strand-averaged"
        write_tsv(table, tsv, floats=SIGNIFICANT_FLOATS, na="")
        for r, row in enumerate(table.itertuples()):
            title = (f"{row.name} ({row.chrom}:{row.window_start + 1:,}-"
                     f"{row.window_start + window:,}), {row.track}: "
                     f"prediction {row.prediction:.3f}")  # fmt: skip
            figure = plot_mutagenesis(
                result.effects[r], x[r], title=title, width=span, offset=int(row.window_start)
            )
            figure.savefig(plots[r])
    n_mutants = int((x == 0).sum())
    log.info(
        "%d regions, %d mutants in %.1f s (%.0f mutants/s); output %s",
        len(regions), n_mutants, elapsed, n_mutants / max(elapsed, 1e-9), out_dir,
    )  # fmt: skip


def write_mutagenesis_regions(
    out: Path,
    *,
    predictions: Path,
    data: Path,
    tracks: Sequence[str] = (),
    variants: Sequence[Path] = (),
    top_variants: int = 3,
    window: int = 1000,
    bin_size: int = 200,
) -> None:
    """`seq2chrom mutagenesis-regions`: write the BED `out` (name and track in columns 4-5) of
    the windows worth mutating: the highest-scoring labelled-positive test bin of each of
    `tracks` (from `predictions` and the labels in `data`) and the first `top_variants` rows
    of each ``top.tsv`` in `variants`, on their strongest track. Duplicates are dropped."""
    from seq2chrom.inference.regions import REGION_COLUMNS, best_test_windows, variant_windows
    from seq2chrom.splitfile import read_labels, read_predictions

    rows = []
    if tracks:
        scores = read_predictions(predictions)
        unknown = [t for t in tracks if t not in scores.tracks]
        if unknown:
            raise InputError(predictions, f"no tracks {unknown}", fix="check the names")
        y, _ = read_labels(data)
        rows.append(best_test_windows(scores, y, list(tracks), window, bin_size))
    for path in variants:
        top = read_tsv(path, text="all").head(top_variants)
        rows.append(variant_windows(top, window))
    bed = pd.concat(rows) if rows else pd.DataFrame(columns=REGION_COLUMNS)
    bed = bed.drop_duplicates(["chrom", "start", "end", "track"])
    write_tsv(bed, out, header=False)
