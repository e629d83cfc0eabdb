"""CLI subcommands of the motifs stage: `filter-pwms`, `tomtom`, `logos`."""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.motifs")


def register(subparsers) -> None:
    pwms = subparsers.add_parser(
        "filter-pwms",
        help="first-layer (conv1) filters of a trained model -> PWMs, sites, influence",
        description="Scans test sequences (positives of any track) with conv1 on both strands; "
        "each sequence's best window above THRESHOLD x the filter maximum is a site.",
    )
    pwms.add_argument(
        "--model", required=True, type=Path, help="results/models/{model}/model.keras"
    )
    pwms.add_argument("--data", required=True, type=Path, help="results/data/test.h5")
    pwms.add_argument("--max-sequences", type=int, default=5000)
    pwms.add_argument("--activation-threshold", type=float, default=0.5)
    pwms.add_argument("--min-sites", type=int, default=10)
    pwms.add_argument(
        "--influence-sequences",
        type=int,
        default=500,
        help="sequences used to measure each filter's influence (0: skip)",
    )
    pwms.add_argument("--seed", type=int, default=1)
    pwms.add_argument("--threads", type=int, default=1)
    pwms.add_argument("--out-meme", required=True, type=Path, help="filters.meme")
    pwms.add_argument("--out-filters", required=True, type=Path, help="filters.tsv")
    pwms.add_argument("--out-influence", required=True, type=Path, help="influence.tsv")
    pwms.set_defaults(func=run_filter_pwms)

    tomtom = subparsers.add_parser(
        "tomtom",
        help="compare PWMs with JASPAR (or a MEME file): Tomtom p-values, Pearson column score",
    )
    tomtom.add_argument("--query", required=True, type=Path, help="filters.meme")
    tomtom.add_argument("--jaspar-release", default="JASPAR2024")
    tomtom.add_argument("--jaspar-collection", default="CORE")
    tomtom.add_argument("--jaspar-tax-group", default="vertebrates")
    tomtom.add_argument(
        "--meme-file", default="", help="MEME motif file used instead of JASPAR (empty: JASPAR)"
    )
    tomtom.add_argument("--evalue", type=float, default=0.01)
    tomtom.add_argument("--min-overlap", type=int, default=5)
    tomtom.add_argument("--threads", type=int, default=1)
    tomtom.add_argument("--out", required=True, type=Path, help="tomtom.tsv")
    tomtom.set_defaults(func=run_tomtom)

    logos = subparsers.add_parser(
        "logos", help="logos of annotated filters and the motif summary table (TSV + HTML)"
    )
    logos.add_argument("--meme", required=True, type=Path, help="filters.meme")
    logos.add_argument("--filters", required=True, type=Path, help="filters.tsv")
    logos.add_argument("--tomtom", required=True, type=Path, help="tomtom.tsv")
    logos.add_argument("--name", default="", help="model name for titles")
    logos.add_argument("--threads", type=int, default=1)
    logos.add_argument("--out-dir", required=True, type=Path, help="logos/ directory")
    logos.add_argument("--out-summary", required=True, type=Path, help="summary.tsv")
    logos.add_argument("--out-html", required=True, type=Path, help="summary.html")
    logos.set_defaults(func=run_logos)


def _limit_threads(threads: int) -> None:
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(1, threads)))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, threads)))


def sample_positive_codes(path: Path, max_sequences: int, seed: int) -> tuple[np.ndarray, list]:
    """Base codes ``(n, L)`` uint8 of up to `max_sequences` test sequences positive for any
    track (a seeded random sample, in file order), and the track names."""
    import h5py

    from seq2chrom.motifs.pwms import one_hot_to_codes

    if not path.exists():
        raise InputError(path, "test data not found", fix="run the data step first")
    with h5py.File(path, "r") as h5:
        for key in ("x", "y", "tracks"):
            if key not in h5:
                raise InputError(path, f"dataset {key!r} missing", fix="rebuild the data")
        x, y = h5["x"], h5["y"]
        tracks = list(h5["tracks"].asstr()[:])
        step = 8192  # rows per block read: bounded memory for large test sets
        positive = np.concatenate(
            [
                start + np.flatnonzero(np.asarray(y[start : start + step]).any(axis=1))
                for start in range(0, len(y), step)
            ]
            or [np.zeros(0, dtype=np.int64)]
        )
        if not len(positive):
            raise InputError(path, "no sequence is positive for any track")
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(positive, min(max_sequences, len(positive)), replace=False))
        codes = np.empty((len(chosen), x.shape[1]), dtype=np.uint8)
        done = 0
        for start in range(0, len(x), step):
            rows = chosen[(chosen >= start) & (chosen < start + step)]
            if len(rows):
                block = np.asarray(x[int(rows[0]) : int(rows[-1]) + 1])
                codes[done : done + len(rows)] = one_hot_to_codes(block[rows - rows[0]])
                done += len(rows)
    return codes, tracks


