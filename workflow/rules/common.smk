# Config and track-sheet validation, wildcard constraints, and the target lists.
import json
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from seq2chrom.config import check_finetune_options, model_builder_settings, model_train
from seq2chrom.data.bins import selected_sequences
from seq2chrom.data.tracksheet import SHEET_COLUMNS, TABLE_COLUMNS, read_table
from seq2chrom.errors import InputError
from seq2chrom.splitfile import SPLITS

CONFIG_FILE = workflow.configfiles[-1] if workflow.configfiles else "config"


def stop(error):
    """End the run before any job with the user's error as one console line (an exception
    raised here would come with Snakemake's file, line and traceback around it)."""
    print(f"seq2chrom: error: {error}", file=sys.stderr)
    sys.exit(1)


def validate_config():
    """Check the config against its schema (filling defaults); InputError naming the key."""
    try:
        validate(config, schema="../schemas/config.schema.yaml")
    except WorkflowError as error:
        cause = error.__context__  # jsonschema's ValidationError, with the key's path
        if not hasattr(cause, "absolute_path"):
            raise
        key = ".".join(map(str, cause.absolute_path)) or "(top level)"
        raise InputError(
            CONFIG_FILE,
            f"key {key}: {cause.message}",
            fix="see config/README.md for the key's values",
        ) from None
    size, window = config["bins"]["size"], config["bins"]["window"]
    if window < size:
        raise InputError(
            CONFIG_FILE,
            f"key bins.window: {window} < bins.size {size}",
            fix="make the window at least the bin size",
        )


def check_split_chromosomes():
    """Split chromosomes must be in the genome's .fai (when it exists) and not in two splits."""
    test, valid = config["split"]["test"], config["split"]["valid"]
    valid_chroms = [region.split(":")[0] for region in valid]
    both = sorted(set(test) & set(valid_chroms))
    if both:
        raise InputError(
            CONFIG_FILE,
            f"key split.valid: {both[0]!r} is also a test chromosome (split.test)",
            fix="take validation chromosomes or regions from training chromosomes",
        )
    pattern = config["bins"].get("chromosomes")
    for key, chroms in (("split.test", test), ("split.valid", valid_chroms)):
        dropped = [
            c
            for c, kept in zip(chroms, selected_sequences(chroms, pattern))
            if not kept
        ]
        if dropped and DATA_SOURCE != "deepsea_bundle":
            raise InputError(
                CONFIG_FILE,
                f"key {key}: chromosome {dropped[0]!r} is not tiled: bins.chromosomes "
                f"{pattern!r} does not match it",
                fix="widen bins.chromosomes (e.g. '.+' for every sequence)",
            )
    # bundle mode may name no genome (the bundle is already split)
    index = Path(f"{config.get('genome', '')}.fai")
    if not config.get("genome") or not index.is_file():
        return
    names = {line.split("\t", 1)[0] for line in index.read_text().splitlines()}
    for key, chroms in (("split.test", test), ("split.valid", valid_chroms)):
        absent = [chrom for chrom in chroms if chrom not in names]
        if absent:
            raise InputError(
                CONFIG_FILE,
                f"key {key}: chromosome {absent[0]!r} is not in the genome ({index})",
                fix="name chromosomes of the genome FASTA",
            )


try:
    validate_config()
except InputError as error:
    stop(error)

DATA_SOURCE = config.get("data", {}).get("source", "genome")
if DATA_SOURCE == "deepsea_bundle":
    # The label columns are the bundle's tracks (checked by `seq2chrom import-bundle`); the
    # track sheet is not read.
    TRACKS_SHEET = config["data"].get("bundle_targets") or str(
        Path(workflow.current_basedir).parent
        / "seq2chrom/resources/deepsea_919_targets.tsv"
    )
    TABLE_KEY, NAME_COLUMN, COLUMNS = "data.bundle_targets", "track", TABLE_COLUMNS
else:
    TRACKS_SHEET = config["tracks"]
    TABLE_KEY, NAME_COLUMN, COLUMNS = "tracks", "name", SHEET_COLUMNS
try:
    # the sheet's rows are checked as tracks.schema.yaml says, naming file, line and column
    tracks = read_table(TRACKS_SHEET, COLUMNS, name_column=NAME_COLUMN, key=TABLE_KEY)
    check_split_chromosomes()
