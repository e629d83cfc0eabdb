"""Every input is tracked: changing a config value or an input file reruns exactly the jobs that
read it and what depends on them, and a path in the config that does not exist stops the run,
even when every result exists.

The run directory is built once, without running a step: the demo config with the fine-tuning
comparison, pointed at input files of its own under inputs/ (so that rule demo is not part of
the run), an empty file or folder at every output path, then `snakemake --touch --forceall`,
which records each job's params and inputs as a run does. Each case edits a copy of it and
reads the jobs of `snakemake -n`. The expected jobs are those of the rules that READ the value
(the table in CHANGES) plus every job downstream of them in the DAG; a rule that reads a value
without it being a param or an input of the rule would be missing from the plan.

All dry runs run in one module fixture, forked from one process that imported Snakemake once
(a new Snakemake process spends 1 s of its 1.5 s dry run importing); the tests then compare.
Cases that change keys read by the same rules are grouped, every key still being changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BIN, FINETUNE_OVERLAY, REPO, make_workdir, snakemake
from tests.integration.test_bad_inputs import set_config as set_config_keys

pytestmark = pytest.mark.slow

MODELS = ["danq", "deepsea"]
# The run's own inputs (empty: no step runs; only their paths, contents and mtimes count).
INPUTS = {
    "genome": "inputs/genome.fa",
    "bins.blacklist": "inputs/blacklist.bed",
    "motifs.meme_file": "inputs/motifs.meme",
    "variants.vcfs.demo": "inputs/variants.vcf",
    "variants.background": "inputs/background.vcf",
    "prediction_tracks.regions": "inputs/regions.bed",
}
# Outputs that are folders (`directory(...)` in the rules); every other output is a file.
FOLDER_OUTPUT = re.compile(r"/(logos|windows)$")
NOT_COPIED = shutil.ignore_patterns("locks", "incomplete", "log")


# ---------------------------------------------------------------------------------------------
# the changes: what each edits, and which jobs read it


def set_config(**values: object) -> Callable[[Path], None]:
    """Edit config/config.yaml: `values` maps a dotted key (`bins.size`) to its new value."""
    return set_config_keys(**{key.replace(".", "__"): value for key, value in values.items()})


def write(relative: str, text: str) -> Callable[[Path], None]:
    """Give the file at `relative` new content (and so a new mtime)."""

    def edit(workdir: Path) -> None:
        (workdir / relative).write_text(text)

    return edit


def edit_sheet(track: str, column: int, value: str) -> Callable[[Path], None]:
    """Set one cell of the track sheet: `column` of the row of `track`."""

    def edit(workdir: Path) -> None:
        path = workdir / "config" / "tracks.tsv"
        rows = [row.split("\t") for row in path.read_text().splitlines()]
        for row in rows:
            if row[0] == track:
                row[column] = value
        path.write_text("".join("\t".join(row) + "\n" for row in rows))

    return edit


@dataclass(frozen=True)
class Change:
    edit: Callable[[Path], None] | None
    # jobs that read what changed: "rule" (each of its jobs) or "rule wildcards" (one job);
    # a job not in the run yet is new, without downstream jobs
    readers: tuple[str, ...]
    config: bool = True  # a config value: config_html renders every one


TRAINING = ("train", "finetune_base", "finetune_tuned")
TRAIN_SECTION = {  # every key of train except device, init_from and freeze_epochs
    "train.epochs": 3,
    "train.batch_size": 50,
    "train.learning_rate": 0.01,
    "train.patience": 2,
    "train.patience_rule": "keras0.2",
    "train.reverse_complement": False,
    "train.mixed_precision": True,
    "train.optimizer": {"name": "sgd", "momentum": 0.5, "nesterov": True},
    "train.lr_schedule": {"type": "step", "drop": 0.1, "every": 2, "decay": 1e-6},
}
# the demo VCF's scoring jobs (the background's, variants.background, read another file)
DEMO_VCF_JOBS = tuple(f"variant_effects model={model}, vcf=demo" for model in MODELS)
CHANGES = {
    "nothing": Change(None, (), config=False),
    "genome": Change(set_config(genome="inputs/other/genome.fa"), ("genome",)),
    "genome file": Change(write(INPUTS["genome"], ">chr1\nACGT\n"), ("genome",), config=False),
    "tracks": Change(
        set_config(tracks="inputs/other/tracks.tsv"),
        ("assemble", "tracks_table", "variant_effects"),
    ),
    "track sheet": Change(
        edit_sheet("GATA1_K562", 2, "HepG2"),
        ("assemble", "config_html", "tracks_table", "variant_effects"),
        config=False,
    ),
    "track file": Change(
        write("inputs/peaks/GATA1_K562.bed", "chr1\t0\t200\n"),
        ("label track=GATA1_K562", "tracks_table"),
        config=False,
    ),
    "seed": Change(
        set_config(seed=2),
        ("encode split=train", *TRAINING, "motif_pwms", "attributions", "contribution_tracks"),
    ),
    "bins.size, bins.window, bins.chromosomes": Change(
        set_config(**{"bins.size": 100, "bins.window": 600, "bins.chromosomes": "^chr[0-9]+$"}),
        ("tile", "predict_region", "mutagenesis_regions", "attributions", "contribution_tracks"),
    ),
    "bins.blacklist": Change(
        set_config(**{"bins.blacklist": "inputs/other/blacklist.bed"}), ("tile",)
    ),
    "blacklist file": Change(
        write(INPUTS["bins.blacklist"], "chr1\t0\t100\n"), ("tile",), config=False
    ),
    "bins.min_overlap": Change(set_config(**{"bins.min_overlap": 0.3}), ("label",)),
    "bins.select, split.test, split.valid": Change(
        set_config(
            **{"bins.select": "all", "split.test": ["chr8"], "split.valid": ["chr7:1-50000"]}
        ),
        ("assemble",),
    ),
    "models.deepsea": Change(
        set_config(**{"models.deepsea": {"preset": "full", "hidden_units": 20}}),
        ("train model=deepsea", "report_summary"),
    ),
    "models.danq": Change(
        set_config(**{"models.danq": {"preset": "small", "lstm_units": 8, "conv_filters": 16}}),
        ("train model=danq", "finetune_base", "finetune_tuned"),
    ),
    # a model's own train settings rerun that model's trainings only (danq is the fine-tuning
    # comparison's model)
    "models.danq.train": Change(
        set_config(**{"models.danq.train": {"epochs": 4, "patience_rule": "keras0.2"}}),
        ("train model=danq", "finetune_base", "finetune_tuned"),
    ),
    "models.deepsea.train": Change(
        set_config(**{"models.deepsea.train": {"batch_size": 20, "freeze_epochs": 0}}),
        ("train model=deepsea",),
    ),
    ", ".join(TRAIN_SECTION): Change(set_config(**TRAIN_SECTION), TRAINING),
    "train.device": Change(
        set_config(**{"train.device": "cpu"}),
        (
            *TRAINING,
            "predict",
            "variant_effects",
            "predict_region",
            "mutagenesis",
            "attributions",
            "contribution_tracks",
        ),  # fmt: skip
    ),
    "train.init_from, train.freeze_epochs": Change(
        set_config(**{"train.init_from": "inputs/models/{model}", "train.freeze_epochs": 1}),
        ("train", "tracks_table"),  # the Tracks table counts new tracks against that model
    ),
    "finetune_comparison.epochs, .freeze_epochs, .learning_rate": Change(
        set_config(
            **{
                "finetune_comparison.epochs": 2,
                "finetune_comparison.freeze_epochs": 0,
                "finetune_comparison.learning_rate": 0.1,
            }
        ),
        ("finetune_tuned",),
    ),
    "finetune_comparison.holdout": Change(
        set_config(**{"finetune_comparison.holdout": ["CEBPB_K562"]}), ("finetune_base",)
    ),
    "finetune_comparison.model": Change(
        set_config(**{"finetune_comparison.model": "deepsea"}),
        (
            "finetune_base model=deepsea",
            "finetune_tuned model=deepsea",
            "finetune_comparison model=deepsea",
            "tracks_table",  # counts new tracks against the comparison's base model
        ),
    ),
    "evaluate.min_positives": Change(
        set_config(**{"evaluate.min_positives": 3}), ("evaluate", "finetune_comparison")
    ),
    "motifs.max_sequences, .pwm_rule, .activation_threshold, .min_sites, .influence_*": Change(
        set_config(
            **{
                "motifs.max_sequences": 100,
                "motifs.pwm_rule": "both_strands",
                "motifs.activation_threshold": 0.7,
                "motifs.min_sites": 3,
                "motifs.influence_sequences": 0,
            }
        ),
        ("motif_pwms",),
    ),
    "motifs.jaspar_release, .jaspar_collection, .jaspar_tax_group, .evalue, .min_overlap": Change(
        set_config(
            **{
                "motifs.jaspar_release": "JASPAR2022",
                "motifs.jaspar_collection": "UNVALIDATED",
                "motifs.jaspar_tax_group": "insects",
                "motifs.evalue": 0.5,
                "motifs.min_overlap": 3,
            }
        ),
        ("motif_tomtom", "modisco", "modisco_report"),
    ),
    "motifs.meme_file": Change(
        set_config(**{"motifs.meme_file": "inputs/other/motifs.meme"}),
        ("motif_tomtom", "modisco", "modisco_report"),
    ),
    "meme file": Change(
        write(INPUTS["motifs.meme_file"], "MEME version 4\n"),
        ("motif_tomtom", "modisco", "modisco_report"),
        config=False,
    ),
    "variants.vcfs": Change(
        set_config(**{"variants.vcfs": {"demo": "inputs/other/variants.vcf"}}),
        DEMO_VCF_JOBS,
    ),
    "VCF file": Change(
        write(INPUTS["variants.vcfs.demo"], "##fileformat=VCFv4.2\n"),
        DEMO_VCF_JOBS,
        config=False,
    ),
    "variants.models": Change(
        set_config(**{"variants.models": ["danq"]}),
        ("report_summary",),  # fewer inputs
    ),
    # the background is scored like a VCF, and its scores are an input of every other VCF's job
    "variants.background": Change(
        set_config(**{"variants.background": "inputs/other/background.vcf"}),
        ("variant_effects",),
    ),
    "background VCF file": Change(
        write(INPUTS["variants.background"], "##fileformat=VCFv4.2\n"),
        ("variant_effects",),
        config=False,
    ),
    "variants.tracks, .min_abs_diff, .top": Change(
        set_config(**{"variants.tracks": ["TF"], "variants.min_abs_diff": 0.01, "variants.top": 5}),
        ("variant_effects",),
    ),
    "prediction_tracks.regions": Change(
        set_config(**{"prediction_tracks.regions": "inputs/other/regions.bed"}),
        ("predict_region", "contribution_tracks"),
    ),
    "regions file": Change(
        write(INPUTS["prediction_tracks.regions"], "chr8\t0\t1000\n"),
        ("predict_region", "contribution_tracks"),
        config=False,
    ),
    "prediction_tracks.tracks, .step": Change(
        set_config(**{"prediction_tracks.tracks": ["CTCF_K562"], "prediction_tracks.step": 100}),
        ("predict_region",),
    ),
    "mutagenesis.tracks, .top_variants": Change(
        set_config(**{"mutagenesis.tracks": ["GATA1_K562"], "mutagenesis.top_variants": 2}),
        ("mutagenesis_regions model=danq",),
    ),
    "attributions.windows, .method, .batch_size, .references, .steps": Change(
        set_config(
            **{
                "attributions.windows": 20,
                "attributions.method": "expected_gradients",
                "attributions.batch_size": 64,
                "attributions.references": 3,
                "attributions.steps": 5,
            }
        ),
        ("attributions", "contribution_tracks"),  # all but windows are read by both
    ),
    "attributions.modisco.*": Change(
        set_config(
            **{
                "attributions.modisco.window": 200,
                "attributions.modisco.max_seqlets": 500,
                "attributions.modisco.leiden_runs": 3,
                "attributions.modisco.trim_threshold": 0.2,
                "attributions.modisco.qvalue": 0.01,
                "attributions.modisco.evalue": 1,
                "attributions.modisco.min_seqlets": 30,
            }
        ),
        ("modisco",),
    ),
    "mutagenesis.models": Change(
        set_config(**{"mutagenesis.models": ["deepsea"]}),
        ("mutagenesis_regions model=deepsea", "mutagenesis model=deepsea"),
    ),
}

# A path in the config that does not exist: the dry run must stop, naming it.
MISSING = {
    "genome": set_config(genome="missing/genome.fa"),
    "tracks": set_config(tracks="missing/tracks.tsv"),
    "track file": edit_sheet("GATA1_K562", 3, "missing/GATA1.bed"),
    "bins.blacklist": set_config(**{"bins.blacklist": "missing/blacklist.bed"}),
    "variants.vcfs": set_config(**{"variants.vcfs": {"demo": "missing/variants.vcf"}}),
    "variants.background": set_config(**{"variants.background": "missing/background.vcf"}),
    "prediction_tracks.regions": set_config(**{"prediction_tracks.regions": "missing/regions.bed"}),
    "motifs.meme_file": set_config(**{"motifs.meme_file": "missing/motifs.meme"}),
    "train.init_from": set_config(**{"train.init_from": "missing/{model}"}),
}


# ---------------------------------------------------------------------------------------------
# the run directory and its jobs


@dataclass(frozen=True)
class Job:
    name: str  # "rule" or "rule wildcards"
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    reason: str


def jobs_of(output: str) -> dict[str, Job]:
    """The jobs `snakemake -n` printed, by name (without the target rule `all`)."""
    jobs = {}
    for rule, body in re.findall(r"^(?:local)?rule (\w+):\n((?:[ \t]+\S.*\n?)*)", output, re.M):
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", body, re.M))
        name = f"{rule} {fields.get('wildcards', '')}".strip()
        files = {key: tuple(fields.get(key, "").split(", ")) for key in ("input", "output")}
        jobs[name] = Job(name, files["input"], files["output"], fields.get("reason", ""))
    jobs.pop("all", None)
    return jobs


def downstream(jobs: dict[str, Job], names: set[str]) -> set[str]:
    """`names` and every job that reads, directly or not, an output of one of them."""
    makers = {path: job.name for job in jobs.values() for path in job.outputs}
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo += [
            job.name for job in jobs.values() if any(makers.get(p) == name for p in job.inputs)
        ]
    return found


def write_inputs(workdir: Path) -> None:
    """Point the config at empty input files of the run's own, and make them (and the other
    files the cases switch to)."""
    set_config(**INPUTS)(workdir)
    sheet = workdir / "config" / "tracks.tsv"
    rows = [row.split("\t") for row in sheet.read_text().splitlines()]
    for row in rows[1:]:
        row[3] = f"inputs/peaks/{row[0]}.bed"
    sheet.write_text("".join("\t".join(row) + "\n" for row in rows))
    paths = [*INPUTS.values(), *(row[3] for row in rows[1:])]
    paths += [
        f"inputs/models/{model}/{name}"
        for model in MODELS
        for name in ("model.keras", "config.yaml")
    ]
    paths += [f"inputs/other/{Path(path).name}" for path in INPUTS.values()]
    for path in paths:
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).touch()
    shutil.copy2(sheet, workdir / "inputs" / "other" / "tracks.tsv")


@dataclass(frozen=True)
class Run:
    workdir: Path
    jobs: dict[str, Job]  # every job of the run


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A run directory whose every result exists and is up to date, with Snakemake's records."""
    workdir = make_workdir(tmp_path_factory.mktemp("tracking") / "run", FINETUNE_OVERLAY)
    write_inputs(workdir)
    jobs = jobs_of(snakemake(workdir, "-n", "--forceall").stdout)
    for job in jobs.values():
        for output in job.outputs:
            path = workdir / output
            if FOLDER_OUTPUT.search(output):
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
    snakemake(workdir, "--touch", "--forceall")  # in DAG order: outputs newer than inputs
    return Run(workdir, jobs)


