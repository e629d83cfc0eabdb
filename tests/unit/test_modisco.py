"""TF-MoDISco step: trimming, naming by Tomtom q-value, MEME output, the report's tables; and
modisco-lite itself recovering a motif planted in synthetic attributions (slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seq2chrom.attribution.methods import centred
from seq2chrom.attribution.modisco import (
    NOVEL,
    ModiscoSettings,
    Pattern,
    central,
    pattern_motifs,
    pattern_table,
    trim_span,
    write_modisco,
)
from seq2chrom.attribution.report import pattern_track_table, write_modisco_report
from seq2chrom.attribution.scores import Windows, write_attribution_file
from seq2chrom.motifs.jaspar import load_jaspar
from seq2chrom.motifs.meme import format_meme, read_meme
from seq2chrom.motifs.tomtom import COLUMNS, match_table
from seq2chrom.report.summary import ModelResults, modisco_factors, summary_rows


@pytest.fixture(scope="module")
def jaspar():
    return load_jaspar("JASPAR2024", "CORE", "vertebrates")


def jaspar_motif(jaspar, matrix_id):
    return next(m for m in jaspar if m.id == matrix_id)


def planted_pattern(name: str, ppm: np.ndarray, flank: int = 6, n: int = 50) -> Pattern:
    """A pattern as TF-MoDISco would give for `ppm` between uniform flanks: contributions on
    the motif only."""
    uniform = np.full((flank, 4), 0.25)
    full = np.concatenate([uniform, ppm, uniform])
    cwm = np.concatenate([np.zeros((flank, 4)), ppm - 0.25, np.zeros((flank, 4))])
    return Pattern(name, n, full, cwm, cwm)


def test_trim_span_keeps_positions_above_the_fraction_of_the_maximum():
    cwm = np.zeros((10, 4))
    cwm[2, 0], cwm[4, 1], cwm[7, 3] = 0.1, -1.0, 0.35  # |sums| 0.1, 1, 0.35
    assert trim_span(cwm, 0.3) == (4, 8)
    assert trim_span(cwm, 0.36) == (4, 5)
    assert trim_span(cwm, 0.05) == (2, 8)
    cwm[0, 2] = 0.5  # a high edge 4 positions from the motif is not joined to it
    assert trim_span(cwm, 0.3) == (4, 8)
    assert central(1000, 400) == slice(300, 700) and central(200, 400) == slice(0, 200)


def test_patterns_are_named_only_by_significant_matches(jaspar):
    ctcf = jaspar_motif(jaspar, "MA0139.2").matrix
    noise = np.random.default_rng(0).dirichlet(np.full(4, 50.0), 12)  # near uniform: no match
    patterns = [
        planted_pattern("pos_pattern_0", ctcf),
        Pattern("neg_pattern_0", 30, noise, -np.ones((12, 4)), -np.ones((12, 4))),
    ]
    ppms, cwms = pattern_motifs(patterns, 0.3)
    assert [len(m.matrix) for m in ppms] == [len(ctcf), 12]  # flanks trimmed away
    np.testing.assert_allclose(ppms[0].matrix, ctcf / ctcf.sum(1, keepdims=True))
    tomtom = match_table(ppms, jaspar, evalue=10)
    assert list(tomtom.columns) == [*COLUMNS, "Target_name"]
    table = pattern_table(patterns, ppms, tomtom, qvalue=0.05)
    assert table["pattern"].tolist() == ["pos_pattern_0", "neg_pattern_0"]
    assert table["sign"].tolist() == ["+", "-"]
    first, second = table.to_dict("records")
    assert first["name"] == "CTCF" and first["match_id"] == "MA0139.2" and first["qvalue"] < 0.05
    assert first["match_id1"] == "MA0139.2" and first["qvalue2"] >= first["qvalue1"]
    assert second["name"] == NOVEL and second["match_id"] == ""
    # a stricter threshold than the best q-value leaves it novel
    strict = pattern_table(patterns, ppms, tomtom, qvalue=first["qvalue"] / 2)
    assert strict["name"].tolist() == [NOVEL, NOVEL]
    # patterns.meme: PPMs, then the CWMs as a softmax over each position
    text = format_meme([*ppms, *cwms])
    assert "MOTIF pos_pattern_0_cwm" in text and text.index("neg_pattern_0\n") < text.index("_cwm")


def test_pattern_track_table_counts_seqlets_per_motif_and_track():
    def table(rows):
        return pd.DataFrame(rows, columns=["pattern", "sign", "n_seqlets", "name", "match_id"])

    tables = {
        "CTCF_K562": table([("pos_pattern_0", "+", 300, "CTCF", "MA0139.2"),
                            ("pos_pattern_1", "+", 40, NOVEL, "")]),
        "CTCF_HepG2": table([("pos_pattern_0", "+", 200, "CTCF", "MA0139.2"),
                             ("pos_pattern_1", "+", 50, "CTCF", "MA0139.2"),
                             ("neg_pattern_0", "-", 30, "REST", "MA0138.3")]),
        "GATA1_K562": table([]),
    }  # fmt: skip
    out = pattern_track_table(tables)
    assert out["motif"].tolist() == ["CTCF", "REST", "novel CTCF_K562/pos_pattern_1"]
    ctcf = out.iloc[0]
    assert (ctcf["CTCF_K562"], ctcf["CTCF_HepG2"], ctcf["GATA1_K562"]) == (300, 250, 0)
    assert ctcf["tracks"] == 2 and ctcf["seqlets"] == 550 and ctcf["match_id"] == "MA0139.2"
    assert out.iloc[1]["sign"] == "-"
    assert modisco_factors(out) == ["CTCF"]  # REST only lowers a track here
    evaluation = pd.DataFrame(
        {"assay": ["all"], "median_auroc": [0.9], "median_auprc": [0.5], "n_tracks": [3]}
    )
    motifs = pd.DataFrame(
        {"filter": ["filter0", "filter1", "filter2"], "best_match": ["CTCF", "Gata1", ""],
         "best_match_id": ["MA0139.2", "MA0035.4", ""], "evalue": [1e-5, 1e-3, np.nan]}
    )  # fmt: skip
    model = ModelResults("danq", "small", evaluation, "e.html", motifs, "m.html")
    model.modisco, model.modisco_link = out, "t.html"
    rows = summary_rows([model])
    found = rows[rows["section"] == "factors found"].set_index("item")["value"]
    assert found.to_dict() == {"TF-MoDISco": "CTCF", "filters": "CTCF, Gata1", "both": "CTCF"}


def planted_attributions(rng, pfm, n=300, length=200):
    """One-hot windows each holding one site sampled from `pfm` (either strand) at a random
    place, with hypothetical scores that reward the site's bases, plus noise."""
    from seq2chrom.demo.motifs import sample_instances

    codes = rng.integers(0, 4, (n, length))
    sites = sample_instances(pfm, n, rng)
    width = len(pfm)
    where = rng.integers(20, length - width - 20, n)
    for i in range(n):
        site = sites[i] if rng.random() < 0.5 else (3 - sites[i])[::-1]
        codes[i, where[i] : where[i] + width] = site
    x = np.eye(4, dtype=np.uint8)[codes]
    hypothetical = rng.normal(0, 0.02, x.shape)
    for i in range(n):
        hypothetical[i, where[i] : where[i] + width] += 0.5 * x[i, where[i] : where[i] + width]
    return x, centred(hypothetical).astype(np.float32)


