# Config and track-sheet validation, wildcard constraints, and the target lists.
import json
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
    """The track's peak file: its path, or for a URL the cached download (see fetch_track)."""
    path = tracks.loc[wildcards.track, "path"]
    if "://" in path:
        return f"resources/tracks/{wildcards.track}.peaks"
    return path


def track_url(wildcards):
    """The track's URL as Snakemake HTTP storage: Snakemake downloads it for fetch_track.

    Before the first download the URL is asked here, so that a wrong one stops with one line
    naming it and the fix, rather than with Snakemake's listing of missing input files.
    """
    url = tracks.loc[wildcards.track, "path"]
    remote = storage.http(url)
    if not Path(track_peaks(wildcards)).exists():
        try:
            found = remote.flags["storage_object"].exists()
        except Exception as error:
            raise ValueError(
                f"{TRACKS_SHEET}: track {wildcards.track}: {url}: cannot ask the server "
                f"({error}) (fix: check the URL and the network)"
            ) from None
        if not found:
            raise ValueError(
                f"{TRACKS_SHEET}: track {wildcards.track}: {url}: not found on the server "
                "(fix: correct the URL in the path column of the track sheet)"
            )
    return remote


def track_md5(wildcards):
    """The track sheet's md5 of the track's peak file, or "" when it gives none."""
    return tracks.loc[wildcards.track].get("md5", "")


def check_track_files():
    """Fail at parse time on peak files that neither exist nor come from a rule.

    Without this, a new track with a wrong path is silently skipped once labels.h5 exists
    (Snakemake then treats the present file as a source). URLs must be http(s); whether
    they answer is checked by Snakemake's HTTP storage plugin when the DAG is built.
    """
    from seq2chrom.data.fetch import is_http_url

    unsupported = [
        path for path in tracks["path"] if "://" in path and not is_http_url(path)
    ]
    if unsupported:
        raise ValueError(
            f"{TRACKS_SHEET}: unsupported URL(s) {unsupported} "
            "(fix: give http:// or https:// URLs, or download the files and give their paths)"
        )
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
    if FINETUNE_MODEL:
        targets += expand(
            "results/finetune/{model}/{item}",
            model=FINETUNE_MODEL,
            item=[
                "comparison.tsv",
                "comparison.html",
                "per_track.html",
                "comparison.png",
            ],
        )
    targets += ["results/report/config.html"]
    if DATA_SOURCE != "deepsea_bundle":
        targets += ["results/report/tracks.html"]
    return targets


# Fine-tuning (train.init_from) and the fine-tuning comparison (finetune_comparison).
FINETUNE = config.get("finetune_comparison") or {}
FINETUNE_MODEL = FINETUNE.get("model", "")


def init_from_dir(model):
    """Folder of the trained model that `model` is fine-tuned from (train.init_from with
    {model} replaced by the model name), or "" when it trains from scratch."""
    return config["train"].get("init_from", "").replace("{model}", model).rstrip("/")


def check_finetune_config():
    """Fail at parse time on fine-tuning settings that cannot work, naming the key and fix."""
    for model in MODELS:
        folder = init_from_dir(model)
        if (
            folder
            and Path(folder).resolve() == (Path("results/models") / model).resolve()
        ):
            raise ValueError(
                f"train.init_from {config['train']['init_from']!r}: model {model} would start "
                "from itself (fix: copy the trained model to another folder, e.g. "
                f"resources/models/{model}, and point train.init_from there)"
            )
    if config["train"].get("freeze_epochs", 0) and not config["train"].get("init_from"):
        raise ValueError(
            "train.freeze_epochs is set but train.init_from is empty "
            "(fix: set train.init_from, or set train.freeze_epochs to 0)"
        )
    if not FINETUNE_MODEL:
        return
    if FINETUNE_MODEL not in MODELS:
        raise ValueError(
            f"finetune_comparison.model {FINETUNE_MODEL!r} is not in models {MODELS} "
            "(fix: name a model that the workflow trains)"
        )
    holdout = FINETUNE.get("holdout", [])
    unknown = [track for track in holdout if track not in TRACKS]
    if unknown or not holdout:
        raise ValueError(
            f"finetune_comparison.holdout {holdout}: {unknown or 'none'} not tracks of "
            f"{TRACKS_SHEET} (fix: name tracks of the sheet, or delete the finetune_comparison "
            "section to turn the comparison off)"
        )
    if len(set(holdout)) == len(TRACKS):
        raise ValueError(
            "finetune_comparison.holdout holds out every track "
            "(fix: keep at least one track for the base model)"
        )


check_finetune_config()


def train_mem_mb(wildcards):
    """Memory of a training job: small presets fit in 4 GB, full ones need the data's buffers."""
    return 4000 if config["models"][wildcards.model].get("preset") == "small" else 32000


def train_runtime(wildcards, attempt):
    """Minutes per attempt: a job killed at its time limit is retried with more time."""
    small = config["models"][wildcards.model].get("preset") == "small"
    return attempt * (60 if small else 2880)


def init_from_inputs(wildcards):
    """The model a fine-tune starts from (model.keras, config.yaml), or none."""
    folder = init_from_dir(wildcards.model)
    return [f"{folder}/model.keras", f"{folder}/config.yaml"] if folder else []


def train_settings(**changes):
    """The train section as JSON for `seq2chrom train`, updated by `changes` (init_from and
    freeze_epochs are passed as options)."""
    settings = {
        k: v
        for k, v in config["train"].items()
        if k not in ("init_from", "freeze_epochs")
    }
    return json.dumps({**settings, **changes})


def finetune_settings():
    """Train settings of the comparison's fine-tune: its epochs and learning rate (null keeps
    train.learning_rate)."""
    rate = FINETUNE.get("learning_rate")
    return train_settings(
        epochs=FINETUNE.get("epochs", 10),
        learning_rate=config["train"]["learning_rate"] if rate is None else rate,
    )


def base_model_config():
    """config.yaml of the trained model that new tracks are counted against, or [] if none.

    Its `tracks` list tells the Tracks report section which tracks are new since that model:
    the train.init_from model of the first model when fine-tuning, else the base model of the
    fine-tuning comparison (trained without the held-out tracks) when that is on.
    """
    if init_from_dir(MODELS[0]):
        return f"{init_from_dir(MODELS[0])}/config.yaml"
    if FINETUNE_MODEL:
        return f"results/finetune/{FINETUNE_MODEL}/base/config.yaml"
    return []
