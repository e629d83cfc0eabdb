"""Reruns do only what changed: each edit of a finished demo reruns exactly the jobs that depend
on it, under Snakemake's default rerun triggers, and the data it rebuilds equals a from-scratch
build with the same edit.

Every test starts from a copy of the session's finished demo (config, resources, results, logs,
benchmarks and .snakemake metadata, mtimes kept; about 30 MB, well under a second), edits it,
and reads the job list of `snakemake -n`. Data edits then run the data targets and compare the
split files, dataset by dataset, with a data build from scratch in another folder.

The expected jobs are written as rule names grouped by what they depend on (`DOWNSTREAM`):
when a rule is added, add it to the group it depends on.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from tests.conftest import REPO, snakemake

pytestmark = pytest.mark.slow

DATA_TARGETS = [f"results/data/{split}.h5" for split in ("train", "valid", "test")]
COPIED = ["config", "resources", "results", "logs", "benchmarks", ".snakemake"]
NOT_COPIED = shutil.ignore_patterns("report.html", "report.zip", "locks", "incomplete", "log")

# What reruns when a result changes, by rule: rule -> jobs, where "per model" means one job per
# model of config["models"] and "per comparison" one job for the fine-tuning comparison's model
# (none when finetune_comparison is off). Each group includes the groups that depend on it.
PER_MODEL = "per model"
PER_COMPARISON = "per comparison"
PER_VCF = "per variants model and VCF"  # config variants: vcfs x models (empty: every model)
# the VCFs scored: those and, with variants.background, the background (one job per model)
PER_SCORED_VCF = "per variants model and scored VCF"
PER_MUTAGENESIS = "per mutagenesis model"  # config mutagenesis.models (empty: every model)
PER_TRACKS_MODEL = "per model with prediction tracks"  # every model when regions are set
# config attributions: models (empty: every model) when tracks are listed, and each track
PER_ATTRIBUTION = "per attributions model"
PER_ATTRIBUTION_TRACK = "per attributions model and track"
PER_CONTRIBUTION_TRACKS = "per attributions model when regions are set"
MOTIF_MATCHING = {"motif_tomtom": PER_MODEL, "motif_logos": PER_MODEL, "report_summary": 1}
TRAINING = {  # everything downstream of the split files, from training on
    "train": PER_MODEL,
    "predict": PER_MODEL,
    "evaluate": PER_MODEL,
    "compare_models": 1,
    "motif_pwms": PER_MODEL,
    **MOTIF_MATCHING,
    "finetune_base": PER_COMPARISON,
    "finetune_tuned": PER_COMPARISON,
    "finetune_comparison": PER_COMPARISON,
    "tracks_table": 1,
    "variant_effects": PER_SCORED_VCF,
    "variant_report": PER_VCF,
    "predict_region": PER_TRACKS_MODEL,
    "mutagenesis_regions": PER_MUTAGENESIS,
    "mutagenesis": PER_MUTAGENESIS,
    "attributions": PER_ATTRIBUTION,
    "modisco": PER_ATTRIBUTION_TRACK,
    "modisco_report": PER_ATTRIBUTION,
    "contribution_tracks": PER_CONTRIBUTION_TRACKS,
}
LABEL_MATRIX = {"assemble": 1, "encode": 3, "data_summary": 1, **TRAINING}
CONFIG_PAGE = {"config_html": 1}  # renders the whole config and the track sheet
DOWNSTREAM = {
    "label matrix": LABEL_MATRIX,
    "training": TRAINING,
    "motif matching": MOTIF_MATCHING,
    "config page": CONFIG_PAGE,
}


# ---------------------------------------------------------------------------------------------
# the edits


def edit_config(workdir: Path, section: str, key: str, value: object) -> None:
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config[section][key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def sheet_rows(workdir: Path) -> list[str]:
    return (workdir / "config" / "tracks.tsv").read_text().splitlines()


def write_sheet(workdir: Path, rows: list[str]) -> None:
    (workdir / "config" / "tracks.tsv").write_text("\n".join(rows) + "\n")


def demo_peaks(workdir: Path, track: str) -> Path:
    return workdir / "resources" / "demo" / "peaks" / f"{track}.bed.gz"


def half_of_the_peaks(source: Path, target: Path) -> None:
    """Every other peak of `source` (a gzipped BED) as a new plain BED file `target`."""
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines[::2]) + "\n")


def add_track(workdir: Path) -> None:
    half_of_the_peaks(demo_peaks(workdir, "CTCF_K562"), workdir / "extra" / "NEW_TF.bed")
    write_sheet(workdir, [*sheet_rows(workdir), "NEW_TF\tTF\tK562\textra/NEW_TF.bed"])


def remove_track(workdir: Path) -> None:
    """A track no config section names (mutagenesis.tracks names the motif-driven ones)."""
    rows = sheet_rows(workdir)
    write_sheet(workdir, [row for row in rows if not row.startswith("H3K36me3_GM12878\t")])


def replace_peak_file(workdir: Path) -> None:
    """GATA1_K562 now reads another file (the sheet's path changes)."""
    half_of_the_peaks(demo_peaks(workdir, "GATA1_K562"), workdir / "extra" / "GATA1.bed")
    rows = [
        "GATA1_K562\tTF\tK562\textra/GATA1.bed" if row.startswith("GATA1_K562\t") else row
        for row in sheet_rows(workdir)
    ]
    write_sheet(workdir, rows)


def edit_peak_file(workdir: Path) -> None:
    """GATA1_K562's peak file gets new content in place (the sheet is unchanged)."""
    path = demo_peaks(workdir, "GATA1_K562")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress(("\n".join(lines[::2]) + "\n").encode()))


