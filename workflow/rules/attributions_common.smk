# Settings, checks and targets of the attributions stage (workflow/rules/attributions.smk),
# kept apart from the rules as Snakemake's lint asks.

ATTRIBUTIONS = config.get("attributions") or {}
ATTRIBUTION_TRACKS = ATTRIBUTIONS.get("tracks") or []
ATTRIBUTION_MODELS = (
    (ATTRIBUTIONS.get("models") or MODELS) if ATTRIBUTION_TRACKS else []
)
MODISCO = ATTRIBUTIONS.get("modisco") or {}


def check_attribution_config():
    """Fail at parse time on model or track names the attributions cannot find."""
    unknown = [name for name in ATTRIBUTIONS.get("models") or [] if name not in MODELS]
    if unknown:
        raise InputError(
            CONFIG_FILE,
            f"key attributions.models: {unknown} not in models {MODELS}",
            fix="name trained models",
        )
    unknown = [name for name in ATTRIBUTION_TRACKS if name not in TRACKS]
    if unknown:
        raise InputError(
            CONFIG_FILE,
            f"key attributions.tracks: {unknown} are not tracks of {TRACKS_SHEET}",
            fix="use track names",
        )


try:
    check_attribution_config()
except InputError as error:
    stop(error)


def attribution_outputs():
    """Targets of the attributions stage: every listed track's attributions and TF-MoDISco
    results of every listed model, through the report pages that gather them, and with
    prediction_tracks.regions, each track's contribution bigWig along them."""
    targets = expand(
        "results/modisco/{model}/{item}",
        model=ATTRIBUTION_MODELS,
        item=["patterns.html", "table.html"],
    )
    if PREDICTION_TRACKS.get("regions"):  # variants_common.smk
        targets += expand(
            "results/attributions/{model}/{track}.bw",
            model=ATTRIBUTION_MODELS,
            track=ATTRIBUTION_TRACKS,
        )
    return targets
