# Settings, checks, input functions and targets of the steps that use the trained models
# (workflow/rules/variants.smk), kept apart from the rules as Snakemake's lint asks.
from seq2chrom.variants.tables import select_tracks

VARIANTS = config.get("variants") or {}
VCFS = VARIANTS.get("vcfs") or {}
VARIANT_MODELS = (VARIANTS.get("models") or MODELS) if VCFS else []
# the background VCF of e-values, scored once per model under this name like any other VCF
BACKGROUND = VARIANTS.get("background") or ""
BACKGROUND_NAME = "background"
SCORED_VCFS = {**VCFS, **({BACKGROUND_NAME: BACKGROUND} if BACKGROUND and VCFS else {})}
SHARD_SIZE = VARIANTS.get("shard_size", 0)
PREDICTION_TRACKS = config.get("prediction_tracks") or {}
MUTAGENESIS = config.get("mutagenesis") or {}
MUTAGENESIS_MODELS = (
    (MUTAGENESIS.get("models") or MODELS)
    if MUTAGENESIS.get("tracks") or MUTAGENESIS.get("top_variants")
    else []
)
# the data build's indexed plain copy; bundle mode reads config["genome"] as given
GENOME_FASTA = (
    "results/genome/genome.fa"
    if DATA_SOURCE != "deepsea_bundle"
    else config.get("genome", "")
)
# its index, read with it (bundle mode: pyfaidx indexes the given genome in the job)
GENOME_INDEX = f"{GENOME_FASTA}.fai" if DATA_SOURCE != "deepsea_bundle" else []


wildcard_constraints:
    vcf="|".join(map(re.escape, SCORED_VCFS)) or "none",
    shard=r"\d+",


def check_use_config():
    """Fail at parse time on model or track names the use steps cannot find (InputError
    naming the key)."""
    for key, names in (
        ("variants.models", VARIANTS.get("models") or []),
        ("mutagenesis.models", MUTAGENESIS.get("models") or []),
    ):
        unknown = [name for name in names if name not in MODELS]
        if unknown:
            raise InputError(
                CONFIG_FILE,
                f"key {key}: {unknown} not in models {MODELS}",
                fix="name trained models",
            )
    for key, names in (
        ("prediction_tracks.tracks", PREDICTION_TRACKS.get("tracks") or []),
        ("mutagenesis.tracks", MUTAGENESIS.get("tracks") or []),
    ):
        unknown = [name for name in names if name not in TRACKS]
        if unknown:
            raise InputError(
                CONFIG_FILE,
                f"key {key}: {unknown} are not tracks of {TRACKS_SHEET}",
                fix="use track names",
            )
    if BACKGROUND and BACKGROUND_NAME in VCFS:
        raise InputError(
            CONFIG_FILE,
            f"key variants.vcfs: the name {BACKGROUND_NAME!r} is the background's",
            fix="rename that VCF",
        )
    spec = VARIANTS.get("tracks", "auto")
    if spec != "auto":
        assays = tracks["assay"].tolist() if "assay" in tracks else None
        try:
            select_tracks(spec, TRACKS, assays)
        except ValueError as error:
            raise InputError(
                CONFIG_FILE,
                f"key variants.tracks: {error}",
                fix=f"name tracks of {TRACKS_SHEET}, assay classes or patterns",
            )
    if MUTAGENESIS.get("top_variants") and not VARIANT_MODELS:
        raise InputError(
            CONFIG_FILE,
            "key mutagenesis.top_variants: needs scored variants",
            fix="fill in variants.vcfs, or set mutagenesis.top_variants to 0",
        )


try:
    check_use_config()
except InputError as error:
    stop(error)


def vcf_input(wildcards):
    """The VCF of `{vcf}`: its path, or for an http(s) URL Snakemake's downloaded copy."""
    path = SCORED_VCFS[wildcards.vcf]
    return storage.http(path) if "://" in path else path


def background_input(wildcards):
    """The background's scores for the e-values of `{vcf}` (none for the background itself)."""
    if not BACKGROUND or wildcards.vcf == BACKGROUND_NAME:
        return []
    return f"results/variants/{wildcards.model}/{BACKGROUND_NAME}.h5"


def variant_shard_scores(wildcards):
    """The scores of every shard of `{vcf}` (known once `variant_shards` has cut it)."""
    folder = checkpoints.variant_shards.get(vcf=wildcards.vcf).output[0]
    shards = sorted(glob_wildcards(f"{folder}/{{shard}}.vcf.gz").shard)
    return expand(
        "results/variants/{model}/{vcf}.shards/{shard}.h5",
        model=wildcards.model,
        vcf=wildcards.vcf,
        shard=shards,
    )


def variant_table_params():
    """The settings of the tables written from the scores (score-variants, gather-variants)."""
    spec = VARIANTS.get("tracks", "auto")
    return {
        "tsv_tracks": [spec] if spec == "auto" else list(spec),
        "min_abs_diff": VARIANTS.get("min_abs_diff", 0),
        "top": VARIANTS.get("top", 10000),
    }


def use_outputs():
    """Targets of the use steps that the config turns on."""
    targets = expand(
        "results/variants/{model}/{vcf}.{item}",
        model=VARIANT_MODELS,
        vcf=list(VCFS),
        item=["h5", "tsv.gz", "vcf.gz", "top.html", "png"],
    )
    if PREDICTION_TRACKS.get("regions"):
        targets += expand(
            "results/tracks/{model}/{track}.bw",
            model=MODELS,
            track=PREDICTION_TRACKS.get("tracks") or TRACKS,
        )
    targets += expand("results/mutagenesis/{model}/windows", model=MUTAGENESIS_MODELS)
    return targets
