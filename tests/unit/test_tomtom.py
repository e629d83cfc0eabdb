"""Tomtom as MEME 5.4.1 computes it, against JASPAR2024 CORE vertebrates (pyjaspar, offline).

The reference test builds MEME's own `tomtom` from source (tests/reference/build_meme_tomtom.sh)
and compares it with seq2chrom's on 20 of the published DanQ filters (tests/data/DanQ.meme).
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.motifs.jaspar import load_jaspar
from seq2chrom.motifs.meme import Motif, read_meme, write_meme
from seq2chrom.motifs.tomtom import (
    COLUMNS,
    MemeRandom,
    compare_motifs,
    consensus,
    match_table,
    pearson_scores,
    qvalues,
    shifted_scaled_scores,
)

TESTS = Path(__file__).resolve().parents[1]
DANQ = TESTS / "data" / "DanQ.meme"
BUILD = TESTS / "reference" / "build_meme_tomtom.sh"
SUBSET = [f"M{i}" for i in range(0, 320, 16)]  # 20 filters, ~70 CPU seconds of MEME
MEME_ARGS = ["-no-ssc", "-text", "-verbosity", "1", "-dist", "pearson", "-min-overlap", "5"]

# Distinctive factors at least 10 columns wide: short JASPAR2024 motifs (GATA1) and some
# longer ones (HNF1A ~ HNF1B, TFAP2A ~ TFAP2C) have near-identical relatives, so a mutated
# copy may best match a sibling.
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


@pytest.fixture(scope="session")
def meme_tomtom() -> Path:
    """MEME 5.4.1's tomtom, built once into ~/.cache/seq2chrom/meme-5.4.1 (skips without gcc)."""
    if shutil.which("gcc") is None or shutil.which("make") is None:
        pytest.skip("no gcc/make: cannot build MEME's tomtom")
    done = subprocess.run(
        ["bash", str(BUILD)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if done.returncode == 2:
        pytest.skip(f"cannot build MEME's tomtom here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


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


def test_column_scores_are_pearson_correlations():
    rng = np.random.default_rng(0)
    x, y = rng.dirichlet(np.ones(4), size=6), rng.dirichlet(np.ones(4), size=50)
    expected = np.array([[np.corrcoef(a, b)[0, 1] for b in y] for a in x])
    np.testing.assert_allclose(pearson_scores(x, y), expected, atol=1e-12)
    # a column without variance has no correlation: Tomtom scores it 0
    assert (pearson_scores(np.full((1, 4), 0.25), y) == 0).all()


def test_scores_shift_by_row_median_and_scale_to_integers():
    scores = np.array([[-1.0, 0.0, 0.5, 1.0], [0.2, 0.2, 0.2, 0.2]])
    scaled, os = shifted_scaled_scores(scores)
    # medians (lower-middle pair averaged: 0.0 and 0.2) -> shifted rows [-1, 0, .5, 1], [0]*4;
    # offset floor(-1) = -1, scale floor(100 / (1 - -1)) = 50
    assert os == -50
    np.testing.assert_array_equal(scaled, [[0, 50, 75, 100], [50, 50, 50, 50]])


def test_consensus_takes_first_of_ties():
    assert consensus(np.array([[0.1, 0.4, 0.4, 0.1], [0.7, 0.1, 0.1, 0.1]])) == "CA"


def test_meme_random_is_mt19937_from_knuth_seeding():
    """MEME's never-seeded Mersenne Twister: its first 64-bit draw from seed 4357's stream."""
    key = [4357]
    for _ in range(623):
        key.append((69069 * key[-1]) & 0xFFFFFFFF)
    reference = np.random.RandomState()
    reference.set_state(("MT19937", np.array(key, dtype=np.uint32), 624))
    words = reference.randint(0, 2**32, size=4, dtype=np.uint64)
    drawn = MemeRandom().uniform(2)
    np.testing.assert_allclose(drawn, [(words[0] * 2**32 + words[1]) / 2**64,
                                       (words[2] * 2**32 + words[3]) / 2**64])  # fmt: skip
    assert ((drawn >= 0) & (drawn < 1)).all()


def test_qvalues_without_pi0_are_benjamini_hochberg():
    from scipy.stats import false_discovery_control

    p = np.sort(np.random.default_rng(5).random(40) ** 3)
    np.testing.assert_allclose(qvalues(p, None), false_discovery_control(p))
    # with pi0 estimated (> 100 p-values): no larger, still monotone
    p = np.sort(np.random.default_rng(6).random(300))
    q = qvalues(p, MemeRandom())
    assert (q <= qvalues(p, None) + 1e-15).all() and (np.diff(q) >= 0).all()


def test_uniform_and_noise_pwms_match_nothing(jaspar):
    rng = np.random.default_rng(1)
    queries = [Motif("uniform", np.full((26, 4), 0.25))]
    queries += [Motif(f"dirichlet{i}", rng.dirichlet(np.ones(4), size=20)) for i in range(8)]
    uniform_sites = np.full((26, 4), 0.25)
    queries += [Motif(f"sites{i}", sampled_pwm(rng, uniform_sites, 20)) for i in range(8)]
    tables = compare_motifs(queries, jaspar, threads=2)
    assert (tables[0]["p-value"] == 1).all()
    assert min(t["E-value"].min() for t in tables) > 0.01
    assert match_table(queries, jaspar, evalue=0.01, threads=2).empty


def test_planted_motifs_find_their_own_entry(jaspar, planted):
    rng = np.random.default_rng(2)
    queries = [Motif(f"mut_{m.id}", in_filter(rng, mutated(rng, m.matrix))) for m in planted]
    queries += [
        Motif(f"sites_{m.id}", in_filter(rng, sampled_pwm(rng, m.matrix, 40))) for m in planted
    ]
    table = match_table(queries, jaspar, evalue=0.01, threads=2)
    assert list(table.columns) == [*COLUMNS, "Target_name"]
    assert (table["E-value"] <= 0.01).all()
    np.testing.assert_allclose(table["E-value"], table["p-value"] * len(jaspar), rtol=1e-6)
    assert (table.groupby("Query_ID", sort=False)["p-value"].diff().dropna() >= 0).all()
    best = table.drop_duplicates("Query_ID").set_index("Query_ID")
    own = {q.id: q.id.split("_", 1)[1] for q in queries}
    found = {q: (best.loc[q, "Target_ID"] if q in best.index else None) for q in own}
    # a mutated copy may lose to a sibling (EGR1 ~ EGR3) or fall short of E 0.01 (USF1)
    assert sum(found[q] == own[q] for q in own) >= len(own) - 2, found
    assert (best["Orientation"] == "+").all() and (best["Overlap"] >= 5).all()


def test_reverse_complement_matches_minus_strand(jaspar, planted):
    rng = np.random.default_rng(3)
    queries = [Motif(f"rc_{m.id}", mutated(rng, m.matrix, 1)[::-1, ::-1]) for m in planted]
    best = match_table(queries, jaspar, threads=2).drop_duplicates("Query_ID")
    best = best.set_index("Query_ID")
    for query in queries:
        assert best.loc[query.id, "Target_ID"] == query.id[3:]
        assert best.loc[query.id, "Orientation"] == "-"
        assert best.loc[query.id, "Optimal_offset"] == 0


def test_offset_is_query_start_in_target_and_min_overlap_binds(jaspar, planted):
    ctcf = planted[0]
    part = Motif("part", ctcf.matrix[3:12])
    row = compare_motifs([part], [ctcf, *jaspar[:60]])[0].set_index("Target_ID").loc[ctcf.id]
    assert (row["Optimal_offset"], row["Overlap"], row["Orientation"]) == (3, 9, "+")
    # CTCF's last 3 columns, then uniform ones: the best alignment overlaps CTCF by 3 columns,
    # which min_overlap 5 excludes from the search
    tail = Motif("tail", np.vstack([ctcf.matrix[-3:], np.full((6, 4), 0.25)]))
    width = len(ctcf.matrix)
    for min_overlap, offset, overlap in ((1, width - 3, 3), (5, None, None)):
        rows = compare_motifs([tail], [ctcf, *jaspar[:60]], min_overlap=min_overlap)[0]
        row = rows.set_index("Target_ID").loc[ctcf.id]
        if offset is None:
            assert row["Overlap"] >= 5 and row["Optimal_offset"] <= width - 5
        else:
            assert (row["Optimal_offset"], row["Overlap"]) == (offset, overlap)


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
    assert list(table.columns) == [*COLUMNS, "Target_name"]
    assert table.loc[0, "Target_ID"] == planted[1].id and table.loc[0, "Target_name"] == "REST"
    assert set(table["Query_ID"]) == {"filter0"}
    # both columns are written with 6 significant digits (%.6g): each within 5e-6 relative
    expected = table["p-value"].iloc[0] * len(targets)
    assert table["E-value"].iloc[0] == pytest.approx(expected, rel=1.1e-5)
    bad = tmp_path / "bad.meme"
    bad.write_text("not a motif file\n")
    assert main([*argv, "--meme-file", str(bad), "--out", str(out)]) == 1


def run_meme(
    binary: Path, query: Path, targets: Path, ids: list[str]
) -> tuple[pd.DataFrame, float]:
    """MEME's tomtom.tsv for the `ids` of `query` (every target), and its CPU seconds."""
    selected = [word for name in ids for word in ("-m", name)]
    command = [str(binary), *MEME_ARGS, "-evalue", "-thresh", "1e9", *selected]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.run(
        [*command, str(query), str(targets)], capture_output=True, text=True, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    table = pd.read_csv(io.StringIO(child.stdout), sep="\t", comment="#")
    return table.dropna(subset=["Target_ID"]), seconds


def agreement(meme: pd.DataFrame, ours: pd.DataFrame, evalue: float = 0.01) -> dict:
    """How seq2chrom's Tomtom table agrees with MEME's, row by row (query, target)."""
    both = meme.merge(ours, on=["Query_ID", "Target_ID"], suffixes=("_meme", ""))
    ratio = both["p-value"] / both["p-value_meme"]
    significant = {
        name: set(zip(t.loc[t["E-value"] < evalue, "Query_ID"],
                      t.loc[t["E-value"] < evalue, "Target_ID"], strict=True))
        for name, t in (("meme", meme), ("ours", ours))
    }  # fmt: skip
    same = {
        column: float((both[column] == both[f"{column}_meme"]).mean())
        for column in ("Optimal_offset", "Overlap", "Orientation", "Target_consensus")
    }
    return {
        "pairs": len(both),
        "missing": len(meme) - len(both),
        "max_relative_p": float(np.abs(ratio - 1).max()),
        "max_relative_q": float(np.abs(both["q-value"] / both["q-value_meme"] - 1).max()),
        "significant_both": len(significant["meme"] & significant["ours"]),
        "significant_only_meme": len(significant["meme"] - significant["ours"]),
        "significant_only_ours": len(significant["ours"] - significant["meme"]),
        **{f"same_{column}": value for column, value in same.items()},
    }


@pytest.mark.slow
def test_matches_meme_tomtom_on_danq_filters(meme_tomtom, tmp_path, jaspar):
    """Every p-value within 1% of MEME 5.4.1's, the same E < 0.01 set, >= 50x MEME's speed."""
    targets = tmp_path / "jaspar.meme"
    write_meme(targets, jaspar)
    meme, meme_seconds = run_meme(meme_tomtom, DANQ, targets, SUBSET)
    queries = [m for m in read_meme(DANQ) if m.id in SUBSET]
    compare_motifs(queries[:1], read_meme(targets)[:20])  # numba compilation, not timed
    started = time.process_time()
    ours = pd.concat(compare_motifs(queries, read_meme(targets)))
    our_seconds = time.process_time() - started
    stats = agreement(meme, ours)
    assert stats["missing"] == 0 and stats["pairs"] == len(SUBSET) * len(jaspar)
    assert stats["max_relative_p"] < 0.01, stats
    assert stats["significant_only_meme"] == stats["significant_only_ours"] == 0, stats
    assert stats["significant_both"] >= 10, stats
    assert stats["max_relative_q"] < 0.01, stats
    assert stats["same_Optimal_offset"] > 0.99 and stats["same_Orientation"] > 0.99, stats
    assert meme_seconds / our_seconds >= 50, (meme_seconds, our_seconds)

    # `seq2chrom tomtom` writes MEME's significant rows character for character
    header, *blocks = DANQ.read_text().split("MOTIF ")
    subset = tmp_path / "subset.meme"
    subset.write_text(header + "".join(f"MOTIF {b}" for b in blocks if b.split()[0] in SUBSET))
    out = tmp_path / "tomtom.tsv"
    argv = ["tomtom", "--query", str(subset), "--meme-file", str(targets), "--evalue", "0.01"]
    assert main([*argv, "--min-overlap", "5", "--out", str(out)]) == 0
    written = pd.read_csv(out, sep="\t")[COLUMNS]
    expected = meme[meme["E-value"] <= 0.01].reset_index(drop=True)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False, check_exact=True)
