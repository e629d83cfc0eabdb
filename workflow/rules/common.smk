# Config and track-sheet validation, wildcard constraints, and the target lists.
import re

import pandas as pd
from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

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


def final_outputs():
    targets = expand("results/data/{split}.h5", split=SPLITS)
    targets += ["results/data/summary.html"]
    targets += expand("results/models/{model}/model.keras", model=MODELS)
    targets += expand("results/eval/{model}/metrics.tsv", model=MODELS)
    targets += expand("results/motifs/{model}/tomtom.tsv", model=MODELS)
    if len(MODELS) > 1:
        targets += ["results/eval/comparison/wins.tsv"]
    return targets
