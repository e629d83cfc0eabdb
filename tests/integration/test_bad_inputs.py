"""Bad inputs: the one place listing what a user can get wrong, and what then happens.

Every case must stop with a non-zero exit and one console line naming the file (and the line,
column or config key), write nothing partial and leave earlier results as they were.

- Config and track-sheet cases run `snakemake -n` on a finished data build: they stop when the
  workflow is parsed, before any job, with `seq2chrom: error: ...` on stderr.
- File cases (peaks, FASTA, bundle, VCF, models) run the step's `seq2chrom` subcommand, as its
  rule does, over an earlier result at its output path.
- A few run the real workflow: a job's error reaches the console (profiles/default sets
  show-failed-logs) however Snakemake is started, and a path with shell syntax stays data.

The readers' own unit tests (tests/unit/test_peaks.py, test_genome.py, test_vcf.py,
test_bundle.py, test_tracksheet.py) check the messages in detail; here each case goes through
the command line a user runs.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import BIN, REPO, make_workdir, snakemake
from tests.integration.test_data_build import TARGETS, write_inputs
from tests.unit.test_peaks import BAD_LINES

SHEET_HEADER = "name\tassay\tcell_type\tpath\n"
GOOD_ROW = "CTCF_K562\tTF\tK562\tpeaks/ctcf.narrowPeak.gz\n"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes): what a failed step must not change."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def error_lines(text: str, prefix: str = "seq2chrom") -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix) and ": error: " in line]


# --- config and track sheet: `snakemake -n`, stopped at parse time ---------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A run directory whose data build finished (the data-build test's genome and tracks)."""
    workdir = make_workdir(tmp_path_factory.mktemp("bad_inputs"))
    write_inputs(workdir)
    snakemake(workdir, *TARGETS)
    return workdir


def set_config(**changes) -> Callable[[Path], None]:
    """Edit config/config.yaml: `section__key=value` sets config[section][key]."""

    def edit(workdir: Path) -> None:
        path = workdir / "config" / "config.yaml"
        config = yaml.safe_load(path.read_text())
        for name, value in changes.items():
            *sections, key = name.split("__")
            target = config
            for section in sections:
                target = target.setdefault(section, {})
            target[key] = value
        path.write_text(yaml.safe_dump(config))

    return edit


def set_sheet(text: str) -> Callable[[Path], None]:
    def edit(workdir: Path) -> None:
        (workdir / "config" / "tracks.tsv").write_text(text)

    return edit


def index_genome(workdir: Path) -> None:
    """A .fai beside the configured genome, which the split check reads."""
    (workdir / "genome.fa.gz.fai").write_text("chr1\t24000\t6\t70\t71\nchr4\t9000\t9\t70\t71\n")


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(workdir: Path) -> None:
        for one in edits:
            one(workdir)

    return edit