@dataclass(frozen=True)
class DryRun:
    returncode: int
    stdout: str
    stderr: str


def dry_run_all(workdirs: list[str], workers: int) -> None:
    """`snakemake -n` in each of `workdirs`, `workers` at a time, forked from this process once
    it has imported Snakemake (the import is 1 s of CPU of a 1.5 s dry run). Writes
    WORKDIR.out, WORKDIR.err and WORKDIR.rc. Run in a process of its own (see `dry_runs`)."""
    import snakemake.cli

    running = 0
    for workdir in workdirs:
        if running == workers:
            os.wait()
            running -= 1
        if os.fork():
            running += 1
            continue
        code = 1
        try:
            for fd, suffix in ((1, "out"), (2, "err")):
                os.dup2(os.open(f"{workdir}.{suffix}", os.O_WRONLY | os.O_CREAT), fd)
            argv = ["--snakefile", str(REPO / "Snakefile"), "--directory", workdir]
            snakemake.cli.main([*argv, "--cores", "2", "-n"])
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            Path(f"{workdir}.rc").write_text(str(code))
            os._exit(code)
    while running:
        os.wait()
        running -= 1


@pytest.fixture(scope="module")
def dry_runs(finished: Run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, DryRun]:
    """`snakemake -n` after each change of CHANGES and MISSING, each in its own copy."""
    edits = {f"change {name}": change.edit for name, change in CHANGES.items()}
    edits |= {f"missing {name}": edit for name, edit in MISSING.items()}
    base = tmp_path_factory.mktemp("cases")
    workdirs = {case: base / re.sub(r"\W+", "_", case) for case in edits}
    for case, workdir in workdirs.items():
        shutil.copytree(finished.workdir, workdir, symlinks=True, ignore=NOT_COPIED)
        if edits[case]:
            edits[case](workdir)
    workers = min(4, os.cpu_count() or 1)
    paths = [str(workdir) for workdir in workdirs.values()]
    driver = f"from {__name__} import dry_run_all; dry_run_all({paths!r}, {workers})"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-c", driver], cwd=REPO, env=env, check=True)
    return {
        case: DryRun(
            int(Path(f"{workdir}.rc").read_text()),
            Path(f"{workdir}.out").read_text(),
            Path(f"{workdir}.err").read_text(),
        )
        for case, workdir in workdirs.items()
    }


