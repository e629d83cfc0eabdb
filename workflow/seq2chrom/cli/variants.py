"""CLI subcommands that use a trained model: `seq2chrom score-variants`, `predict-region`,
`mutagenesis` and `mutagenesis-regions`. Each loads ``model.keras`` and reads its track names
from the ``config.yaml`` beside it; all run without Snakemake."""

from __future__ import annotations

import argparse
import gzip
import logging
import time
from pathlib import Path

from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output

log = logging.getLogger("seq2chrom.variants")

DEVICE_HELP = "auto (GPU when the framework sees one), gpu (required) or cpu"


def register(subparsers) -> None:
    score = subparsers.add_parser(
        "score-variants",
        help="effect of each VCF variant on every track: reference vs alternative allele",
        description="Write OUT (.tsv.gz: variant_id chrom pos ref alt track ref_prob alt_prob "
        "diff logfc, one row per variant and track), OUT.top.tsv (one row per variant, "
        "strongest first) and OUT.skipped.tsv (records not scored, with the reason), the "
        "suffix .tsv.gz of OUT replaced.",
    )
    _model_arguments(score)
    score.add_argument("--vcf", required=True, type=Path, help="VCF, plain, gzip or bgzip")
    score.add_argument("--out", required=True, type=Path, help="effects table, NAME.tsv.gz")
    score.add_argument(
        "--track-sheet",
        type=Path,
        help="TSV with columns name (or track) and assay: mean |diff| per assay class in "
        "OUT.top.tsv (default: one mean over all tracks)",
    )
    score.add_argument(
        "--batch-size", type=int, default=0, help="variants per forward pass (0: 512 GPU, 128 CPU)"
    )
    score.set_defaults(func=run_score_variants)

    region = subparsers.add_parser(
        "predict-region",
        help="strand-averaged predictions along BED regions, one bigWig per track",
        description="Write DIR/{track}.bw: each value is the prediction for the bin at the "
        "centre of a window, one window every --step bp along the regions.",
    )
    _model_arguments(region)
    region.add_argument("--regions", required=True, type=Path, help="BED of regions")
    region.add_argument("--out-dir", required=True, type=Path, help="folder of bigWig files")
    region.add_argument("--tracks", default="", help="NAME,... (default: every track)")
    region.add_argument("--step", type=int, default=200, help="bp between windows (%(default)s)")
    region.add_argument(
        "--bin-size", type=int, default=200, help="bin the model was trained on (%(default)s)"
    )
    region.add_argument("--batch-size", type=int, default=256, help="windows per forward pass")
    region.set_defaults(func=run_predict_region)

    mutate = subparsers.add_parser(
        "mutagenesis",
        help="effect of every single-base substitution of each region's window on one track",
        description="Write DIR/mutagenesis.h5 (effects (R, L, 4), importance (R, L), reference "
        "predictions), DIR/regions.tsv and one DIR/{region}.png per region. The window is the "
        "model's input length centred on each region.",
    )
    _model_arguments(mutate)
    mutate.add_argument("--regions", required=True, type=Path, help="BED of regions")
    mutate.add_argument(
        "--track",
        default="",
        help="track whose prediction is mutated (default: each region's track, BED column 5)",
    )
    mutate.add_argument("--out-dir", required=True, type=Path, help="output folder")
    mutate.add_argument("--batch-size", type=int, default=1000, help="mutants per forward pass")
    mutate.add_argument("--span", type=int, default=50, help="bp shown in the logo (%(default)s)")
    mutate.set_defaults(func=run_mutagenesis)

    report = subparsers.add_parser(
        "variant-report",
        help="report items of scored variants: strongest variants and tracks, effects figure",
        description="From NAME.top.tsv write --out-html (the strongest variants, then per "
        "track the variants whose largest effect falls on it) and --out-png (effects figure).",
    )
    report.add_argument("--top", required=True, type=Path, help="NAME.top.tsv")
    report.add_argument("--rows", type=int, default=50, help="variants listed (%(default)s)")
    report.add_argument("--title", default="", help="heading, e.g. model and VCF name")
    report.add_argument("--out-html", required=True, type=Path)
    report.add_argument("--out-png", required=True, type=Path)
    report.set_defaults(func=run_variant_report)

    choose = subparsers.add_parser(
        "mutagenesis-regions",
        help="BED of windows worth mutating: best test sequence per track, top variants",
        description="Write a BED (name, track in columns 4-5) of the window of the highest-"
        "scoring labelled-positive test bin of each --tracks track and of the first "
        "--top-variants rows of each top.tsv (on their strongest track).",
    )
    choose.add_argument("--predictions", required=True, type=Path, help="predictions/test.h5")
    choose.add_argument("--data", required=True, type=Path, help="results/data/test.h5 (labels)")
    choose.add_argument("--tracks", default="", help="NAME,... for the best test sequences")
    choose.add_argument("--variants", nargs="*", default=[], type=Path, help="*.top.tsv files")
    choose.add_argument("--top-variants", type=int, default=3)
    choose.add_argument("--window", type=int, default=1000, help="model input in bp")
    choose.add_argument("--bin-size", type=int, default=200)
    choose.add_argument("--out", required=True, type=Path, help="BED to write")
    choose.set_defaults(func=run_mutagenesis_regions)


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        help="results/models/{model}/model.keras; track names from config.yaml beside it",
    )
    parser.add_argument("--genome", required=True, type=Path, help="FASTA, plain or bgzip")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "gpu", "cpu"], help=DEVICE_HELP
    )