# id -> (edit of the run directory, file named, what the line says)
WORKFLOW_CASES = {
    "seed-not-integer": (set_config(seed="x"), "config.yaml", "key seed: 'x' is not of type"),
    "window-below-size": (
        set_config(bins__window=100),
        "config.yaml",
        "key bins.window: 100 < bins.size 200",
    ),
    "unknown-key": (set_config(bins__sizes=3), "config.yaml", "key bins: Additional properties"),
    "unknown-model": (set_config(models={"resnet": {}}), "config.yaml", "key models:"),
    "bad-select": (set_config(bins__select="some"), "config.yaml", "key bins.select:"),
    "valid-on-test-chromosome": (
        set_config(split__valid=["chr4"]),
        "config.yaml",
        "key split.valid: 'chr4' is also a test chromosome",
    ),
    "split-chromosome-not-in-genome": (
        both(index_genome, set_config(split__test=["chr9"])),
        "config.yaml",
        "key split.test: chromosome 'chr9' is not in the genome",
    ),
    "split-chromosome-not-tiled": (
        set_config(bins__chromosomes="chr1"),
        "config.yaml",
        "key split.test: chromosome 'chr4' is not tiled: bins.chromosomes 'chr1' does not match",
    ),
    "genome-missing": (
        set_config(genome="absent.fa"),
        "config.yaml",
        "key genome: file 'absent.fa' not found",
    ),
    "blacklist-missing": (
        set_config(bins__blacklist="absent.bed"),
        "config.yaml",
        "key bins.blacklist: file 'absent.bed' not found",
    ),
    "sheet-missing": (set_config(tracks="absent.tsv"), "absent.tsv", "track sheet not found"),
    "sheet-unsafe-name": (
        set_sheet(SHEET_HEADER + GOOD_ROW + "../x\tTF\tK562\tpeaks/gata1.bed\n"),
        "tracks.tsv:3",
        "bad track name '../x' in column name",
    ),
    "sheet-name-with-space": (
        set_sheet(SHEET_HEADER + "CTCF K562\tTF\tK562\tpeaks/gata1.bed\n"),
        "tracks.tsv:2",
        "bad track name 'CTCF K562' in column name",
    ),
    "sheet-dot-name": (
        set_sheet(SHEET_HEADER + "..\tTF\tK562\tpeaks/gata1.bed\n"),
        "tracks.tsv:2",
        "bad track name '..'",
    ),
    "sheet-unknown-assay": (
        set_sheet(SHEET_HEADER + GOOD_ROW + "X\tChIP\tK562\tpeaks/gata1.bed\n"),
        "tracks.tsv:3",
        "assay 'ChIP' is not one of",
    ),
    "sheet-duplicate-name": (
        set_sheet(SHEET_HEADER + GOOD_ROW + GOOD_ROW),
        "tracks.tsv:3",
        "duplicate track name 'CTCF_K562' in column name",
    ),
    "sheet-header-only": (set_sheet(SHEET_HEADER), "tracks.tsv:2", "no tracks below the header"),
    "sheet-empty-file": (set_sheet(""), "tracks.tsv", "cannot read the track table"),
    "sheet-missing-column": (
        set_sheet("name\tassay\tcell_type\nA\tTF\tK562\n"),
        "tracks.tsv:1",
        "missing columns ['path']",
    ),
    "sheet-empty-path": (
        set_sheet(SHEET_HEADER + "A\tTF\tK562\t\n"),
        "tracks.tsv:2",
        "empty path for track 'A'",
    ),
    "sheet-bad-md5": (
        set_sheet("name\tassay\tcell_type\tpath\tmd5\nA\tTF\tK562\tpeaks/gata1.bed\tabc\n"),
        "tracks.tsv:2",
        "md5 'abc' of track 'A' is not 32 lowercase hex digits",
    ),
    "sheet-peak-file-missing": (
        set_sheet(SHEET_HEADER + "A\tTF\tK562\tpeaks/absent.bed\n"),
        "tracks.tsv:2",
        "column path: peak file 'peaks/absent.bed' of track 'A' not found",
    ),
    "sheet-ftp-url": (
        set_sheet(SHEET_HEADER + "A\tTF\tK562\tftp://example.org/a.bed\n"),
        "tracks.tsv",
        "unsupported URL(s)",
    ),
}


@pytest.mark.parametrize("case", WORKFLOW_CASES, ids=list(WORKFLOW_CASES))
def test_config_and_sheet_errors_stop_before_any_job(finished, case):
    edit, file, message = WORKFLOW_CASES[case]
    config = {p: p.read_bytes() for p in (finished / "config").glob("*.*")}
    before = tree(finished / "results")
    try:
        edit(finished)
        result = snakemake(finished, "-n", *TARGETS, check=False)
    finally:
        for path, content in config.items():
            path.write_bytes(content)
        (finished / "genome.fa.gz.fai").unlink(missing_ok=True)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if message in line]
    assert lines, output[-3000:]
    assert file in lines[0] and "(fix: " in lines[0], lines[0]
    assert "Traceback" not in output and "Job stats" not in output
    assert tree(finished / "results") == before


def test_missing_genome_stops_a_finished_run(finished):
    """Every result exists; the config now names a genome that is not there: not "Nothing to
    be done" and exit 0, but the key and the path."""
    done = snakemake(finished, "-n", *TARGETS)
    assert "Nothing to be done" in done.stdout + done.stderr
    set_config(genome="moved/genome.fa.gz")(finished)
    try:
        result = snakemake(finished, "-n", *TARGETS, check=False)
    finally:
        set_config(genome="genome.fa.gz")(finished)
    assert result.returncode != 0
    assert error_lines(result.stderr) == [
        "seq2chrom: error: config/config.yaml: key genome: file 'moved/genome.fa.gz' not found "
        "(fix: correct genome (paths are relative to the run directory))"
    ]


# --- data files through their `seq2chrom` step --------------------------------------------------


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    """`seq2chrom ARGS` as a rule runs it (a subprocess, as the console shows it)."""
    return subprocess.run([str(BIN / "seq2chrom"), *args], capture_output=True, text=True)


@dataclass
class Case:
    step: list[str]  # subcommand and its arguments; {dir} is the case's folder
    files: dict[str, bytes]  # inputs to write into the case's folder
    named: str  # what the error line names: file[:line]
    message: str
    out: str = "out/result"  # the output path, holding an earlier result before the run


