"""`seq2chrom init-config`: write a config.yaml for one's own genome and tracks (or a bundle)."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    init = subparsers.add_parser(
        "init-config",
        help="write a checked config.yaml for your genome + track sheet, or a DeepSEA bundle",
        description="Write DeepSEA's settings for your files to --out, checked against the "
        "config schema: --genome FASTA --tracks TSV builds the data from them (the FASTA's "
        "sequence names must be unique, the sheet's peak files exist or be http(s) URLs); "
        "--bundle DIR imports DeepSEA's training bundle (train.mat, valid.mat, test.mat). "
        "Every check comes before --out is written.",
    )
    init.add_argument("--genome", type=Path, help="reference FASTA (plain, gzip or bgzip)")
    init.add_argument("--tracks", type=Path, help="track sheet TSV (name, assay, cell_type, path)")
    init.add_argument("--bundle", type=Path, help="folder of the DeepSEA bundle's .mat files")
    init.add_argument(
        "--out", type=Path, default=Path("config/config.yaml"), help="config to write"
    )
    init.add_argument(
        "--test", help="test chromosomes, comma-separated (default DeepSEA's: 8,9 as named)"
    )
    init.add_argument("--valid", help="validation chromosomes (default DeepSEA's: 7 as named)")
    init.add_argument(
        "--preset",
        choices=("auto", "full", "small"),
        default="auto",
        help="model sizes: full (published), small (validated on thousands to hundreds of "
        "thousands of windows; minutes on a CPU) or auto (default: small below a million "
        "windows, estimated from the peak files; the written config says why)",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out (only once every check has passed)",
    )
    init.set_defaults(func=run_init_config)


def run_init_config(args) -> None:
    from seq2chrom.config_init import check_out, draft_config, write_config

    check_out(args.out, args.force)  # before the FASTA is read, which takes a while for hg19

    def names(value: str | None) -> list[str] | None:
        return [name for name in value.split(",") if name] if value else None

    draft = draft_config(
        genome=args.genome,
        tracks=args.tracks,
        bundle=args.bundle,
        test=names(args.test),
        valid=names(args.valid),
        preset=args.preset,
    )
    out = write_config(draft.config, args.out, force=args.force, notes=draft.notes)
    for line in draft.notes:
        print(line)
    print(f"wrote {out}; run: {run_command(out)} (add --profile for a cluster)")


def run_command(config: Path) -> str:
    """The snakemake command that runs the workflow with `config` from the current folder:
    with -s naming seq2chrom's Snakefile unless the folder is seq2chrom's own checkout."""
    import shlex

    import seq2chrom

    snakefile = Path(seq2chrom.__file__).resolve().parents[2] / "Snakefile"
    where = []
    if snakefile.is_file() and Path("Snakefile").resolve() != snakefile:
        where = ["-s", str(snakefile)]
    return shlex.join(["snakemake", *where, "--configfile", str(config), "--cores", "all"])