@pytest.mark.slow  # modisco-lite compiles its numba kernels on a first run (about 12 s of CPU)
def test_modisco_recovers_a_planted_motif(tmp_path, jaspar):
    from seq2chrom.demo.motifs import load_factor_motifs

    rng = np.random.default_rng(0)
    x, hypothetical = planted_attributions(rng, load_factor_motifs()["CTCF"].pfm, n=150)
    n = len(x)
    windows = Windows(np.arange(n), x, np.full(n, "chr1"), np.arange(n) * 1000, np.ones(n, "f4"))
    path = tmp_path / "CTCF_K562.h5"
    write_attribution_file(path, windows, hypothetical, hypothetical * x, {"track": "CTCF_K562"})
    out = tmp_path / "danq" / "CTCF_K562"
    table = write_modisco(path, out, ModiscoSettings(window=200, min_seqlets=50), jaspar)
    assert table.loc[0, "name"] == "CTCF" and table.loc[0, "n_seqlets"] >= 30
    assert table.loc[0, "match_id"].startswith("MA0139")
    assert {m.id for m in read_meme(out / "patterns.meme")} >= {
        "pos_pattern_0",
        "pos_pattern_0_cwm",
    }
    write_modisco_report(
        [out], jaspar, title="danq", out_patterns=tmp_path / "patterns.html",
        out_table=tmp_path / "table.tsv", out_html=tmp_path / "table.html",
    )  # fmt: skip
    page = (tmp_path / "patterns.html").read_text()
    assert page.count("data:image/png;base64,") >= 2 * len(table) + 1  # fwd, rev, a match
    assert "CTCF" in (tmp_path / "table.tsv").read_text()


def test_a_track_without_windows_gets_empty_outputs(tmp_path, jaspar):
    """A track with no positive test window: empty attributions, no pattern, empty tables and
    a page that says so (the workflow goes on)."""
    empty = np.zeros((0, 100, 4), "f4")
    windows = Windows(np.zeros(0, "i8"), empty.astype("u1"), np.array([], str), np.zeros(0, "i8"),
                      np.zeros(0, "f4"))  # fmt: skip
    write_attribution_file(tmp_path / "T.h5", windows, empty, empty, {"track": "T"})
    out = tmp_path / "m" / "T"
    assert write_modisco(tmp_path / "T.h5", out, ModiscoSettings(), jaspar).empty
    assert (out / "tomtom.tsv").read_text().startswith("Query_ID\t")
    pages = [tmp_path / name for name in ("patterns.html", "table.tsv", "table.html")]
    write_modisco_report([out], jaspar, title="m", out_patterns=pages[0], out_table=pages[1],
                         out_html=pages[2])  # fmt: skip
    assert "No pattern" in pages[0].read_text()
    assert pages[1].read_text().splitlines() == ["motif\tsign\tmatch_id\ttracks\tseqlets\tT"]