def peaks_case(text: str | bytes, named: str, message: str, name: str = "peaks.bed") -> Case:
    """A `label` case; text is gzipped for a .gz name, bytes are written as they are."""
    data = text if isinstance(text, bytes) else text.encode()
    data = gzip.compress(data) if name.endswith(".gz") and isinstance(text, str) else data
    return Case(
        ["label", "--bins", "{data}/bins.h5", "--peaks", f"{{dir}}/{name}", "--min-overlap",
         "0.5", "--out", "{dir}/out/result"],
        {name: data}, named.format(name=name), message,
    )  # fmt: skip


def fasta_case(data: bytes, named: str, message: str, name: str = "bad.fa") -> Case:
    return Case(
        ["genome", "--input", f"{{dir}}/{name}", "--out", "{dir}/out/result"],
        {name: data}, named, message,
    )  # fmt: skip


def vcf_case(body: str, named: str, message: str) -> Case:
    text = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n" + body
    return Case(
        ["score-variants", "--model", "{dir}/absent.keras", "--genome", "{data}/genome.fa",
         "--device", "cpu", "--vcf", "{dir}/in.vcf", "--out", "{dir}/out/result.tsv.gz"],
        {"in.vcf": text.encode()}, named, message, out="out/result.tsv.gz",
    )  # fmt: skip


def model_case(files: dict[str, bytes], named: str, message: str) -> Case:
    return Case(
        ["predict", "--model", "{dir}/model.keras", "--data", "{data}/valid.h5", "--device",
         "cpu", "--out", "{dir}/out/result"],
        files, named, message,
    )  # fmt: skip


def bundle_case(files: dict[str, bytes], named: str, message: str) -> Case:
    return Case(
        ["import-bundle", "--split", "valid", "--bundle-dir", "{dir}", "--out",
         "{dir}/out/result"],
        files, named, message,
    )  # fmt: skip


def mat5(names: tuple[str, str] | None = None, tracks: int = 919, label: int = 0) -> bytes:
    """valid.mat of the DeepSEA bundle (MATLAB 5) with 2 samples, as `names` (x, y) say."""
    import io

    from tests.unit.bundle_files import random_one_hot, write_mat5

    rng = np.random.default_rng(0)
    x, y = random_one_hot(rng, 2), np.full((2, tracks), label, np.uint8)
    buffer = io.BytesIO()
    write_mat5(buffer, x, y, split="valid", names=names)
    return buffer.getvalue()


