"""CLI subcommands of the data stage: genome, fetch-track, tile, label, assemble, encode,
data-summary."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.data")


def register(subparsers) -> None:
    from seq2chrom.splitfile import SPLITS  # loads h5py, as most data steps do anyway

    genome = subparsers.add_parser(
        "genome", help="decompress (gzip/bgzip) or copy a FASTA and index it"
    )
    genome.add_argument("--input", required=True, help="genome FASTA: plain, gzip or bgzip")
    genome.add_argument("--out", required=True, help="plain FASTA to write (+ .fai)")
    genome.set_defaults(func=run_genome)

    fetch = subparsers.add_parser(
        "fetch-track", help="check a downloaded URL track and copy it into the cache"
    )
    fetch.add_argument("--url", required=True, help="the track's URL (named in errors)")
    fetch.add_argument("--download", required=True, help="the storage plugin's local copy")
    fetch.add_argument("--md5", default="", help="expected MD5 from the track sheet, or empty")
    fetch.add_argument(
        "--out-peaks", required=True, help="cached peak file to write (bytes as served)"
    )
    fetch.add_argument("--out-record", required=True, help="JSON record to write: url, md5, bytes")
    fetch.set_defaults(func=run_fetch_track)

    tile = subparsers.add_parser("tile", help="tile the genome into bins -> bins.h5")
    tile.add_argument("--genome", required=True, help="indexed plain FASTA")
    tile.add_argument("--size", type=int, required=True, help="bin size (bp)")
    tile.add_argument("--window", type=int, required=True, help="window centred on each bin (bp)")
    tile.add_argument("--blacklist", default="", help="optional BED of regions to exclude")
    tile.add_argument(
        "--chromosomes",
        default=r"^(chr)?([0-9]+|X|Y)$",
        help="regular expression: tile only sequences whose whole name matches "
        "(default: %(default)s, autosomes, X and Y)",
    )
    tile.add_argument("--out", required=True, help="bins.h5 to write")
    tile.set_defaults(func=run_tile)

    label = subparsers.add_parser("label", help="label every bin for one track -> .npy")
    label.add_argument("--bins", required=True, help="bins.h5")
    label.add_argument("--peaks", required=True, help="BED/narrowPeak/broadPeak, optionally gz")
    label.add_argument("--min-overlap", type=float, required=True, help="positive: fraction > x")
    label.add_argument("--out", required=True, help="packed-bit labels (.npy) to write")
    label.set_defaults(func=run_label)

    assemble = subparsers.add_parser(
        "assemble", help="label matrix, bin selection and split -> labels.h5"
    )
    assemble.add_argument("--bins", required=True, help="bins.h5")
    assemble.add_argument("--tracks", required=True, help="track sheet (tracks.tsv)")
    assemble.add_argument("--labels", nargs="+", required=True, help="{track}.npy label files")
    assemble.add_argument("--select", required=True, choices=["tf_positive", "any_positive", "all"])
    assemble.add_argument("--test", nargs="*", default=[], help="test chromosomes")
    assemble.add_argument("--valid", nargs="*", default=[], help="valid chromosomes or regions")
    assemble.add_argument("--out", required=True, help="labels.h5 to write")
    assemble.set_defaults(func=run_assemble)

    encode = subparsers.add_parser("encode", help="one-hot windows of one split -> {split}.h5")
    encode.add_argument("--genome", required=True, help="indexed plain FASTA")
    encode.add_argument("--labels", required=True, help="labels.h5")
    encode.add_argument("--split", required=True, choices=SPLITS)
    encode.add_argument("--threads", type=int, default=1, help="compression threads")
    encode.add_argument(
        "--shuffle-seed",
        type=int,
        default=None,
        help="write the samples in a full permutation drawn from this seed (the workflow "
        "shuffles the train split); default: genome order",
    )
    encode.add_argument("--out", required=True, help="{split}.h5 to write")
    encode.set_defaults(func=run_encode)

    summary = subparsers.add_parser("data-summary", help="samples and positives per split")
    summary.add_argument("--labels", required=True, help="labels.h5")
    summary.add_argument("--out-table", required=True, help="summary.tsv to write")
    summary.add_argument("--out-html", required=True, help="summary.html to write")
    summary.set_defaults(func=run_data_summary)


def run_genome(args: argparse.Namespace) -> None:
    from seq2chrom.data.genome import prepare_genome

    output = Path(args.out)
    with (
        atomic_output(f"{output}.fai") as index,
        atomic_output(output) as fasta,
    ):
        try:
            prepare_genome(args.input, fasta)
            os.replace(f"{fasta}.fai", index)
        finally:
            Path(f"{fasta}.fai").unlink(missing_ok=True)
    log.info("wrote %s and its index", output)


def run_fetch_track(args: argparse.Namespace) -> None:
    from seq2chrom.data.fetch import check_download
    from seq2chrom.errors import InputError

    try:
        data = Path(args.download).read_bytes()
    except OSError as error:
        raise InputError(args.url, f"download missing ({error})", fix="rerun") from error
    record = check_download(args.url, data, args.md5)
    record["md5_checked"] = bool(args.md5)
    with atomic_output(args.out_record) as record_path, atomic_output(args.out_peaks) as peaks:
        peaks.write_bytes(data)
        record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("%s: %d bytes, MD5 %s -> %s", args.url, len(data), record["md5"], args.out_peaks)


def run_tile(args: argparse.Namespace) -> None:
    from seq2chrom.data.bins import tile_genome, write_bins
    from seq2chrom.data.genome import chromosome_sizes, open_genome
    from seq2chrom.data.peaks import read_peaks
    from seq2chrom.errors import InputError

    if args.window < args.size:
        raise InputError("bins.window", f"{args.window} < bins.size {args.size}", fix="widen it")
    fasta = open_genome(args.genome)
    blacklist = None
    if args.blacklist:
        sizes = chromosome_sizes(fasta)
        regions = read_peaks(args.blacklist)
        unknown = sorted(set(regions) - set(sizes))
        if unknown:
            log.warning(
                "%s: regions on chromosomes not in the genome ignored: %s", args.blacklist, unknown
            )
        blacklist = {chrom: regions[chrom] for chrom in regions if chrom in sizes}
    try:
        bins = tile_genome(fasta, args.size, args.window, blacklist, args.chromosomes)
    except ValueError as error:
        raise InputError("bins.chromosomes", str(error), fix="write a Python regex") from None
    if len(bins) == 0:  # later steps cannot make split files of no samples
        raise InputError(
            args.genome,
            f"no {args.window} bp window fits with at most half N on the chromosomes kept "
            f"by bins.chromosomes {args.chromosomes!r}",
            fix="check the genome and bins.chromosomes, or lower bins.window",
        )
    with atomic_output(args.out) as path:
        write_bins(path, bins)
    log.info("wrote %s: %d bins", args.out, len(bins))


def run_label(args: argparse.Namespace) -> None:
    from seq2chrom.data.bins import read_bins
    from seq2chrom.data.labels import label_bins, save_labels
    from seq2chrom.data.peaks import read_peaks

    bins = read_bins(args.bins)
    peaks = read_peaks(args.peaks, bins.chrom_sizes())
    labels = label_bins(bins, peaks, args.min_overlap)
    with atomic_output(args.out) as path:
        save_labels(path, labels)
    log.info(
        "%s: %d peaks, %d of %d bins positive",
        args.peaks,
        sum(len(intervals) for intervals in peaks.values()),
        int(labels.sum()),
        len(bins),
    )


def run_assemble(args: argparse.Namespace) -> None:
    from seq2chrom.data.assemble import assemble_labels
    from seq2chrom.data.bins import read_bins
    from seq2chrom.data.tracksheet import read_track_sheet

    tracks = read_track_sheet(args.tracks)
    bins = read_bins(args.bins)
    with atomic_output(args.out) as path:
        counts = assemble_labels(
            bins, tracks, args.labels, args.select, args.test, args.valid, path, sheet=args.tracks
        )
    log.info("wrote %s: %s", args.out, ", ".join(f"{k} {v}" for k, v in counts.items()))


def run_encode(args: argparse.Namespace) -> None:
    from seq2chrom.data.encode import write_split_file
    from seq2chrom.data.genome import open_genome

    fasta = open_genome(args.genome)
    with atomic_output(args.out) as path:
        n = write_split_file(
            fasta, args.labels, args.split, path, threads=args.threads, seed=args.shuffle_seed
        )
    log.info("wrote %s: %d samples", args.out, n)


def run_data_summary(args: argparse.Namespace) -> None:
    from seq2chrom.data.summary import summarize_labels, write_summary

    table = summarize_labels(args.labels)
    write_summary(table, args.out_table, args.out_html, title="seq2chrom data summary")
