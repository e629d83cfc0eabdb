# Config and track-sheet validation, wildcard constraints, and the target lists.
import re
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

DATA_SOURCE = config.get("data", {}).get("source", "genome")
if DATA_SOURCE == "deepsea_bundle":
    # The label columns are the bundle's targets (checked by `seq2chrom import-bundle`); the
    # track sheet is not read.
    TRACKS_SHEET = config["data"].get("bundle_targets") or str(
        Path(workflow.current_basedir).parent
        / "seq2chrom/resources/deepsea_919_targets.tsv"
    )
    tracks = pd.read_csv(TRACKS_SHEET, sep="\t", dtype=str, keep_default_na=False)
    tracks = tracks.rename(columns={"track": "name"})
    if "name" not in tracks:
        raise ValueError(
            f"{TRACKS_SHEET}: no column 'track' (fix: name the label columns)"
        )
else:
    TRACKS_SHEET = config["tracks"]
    tracks = pd.read_csv(
        TRACKS_SHEET, sep="\t", dtype=str, comment=None, keep_default_na=False
    )
    for row in tracks.to_dict("records"):
        validate(row, schema="../schemas/tracks.schema.yaml")
_duplicated = tracks["name"][tracks["name"].duplicated()].tolist()
if _duplicated:
    raise ValueError(
        f"{TRACKS_SHEET}: duplicate track names {_duplicated} (fix: make every name unique)"
    )
tracks = tracks.set_index("name", drop=False)

TRACKS = tracks["name"].tolist()
MODELS = list(config["models"])
SPLITS = ["train", "valid", "test"]


wildcard_constraints:
    track="|".join(map(re.escape, TRACKS)),
    model="|".join(MODELS),
    split="|".join(SPLITS),


def track_peaks(wildcards):
    return tracks.loc[wildcards.track, "path"]


def check_track_files():
    """Fail at parse time on peak files that neither exist nor come from a rule.

    Without this, a new track with a wrong path is silently skipped once labels.h5 exists
    (Snakemake then treats the present file as a source).
    """
    missing = [
        path
        for path in tracks["path"]
        if "://" not in path
        and not Path(path).exists()
        and not any(rule.is_producer(path) for rule in workflow.rules)
    ]
    if missing:
        raise ValueError(
            f"{TRACKS_SHEET}: peak file(s) not found: {missing} "
            "(fix: correct the path column of the track sheet)"
        )


def final_outputs():
    targets = expand("results/data/{split}.h5", split=SPLITS)
    targets += ["results/data/summary.html"]
    targets += expand("results/models/{model}/model.keras", model=MODELS)
    targets += expand("results/eval/{model}/metrics.tsv", model=MODELS)
    targets += expand("results/motifs/{model}/tomtom.tsv", model=MODELS)
    targets += expand("results/motifs/{model}/summary.html", model=MODELS)
    if len(MODELS) > 1:
        targets += ["results/eval/comparison/wins.tsv"]
    if DATA_SOURCE == "deepsea_bundle":
        targets += expand("results/eval/{model}/published_comparison.tsv", model=MODELS)
    targets += ["results/report/config.html"]
    return targets
