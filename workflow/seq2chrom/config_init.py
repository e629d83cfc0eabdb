"""A starting config.yaml for one's own data (`seq2chrom init-config`).

From a genome FASTA and a track sheet (or a DeepSEA bundle folder) it writes DeepSEA's
settings: 200 bp bins, 1000 bp windows, full-size DeepSEA and DanQ (or the small presets), and
whole chromosomes 8 + 9 for testing and 7 for validation, named as the FASTA names them (chr8 or
8), or the chromosomes given. Before anything is written the FASTA's sequence names must be
unique, every local peak file of the sheet must exist (URLs are downloaded by the workflow),
and the result must pass workflow/schemas/config.schema.yaml; the file is then written
atomically, so an error leaves an earlier config as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seq2chrom.config import default
from seq2chrom.data.bins import selected_sequences
from seq2chrom.errors import InputError
from seq2chrom.io import atomic_output, open_text

BUNDLE_FILES = ("train.mat", "valid.mat", "test.mat")
# The `small` presets train at their own learning rates on the data shapes of
# tests/bench/bench_presets.py (2-9 tracks, 2,000-10,000 windows: README, "Presets"); the
# published sizes were made for DeepSEA's 2.2 million bins of 919 tracks. Data estimated at
# fewer windows than SMALL_WINDOWS get the small presets.
SMALL_WINDOWS = 1_000_000
# DeepSEA's chromosomes: test 8 and 9, validation 7 (a region of it in the paper).
TEST_CHROMOSOMES, VALID_CHROMOSOMES = ("8", "9"), ("7",)


def fasta_names(path: Path) -> list[str]:
    """Sequence names of a FASTA (plain or gzip/bgzip): from its .fai when there is one.

    InputError on a name that repeats (every later step looks sequences up by name), naming
    the line of its second header in the FASTA (or its second line in the .fai) and the name.
    """
    index = Path(f"{path}.fai")
    if index.is_file():
        lines = enumerate(index.read_text().splitlines(), 1)
        entries = [(number, line.split("\t", 1)[0]) for number, line in lines if line]
        return _unique_names(index, entries)
    with open_text(path) as handle:
        headers = [
            (number, line[1:].split(maxsplit=1)[0] if line[1:].strip() else "")
            for number, line in enumerate(handle, 1)
            if line.startswith(">")
        ]
    return _unique_names(path, headers)


def _unique_names(path: Path, entries: list[tuple[int, str]]) -> list[str]:
    """The names of (line number, name) entries, in order; InputError on an empty or
    repeated name."""
    first: dict[str, int] = {}
    for number, name in entries:
        if not name:
            raise InputError(path, "sequence without a name", line=number, fix="name it")
        if name in first:
            raise InputError(
                path,
                f"duplicate sequence name {name!r} (first at line {first[name]})",
                line=number,
                fix="give every sequence a unique name",
            )
        first[name] = number
    return list(first)


def genome_split(
    names: list[str], genome: Path, test: list[str] | None = None, valid: list[str] | None = None
) -> dict[str, list[str]]:
    """The test and validation chromosomes: those given (names of the FASTA), else DeepSEA's
    (8 + 9 and 7) in the genome's own naming; InputError naming what is missing."""
    by_number = {name.removeprefix("chr"): name for name in names}
    split = {}
    for key, given, deepsea in (
        ("test", test, TEST_CHROMOSOMES),
        ("valid", valid, VALID_CHROMOSOMES),
    ):
        if given:
            absent = [name for name in given if name not in names]
            if absent:
                raise InputError(
                    genome, f"no chromosome {', '.join(absent)} (--{key})", fix="name its sequences"
                )
            split[key] = list(given)
            continue
        missing = [n for n in deepsea if n not in by_number]
        if missing:
            raise InputError(
                genome,
                f"no chromosome {', '.join(missing)} (chr-prefixed or not) for DeepSEA's {key} "
                "split",
                fix=f"choose your own with --test and --valid (e.g. --test {names[-1]} --valid "
                f"{names[-2] if len(names) > 1 else names[0]})",
            )
        split[key] = [by_number[n] for n in deepsea]
    if set(split["test"]) & set(split["valid"]):
        raise InputError("--valid", "a chromosome is both a test and a validation chromosome")
    return split