@dataclass
class Edit:
    apply: Callable[[Path], None]
    labels: list[str] | str = field(default_factory=list)  # tracks relabelled, or "all"
    downstream: list[str] = field(default_factory=list)  # groups of DOWNSTREAM that rerun


EDITS = {
    "add a track": Edit(add_track, ["NEW_TF"], ["label matrix", "config page"]),
    "remove a track": Edit(remove_track, [], ["label matrix", "config page"]),
    "replace a peak file": Edit(replace_peak_file, ["GATA1_K562"], ["label matrix", "config page"]),
    "edit a peak file": Edit(edit_peak_file, ["GATA1_K562"], ["label matrix"]),
    "bins.min_overlap": Edit(
        lambda w: edit_config(w, "bins", "min_overlap", 0.3), "all", ["label matrix", "config page"]
    ),
    "train.epochs": Edit(
        lambda w: edit_config(w, "train", "epochs", 3), [], ["training", "config page"]
    ),
    "motifs.evalue": Edit(
        lambda w: edit_config(w, "motifs", "evalue", 0.5), [], ["motif matching", "config page"]
    ),
}


# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def demo_copy(finished_demo: Path, tmp_path: Path) -> Path:
    """A copy of the finished demo that a test may edit and rerun."""
    workdir = tmp_path / "demo"
    for name in COPIED:
        if (finished_demo / name).exists():
            shutil.copytree(finished_demo / name, workdir / name, symlinks=True, ignore=NOT_COPIED)
    return workdir


def read_config(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())


def models(workdir: Path) -> list[str]:
    return list(read_config(workdir)["models"])


def tracks(workdir: Path) -> list[str]:
    return [row.split("\t")[0] for row in sheet_rows(workdir)[1:]]


def expected_jobs(workdir: Path, edit: Edit) -> tuple[Counter, list[str]]:
    """Jobs per rule, and the tracks relabelled, that `edit` of `workdir` should rerun."""
    config = read_config(workdir)
    variants, mutagenesis = config.get("variants") or {}, config.get("mutagenesis") or {}
    explained = config.get("attributions") or {}
    attribution_models = (
        len(explained.get("models") or models(workdir)) if explained.get("tracks") else 0
    )
    per = {
        PER_MODEL: len(models(workdir)),
        PER_COMPARISON: int(
            bool((read_config(workdir).get("finetune_comparison") or {}).get("model"))
        ),
        PER_VCF: len(variants.get("vcfs") or {}) * len(variants.get("models") or models(workdir)),
        PER_SCORED_VCF: (len(variants.get("vcfs") or {}) + bool(variants.get("background")))
        * len(variants.get("models") or models(workdir))
        if variants.get("vcfs")
        else 0,
        PER_MUTAGENESIS: len(mutagenesis.get("models") or models(workdir))
        if mutagenesis.get("tracks") or mutagenesis.get("top_variants")
        else 0,
        PER_TRACKS_MODEL: len(models(workdir))
        if (config.get("prediction_tracks") or {}).get("regions")
        else 0,
        PER_ATTRIBUTION: attribution_models,
        PER_ATTRIBUTION_TRACK: attribution_models * len(explained.get("tracks") or []),
        PER_CONTRIBUTION_TRACKS: attribution_models
        if (config.get("prediction_tracks") or {}).get("regions")
        else 0,
    }
    counts: Counter = Counter()
    for group in edit.downstream:
        for rule, jobs in DOWNSTREAM[group].items():
            counts[rule] = per.get(jobs, jobs)
    if len(models(workdir)) < 2:
        counts.pop("compare_models", None)
    counts = +counts  # without rules of no jobs
    labels = tracks(workdir) if edit.labels == "all" else edit.labels
    if labels:
        counts["label"] = len(labels)
    return counts, sorted(labels)


@dataclass
class Jobs:
    counts: Counter  # jobs per rule, without the target rule `all`
    wildcards: dict[str, list[str]]  # rule -> sorted wildcards of its jobs
    reasons: str  # rule, wildcards and reason of every job, for failure messages