def expected_jobs(jobs: dict[str, Job], change: Change) -> set[str]:
    """Names of the jobs `change` should rerun: its readers and all jobs downstream of them."""
    readers = {
        name
        for reader in change.readers
        for name in (
            [job for job in jobs if job == reader or job.split(" ")[0] == reader] or [reader]
        )
    }
    if change.config:
        readers.add("config_html")
    return downstream(jobs, readers)


# ---------------------------------------------------------------------------------------------
# the tests


@pytest.mark.parametrize("name", CHANGES)
def test_a_change_reruns_exactly_the_jobs_that_read_it(
    finished: Run, dry_runs: dict[str, DryRun], name: str
) -> None:
    result = dry_runs[f"change {name}"]
    assert result.returncode == 0, result.stderr[-3000:]
    planned = jobs_of(result.stdout)
    expected = expected_jobs(finished.jobs, CHANGES[name])
    reasons = "\n".join(f"{job.name}: {job.reason}" for job in planned.values())
    assert sorted(planned) == sorted(expected), f"{name}:\n{reasons}"


def test_every_rule_of_the_run_is_covered(finished: Run) -> None:
    """Every rule reads some change here, or reads no setting and no input of the user's (so
    that a new rule, or a new setting of a rule, gets a case)."""
    rules = {name.split(" ")[0] for name in finished.jobs}
    read = {reader.split(" ")[0] for change in CHANGES.values() for reader in change.readers}
    # compare_models reads `models`, which names the run's targets: another model adds jobs
    assert rules - read - {"config_html"} <= {
        "data_summary", "compare_models", "motif_logos", "variant_report"
    }  # fmt: skip


@pytest.mark.parametrize("key", MISSING)
def test_a_missing_path_stops_the_run_though_results_exist(
    dry_runs: dict[str, DryRun], key: str
) -> None:
    result = dry_runs[f"missing {key}"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("seq2chrom: error:")]
    assert result.returncode != 0, result.stdout[-2000:]
    assert len(errors) == 1 and "missing/" in errors[0], result.stderr[-3000:]
    assert "Nothing to be done" not in result.stdout + result.stderr