def load_model(path: Path, device: str):
    """(model, track names, device kind); the device is chosen before Keras starts."""
    from seq2chrom.training.devices import select_devices

    if not path.is_file():
        raise InputError(path, "model not found", fix="train it: snakemake results/models/...")
    selection = select_devices(device)

    from seq2chrom.models import loading
    from seq2chrom.training.model_tracks import model_tracks

    model = loading.load_model(path)
    n_outputs = int(model.output_shape[-1])
    tracks = model_tracks(path) or [f"track_{j}" for j in range(n_outputs)]
    if len(tracks) != n_outputs:
        raise InputError(
            path, f"{n_outputs} outputs but config.yaml lists {len(tracks)} tracks",
            fix="keep each model.keras with the config.yaml written with it",
        )  # fmt: skip
    return model, tracks, selection.kind


def sibling(out: Path, suffix: str) -> Path:
    """OUT with ``.tsv.gz`` (or its last suffix) replaced by `suffix` (".top.tsv")."""
    name = out.name
    for ending in (".tsv.gz", ".gz", ".tsv"):
        if name.endswith(ending):
            return out.with_name(name[: -len(ending)] + suffix)
    return out.with_name(name + suffix)


def _assays(sheet: Path | None, tracks: list[str]) -> list[str] | None:
    if sheet is None:
        return None
    import pandas as pd

    if not sheet.is_file():
        raise InputError(sheet, "track sheet not found")
    table = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
    key = "name" if "name" in table else "track"
    if key not in table or "assay" not in table:
        raise InputError(sheet, "needs columns name (or track) and assay")
    assay = dict(zip(table[key], table["assay"], strict=True))
    return [assay.get(track, "other") for track in tracks]


