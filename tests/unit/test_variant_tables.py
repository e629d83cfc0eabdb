"""Tables from a scores file: tracks chosen by name, assay class or pattern; the strongest
variants kept in bounded memory; effects rows filtered by |diff|; skipped records streamed."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from seq2chrom.io import write_tsv
from seq2chrom.variants.score import effect_rows
from seq2chrom.variants.store import ScoresWriter, open_scores
from seq2chrom.variants.tables import (
    AUTO,
    AUTO_MAX_VARIANTS,
    SkippedWriter,
    select_tracks,
    strongest_variants,
    table_tracks,
    write_effects,
)
from seq2chrom.variants.vcf import SKIPPED_COLUMNS

TRACKS = ["CTCF_K562", "CTCF_HepG2", "DNase_K562", "H3K4me3_K562"]
ASSAYS = ["TF", "TF", "DNase", "Histone"]


@pytest.mark.parametrize(
    "entries, expected",
    [
        (["DNase_K562"], [2]),
        (["TF"], [0, 1]),  # an assay class
        (["CTCF_.*", "Histone"], [0, 1, 3]),
        ([".*_K562"], [0, 2, 3]),  # a pattern matches whole names
        (["H3K4me3_K562", "H3K4me3_K562"], [3]),
        ([], []),
    ],
)
def test_tracks_by_name_class_or_pattern(entries, expected):
    assert select_tracks(entries, TRACKS, ASSAYS) == expected


@pytest.mark.parametrize("entry, said", [("CTCF", "matches no track"), ("[", "nor a valid")])
def test_an_entry_matching_nothing_is_refused(entry, said):
    with pytest.raises(ValueError, match=said):
        select_tracks([entry], TRACKS, ASSAYS)


def test_auto_is_every_track_for_small_vcfs_or_with_a_minimum_diff():
    every = list(range(4))
    assert table_tracks(AUTO, TRACKS, None, AUTO_MAX_VARIANTS, 0.0) == every
    assert table_tracks(AUTO, TRACKS, None, AUTO_MAX_VARIANTS + 1, 0.0) == []
    assert table_tracks(AUTO, TRACKS, None, AUTO_MAX_VARIANTS + 1, 0.1) == every
    assert table_tracks(["TF"], TRACKS, ASSAYS, 10**7, 0.0) == [0, 1]


def scores_file(path, n: int, n_tracks: int, seed: int = 0):
    """A scores file of random effects; max_abs_diff on a coarse grid, so that ties occur."""
    rng = np.random.default_rng(seed)
    ref = rng.random((n, n_tracks)).astype(np.float32)
    alt = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1).astype(np.float32)
    table = {
        "variant_id": np.array([f"v{i}" for i in range(n)], dtype=object),
        "chrom": np.array(["chr1"] * n, dtype=object),
        "pos": np.arange(n, dtype=np.int64) + 1,
        "ref": np.array(["A"] * n, dtype=object),
        "alt": np.array(["G"] * n, dtype=object),
        "line": np.arange(n, dtype=np.int64) + 2,
        "max_abs_diff": (rng.integers(0, 50, n) / 50).astype(np.float32),
    }
    columns = {c: (object if v.dtype == object else v.dtype) for c, v in table.items()}
    tracks = [f"t{j}" for j in range(n_tracks)]
    with ScoresWriter(path, tracks, columns) as writer:
        for part in np.array_split(np.arange(n), 3):
            writer.append({c: v[part] for c, v in table.items()},
                          {"ref_prob": ref[part], "alt_prob": alt[part]})  # fmt: skip
    return pd.DataFrame(table), ref, alt, tracks


def test_strongest_variants_are_the_top_of_a_full_stable_sort(tmp_path):
    table, *_ = scores_file(tmp_path / "s.h5", 1200, 1024)  # 256-row chunks: 5 blocks
    expected = table.sort_values("max_abs_diff", ascending=False, kind="stable").head(100)
    with open_scores(tmp_path / "s.h5") as scores:
        got = strongest_variants(scores, 100)
        assert len(strongest_variants(scores, 5000)) == 1200
    assert got["variant_id"].tolist() == expected["variant_id"].tolist()
    assert "line" not in got and list(got.columns)[:5] == ["variant_id", "chrom", "pos", "ref",
                                                             "alt"]  # fmt: skip


def test_effects_rows_of_chosen_tracks_and_large_effects(tmp_path):
    table, ref, alt, tracks = scores_file(tmp_path / "s.h5", 300, 6)
    with open_scores(tmp_path / "s.h5") as scores:
        rows = write_effects(scores, tmp_path / "e.tsv.gz", [1, 4], min_abs_diff=0.1)
        all_rows = write_effects(scores, tmp_path / "all.tsv.gz", range(6))
        none = write_effects(scores, tmp_path / "none.tsv.gz", [])
    got = pd.read_csv(tmp_path / "e.tsv.gz", sep="\t")
    expected = effect_rows(table, ref, alt, tracks)
    expected = expected[expected["track"].isin(["t1", "t4"]) & (expected["diff"].abs() >= 0.1)]
    assert rows == len(got) == len(expected) > 0
    assert got["variant_id"].tolist() == expected["variant_id"].tolist()
    assert got["track"].tolist() == expected["track"].tolist()
    np.testing.assert_allclose(got["diff"], expected["diff"], rtol=5e-7)
    assert all_rows == 300 * 6 == len(pd.read_csv(tmp_path / "all.tsv.gz", sep="\t"))
    assert none == 0
    assert gzip.decompress((tmp_path / "none.tsv.gz").read_bytes()).decode().count("\n") == 1


def test_skipped_records_stream_as_write_tsv_writes_them(tmp_path):
    table = pd.DataFrame(
        [("sv1", "1", 5, "A", "<DEL>", 3, "symbolic allele"),
         ("x", "2", 9, "NA", "G", 8, "REF does not match the genome")],
        columns=SKIPPED_COLUMNS,
    )  # fmt: skip
    handle = io.StringIO()
    writer = SkippedWriter(handle)
    writer.write(table.iloc[:1])
    writer.write(table.iloc[:0])
    writer.write(table.iloc[1:])
    write_tsv(table, tmp_path / "direct.tsv", na="")
    assert handle.getvalue() == (tmp_path / "direct.tsv").read_text()
    assert writer.count == 2 and writer.reasons == {"symbolic allele": 1,
                                                    "REF does not match the genome": 1}  # fmt: skip
