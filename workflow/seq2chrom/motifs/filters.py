"""The filter-pwms step: a trained model's first-layer (conv1) filters -> PWMs, sites, influence.

`write_filter_pwms` reads the model and a seeded sample of the test split's sequences positive
for any track (Basset read its test set, every sequence of which is a peak), runs
`pwms.filter_pwms` and `influence.filter_influence`, and writes filters.meme (the PWMs of
filters with enough sites), filters.tsv (`summary.filters_table`) and influence.tsv (filter x
track: Basset's standardised change of the track's logit).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.io import SIGNIFICANT_FLOATS, atomic_output, write_tsv
from seq2chrom.modelfile.loading import open_trained
from seq2chrom.motifs.influence import filter_influence
from seq2chrom.motifs.meme import Motif, write_meme
from seq2chrom.motifs.pwms import codes_to_one_hot, filter_pwms
from seq2chrom.motifs.summary import filters_table
from seq2chrom.splitfile import sample_positives

log = logging.getLogger("seq2chrom.motifs")


class FilterOutputs(NamedTuple):
    """The three files of the step."""

    meme: Path  # filters.meme
    filters: Path  # filters.tsv
    influence: Path  # influence.tsv


class FilterSettings(NamedTuple):
    """The step's settings (config `motifs`, and `seed`)."""

    max_sequences: int  # positive test sequences scanned
    activation_threshold: float  # Basset's maxpct_t (pwms.filter_pwms)
    min_sites: int  # fewer sites: no PWM
    pwm_rule: str  # pwms.PWM_RULES: basset or both_strands
    influence_sequences: int  # sequences used for the influence; 0: skip it (NaN)
    seed: int  # of the sequence sample


def conv1_weights(model, model_path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The kernel (width, 4, F) and bias (F,) or None of a model's ``conv1`` layer.

    Raises InputError naming `model_path` when the model has no such layer or its kernel does
    not read one-hot (width, 4) input.
    """
    try:
        conv = model.get_layer("conv1")
    except ValueError:
        raise InputError(model_path, "model has no layer named 'conv1'") from None
    weights = conv.get_weights()
    kernel = np.asarray(weights[0])
    bias = np.asarray(weights[1]) if len(weights) > 1 else None
    if kernel.ndim != 3 or kernel.shape[1] != 4:
        raise InputError(model_path, f"conv1 kernel shape {kernel.shape}, expected (w, 4, F)")
    return kernel, bias


def write_filter_pwms(
    model_path: Path, data_path: Path, out: FilterOutputs, settings: FilterSettings
) -> pd.DataFrame:
    """`seq2chrom filter-pwms`: write `out` for the model at `model_path` on the split file
    `data_path` (its tracks must be the model's); returns the filters table."""
    trained = open_trained(model_path, device=None)  # devices as the process has them
    kernel, bias = conv1_weights(trained.model, model_path)
    codes, labels, tracks = sample_positives(data_path, settings.max_sequences, settings.seed)
    trained.check_tracks(data_path, tracks)
    started = time.perf_counter()
    result = filter_pwms(
        codes,
        kernel,
        bias,
        rule=settings.pwm_rule,
        threshold=settings.activation_threshold,
        min_sites=settings.min_sites,
    )
    n_filters = kernel.shape[2]
    log.info(
        "scanned %d sequences x %d filters (%s rule) in %.1f s; %d filters with >= %d sites",
        len(codes),
        n_filters,
        settings.pwm_rule,
        time.perf_counter() - started,
        result.passed.sum(),
        settings.min_sites,
    )
    influence = None
    n = min(settings.influence_sequences, len(codes))
    if n == 1:
        log.warning("influence not measured: it needs 2 sequences, the sample has 1")
    elif n > 1:
        started = time.perf_counter()
        # a seeded subset across the sample (the sample is in file order: its first n would
        # come from one chromosome)
        rows = np.sort(np.random.default_rng(settings.seed).choice(len(codes), n, replace=False))
        influence = filter_influence(trained.model, codes_to_one_hot(codes[rows]), labels[rows])
        log.info(
            "influence of %d filters on %d sequences in %.1f s",
            n_filters,
            n,
            time.perf_counter() - started,
        )
    filters = filters_table(result, influence, tracks)
    for reason in ("too_few_sites", "inactive"):
        skipped = filters.loc[filters["status"] == reason, "filter"].tolist()
        if skipped:
            log.info("%d filters not written (%s): %s", len(skipped), reason, " ".join(skipped))
    names = filters["filter"].tolist()
    motifs = [
        Motif(names[i], result.pwm[i], nsites=int(result.n_sites[i]))
        for i in np.flatnonzero(result.passed)
    ]
    with atomic_output(out.meme) as tmp:
        write_meme(tmp, motifs)
    write_tsv(filters, out.filters, floats=SIGNIFICANT_FLOATS, na="")
    per_track = np.full((n_filters, len(tracks)), np.nan) if influence is None else influence.tracks
    influence_table = pd.DataFrame(per_track, index=pd.Index(names, name="filter"), columns=tracks)
    write_tsv(influence_table, out.influence, floats=SIGNIFICANT_FLOATS, na="", index=True)
    return filters