def run_score_variants(args: argparse.Namespace) -> None:
    import pandas as pd

    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.variants.score import (
        EFFECT_COLUMNS,
        effect_rows,
        scored_batches,
        strongest_tracks,
    )
    from seq2chrom.variants.vcf import SKIPPED_COLUMNS, match_chromosomes, read_vcf, split_placeable

    records = read_vcf(args.vcf)  # malformed lines stop here, before the model loads
    fasta = open_genome(args.genome)
    sizes = chromosome_sizes(fasta)
    mapping, renamed = match_chromosomes(records.variants["chrom"], sizes)
    if renamed:
        shown = ", ".join(f"{a} -> {b}" for a, b in renamed[:3])
        log.info(
            "%s names %d chromosome(s) differently from %s; matched them (%s%s)",
            args.vcf, len(renamed), args.genome, shown, ", ..." if len(renamed) > 3 else "",
        )  # fmt: skip
    variants, outside = split_placeable(records.variants, sizes, mapping)
    model, tracks, kind = load_model(args.model, args.device)
    assays = _assays(args.track_sheet, tracks)
    batch_size = args.batch_size or (512 if kind == "gpu" else 128)
    skipped = [records.skipped, outside]
    summaries = []
    out_top, out_skipped = sibling(args.out, ".top.tsv"), sibling(args.out, ".skipped.tsv")
    started = time.perf_counter()  # the rate counts scoring and writing, not start-up
    with atomic_output(args.out) as tmp, gzip.open(tmp, "wt", compresslevel=1) as handle:
        handle.write("\t".join(EFFECT_COLUMNS) + "\n")
        for batch in scored_batches(
            model, lambda name: read_chromosome(fasta, name), variants, batch_size
        ):
            skipped.append(batch.skipped)
            if batch.variants.empty:
                continue
            rows = effect_rows(batch.variants, batch.ref_prob, batch.alt_prob, tracks)
            rows.to_csv(handle, sep="\t", header=False, index=False)
            strongest = strongest_tracks(batch.alt_prob - batch.ref_prob, tracks, assays)
            summaries.append(batch.variants[["variant_id", "chrom", "pos", "ref", "alt"]]
                             .assign(**strongest))  # fmt: skip
    columns = ["variant_id", "chrom", "pos", "ref", "alt", "top_track", "top_diff", "max_abs_diff"]
    top = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame(columns=columns)
    if not top.empty:
        top = top.sort_values("max_abs_diff", ascending=False, kind="stable")
    with atomic_output(out_top) as tmp:
        top.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    found = [table for table in skipped if len(table)]
    skipped_table = (
        pd.concat(found, ignore_index=True).sort_values("line", kind="stable")
        if found
        else pd.DataFrame(columns=SKIPPED_COLUMNS)
    )
    with atomic_output(out_skipped) as tmp:
        skipped_table[SKIPPED_COLUMNS].to_csv(tmp, sep="\t", index=False)
    reasons = skipped_table["reason"].value_counts().to_dict()
    n_records = len(set(records.variants["line"]) | set(records.skipped["line"]))
    elapsed = time.perf_counter() - started
    log.info(
        "%s: %d variants scored on %d tracks (%d records; %d skipped: %s) in %.1f s "
        "(%.0f variants/s)",
        args.vcf, len(top), len(tracks), n_records, len(skipped_table), reasons or "none",
        elapsed, len(top) / max(elapsed, 1e-9),
    )  # fmt: skip


def run_predict_region(args: argparse.Namespace) -> None:
    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.regions import place_regions, read_regions
    from seq2chrom.inference.tracks import predicted_steps, write_bigwigs

    if args.step < 1 or args.bin_size < 1:
        raise InputError("--step", "--step and --bin-size must be positive")
    fasta = open_genome(args.genome)
    sizes = chromosome_sizes(fasta)
    regions = place_regions(read_regions(args.regions), sizes, args.regions)
    model, tracks, _ = load_model(args.model, args.device)
    chosen = [t.strip() for t in args.tracks.split(",") if t.strip()] or tracks
    unknown = [t for t in chosen if t not in tracks]
    if unknown:
        raise InputError("--tracks", f"not tracks of {args.model}: {unknown}")
    chunks = list(
        predicted_steps(
            model, lambda name: read_chromosome(fasta, name), regions, args.step,
            args.bin_size, args.batch_size,
        )
    )  # fmt: skip
    with atomic_output(args.out_dir) as tmp:
        tmp.mkdir(parents=True)
        paths = {track: tmp / f"{track}.bw" for track in chosen}
        columns = {track: tracks.index(track) for track in chosen}
        write_bigwigs(paths, list(sizes.items()), chunks, columns)
    n_values = sum(len(steps.start) for _, steps, _ in chunks)
    log.info("%d values per track, %d bigWig files in %s", n_values, len(chosen), args.out_dir)


