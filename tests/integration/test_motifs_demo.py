"""The demo check of the motif step: trained small DanQ filters recover the planted factors.

Needs the whole demo workflow (the session fixture `finished_demo`, tests/integration/conftest.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from seq2chrom.motifs.meme import read_meme

pytestmark = pytest.mark.slow

MODEL = "danq"


def base_id(matrix_id: str) -> str:
    return matrix_id.split(".")[0]


@pytest.fixture(scope="module")
def motif_results(finished_demo):
    root = finished_demo / "results" / "motifs" / MODEL
    truth = pd.read_csv(
        finished_demo / "resources" / "demo" / "truth.tsv",
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    planted = {
        base_id(m.strip()) for ids in truth["motif_ids"] for m in ids.split(",") if m.strip()
    }
    tomtom = pd.read_csv(root / "tomtom.tsv", sep="\t")
    filters = pd.read_csv(root / "filters.tsv", sep="\t")
    return planted, tomtom, filters, root


def test_outputs_exist(motif_results):
    planted, tomtom, filters, root = motif_results
    assert planted, "truth.tsv names no planted motif"
    assert list(tomtom.columns) == [
        "Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value", "q-value", "Overlap",
        "Query_consensus", "Target_consensus", "Orientation", "Target_name",
    ]  # fmt: skip
    assert (tomtom["E-value"] <= 0.01).all()
    written = filters[filters["status"] == "written"]
    assert [m.id for m in read_meme(root / "filters.meme")] == written["filter"].tolist()
    logos = {p.stem for p in (root / "logos").glob("*.png")}
    assert logos == set(tomtom["Query_ID"]) & set(written["filter"])
    html = (root / "summary.html").read_text()
    assert html.count("data:image/png;base64,") == len(logos)


def test_filters_recover_most_planted_factors(motif_results):
    planted, tomtom, _, _ = motif_results
    matched = {base_id(t) for t in tomtom["Target_ID"]} & planted
    recovered = len(matched) / len(planted)
    assert recovered >= 0.7, f"recovered {sorted(matched)} of {sorted(planted)}"


def test_few_filters_match_only_unplanted_motifs(motif_results):
    planted, tomtom, filters, _ = motif_results
    tomtom = tomtom.assign(planted=tomtom["Target_ID"].map(base_id).isin(planted))
    hits_planted = tomtom.groupby("Query_ID")["planted"].any()
    spurious = hits_planted[~hits_planted].index
    n_written = int((filters["status"] == "written").sum())
    assert n_written > 0
    assert len(spurious) < 0.05 * n_written, f"{len(spurious)} filters match only unplanted motifs"