def check_tracks(tracks: Path) -> list[dict]:
    """The track sheet's rows, each checked against workflow/schemas/tracks.schema.yaml, and
    their peak files (`check_peak_files`)."""
    import jsonschema

    from seq2chrom.config import TRACKS_SCHEMA_PATH, schema
    from seq2chrom.data.tracksheet import read_table

    rows = read_table(tracks).to_dict("records")
    validator = jsonschema.Draft202012Validator(schema(TRACKS_SCHEMA_PATH))
    for line, row in enumerate(rows, 2):
        error = next(iter(validator.iter_errors(row)), None)
        if error:
            raise InputError(tracks, error.message, line=line, fix="see config/README.md")
    check_peak_files(rows, tracks)
    return rows


def check_peak_files(rows: list[dict], tracks: Path) -> None:
    """InputError naming the sheet's line (header line 1) of the first track whose `path` is
    neither an http(s) URL (downloaded by the workflow, not checked here) nor an existing
    file. Paths are relative to the run directory (here: the current one), as the workflow
    reads them."""
    from seq2chrom.data.fetch import is_http_url

    for line, row in enumerate(rows, 2):
        name, path = row["name"], row["path"]
        if is_http_url(path):
            continue
        if "://" in path:
            raise InputError(
                tracks,
                f"column path: unsupported URL {path!r} of track {name!r}",
                line=line,
                fix="give an http:// or https:// URL, or download the file and give its path",
            )
        if not Path(path).is_file():
            beside = tracks.parent / path
            fix = (
                f"paths are relative to the run directory, not to the sheet: give {beside}"
                if not Path(path).is_absolute() and beside.is_file()
                else "correct the path column of the track sheet"
            )
            raise InputError(
                tracks,
                f"column path: peak file {path!r} of track {name!r} not found",
                line=line,
                fix=fix,
            )


@dataclass(frozen=True)
class Draft:
    """A new config and the comment lines that say why its models were chosen."""

    config: dict
    notes: list[str]


