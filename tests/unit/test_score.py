"""Variant scoring: window placement (SNVs and indels), one strand-averaged pass, log2 odds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from seq2chrom.variants.score import (
    EFFECT_COLUMNS,
    effect_rows,
    log2_odds_ratio,
    scored_batches,
    strongest_tracks,
    variant_windows,
)
from seq2chrom.variants.vcf import REF_MISMATCH

from tests.unit.toy_models import composition_model

SEQ = b"ABCDEFGHIJKLMNOPQRST"  # letters show where each window base comes from


def text(windows: np.ndarray) -> list[str]:
    return [row.tobytes().decode() for row in windows]


def test_snv_sits_at_the_centre_index_of_the_window():
    ref, alt = variant_windows(np.frombuffer(SEQ, np.uint8), np.array([10]), ["K"], ["a"], 10)
    # window = bases pos0 - 5 .. pos0 + 4, the variant at 0-based index 5
    assert text(ref) == ["FGHIJKLMNO"] and text(alt) == ["FGHIJaLMNO"]


def test_indels_keep_the_left_flank_and_the_window_length():
    seq = np.frombuffer(SEQ, np.uint8)
    refs, alts = ["KLM", "K", "K"], ["K", "Kxy", "Kxyzuvw"]
    ref, alt = variant_windows(seq, np.array([10, 10, 10]), refs, alts, 10)
    assert text(ref) == ["FGHIJKLMNO"] * 3
    # deletion of LM pulls in P and Q; insertions push the right flank out
    assert text(alt) == ["FGHIJKNOPQ", "FGHIJKxyLM", "FGHIJKxyzu"]


def test_windows_beyond_the_chromosome_are_n():
    seq = np.frombuffer(SEQ, np.uint8)
    ref, alt = variant_windows(seq, np.array([1, 18]), ["B", "S"], ["b", ""], 10)  # 2nd: bad alt
    assert text(ref) == ["NNNNABCDEF", "NOPQRSTNNN"]
    assert text(alt)[0] == "NNNNAbCDEF"


def test_deletion_at_the_chromosome_end_fills_with_n():
    seq = np.frombuffer(SEQ, np.uint8)
    _, alt = variant_windows(seq, np.array([15]), ["PQRST"], ["P"], 10)
    assert text(alt) == ["KLMNOPNNNN"]


def test_log2_odds_ratio_by_hand_and_clipped():
    got = log2_odds_ratio(np.array([0.5, 0.2, 0.0]), np.array([0.8, 0.2, 1.0]))
    # 0.8/0.2 = 4 -> log2 4 = 2; equal -> 0; clipped to 1e-6 and 1 - 1e-6: 2 * log2((1 - e)/e)
    expected = 2 * np.log2((1 - 1e-6) / 1e-6)
    np.testing.assert_allclose(got, [2.0, 0.0, expected], rtol=1e-5)
    assert got.dtype == np.float32


def test_composition_model_gives_known_differences():
    window = 20
    model = composition_model(window)
    seq = np.frombuffer(b"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", np.uint8)
    variants = pd.DataFrame(
        {
            "variant_id": ["v1", "v2", "v3"],
            "chrom": ["c"] * 3,
            "pos": [15, 16, 17],
            "ref": ["C", "G", "CC"],  # v2's REF does not match the genome
            "alt": ["A", "A", "C"],
            "line": [1, 2, 3],
            "genome_chrom": ["c"] * 3,
        }
    )
    (batch,) = list(scored_batches(model, lambda name: seq, variants, batch_size=8))
    assert batch.variants["variant_id"].tolist() == ["v1", "v3"]
    assert batch.skipped["variant_id"].tolist() == ["v2"]
    assert batch.skipped["reason"].tolist() == [REF_MISMATCH]
    # tracks: AT fraction, GC fraction; C->A adds one A in 20 bases; the deletion changes nothing
    np.testing.assert_allclose(batch.ref_prob, [[0, 1], [0, 1]], atol=1e-6)
    np.testing.assert_allclose(batch.alt_prob, [[0.05, 0.95], [0, 1]], atol=1e-6)
    rows = effect_rows(batch.variants, batch.ref_prob, batch.alt_prob, ["AT", "GC"])
    assert list(rows.columns) == EFFECT_COLUMNS
    assert rows["variant_id"].tolist() == ["v1", "v1", "v3", "v3"]
    assert rows["track"].tolist() == ["AT", "GC", "AT", "GC"]
    np.testing.assert_allclose(rows["diff"], [0.05, -0.05, 0, 0], atol=1e-6)


def test_one_forward_pass_per_batch_holds_ref_alt_and_both_strands():
    model = composition_model(20)
    calls = []
    original = model.predict_on_batch
    model.predict_on_batch = lambda x: calls.append(len(x)) or original(x)
    seq = np.frombuffer(b"C" * 40, np.uint8)
    variants = pd.DataFrame(
        {
            "variant_id": list("abcde"),
            "chrom": "c",
            "pos": [11, 12, 13, 14, 15],
            "ref": "C",
            "alt": "A",
            "line": range(5),
            "genome_chrom": "c",
        }
    )
    batches = list(scored_batches(model, lambda name: seq, variants, batch_size=3))
    assert [len(b.variants) for b in batches] == [3, 2]
    assert calls == [12, 8]  # 4 sequences per variant: ref, alt, and their reverse complements


def test_strongest_tracks_per_variant_and_assay_class():
    diff = np.array([[0.1, -0.5, 0.2], [0.0, 0.1, -0.3]], "float32")
    got = strongest_tracks(diff, ["a", "b", "c"], ["TF", "TF", "DNase"])
    assert got["top_track"].tolist() == ["b", "c"]
    np.testing.assert_allclose(got["top_diff"], [-0.5, -0.3])
    np.testing.assert_allclose(got["mean_abs_diff_TF"], [0.3, 0.05])
    np.testing.assert_allclose(got["mean_abs_diff_DNase"], [0.2, 0.3])
