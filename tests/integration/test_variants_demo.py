"""The demo check of the steps that use the trained models: variant effects separate the
motif-destroying demo variants from the controls (their e-values against the demo background
are the direct count, their annotated VCF reads back through its tabix index), the bigWigs hold
the models' predictions, mutagenesis finds the planted motifs, and the Summary has every
model's numbers.

Needs the whole demo workflow (the session fixture `finished_demo`, tests/integration/conftest.py).
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import yaml
from seq2chrom.demo.tracks import DEMO_TRACKS
from seq2chrom.modelfile.loading import load_model
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.slow

EFFECT_COLUMNS = [
    "variant_id", "chrom", "pos", "ref", "alt", "track", "ref_prob", "alt_prob", "diff", "logfc",
]  # fmt: skip


def demo_config(workdir):
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())


def demo_vcf(workdir) -> pd.DataFrame:
    """The demo VCF: id, kind (motif or control), factor."""
    lines = gzip.decompress((workdir / "resources/demo/variants.vcf.gz").read_bytes()).decode()
    rows = [line.split("\t") for line in lines.splitlines() if not line.startswith("#")]
    info = [dict(item.split("=") for item in row[7].split(";")) for row in rows]
    return pd.DataFrame(
        {"id": [r[2] for r in rows], "kind": [i["KIND"] for i in info],
         "factor": [i["FACTOR"] for i in info]}
    )  # fmt: skip


def variant_models(workdir) -> list[str]:
    config = demo_config(workdir)
    return config["variants"].get("models") or list(config["models"])


def separation(workdir, model: str) -> dict[str, float]:
    """AUROC of |diff| on each single-factor TF track: that factor's variants vs controls."""
    effects = pd.read_csv(workdir / f"results/variants/{model}/demo.tsv.gz", sep="\t")
    assert list(effects.columns) == [*EFFECT_COLUMNS, "evalue"]  # the demo has a background
    kinds = demo_vcf(workdir).set_index("id")
    aurocs = {}
    for track in DEMO_TRACKS:
        if track.assay != "TF" or len(track.factors) != 1:
            continue
        rows = effects[effects["track"] == track.name].set_index("variant_id")
        kind = kinds.loc[rows.index]
        chosen = (kind["factor"] == track.factors[0]) | (kind["kind"] == "control")
        label = (kind["factor"] == track.factors[0])[chosen].to_numpy()
        if label.sum() >= 3:
            aurocs[track.name] = roc_auc_score(label, rows["diff"].abs()[chosen])
    return aurocs


@pytest.mark.parametrize("model", ["deepsea", "danq"])
def test_variant_effects_separate_motif_variants_from_controls(finished_demo, model):
    if model not in variant_models(finished_demo):
        pytest.skip(f"{model} scores no variants in this config")
    aurocs = separation(finished_demo, model)
    assert len(aurocs) >= 10, aurocs
    median = float(np.median(list(aurocs.values())))
    assert median >= 0.9, f"{model}: median AUROC {median:.3f} over {aurocs}"
    skipped = pd.read_csv(finished_demo / f"results/variants/{model}/demo.skipped.tsv", sep="\t")
    assert list(skipped.columns) == ["variant_id", "chrom", "pos", "ref", "alt", "line", "reason"]
    top = pd.read_csv(finished_demo / f"results/variants/{model}/demo.top.tsv", sep="\t")
    assert top["max_abs_diff"].is_monotonic_decreasing
    assert top["variant_id"].head(10).str.startswith("demo_motif").mean() >= 0.8


@pytest.mark.parametrize("model", ["deepsea", "danq"])
def test_evalues_and_the_annotated_vcf(finished_demo, model):
    import h5py
    import pysam

    if model not in variant_models(finished_demo):
        pytest.skip(f"{model} scores no variants in this config")
    folder = finished_demo / f"results/variants/{model}"
    with h5py.File(folder / "background.h5") as h5:
        null = np.abs(h5["alt_prob"][:] - h5["ref_prob"][:])
    with h5py.File(folder / "demo.h5") as h5:
        effect = np.abs(h5["alt_prob"][:] - h5["ref_prob"][:])
        evalue = h5["evalue"][:]
        ids = h5["variants/variant_id"].asstr()[:].tolist()
        min_evalue = h5["variants/min_evalue"][:]
    assert len(null) == 300 and effect.shape[1] == null.shape[1]
    np.testing.assert_allclose(evalue, (null[None] > effect[:, None]).mean(axis=1), rtol=1e-6)
    kinds = demo_vcf(finished_demo).set_index("id").loc[ids, "kind"].to_numpy()
    # motif-destroying variants are rarer than random SNVs on some track; controls are not
    assert np.median(min_evalue[kinds == "motif"]) < np.median(min_evalue[kinds == "control"])
    vcf = pysam.VariantFile(str(folder / "demo.vcf.gz"))
    records = {r.id: r for r in vcf.fetch("chr8")}  # through the tabix index
    assert len(records) == sum(1 for i in ids if i in records) > 0
    row = ids.index(next(iter(records)))
    record = records[ids[row]]
    assert (
        record.info["S2C_TRACK"][0]
        == pd.read_csv(folder / "demo.top.tsv", sep="\t")
        .set_index("variant_id")
        .loc[ids[row], "top_track"]
    )
    np.testing.assert_allclose(record.info["S2C_EVALUE"][0], min_evalue[row], rtol=1e-5)


