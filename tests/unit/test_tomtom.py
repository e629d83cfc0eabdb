"""Pearson-score Tomtom against JASPAR2024 CORE vertebrates (read offline from pyjaspar)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.motifs.jaspar import load_jaspar
from seq2chrom.motifs.meme import Motif, write_meme
from seq2chrom.motifs.tomtom import (
    COLUMNS,
    benjamini_hochberg,
    compare_motifs,
    correlation_columns,
    match_table,
)

# Distinctive factors at least 10 columns wide: short JASPAR2024 motifs (GATA1) and some
# longer ones (HNF1A ~ HNF1B, TFAP2A ~ TFAP2C) have near-identical relatives, so a mutated
# copy may best match a sibling. Over 10 seeds these pass 329 of 330 checks.
NAMES = ["CTCF", "REST", "HNF4A", "TP53", "NFKB1", "EGR1", "USF1", "ZNF143", "ESR1", "RFX1",
         "Nrf1"]  # fmt: skip


@pytest.fixture(scope="module")
def jaspar() -> list[Motif]:
    return load_jaspar("JASPAR2024", "CORE", "vertebrates")


@pytest.fixture(scope="module")
def planted(jaspar) -> list[Motif]:
    first = {}
    for motif in jaspar:  # the lowest matrix ID of each name (CTCF: MA0139.2)
        first.setdefault(motif.name, motif)
    return [first[name] for name in NAMES]


def sampled_pwm(rng, pwm: np.ndarray, n_sites: int, pseudocount: float = 0.25) -> np.ndarray:
    """PWM counted from `n_sites` sites drawn from `pwm` (rows of probabilities)."""
    draws = (rng.random((n_sites, len(pwm), 1)) > np.cumsum(pwm, axis=1)[None]).sum(axis=2)
    counts = (np.minimum(draws, 3)[..., None] == np.arange(4)).sum(axis=0)
    return (counts + pseudocount) / (n_sites + 4 * pseudocount)


def in_filter(rng, core: np.ndarray, width: int = 26) -> np.ndarray:
    """`core` inside a filter-sized PWM whose flanks are counted from 30 random sites."""
    if len(core) >= width:
        return core
    pwm = sampled_pwm(rng, np.full((width, 4), 0.25), 30)
    left = rng.integers(0, width - len(core) + 1)
    pwm[left : left + len(core)] = core
    return pwm


def mutated(rng, pwm: np.ndarray, n: int | None = None) -> np.ndarray:
    """`pwm` with `n` (default one per 8) columns replaced by random probabilities."""
    n = max(1, len(pwm) // 8) if n is None else n
    pwm = pwm.copy()
    columns = rng.choice(len(pwm), n, replace=False)
    pwm[columns] = rng.dirichlet(np.ones(4), size=n)
    return pwm


def test_jaspar_collection(jaspar):
    assert len(jaspar) == 879
    ids = {m.id for m in jaspar}
    assert "MA0139.2" in ids and len(ids) == len(jaspar)
    for motif in jaspar[:20]:
        np.testing.assert_allclose(motif.matrix.sum(axis=1), 1.0)


def test_columns_encode_pearson_correlation():
    rng = np.random.default_rng(0)
    x, y = rng.dirichlet(np.ones(4), size=50), rng.dirichlet(np.ones(4), size=50)
    cx, cy = correlation_columns(x), correlation_columns(y)
    r = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(x, y, strict=True)])
    np.testing.assert_allclose(((cx - cy) ** 2).sum(axis=0), 2 - 2 * r, atol=1e-12)
    # adding a pseudocount does not change a column's correlation
    np.testing.assert_allclose(correlation_columns(x + 0.3), cx, atol=1e-12)
    uniform = np.full((3, 4), 0.25)
    assert (correlation_columns(uniform) == 0).all()
    target = correlation_columns(uniform, uniform_value=0.5)
    assert ((target - cx[:, :3]) ** 2).sum(axis=0) == pytest.approx([2, 2, 2])


def test_uniform_and_noise_pwms_match_nothing(jaspar):
    rng = np.random.default_rng(1)
    queries = [Motif("uniform", np.full((26, 4), 0.25))]
    queries += [Motif(f"dirichlet{i}", rng.dirichlet(np.ones(4), size=20)) for i in range(15)]
    uniform_sites = np.full((26, 4), 0.25)
    queries += [Motif(f"sites{i}", sampled_pwm(rng, uniform_sites, 20)) for i in range(15)]
    found = compare_motifs([q.matrix for q in queries], [t.matrix for t in jaspar], threads=2)
    assert (found["pvalue"][0] == 1).all()
    assert found["pvalue"].min() * len(jaspar) > 0.01
    assert match_table(queries, jaspar, evalue=0.01, threads=2).empty
    alone = compare_motifs([np.full((26, 4), 0.25)], [t.matrix for t in jaspar])
    assert (alone["pvalue"] == 1).all()


def test_euclidean_distance_would_match_noise(jaspar):
    """Why the Pearson transform: memelite's plain Euclidean tomtom matches a uniform PWM."""
    from memelite import tomtom

    pvalues = tomtom([np.full((4, 26), 0.25)], [t.matrix.T for t in jaspar], n_jobs=2)[0]
    assert pvalues.min() * len(jaspar) < 1e-3