def estimate_windows(rows: list[dict], select: str, bin_size: int = 200) -> int | None:
    """About how many windows the data build keeps: the bins that the peaks of the selected
    tracks (TF under tf_positive, all under any_positive) cover by more than half, summed
    over tracks (an upper bound: peaks of two tracks may share a bin). Reading stops once the
    sum reaches SMALL_WINDOWS; None when no selected track has a local peak file."""
    from seq2chrom.data.fetch import is_http_url
    from seq2chrom.data.peaks import read_peaks

    paths = [
        row["path"]
        for row in rows
        if (select != "tf_positive" or row["assay"] == "TF") and not is_http_url(row["path"])
    ]
    if not paths:
        return None
    total = 0
    for path in paths:
        for peaks in read_peaks(path).values():
            total += int(((peaks.ends - peaks.starts + bin_size // 2) // bin_size).sum())
        if total >= SMALL_WINDOWS:
            break
    return total


def choose_preset(windows: int | None) -> tuple[str, list[str]]:
    """`auto`'s preset for about `windows` windows, and the comment lines that say why."""
    import textwrap

    from seq2chrom.training.optimizers import model_defaults

    rates = ", ".join(
        f"{model} {settings['name']} {settings['learning_rate']:g}"
        for model in ("deepsea", "danq")
        for settings in [model_defaults(model, "small")]
    )
    preset = "small" if windows is not None and windows < SMALL_WINDOWS else "full"
    if windows is None:
        why = (
            "models: preset full (the published sizes): no local peak file to estimate the "
            f"number of windows from; use --preset small for fewer than {SMALL_WINDOWS:,}."
        )
    elif windows >= SMALL_WINDOWS:
        why = (
            f"models: preset full (the published sizes): the peaks cover {windows:,} or more "
            "bins, the scale DeepSEA and DanQ were made for (2.2 million bins of 919 tracks); "
            "train.learning_rate null keeps each model's published optimiser."
        )
    else:
        why = (
            f"models: preset small: the peaks cover about {windows:,} bins (windows), fewer "
            f"than {SMALL_WINDOWS:,}, where the published sizes would overfit and train for "
            "days on a CPU. The small presets were validated on 2-9 tracks of 2,000-10,000 "
            f"windows without a collapse at their own learning rates ({rates}; README, "
            "'Presets'), which train.learning_rate null keeps."
        )
    return preset, textwrap.wrap(why, 96)


def new_config(*args, **kwargs) -> dict:
    """The config of `draft_config` (same arguments), without its notes."""
    return draft_config(*args, **kwargs).config


def draft_config(
    genome: Path | None = None,
    tracks: Path | None = None,
    bundle: Path | None = None,
    *,
    test: list[str] | None = None,
    valid: list[str] | None = None,
    preset: str = "auto",
) -> Draft:
    """The config for a genome + track sheet, or for a DeepSEA bundle folder (paths as given):
    `test` and `valid` chromosomes (default DeepSEA's), both models at `preset` (full: the
    published sizes; small: for thousands to hundreds of thousands of windows; auto: small
    when `estimate_windows` is below SMALL_WINDOWS, else full; a bundle is full size)."""
    config: dict = {"seed": 1}
    rows: list[dict] = []
    config["bins"] = {"size": 200, "window": 1000, "min_overlap": 0.5, "select": "tf_positive"}
    if bundle is not None:
        missing = [name for name in BUNDLE_FILES if not (bundle / name).is_file()]
        if missing:
            raise InputError(bundle, f"no {', '.join(missing)}", fix="unpack the bundle there")
        config["split"] = {"test": ["chr8", "chr9"], "valid": ["chr7"]}  # the bundle's own
        config["data"] = {"source": "deepsea_bundle", "bundle_dir": str(bundle)}
    else:
        if genome is None or tracks is None:
            raise InputError("init-config", "give --genome and --tracks, or --bundle")
        if not genome.is_file():
            raise InputError(genome, "genome FASTA not found")
        rows = check_tracks(tracks)
        config["genome"], config["tracks"] = str(genome), str(tracks)
        if not any(row["assay"] == "TF" for row in rows):
            config["bins"]["select"] = "any_positive"  # tf_positive would select no bin
        names = fasta_names(genome)
        config["split"] = genome_split(names, genome, test, valid)
        split_names = config["split"]["test"] + config["split"]["valid"]
        if not selected_sequences(split_names, default("bins", "chromosomes")).all():
            # names the default (human-style 1..22, X, Y) would not tile, e.g. 2L or chrA
            config["bins"]["chromosomes"] = ".+"
        config["data"] = {"source": "genome"}
    notes = []
    if preset == "auto":
        windows = SMALL_WINDOWS if bundle is not None else None
        if rows:
            windows = estimate_windows(rows, config["bins"]["select"], config["bins"]["size"])
        preset, notes = choose_preset(windows)
    config["models"] = {"deepsea": {"preset": preset}, "danq": {"preset": preset}}
    config["train"] = {"epochs": 30, "batch_size": 100, "patience": 5, "device": "auto"}
    order = ("genome", "tracks", "seed", "bins", "split", "data", "models", "train")
    return Draft({key: config[key] for key in order if key in config}, notes)


def check_config(config: dict, where: str | Path = "config") -> None:
    """InputError naming the first key that workflow/schemas/config.schema.yaml rejects."""
    import jsonschema

    from seq2chrom.config import schema

    error = next(iter(jsonschema.Draft202012Validator(schema()).iter_errors(config)), None)
    if error:
        key = ".".join(map(str, error.absolute_path)) or "(top level)"
        raise InputError(where, f"{key}: {error.message}", fix="see config/README.md")


def check_out(out: Path, force: bool = False) -> None:
    """InputError when `out` cannot be written: a folder, or a file and not `force`."""
    if out.is_dir():
        raise InputError(out, "is a folder", fix="give --out a file name, e.g. config.yaml")
    if out.exists() and not force:
        raise InputError(out, "exists", fix="add --force to replace it, or give --out")


def write_config(
    config: dict, out: Path, force: bool = False, notes: list[str] | None = None
) -> Path:
    """Check `config` and write it as YAML to `out` (refuses to replace a file unless `force`).

    Every check comes first, and the file is written under a temporary name and renamed, so
    an error leaves an earlier `out` as it was.
    """
    import yaml

    check_config(config, out)
    check_out(out, force)
    header = (
        "# Written by `seq2chrom init-config` with DeepSEA's settings; every key is explained in\n"
        "# config/README.md and checked against workflow/schemas/config.schema.yaml.\n"
    )
    header += "".join(f"# {line}\n" for line in notes or [])
    text = header + yaml.safe_dump(config, sort_keys=False)
    with atomic_output(out) as tmp:
        tmp.write_text(text)
    return out