def job_list(output: str) -> Jobs:
    """The jobs Snakemake printed (`-n` or a run): rule blocks, checked against `Job stats`."""
    if "Nothing to be done" in output:
        return Jobs(Counter(), {}, "")
    counts: Counter = Counter()
    wildcards: dict[str, list[str]] = {}
    reasons = []
    for rule, body in re.findall(r"^(?:local)?rule (\w+):\n((?:[ \t]+\S.*\n?)*)", output, re.M):
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", body, re.M))
        counts[rule] += 1
        wildcards.setdefault(rule, []).append(fields.get("wildcards", ""))
        reasons.append(f"{rule} {fields.get('wildcards', '')}: {fields.get('reason', '')}")
    table = output.split("Job stats:")[1].split("total")[0]
    stats = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    assert stats == dict(counts), f"rule blocks {dict(counts)} != Job stats {stats}"
    counts.pop("all", None)
    return Jobs(counts, {r: sorted(w) for r, w in wildcards.items()}, "\n".join(reasons))


def labelled(jobs: Jobs) -> list[str]:
    return sorted(w.removeprefix("track=") for w in jobs.wildcards.get("label", []))


def h5_contents(path: Path) -> dict[str, object]:
    """Every dataset (strings decoded) and attribute of an HDF5 file, for comparison."""
    with h5py.File(path) as h5:
        contents = {f"attr {key}": np.asarray(value).tolist() for key, value in h5.attrs.items()}
        for key, dataset in h5.items():
            values = dataset[()]
            contents[key] = values if values.dtype.kind != "O" else values.astype(str)
    return contents


def assert_same_data(built: Path, scratch: Path) -> None:
    for name in ["labels.h5", *(Path(t).name for t in DATA_TARGETS)]:
        left = h5_contents(built / "results" / "data" / name)
        right = h5_contents(scratch / "results" / "data" / name)
        assert sorted(left) == sorted(right), name
        for key in left:
            np.testing.assert_array_equal(left[key], right[key], err_msg=f"{name}: {key}")


# ---------------------------------------------------------------------------------------------
# the tests


def test_the_copy_of_the_finished_demo_has_nothing_to_do(demo_copy: Path) -> None:
    output = snakemake(demo_copy, "-n").stdout
    assert not job_list(output).counts, job_list(output).reasons


@pytest.mark.parametrize("name", EDITS)
def test_an_edit_reruns_exactly_what_depends_on_it(demo_copy: Path, name: str) -> None:
    edit = EDITS[name]
    counts, labels = expected_jobs(demo_copy, edit)
    edit.apply(demo_copy)
    jobs = job_list(snakemake(demo_copy, "-n").stdout)
    assert jobs.counts == counts, f"{name}:\n{jobs.reasons}"
    assert labelled(jobs) == labels, f"{name}:\n{jobs.reasons}"


def test_caption_edits_and_touched_inputs_rerun_nothing(demo_copy: Path, tmp_path: Path) -> None:
    """Captions are read only by `snakemake --report` (`make demo` then compares their mtimes
    with the report's); an input touched without a change of content reruns nothing either.

    The caption is edited in a copy of the workflow, which runs on the finished demo.
    """
    workflow = tmp_path / "workflow_copy"
    workflow.mkdir()
    shutil.copy2(REPO / "Snakefile", workflow / "Snakefile")
    for folder in ("workflow/rules", "workflow/report", "workflow/schemas", "envs"):
        shutil.copytree(REPO / folder, workflow / folder, ignore=shutil.ignore_patterns("__py*"))
    shutil.copy2(REPO / "workflow" / "Snakefile", workflow / "workflow" / "Snakefile")
    caption = workflow / "workflow" / "report" / "eval_metrics.rst"
    caption.write_text(caption.read_text() + "\nA sentence added to the caption.\n")
    for path in (demo_peaks(demo_copy, "CTCF_K562"), demo_copy / "config" / "tracks.tsv"):
        path.write_bytes(path.read_bytes())  # new mtime, same content
    # a second --snakefile overrides the helper's (argparse keeps the last)
    output = snakemake(demo_copy, "-n", "--snakefile", str(workflow / "Snakefile")).stdout
    assert not job_list(output).counts, job_list(output).reasons


@pytest.mark.parametrize("name", ["add a track", "edit a peak file", "bins.min_overlap"])
def test_rebuilt_data_equals_a_build_from_scratch(
    finished_demo: Path, demo_copy: Path, tmp_path: Path, name: str
) -> None:
    edit = EDITS[name]
    before = h5_contents(demo_copy / "results" / "data" / "labels.h5")
    edit.apply(demo_copy)
    run = snakemake(demo_copy, *DATA_TARGETS)
    jobs = job_list(run.stdout + run.stderr)  # a run logs its jobs to stderr
    expected = {"assemble": 1, "encode": 3, "label": len(expected_jobs(demo_copy, edit)[1])}
    assert jobs.counts == expected, jobs.reasons  # the genome is neither re-read nor re-tiled
    after = h5_contents(demo_copy / "results" / "data" / "labels.h5")
    assert not np.array_equal(before["y"], after["y"]), "the edit changed no label"

    scratch = tmp_path / "scratch"
    shutil.copytree(finished_demo / "config", scratch / "config")
    snakemake(scratch, "resources/demo/truth.tsv")  # the demo inputs, then the same edit
    edit.apply(scratch)
    snakemake(scratch, *DATA_TARGETS)
    assert_same_data(demo_copy, scratch)