def run_filter_pwms(args: argparse.Namespace) -> None:
    _limit_threads(args.threads)
    import keras
    import pandas as pd

    from seq2chrom.motifs.meme import Motif, write_meme
    from seq2chrom.motifs.pwms import codes_to_one_hot, filter_influence, filter_pwms
    from seq2chrom.training.model_tracks import check_model_tracks

    if not args.model.exists():
        raise InputError(args.model, "model not found", fix="train the model first")
    model = keras.models.load_model(args.model, compile=False)
    try:
        conv = model.get_layer("conv1")
    except ValueError:
        raise InputError(args.model, "model has no layer named 'conv1'") from None
    weights = conv.get_weights()
    kernel = np.asarray(weights[0])
    bias = np.asarray(weights[1]) if len(weights) > 1 else None
    if kernel.ndim != 3 or kernel.shape[1] != 4:
        raise InputError(args.model, f"conv1 kernel shape {kernel.shape}, expected (w, 4, F)")

    codes, tracks = sample_positive_codes(args.data, args.max_sequences, args.seed)
    check_model_tracks(args.model, model.output_shape[-1], args.data, tracks)
    started = time.perf_counter()
    result = filter_pwms(
        codes, kernel, bias, threshold=args.activation_threshold, min_sites=args.min_sites
    )
    log.info(
        "scanned %d sequences x %d filters in %.1f s; %d filters with >= %d sites",
        len(codes),
        kernel.shape[2],
        time.perf_counter() - started,
        result.passed.sum(),
        args.min_sites,
    )
    n_filters = kernel.shape[2]
    names = [f"filter{i}" for i in range(n_filters)]
    if args.influence_sequences > 0:
        started = time.perf_counter()
        sample = codes_to_one_hot(codes[: args.influence_sequences])
        influence = filter_influence(model, sample)
        log.info("influence of %d filters in %.1f s", n_filters, time.perf_counter() - started)
    else:
        influence = np.full((n_filters, len(tracks)), np.nan, dtype=np.float32)
    status = np.where(
        result.passed, "written", np.where(result.max_activation > 0, "too_few_sites", "inactive")
    )
    top = np.nanargmax(np.nan_to_num(influence, nan=-1.0), axis=1)
    filters = pd.DataFrame(
        {
            "filter": names,
            "n_sites": result.n_sites,
            "information": np.round(result.information, 4),
            "max_activation": result.max_activation,
            "status": status,
            "influence": influence.mean(axis=1),
            "top_track": [tracks[i] for i in top],
            "top_track_influence": influence[np.arange(n_filters), top],
        }
    )
    for reason in ("too_few_sites", "inactive"):
        skipped = filters.loc[filters["status"] == reason, "filter"].tolist()
        if skipped:
            log.info("%d filters not written (%s): %s", len(skipped), reason, " ".join(skipped))
    motifs = [
        Motif(names[i], result.pwm[i], nsites=int(result.n_sites[i]))
        for i in np.flatnonzero(result.passed)
    ]
    with atomic_output(args.out_meme) as tmp:
        write_meme(tmp, motifs)
    with atomic_output(args.out_filters) as tmp:
        filters.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    with atomic_output(args.out_influence) as tmp:
        pd.DataFrame(influence, index=pd.Index(names, name="filter"), columns=tracks).to_csv(
            tmp, sep="\t", float_format="%.6g"
        )


def run_tomtom(args: argparse.Namespace) -> None:
    _limit_threads(args.threads)
    from seq2chrom.motifs.jaspar import load_jaspar
    from seq2chrom.motifs.meme import read_meme
    from seq2chrom.motifs.tomtom import match_table

    if not args.query.exists():
        raise InputError(args.query, "query motif file not found")
    # filters.meme holds no motif when no filter had enough sites: nothing to compare.
    has_motifs = "letter-probability matrix" in args.query.read_text()
    queries = read_meme(args.query) if has_motifs else []
    if args.meme_file:
        targets = read_meme(args.meme_file)
        source = args.meme_file
    else:
        try:
            targets = load_jaspar(
                args.jaspar_release, args.jaspar_collection, args.jaspar_tax_group
            )
        except ValueError as error:
            raise InputError(
                "config/config.yaml", str(error), fix="check motifs.jaspar_*"
            ) from None
        source = f"{args.jaspar_release} {args.jaspar_collection} {args.jaspar_tax_group}"
    started = time.perf_counter()
    table = match_table(
        queries, targets, evalue=args.evalue, min_overlap=args.min_overlap, threads=args.threads
    )
    log.info(
        "%d queries vs %d targets (%s) in %.1f s: %d matches, %d filters annotated at E < %g",
        len(queries),
        len(targets),
        source,
        time.perf_counter() - started,
        len(table),
        table["filter"].nunique(),
        args.evalue,
    )
    with atomic_output(args.out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def run_logos(args: argparse.Namespace) -> None:
    import pandas as pd

    from seq2chrom.motifs.logos import draw_logos
    from seq2chrom.motifs.meme import read_meme
    from seq2chrom.motifs.summary import summary_html, summary_table

    filters = pd.read_csv(args.filters, sep="\t", keep_default_na=False, na_values=[""])
    tomtom = pd.read_csv(args.tomtom, sep="\t", keep_default_na=False, na_values=[""])
    has_motifs = "letter-probability matrix" in args.meme.read_text()
    pwms = {m.id: m.matrix for m in read_meme(args.meme)} if has_motifs else {}
    table = summary_table(filters, tomtom)
    annotated = table[table["logo"] != ""]
    started = time.perf_counter()
    with atomic_output(args.out_dir) as tmp:
        tmp.mkdir()
        draw_logos(
            [pwms[name] for name in annotated["filter"]],
            [
                f"{name}: {match} ({target}) E={evalue:.1e}  {sites} sites"
                for name, match, target, evalue, sites in zip(
                    annotated["filter"],
                    annotated["best_match"],
                    annotated["best_match_id"],
                    annotated["evalue"],
                    annotated["n_sites"],
                    strict=True,
                )
            ],
            [tmp / logo for logo in annotated["logo"]],
            threads=args.threads,
        )
        log.info("%d logos in %.1f s", len(annotated), time.perf_counter() - started)
        with atomic_output(args.out_html) as html_tmp:
            html_tmp.write_text(
                summary_html(table, tmp, title=f"First-layer motifs of {args.name or 'the model'}")
            )
    with atomic_output(args.out_summary) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
