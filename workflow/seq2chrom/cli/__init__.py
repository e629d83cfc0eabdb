"""`seq2chrom <step> ...`: one subcommand per pipeline step, each called by one Snakemake rule.

Each module in STEP_MODULES defines `register(subparsers)`, which adds its subcommands and sets
`func` to a handler taking the parsed arguments. Handlers import heavy libraries (TensorFlow,
pandas) lazily, and a known subcommand registers only its own module (COMMANDS), so a step's
start-up does not pay for the other steps' imports: the data build runs one short-lived
`seq2chrom label` per track. `seq2chrom --help`, and a subcommand missing from COMMANDS,
register every module.

Output options: `--out` for a command's one output file, `--out-dir` for an output folder,
`--out-<kind>` (`--out-table`, `--out-html`, ...) when a command writes several files.

Exit codes:
  0  done
  1  InputError: bad input (a file, a setting); one line names it and the fix. Also a full
     disk (or quota or file-size limit) while writing: outputs are written under temporary
     names, so nothing partial is left under an output's name
  2  usage error: unknown subcommand or option, a missing or malformed argument (argparse)
  3  TrainingError: training diverged (loss NaN or infinite); no model was written
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys

from seq2chrom import __version__
from seq2chrom.errors import InputError, TrainingError

EXIT_INPUT = 1
EXIT_TRAINING = 3
DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # no space, file too large, quota

STEP_MODULES = [
    "seq2chrom.cli.demo",
    "seq2chrom.cli.data",
    "seq2chrom.cli.bundle",
    "seq2chrom.cli.train",
    "seq2chrom.cli.evaluate",
    "seq2chrom.cli.motifs",
    "seq2chrom.cli.variants",
    "seq2chrom.cli.attribute",
    "seq2chrom.cli.report",
    "seq2chrom.cli.summary",
    "seq2chrom.cli.cluster",
    "seq2chrom.cli.gpu",
    "seq2chrom.cli.init_config",
]

# subcommand -> the module that registers it (tests/unit/test_cli.py checks it is complete)
COMMANDS = {
    "demo": "seq2chrom.cli.demo",
    "genome": "seq2chrom.cli.data",
    "tile": "seq2chrom.cli.data",
    "label": "seq2chrom.cli.data",
    "assemble": "seq2chrom.cli.data",
    "encode": "seq2chrom.cli.data",
    "data-summary": "seq2chrom.cli.data",
    "fetch-track": "seq2chrom.cli.data",
    "import-bundle": "seq2chrom.cli.bundle",
    "bundle-summary": "seq2chrom.cli.bundle",
    "published-comparison": "seq2chrom.cli.bundle",
    "train": "seq2chrom.cli.train",
    "predict": "seq2chrom.cli.train",
    "compare-finetune": "seq2chrom.cli.train",
    "evaluate": "seq2chrom.cli.evaluate",
    "compare-models": "seq2chrom.cli.evaluate",
    "filter-pwms": "seq2chrom.cli.motifs",
    "tomtom": "seq2chrom.cli.motifs",
    "logos": "seq2chrom.cli.motifs",
    "score-variants": "seq2chrom.cli.variants",
    "split-vcf": "seq2chrom.cli.variants",
    "gather-variants": "seq2chrom.cli.variants",
    "predict-region": "seq2chrom.cli.variants",
    "mutagenesis": "seq2chrom.cli.variants",
    "mutagenesis-regions": "seq2chrom.cli.variants",
    "variant-report": "seq2chrom.cli.variants",
    "attribute": "seq2chrom.cli.attribute",
    "attribute-regions": "seq2chrom.cli.attribute",
    "modisco": "seq2chrom.cli.attribute",
    "modisco-report": "seq2chrom.cli.attribute",
    "report-summary": "seq2chrom.cli.summary",
    "config-html": "seq2chrom.cli.report",
    "tracks-table": "seq2chrom.cli.report",
    "install-profile": "seq2chrom.cli.cluster",
    "check-gpu": "seq2chrom.cli.gpu",
    "init-config": "seq2chrom.cli.init_config",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with a `command` listed in COMMANDS, only its module is imported."""
    parser = argparse.ArgumentParser(prog="seq2chrom", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seq2chrom {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<step>")
    modules = [COMMANDS[command]] if command in COMMANDS else STEP_MODULES
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        args.func(args)
    except InputError as error:
        print(f"seq2chrom {args.command}: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except TrainingError as error:
        print(f"seq2chrom {args.command}: error: {error}", file=sys.stderr)
        return EXIT_TRAINING
    except Exception as error:
        full = _disk_full(error)
        if full is None:
            raise
        where = getattr(args, "out", None) or getattr(args, "out_dir", None) or full.filename
        message = InputError(
            where or "output",
            f"cannot write: {os.strerror(full.errno)}",
            fix="free space on its file system, or raise the quota or file-size limit, and rerun",
        )
        print(f"seq2chrom {args.command}: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    return 0


def _disk_full(error: BaseException | None) -> OSError | None:
    """The OSError of a full disk behind `error` (raised or chained), if there is one.

    HDF5 reports the failed write as an OSError and then, closing the file, raises again.
    """
    while error is not None:
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            return error
        error = error.__cause__ or error.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