def test_bigwigs_hold_the_models_predictions(finished_demo):
    from seq2chrom.data.genome import open_genome, read_chromosome
    from seq2chrom.inference.predict import predict_both_strands
    from seq2chrom.inference.tracks import centred_windows

    config = demo_config(finished_demo)
    tracks = config["prediction_tracks"]["tracks"]
    regions = pd.read_csv(finished_demo / config["prediction_tracks"]["regions"], sep="\t",
                          header=None)  # fmt: skip
    model_name = list(config["models"])[0]
    model = load_model(finished_demo / f"results/models/{model_name}/model.keras")
    all_tracks = yaml.safe_load(
        (finished_demo / f"results/models/{model_name}/config.yaml").read_text()
    )["tracks"]
    chrom, start, end = regions.iloc[0, :3]
    sequence = read_chromosome(open_genome(finished_demo / "results/genome/genome.fa"), chrom)
    bins = np.arange(start, end, 200)[:: max(1, (end - start) // 200 // 8)]
    direct = predict_both_strands(model, centred_windows(sequence, bins, 200, 1000).astype("f4"))
    for track in tracks:
        handle = pyBigWig.open(str(finished_demo / f"results/tracks/{model_name}/{track}.bw"))
        values = [handle.values(chrom, int(b), int(b) + 200) for b in bins]
        handle.close()
        assert all(len(set(v)) == 1 for v in values)  # one value per 200 bp bin
        got = np.array([v[0] for v in values])
        np.testing.assert_allclose(got, direct[:, all_tracks.index(track)], atol=1e-5)


# Factors the demo plants inside CpG-island promoters (demo/sites.py): a model reads the whole
# island there, so single-base importance spreads over the window instead of peaking on the motif.
CPG_ISLAND_FACTORS = {"NRF1"}


def test_mutagenesis_importance_peaks_on_planted_motifs(finished_demo):
    """On the best test window of each mutated track whose factor is not planted in CpG islands,
    bases of planted motifs of the track's factor matter at least twice as much as the rest of
    the window on average, and in all but at most one of those windows the 50 bp stretch with the
    most importance (the one plotted) holds such a motif."""
    import h5py
    from seq2chrom.demo.build import build_demo
    from seq2chrom.demo.motifs import load_factor_motifs
    from seq2chrom.inference.mutagenesis import strongest_span

    config = demo_config(finished_demo)
    model = (config["mutagenesis"].get("models") or list(config["models"]))[0]
    folder = finished_demo / f"results/mutagenesis/{model}/windows"
    table = pd.read_csv(folder / "regions.tsv", sep="\t")
    assert all((folder / plot).is_file() for plot in table["plot"])
    with h5py.File(folder / "mutagenesis.h5") as h5:
        importance = h5["importance"][:]
    demo = build_demo(config["seed"])
    widths = {factor: len(motif.pfm) for factor, motif in load_factor_motifs().items()}
    offsets = dict(zip(demo.genome, np.cumsum([0, *map(len, demo.genome.values())]), strict=False))
    factors = {track.name: track.factors for track in DEMO_TRACKS}
    best = table[table["name"].str.startswith("best_")]
    assert len(best) == len(config["mutagenesis"]["tracks"])
    checked, stretch_misses = 0, []
    for row in best.itertuples():
        if set(factors[row.track]) & CPG_ISLAND_FACTORS:
            continue
        window = importance[row.Index]
        start = offsets[row.chrom] + row.window_start
        keep = np.isin(demo.sites.motif_factor, factors[row.track])
        centre = demo.sites.motif_centre[keep] - start
        width = np.array([widths[f] for f in demo.sites.motif_factor[keep]])
        inside = np.zeros(len(window), bool)
        for c, w in zip(centre, width, strict=True):
            if 0 <= c < len(window):
                inside[max(c - w // 2, 0) : c + w // 2 + 1] = True
        assert inside.any(), f"{row.track}: no planted motif in its best test window"
        ratio = window[inside].mean() / window[~inside].mean()
        assert ratio >= 2, f"{row.track}: motif bases only {ratio:.2f}x as important"
        lo, hi = strongest_span(window, 50)
        if not inside[lo:hi].any():
            stretch_misses.append(f"{row.track} ({lo}-{hi})")
        checked += 1
    assert checked >= 10, f"only {checked} motif-driven windows outside CpG islands"
    assert len(stretch_misses) <= 1, f"strongest stretches without a motif: {stretch_misses}"


def test_summary_has_every_model(finished_demo):
    table = pd.read_csv(finished_demo / "results/report/summary.tsv", sep="\t")
    config = demo_config(finished_demo)
    assert set(table["model"]) == set(config["models"])
    for model in config["models"]:
        part = table[table["model"] == model]
        assert {"median test AUROC", "median test AUPRC", "filters"} <= set(part["section"])
        assert part["link"].str.startswith("results/").all()
    rst = (finished_demo / "results/report/summary.rst").read_text()
    assert rst.count("javascript:app.showResultInfo") == len(table)