def test_planted_motifs_find_their_own_entry(jaspar, planted):
    rng = np.random.default_rng(2)
    queries = [Motif(f"mut_{m.id}", in_filter(rng, mutated(rng, m.matrix))) for m in planted]
    queries += [
        Motif(f"sites_{m.id}", in_filter(rng, sampled_pwm(rng, m.matrix, 40))) for m in planted
    ]
    table = match_table(queries, jaspar, evalue=0.01, threads=2)
    assert list(table.columns) == COLUMNS
    assert (table["evalue"] < 0.01).all()
    assert table["pvalue"].is_monotonic_increasing
    best = table.drop_duplicates("filter").set_index("filter")
    own = {q.id: q.id.split("_", 1)[1] for q in queries}
    found = {q: (best.loc[q, "target_id"] if q in best.index else None) for q in own}
    assert found == own
    assert (best["strand"] == "+").all() and (best["overlap"] >= 5).all()


def test_reverse_complement_matches_minus_strand(jaspar, planted):
    rng = np.random.default_rng(3)
    queries = [Motif(f"rc_{m.id}", mutated(rng, m.matrix, 1)[::-1, ::-1]) for m in planted]
    best = match_table(queries, jaspar, threads=2).drop_duplicates("filter").set_index("filter")
    for query in queries:
        assert best.loc[query.id, "target_id"] == query.id[3:]
        assert best.loc[query.id, "strand"] == "-"
        assert best.loc[query.id, "offset"] == 0


def test_offset_is_query_start_in_target(jaspar, planted):
    ctcf = planted[0].matrix
    found = compare_motifs([ctcf[3:12], in_filter(np.random.default_rng(4), ctcf)[:]], [ctcf])
    assert found["offset"][0, 0] == 3 and found["overlap"][0, 0] == 9


def test_benjamini_hochberg_matches_scipy():
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(5).random((3, 40)) ** 3
    expected = np.stack([false_discovery_control(row) for row in p])
    np.testing.assert_allclose(benjamini_hochberg(p), expected)


def test_cli_meme_file_replaces_jaspar(tmp_path, planted):
    rng = np.random.default_rng(6)
    targets = [Motif(m.id, m.matrix, m.name) for m in planted]
    targets += [Motif(f"noise{i}", rng.dirichlet(np.ones(4), size=12)) for i in range(30)]
    write_meme(tmp_path / "db.meme", targets)
    query = Motif("filter0", in_filter(rng, planted[1].matrix), nsites=40)
    write_meme(tmp_path / "filters.meme", [query, Motif("filter1", np.full((26, 4), 0.25))])
    out = tmp_path / "tomtom.tsv"
    argv = ["tomtom", "--query", str(tmp_path / "filters.meme"), "--threads", "2"]
    assert main([*argv, "--meme-file", str(tmp_path / "db.meme"), "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == COLUMNS
    assert table.loc[0, "target_id"] == planted[1].id and table.loc[0, "target_name"] == "REST"
    assert set(table["filter"]) == {"filter0"}
    assert table["evalue"].iloc[0] == pytest.approx(table["pvalue"].iloc[0] * len(targets))
    bad = tmp_path / "bad.meme"
    bad.write_text("not a motif file\n")
    assert main([*argv, "--meme-file", str(bad), "--out", str(out)]) == 1
