"""`seq2chrom <step> ...`: one subcommand per pipeline step, each called by one Snakemake rule.

Each module in STEP_MODULES defines `register(subparsers)`, which adds its subcommands and sets
`func` to a handler taking the parsed arguments. Handlers import heavy libraries (TensorFlow)
lazily so `seq2chrom --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from seq2chrom import __version__
from seq2chrom.errors import InputError

STEP_MODULES = [
    "seq2chrom.cli.demo",
    "seq2chrom.cli.data",
    "seq2chrom.cli.bundle",
    "seq2chrom.cli.train",
    "seq2chrom.cli.evaluate",
    "seq2chrom.cli.motifs",
    "seq2chrom.cli.report",
    "seq2chrom.cli.cluster",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seq2chrom", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seq2chrom {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<step>")
    for name in STEP_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as error:
        print(f"seq2chrom {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