def run_mutagenesis(args: argparse.Namespace) -> None:
    import h5py
    import numpy as np
    import pandas as pd

    from seq2chrom.data.genome import chromosome_sizes, open_genome, read_chromosome
    from seq2chrom.inference.mutagenesis import mutagenesis, plot_mutagenesis
    from seq2chrom.inference.regions import file_stem, place_regions, read_regions
    from seq2chrom.inference.tracks import centred_windows

    fasta = open_genome(args.genome)
    sizes = chromosome_sizes(fasta)
    regions = place_regions(read_regions(args.regions), sizes, args.regions)
    if args.track:
        regions["track"] = args.track
    if (regions["track"] == "").any():
        raise InputError(
            args.regions, "regions without a track", fix="give --track, or a track in column 5"
        )
    model, tracks, _ = load_model(args.model, args.device)
    unknown = sorted(set(regions["track"]) - set(tracks))
    if unknown:
        raise InputError(args.regions, f"not tracks of {args.model}: {unknown}")
    window = int(model.input_shape[1])
    centre = (regions["start"].to_numpy(np.int64) + regions["end"].to_numpy(np.int64)) // 2
    window_start = centre - window // 2
    x = np.concatenate([
        centred_windows(read_chromosome(fasta, chrom), window_start[rows], window, window)
        for chrom, rows in regions.groupby("chrom", sort=False).indices.items()
    ])  # fmt: skip
    order = np.concatenate(list(regions.groupby("chrom", sort=False).indices.values()))
    x = x[np.argsort(order)]
    started = time.perf_counter()
    result = mutagenesis(model, x, [tracks.index(t) for t in regions["track"]], args.batch_size)
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
    with atomic_output(args.out_dir) as tmp:
        tmp.mkdir(parents=True)
        with h5py.File(tmp / "mutagenesis.h5", "w") as h5:
            h5.create_dataset("effects", data=result.effects, compression="gzip")
            h5.create_dataset("importance", data=result.importance)
            h5.create_dataset("reference", data=result.reference)
            h5.create_dataset("x", data=x, compression="gzip")
            for column in ("name", "chrom", "track"):
                h5.create_dataset(column, data=regions[column].to_numpy(dtype="S"))
            h5.create_dataset("window_start", data=window_start)
            h5.attrs["bases"] = "ACGT"
            h5.attrs["effects"] = "mutant minus reference prediction, strand-averaged"
        table.to_csv(tmp / "regions.tsv", sep="\t", index=False, float_format="%.6g")
        for r, row in enumerate(table.itertuples()):
            title = (f"{row.name} ({row.chrom}:{row.window_start + 1:,}-"
                     f"{row.window_start + window:,}), {row.track}: "
                     f"prediction {row.prediction:.3f}")  # fmt: skip
            figure = plot_mutagenesis(
                result.effects[r], x[r], title=title, width=args.span, offset=int(row.window_start)
            )
            figure.savefig(tmp / row.plot)
    n_mutants = int((x == 0).sum())
    log.info(
        "%d regions, %d mutants in %.1f s (%.0f mutants/s); output %s",
        len(regions), n_mutants, elapsed, n_mutants / max(elapsed, 1e-9), args.out_dir,
    )  # fmt: skip


def run_mutagenesis_regions(args: argparse.Namespace) -> None:
    import pandas as pd

    from seq2chrom.inference.regions import REGION_COLUMNS, best_test_windows, variant_windows
    from seq2chrom.splitfile import read_labels, read_predictions

    rows = []
    wanted = [t.strip() for t in args.tracks.split(",") if t.strip()]
    if wanted:
        predictions = read_predictions(args.predictions)
        unknown = [t for t in wanted if t not in predictions.tracks]
        if unknown:
            raise InputError(args.predictions, f"no tracks {unknown}", fix="check the names")
        y, _ = read_labels(args.data)
        rows.append(best_test_windows(predictions, y, wanted, args.window, args.bin_size))
    for path in args.variants:
        top = pd.read_csv(path, sep="\t", keep_default_na=False).head(args.top_variants)
        rows.append(variant_windows(top, args.window))
    bed = pd.concat(rows) if rows else pd.DataFrame(columns=REGION_COLUMNS)
    bed = bed.drop_duplicates(["chrom", "start", "end", "track"])
    with atomic_output(args.out) as tmp:
        bed.to_csv(tmp, sep="\t", header=False, index=False)


def run_variant_report(args: argparse.Namespace) -> None:
    import pandas as pd

    from seq2chrom.report.tables import table_html, tables_html
    from seq2chrom.variants.report import effects_figure, strongest_track_table

    if not args.top.is_file():
        raise InputError(args.top, "file not found", fix="run score-variants first")
    top = pd.read_csv(args.top, sep="\t", keep_default_na=False, na_values=[""])
    if top.empty:
        page = table_html(top, title=args.title, note="No variant was scored.")
    else:
        page = tables_html(
            [
                (f"{args.title}: the {min(args.rows, len(top))} strongest of {len(top)} "
                 "variants", top.head(args.rows)),
                ("Tracks by the variants whose largest effect falls on them",
                 strongest_track_table(top)),
            ],
            title=args.title or "variants",
        )  # fmt: skip
    with atomic_output(args.out_html) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_output(args.out_png) as tmp:
        if top.empty:
            from matplotlib.figure import Figure

            figure = Figure(figsize=(6, 2))
            figure.text(0.5, 0.5, "no variant scored", ha="center")
        else:
            figure = effects_figure(top, title=args.title)
        figure.savefig(tmp, format="png")