GOOD_PEAKS = "track name=x\nchr1\t1000\t1400\n"
FILE_CASES = {
    **{
        f"peaks-{name}": peaks_case(GOOD_PEAKS + line, "{name}:3", message)
        for name, (line, message, _) in BAD_LINES.items()
        if name != "unknown-chromosome"
    },
    "peaks-unknown-chromosome": peaks_case(
        GOOD_PEAKS + "chrUn\t1\t10\n", "{name}:3", "'chrUn' is not in the genome"
    ),
    "peaks-binary": peaks_case(b"chr1\t1\t2\n\xff\xfe\x00", "{name}:2", "not a text file"),
    "peaks-missing": Case(
        [
            "label",
            "--bins",
            "{data}/bins.h5",
            "--peaks",
            "{dir}/absent.bed",
            "--min-overlap",
            "0.5",
            "--out",
            "{dir}/out/result",
        ],
        {},
        "absent.bed",
        "file not found",
    ),  # fmt: skip
    "peaks-narrowpeak-start-after-end": peaks_case(
        GOOD_PEAKS + "chr2\t900\t100\tp\t0\t.\t5.0\t-1\t-1\t50\n",
        "{name}:3",
        "start 900 > end 100",
        name="peaks.narrowPeak",
    ),
    "peaks-gz-bad-line": peaks_case(
        GOOD_PEAKS + "chr1\tten\t20\n", "{name}:3", "start 'ten'", name="peaks.bed.gz"
    ),
    "peaks-gz-truncated": peaks_case(
        gzip.compress(GOOD_PEAKS.encode() * 50)[:40],
        "{name}",
        "cannot read: Compressed file ended",
        name="peaks.bed.gz",
    ),
    "fasta-empty": fasta_case(b"", "bad.fa", "error: "),
    "fasta-binary": fasta_case(b">a\nAC\xff\xfeGT\n", "bad.fa", "not a text FASTA"),
    "fasta-all-n": Case(
        [
            "tile",
            "--genome",
            "{dir}/n.fa",
            "--size",
            "200",
            "--window",
            "1000",
            "--chromosomes",
            ".*",
            "--out",
            "{dir}/out/result",
        ],
        {"n.fa": b">chr1\n" + b"N" * 5000 + b"\n", "n.fa.fai": b"chr1\t5000\t6\t5000\t5001\n"},
        "n.fa",
        "no 1000 bp window fits",
    ),  # fmt: skip
    "fasta-no-header": fasta_case(b"ACGT\n", "bad.fa", "not a FASTA"),
    "fasta-duplicate-name": fasta_case(b">a\nACGT\n>a\nACGT\n", "bad.fa", "unique name"),
    "fasta-ragged-lines": fasta_case(b">a\nACGT\nAC\nACGT\n", "bad.fa", "cannot index"),
    "fasta-missing": Case(
        ["genome", "--input", "{dir}/absent.fa", "--out", "{dir}/out/result"],
        {},
        "absent.fa",
        "not found",
    ),  # fmt: skip
    "vcf-too-few-columns": vcf_case("chr1\t5\t.\tA\n", "in.vcf:3", "4 tab-separated column"),
    "vcf-pos-not-integer": vcf_case("chr1\tfive\t.\tA\tG\n", "in.vcf:3", "POS 'five'"),
    "vcf-bad-ref": vcf_case("chr1\t5\t.\tA-\tG\n", "in.vcf:3", "REF 'A-'"),
    "vcf-bad-alt": vcf_case("chr1\t5\t.\tA\tG,X1\n", "in.vcf:3", "ALT 'G,X1'"),
    "vcf-missing": Case(
        [
            "score-variants",
            "--model",
            "{dir}/absent.keras",
            "--genome",
            "{data}/genome.fa",
            "--device",
            "cpu",
            "--vcf",
            "{dir}/absent.vcf",
            "--out",
            "{dir}/out/result.tsv.gz",
        ],
        {},
        "absent.vcf",
        "VCF not found",
        out="out/result.tsv.gz",
    ),  # fmt: skip
    "model-missing": model_case({}, "model.keras", "not found"),
    "model-not-a-zip": model_case({"model.keras": b"not a zip"}, "model.keras", "not a Keras"),
    "bundle-missing-file": bundle_case({}, "valid.mat", "not found"),
    "bundle-not-a-mat-file": bundle_case({"valid.mat": b"junk" * 100}, "valid.mat", "error: "),
    "bundle-wrong-variables": bundle_case(
        {"valid.mat": mat5(names=("x", "y"))}, "valid.mat", "variables ['validxdata'"
    ),
    "bundle-labels-not-binary": bundle_case(
        {"valid.mat": mat5(label=2)}, "valid.mat", "holds values other than 0 and 1"
    ),
    "bundle-too-few-tracks": bundle_case(
        {"valid.mat": mat5(tracks=3)}, "valid.mat", "label columns"
    ),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """genome.fa, bins.h5 and valid.h5 of a tiny genome, built by the steps' commands."""
    folder = tmp_path_factory.mktemp("bad_files_data")
    rng = np.random.default_rng(3)
    text = "".join(
        f">{chrom}\n{''.join(rng.choice(list('ACGT'), 6000))}\n" for chrom in ("chr1", "chr2")
    )
    (folder / "in.fa").write_text(text)
    (folder / "peaks.bed").write_text("chr1\t1000\t1400\nchr2\t2000\t2600\n")
    (folder / "tracks.tsv").write_text(SHEET_HEADER + f"A\tTF\tK562\t{folder}/peaks.bed\n")
    steps = [
        ["genome", "--input", "in.fa", "--out", "genome.fa"],
        ["tile", "--genome", "genome.fa", "--size", "200", "--window", "1000",
         "--chromosomes", ".*", "--out", "bins.h5"],
        ["label", "--bins", "bins.h5", "--peaks", "peaks.bed", "--min-overlap", "0.5",
         "--out", "A.npy"],
        ["assemble", "--bins", "bins.h5", "--tracks", "tracks.tsv", "--labels", "A.npy",
         "--select", "all", "--test", "chr2", "--valid", "chr1:1-3000", "--out", "labels.h5"],
        ["encode", "--genome", "genome.fa", "--labels", "labels.h5", "--split", "valid",
         "--out", "valid.h5"],
    ]  # fmt: skip
    for step in steps:
        result = subprocess.run(
            [str(BIN / "seq2chrom"), *step], cwd=folder, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("case", FILE_CASES, ids=list(FILE_CASES))
def test_bad_file_stops_its_step_with_one_line(tmp_path, data, case):
    spec = FILE_CASES[case]
    for name, content in spec.files.items():
        (tmp_path / name).write_bytes(content)
    out = tmp_path / spec.out
    out.parent.mkdir()
    out.write_bytes(b"earlier result")
    before = tree(tmp_path)
    args = [arg.format(dir=tmp_path, data=data) for arg in spec.step]
    result = run_cli(args)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = error_lines(result.stderr, f"seq2chrom {spec.step[0]}")
    assert len(lines) == 1, result.stderr[-3000:]
    assert f"{tmp_path}/{spec.named}" in lines[0] and spec.message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert tree(tmp_path) == before  # nothing partial, the earlier result kept


def test_model_with_code_is_refused_in_safe_mode(tmp_path):
    """A `.keras` file whose Lambda layer would run Python code on loading is not loaded."""
    import keras
    from seq2chrom.errors import InputError
    from seq2chrom.modelfile.loading import load_model

    inputs = keras.Input((1000, 4))
    outputs = keras.layers.Lambda(lambda x: x[:, 0, :2] * 2.0)(inputs)
    path = tmp_path / "model.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(InputError, match="refused: the model holds Python code") as error:
        load_model(path)
    assert str(error.value).startswith(f"{path}: ") and "(fix: " in str(error.value)
    assert "\n" not in str(error.value)
    safe = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    safe.save(tmp_path / "safe.keras")
    assert load_model(tmp_path / "safe.keras").output_shape == (None, 2)


def test_model_with_code_is_refused_by_predict(tmp_path, data):
    import keras

    inputs = keras.Input((1000, 4))
    outputs = keras.layers.Lambda(lambda x: x[:, 0, :1])(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "model.keras")
    (tmp_path / "out").mkdir()
    result = run_cli(
        ["predict", "--model", f"{tmp_path}/model.keras", "--data", f"{data}/valid.h5",
         "--device", "cpu", "--out", f"{tmp_path}/out/p.h5"]
    )  # fmt: skip
    assert result.returncode == 1
    assert error_lines(result.stderr, "seq2chrom predict") == [
        f"seq2chrom predict: error: {tmp_path}/model.keras: refused: the model holds Python "
        "code (a Lambda layer), which Keras' safe mode does not run (fix: use a model saved by "
        "seq2chrom train, whose layers are all built in)"
    ]
    assert not any((tmp_path / "out").iterdir())


# --- the real workflow: a job's error on the console ---------------------------------------------


def job_error(result: subprocess.CompletedProcess) -> list[str]:
    return error_lines(result.stdout + result.stderr, "seq2chrom label")


@pytest.mark.parametrize("started", ["in-run-directory", "from-elsewhere"])
def test_job_error_reaches_the_console(finished, tmp_path, started):
    """A malformed peak line stops `label`; its one line is on the console, not only in the log.

    Started as the README says (`snakemake -s path/to/Snakefile --cores all` in the run
    directory), or with `--directory RUN` from another folder: no profile is given, so the
    message comes through profiles/default (show-failed-logs).
    """
    bed = finished / "peaks" / "gata1.bed"
    original = bed.read_bytes()
    before = tree(finished / "results")
    line = original.count(b"\n") + 1
    label = "results/labels/GATA1_K562.npy"  # named: a failed run before removed it
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--cores", "2", label]
    if started == "from-elsewhere":
        command[3:3] = ["--directory", str(finished)]
    try:
        bed.write_bytes(original + b"chr2\t900\t100\n")
        result = subprocess.run(
            command,
            cwd=finished if started == "in-run-directory" else tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        )
    finally:
        bed.write_bytes(original)
    assert result.returncode != 0
    assert f"seq2chrom label: error: peaks/gata1.bed:{line}: start 900 > end 100" in "\n".join(
        job_error(result)
    ), result.stdout[-3000:] + result.stderr[-3000:]
    after = tree(finished / "results")
    assert {k: v for k, v in after.items() if "GATA1" not in k} == {
        k: v for k, v in before.items() if "GATA1" not in k
    }
    assert "labels/GATA1_K562.npy" not in after


def test_shell_syntax_in_a_track_path_stays_data(tmp_path):
    """A peak file named with `;`, `$( )` and a space is read as a file; nothing runs."""
    workdir = make_workdir(tmp_path / "run")
    write_inputs(workdir)
    name = "x; touch PWNED $(touch PWNED2) y.bed"
    shutil.copy(workdir / "peaks" / "gata1.bed", workdir / "peaks" / name)
    sheet = workdir / "config" / "tracks.tsv"
    sheet.write_text(sheet.read_text() + f"Odd_name\tTF\tK562\tpeaks/{name}\n")
    snakemake(workdir, "results/labels/Odd_name.npy")
    assert (workdir / "results" / "labels" / "Odd_name.npy").is_file()
    assert not list(workdir.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
