"""CLI subcommands of the motifs stage: `filter-pwms`, `tomtom`, `logos`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_output, read_tsv, write_tsv

log = logging.getLogger("seq2chrom.motifs")


def register(subparsers) -> None:
    from seq2chrom.config import default, properties

    def motifs(key: str):
        return default("motifs", key)  # the config schema is the one source of defaults

    pwms = subparsers.add_parser(
        "filter-pwms",
        help="first-layer (conv1) filters of a trained model -> PWMs, sites, influence",
        description="Scans test sequences (positives of any track) with conv1. Rule basset "
        "(basset_motifs.py): a site is a forward-strand window whose output exceeds mean + "
        "THRESHOLD x (max - mean) over all positions of all sequences; pseudocount 1 per base. "
        "Rule both_strands: windows on either strand above THRESHOLD x max; pseudocount 0.25. "
        "Influence as basset_motifs_infl: the filter's output held at its mean; increase of "
        "the loss and standardised change of each track's logit.",
    )
    pwms.add_argument(
        "--model", required=True, type=Path, help="results/models/{model}/model.keras"
    )
    pwms.add_argument("--data", required=True, type=Path, help="results/data/test.h5")
    pwms.add_argument("--max-sequences", type=int, default=motifs("max_sequences"))
    pwms.add_argument("--activation-threshold", type=float, default=motifs("activation_threshold"))
    pwms.add_argument("--min-sites", type=int, default=motifs("min_sites"))
    pwms.add_argument(
        "--pwm-rule", choices=properties("motifs", "pwm_rule")["enum"], default=motifs("pwm_rule")
    )
    pwms.add_argument(
        "--influence-sequences",
        type=int,
        default=motifs("influence_sequences"),
        help="sequences used to measure each filter's influence (0: skip)",
    )
    pwms.add_argument("--seed", type=int, default=default("seed"))
    pwms.add_argument("--threads", type=int, default=1)
    pwms.add_argument("--out-meme", required=True, type=Path, help="filters.meme")
    pwms.add_argument("--out-filters", required=True, type=Path, help="filters.tsv")
    pwms.add_argument("--out-influence", required=True, type=Path, help="influence.tsv")
    pwms.set_defaults(func=run_filter_pwms)

    tomtom = subparsers.add_parser(
        "tomtom",
        help="compare PWMs with JASPAR (or a MEME file) as MEME's tomtom -dist pearson",
    )
    tomtom.add_argument("--query", required=True, type=Path, help="filters.meme")
    for key in ("jaspar_release", "jaspar_collection", "jaspar_tax_group"):
        tomtom.add_argument("--" + key.replace("_", "-"), default=motifs(key))
    tomtom.add_argument(
        "--meme-file", default="", help="MEME motif file used instead of JASPAR (empty: JASPAR)"
    )
    tomtom.add_argument("--evalue", type=float, default=motifs("evalue"))
    tomtom.add_argument("--min-overlap", type=int, default=motifs("min_overlap"))
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
    """Use at most `threads` cores for numba's and OpenMP's pools.

    Numba re-reads NUMBA_NUM_THREADS at every compilation and fails once its pool runs with
    another size, so the variable is set only before numba is imported (a fresh `seq2chrom`
    process); a caller that already runs numba (tests, notebooks) is limited at run time.
    """
    threads = max(1, threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
        return
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def run_filter_pwms(args: argparse.Namespace) -> None:
    _limit_threads(args.threads)
    from seq2chrom.motifs.filters import FilterOutputs, FilterSettings, write_filter_pwms

    write_filter_pwms(
        args.model,
        args.data,
        FilterOutputs(args.out_meme, args.out_filters, args.out_influence),
        FilterSettings(
            args.max_sequences,
            args.activation_threshold,
            args.min_sites,
            args.pwm_rule,
            args.influence_sequences,
            args.seed,
        ),
    )


def run_tomtom(args: argparse.Namespace) -> None:
    _limit_threads(args.threads)
    from seq2chrom.motifs.jaspar import load_jaspar
    from seq2chrom.motifs.meme import read_background, read_meme
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
        queries,
        targets,
        evalue=args.evalue,
        min_overlap=args.min_overlap,
        background=read_background(args.query),
        threads=args.threads,
    )
    log.info(
        "%d queries vs %d targets (%s) in %.1f s: %d matches, %d filters annotated at E <= %g",
        len(queries),
        len(targets),
        source,
        time.perf_counter() - started,
        len(table),
        table["Query_ID"].nunique(),
        args.evalue,
    )
    write_tsv(table, args.out, floats=SIGNIFICANT_FLOATS, na="")


def run_logos(args: argparse.Namespace) -> None:
    from seq2chrom.motifs.logos import draw_logos
    from seq2chrom.motifs.meme import read_meme
    from seq2chrom.motifs.summary import summary_html, summary_table

    filters = read_tsv(args.filters)
    tomtom = read_tsv(args.tomtom)
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
    write_tsv(table, args.out_summary, floats=SIGNIFICANT_FLOATS, na="")