except InputError as error:
    stop(error)
tracks = tracks.rename(columns={NAME_COLUMN: "name"}).set_index("name", drop=False)

TRACKS = tracks["name"].tolist()
MODELS = list(config["models"])


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
            raise InputError(
                TRACKS_SHEET,
                f"track {wildcards.track}: {url}: cannot ask the server ({error})",
                fix="check the URL and the network",
            ) from None
        if not found:
            raise InputError(
                TRACKS_SHEET,
                f"track {wildcards.track}: {url}: not found on the server",
                fix="correct the URL in the path column of the track sheet",
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
        stop(
            InputError(
                TRACKS_SHEET,
                f"unsupported URL(s) {unsupported}",
                fix="give http:// or https:// URLs, or download the files and give their paths",
            )
        )
    missing = [
        (line, name, path)
        for line, (name, path) in enumerate(zip(tracks["name"], tracks["path"]), 2)
        if "://" not in path
        and not Path(path).exists()
        and not any(rule.is_producer(path) for rule in workflow.rules)
    ]
    if missing:
        line, name, path = missing[0]
        others = f" ({len(missing) - 1} more rows too)" if len(missing) > 1 else ""
        stop(
            InputError(
                TRACKS_SHEET,
                f"column path: peak file {path!r} of track {name!r} not found{others}",
                line=line,
                fix="correct the path column of the track sheet",
            )
        )


def config_paths():
    """(key, path) of every input file the config names; URLs are left to Snakemake's storage.
    Bundle mode reads no blacklist, and its genome only in steps that use the models."""
    vcfs = (config.get("variants") or {}).get("vcfs") or {}
    genome_mode = DATA_SOURCE != "deepsea_bundle"
    paths = [
        ("genome", config.get("genome", "") if genome_mode else ""),
        ("bins.blacklist", config["bins"].get("blacklist", "") if genome_mode else ""),
        ("motifs.meme_file", config["motifs"].get("meme_file", "")),
        ("prediction_tracks.regions", config["prediction_tracks"].get("regions", "")),
        *((f"variants.vcfs.{name}", path) for name, path in vcfs.items()),
        ("variants.background", (config.get("variants") or {}).get("background", "")),
        *(
            (train_key(model, "init_from"), f"{init_from_dir(model)}/{name}")
            for model in MODELS
            if init_from_dir(model)
            for name in ("model.keras", "config.yaml")
        ),
    ]
    return [(key, path) for key, path in paths if path and "://" not in path]


def check_input_paths():
    """Stop at parse time when a file the config names neither exists nor comes from a rule.

    Otherwise a finished run whose config names a missing file would report "Nothing to be
    done" (Snakemake takes the present results as up to date) and exit 0. Called once every
    rule is defined, so that outputs of any rule count.
    """
    for key, path in config_paths():
        if (
            path
            and not Path(path).exists()
            and not any(rule.is_producer(path) for rule in workflow.rules)
        ):
            stop(
                InputError(
                    CONFIG_FILE,
                    f"key {key}: file {path!r} not found",
                    fix=f"correct {key} (paths are relative to the run directory)",
                )
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
    targets += use_outputs()  # variants.smk
    targets += attribution_outputs()  # attributions_common.smk
    targets += ["results/report/summary.html"]
    targets += ["results/report/config.html"]
    if DATA_SOURCE != "deepsea_bundle":
        targets += ["results/report/tracks.html"]
    return targets


# Fine-tuning (train.init_from) and the fine-tuning comparison (finetune_comparison).
FINETUNE = config.get("finetune_comparison") or {}
FINETUNE_MODEL = FINETUNE.get("model", "")


def init_from_dir(model):
    """Folder of the trained model that `model` is fine-tuned from (its train.init_from, see
    `train_key`, with {model} replaced by the model name), or "" when it trains from scratch.
    """
    return (
        model_train(config, model)
        .get("init_from", "")
        .replace("{model}", model)
        .rstrip("/")
    )


def train_key(model, key):
    """Config key that sets train `key` for `model`: models.<model>.train.<key> when that
    model overrides it, else train.<key>."""
    if key in config["models"][model].get("train", {}):
        return f"models.{model}.train.{key}"
    return f"train.{key}"


def check_finetune_config():
    """Fail at parse time on fine-tuning settings that cannot work, naming the key and fix."""
    for model in MODELS:
        folder = init_from_dir(model)
        settings = model_train(config, model)
        key = train_key(model, "init_from")
        if (
            folder
            and Path(folder).resolve() == (Path("results/models") / model).resolve()
        ):
            raise InputError(
                CONFIG_FILE,
                f"key {key}: {settings['init_from']!r}: model {model} would start from itself",
                fix="copy the trained model to another folder, e.g. "
                f"resources/models/{model}, and point {key} there",
            )
        check_finetune_options(
            settings.get("init_from", ""),
            settings.get("freeze_epochs", 0),
            where=f"{CONFIG_FILE}: key {train_key(model, 'freeze_epochs')}",
            init_name=key,
            fix=f"set {key}, or set {train_key(model, 'freeze_epochs')} to 0",
        )
    if not FINETUNE_MODEL:
        return
    if FINETUNE_MODEL not in MODELS:
        raise InputError(
            CONFIG_FILE,
            f"key finetune_comparison.model: {FINETUNE_MODEL!r} is not in models {MODELS}",
            fix="name a model that the workflow trains",
        )
    holdout = FINETUNE.get("holdout", [])
    unknown = [track for track in holdout if track not in TRACKS]
    if unknown or not holdout:
        raise InputError(
            CONFIG_FILE,
            f"key finetune_comparison.holdout: {unknown or 'none'} not tracks of "
            f"{TRACKS_SHEET}",
            fix="name tracks of the sheet, or delete the finetune_comparison section to turn "
            "the comparison off",
        )
    if len(set(holdout)) == len(TRACKS):
        raise InputError(
            CONFIG_FILE,
            "key finetune_comparison.holdout: holds out every track",
            fix="keep at least one track for the base model",
        )


try:
    check_finetune_config()
except InputError as error:
    stop(error)


def init_from_inputs(wildcards):
    """The model a fine-tune starts from (model.keras, config.yaml), or none."""
    folder = init_from_dir(wildcards.model)
    return [f"{folder}/model.keras", f"{folder}/config.yaml"] if folder else []


def train_settings(model, **changes):
    """The train settings of `model` (the train section with models.<model>.train over it) as
    JSON for `seq2chrom train`, updated by `changes` (init_from and freeze_epochs are passed
    as options). Without models.<model>.train the same JSON for every model, so that adding
    one model's settings reruns that model's training only."""
    settings = {
        k: v
        for k, v in model_train(config, model).items()
        if k not in ("init_from", "freeze_epochs")
    }
    return json.dumps({**settings, **changes})


def finetune_settings(model):
    """Train settings of the comparison's fine-tune of `model`: its epochs and learning rate
    (null keeps the model's train learning_rate)."""
    rate = FINETUNE.get("learning_rate")
    return train_settings(
        model,
        epochs=FINETUNE.get("epochs", 10),
        learning_rate=(
            model_train(config, model)["learning_rate"] if rate is None else rate
        ),
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


# Resources of the model rules by the model's preset: `small` trains in minutes on a CPU in
# 4 GB; `full` holds the data's shuffle buffers and trains for days. Runtime in minutes per
# attempt: a job killed at its time limit is retried with more time.
PRESET_RESOURCES = {
    "train": {
        "small": {"mem_mb": 4000, "runtime": 60},
        "full": {"mem_mb": 32000, "runtime": 2880},
    },
    "motif_pwms": {
        "small": {"mem_mb": 4000, "runtime": 30},
        "full": {"mem_mb": 16000, "runtime": 240},
    },
}


def preset_resource(step, resource):
    """Input function for `resources:` of `step` (a key of PRESET_RESOURCES): `resource`
    (mem_mb or runtime) for the preset of the job's {model}."""

    def amount(wildcards, attempt):
        preset = config["models"][wildcards.model].get("preset", "full")
        value = PRESET_RESOURCES[step][preset][resource]
        return value * attempt  # a retry after a timeout or out-of-memory asks for more

    return amount
