"""Variant scoring: window placement (SNVs and indels), one strand-averaged pass, log2 odds,
and the effects table as gzip text."""

from __future__ import annotations

import gzip
import io
import subprocess

import numpy as np
import pandas as pd
import pytest
from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.inference.predict import predict_both_strands
from seq2chrom.variants.effects import EFFECT_COLUMNS, EffectsWriter, effect_text, log2_odds_ratio
from seq2chrom.variants.score import (
    chromosome_windows,
    effect_rows,
    forward_windows,
    score_chunk,
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
    (batch,) = list(
        scored_batches(
            model, lambda name: seq, variants, batch_size=8, predict=predict_both_strands
        )
    )
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


def counting(model):
    """`model` whose predict_on_batch records the number of sequences of each call."""
    calls = []
    original = model.predict_on_batch
    model.predict_on_batch = lambda x: calls.append(len(x)) or original(x)
    return calls


def test_forward_passes_are_whole_or_padded_to_a_quarter():
    model = composition_model(20)
    calls = counting(model)
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
    batches = list(
        scored_batches(
            model, lambda name: seq, variants, batch_size=3, predict=predict_both_strands
        )
    )
    assert [len(b.variants) for b in batches] == [3, 2]
    # 3 variants: 6 windows (ref, alt), 12 with reverse complements; 2 variants: 4 windows
    assert calls == [12, 8]
    windows = np.full((13, 20), ord("C"), np.uint8)
    calls.clear()
    got = forward_windows(model, windows, 8, predict_both_strands)
    assert calls == [16, 12]  # 8 windows, then 5 padded to 6 (a multiple of 8 / 4)
    np.testing.assert_allclose(got, [[0, 1]] * 13, atol=1e-6)
    np.testing.assert_allclose(batches[1].alt_prob, [[0.05, 0.95]] * 2, atol=1e-6)


def test_alleles_of_one_position_share_one_reference_window():
    seq = np.frombuffer(SEQ, np.uint8)
    ref, alt, ref_row = chromosome_windows(
        seq, np.array([10, 12, 10, 10]), ["K", "M", "KL", "K"], ["a", "b", "K", "c"], 10
    )
    assert text(ref) == ["FGHIJKLMNO", "HIJKLMNOPQ"]  # two positions, two windows
    assert ref_row.tolist() == [0, 1, 0, 0]
    assert text(alt) == ["FGHIJaLMNO", "HIJKLbNOPQ", "FGHIJKMNOP", "FGHIJcLMNO"]
    model = composition_model(10)
    calls = counting(model)
    variants = pd.DataFrame(
        {"variant_id": list("wxyz"), "chrom": "c", "pos": [11, 13, 11, 11],
         "ref": ["K", "M", "KL", "K"], "alt": ["A", "G", "K", "C"], "line": [1, 2, 3, 3],
         "genome_chrom": "c"}
    )  # fmt: skip
    scored = score_chunk(model, lambda name: seq, variants, 6, predict=predict_both_strands)
    assert calls == [12]  # 2 reference + 4 alternative windows, both strands
    assert scored.variants["variant_id"].tolist() == list("wxyz")
    direct_ref, direct_alt = variant_windows(seq, np.array([10, 12, 10, 10]),
                                             variants["ref"].tolist(), variants["alt"].tolist(),
                                             10)  # fmt: skip
    for windows, got in ((direct_ref, scored.ref_prob), (direct_alt, scored.alt_prob)):
        expected = predict_both_strands(model, one_hot_encode(windows).astype("float32"))
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_variants_come_back_in_their_order_across_chromosomes():
    model = composition_model(10)
    genome = {"c1": np.frombuffer(b"C" * 30, np.uint8), "c2": np.frombuffer(b"A" * 30, np.uint8)}
    variants = pd.DataFrame(
        {"variant_id": list("pqrs"), "chrom": ["1", "2", "1", "2"], "pos": [5, 6, 7, 8],
         "ref": ["C", "A", "G", "A"], "alt": "T", "line": [1, 2, 3, 4],
         "genome_chrom": ["c1", "c2", "c1", "c2"]}
    )  # fmt: skip
    scored = score_chunk(model, genome.__getitem__, variants, 4, predict=predict_both_strands)
    assert scored.variants["variant_id"].tolist() == ["p", "q", "s"]  # r's REF is not G
    assert scored.skipped["variant_id"].tolist() == ["r"]
    np.testing.assert_allclose(scored.ref_prob[:, 0], [0, 1, 1], atol=1e-6)  # AT fraction


def test_strongest_tracks_per_variant_and_assay_class():
    diff = np.array([[0.1, -0.5, 0.2], [0.0, 0.1, -0.3]], "float32")
    got = strongest_tracks(diff, ["a", "b", "c"], ["TF", "TF", "DNase"])
    assert got["top_track"].tolist() == ["b", "c"]
    np.testing.assert_allclose(got["top_diff"], [-0.5, -0.3])
    np.testing.assert_allclose(got["mean_abs_diff_TF"], [0.3, 0.05])
    np.testing.assert_allclose(got["mean_abs_diff_DNase"], [0.2, 0.3])


def effects_input(n: int = 3, n_tracks: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    variants = pd.DataFrame(
        {"variant_id": [f"rs{i}" for i in range(n)], "chrom": "chrX", "pos": np.arange(n) + 7,
         "ref": "A", "alt": ["G", "CTT", "T"][:n] + ["C"] * max(0, n - 3)}
    )  # fmt: skip
    ref = rng.random((n, n_tracks)).astype("float32") ** 4  # spans several decades
    alt = rng.random((n, n_tracks)).astype("float32")
    return variants, ref, alt, [f"K562|T{j}|None" for j in range(n_tracks)]


def written(variants, ref, alt, tracks, batches: int = 1) -> bytes:
    sink = io.BytesIO()
    with EffectsWriter(sink, tracks) as writer:
        for part in np.array_split(np.arange(len(variants)), batches):
            writer.write(variants.iloc[part], ref[part], alt[part])
    return sink.getvalue()


def test_effects_table_reads_back_through_pandas_and_zcat():
    variants, ref, alt, tracks = effects_input()
    data = written(variants, ref, alt, tracks, batches=2)
    text = subprocess.run(["zcat"], input=data, capture_output=True, check=True).stdout
    assert text.decode().splitlines()[0].split("\t") == EFFECT_COLUMNS
    table = pd.read_csv(io.BytesIO(data), sep="\t", compression="gzip")
    expected = effect_rows(variants, ref, alt, tracks)
    assert list(table.columns) == EFFECT_COLUMNS and len(table) == 3 * 4
    pd.testing.assert_frame_equal(table[EFFECT_COLUMNS[:6]], expected[EFFECT_COLUMNS[:6]])
    for column in ["ref_prob", "alt_prob", "diff", "logfc"]:  # 6 significant digits or better
        np.testing.assert_allclose(table[column], expected[column], rtol=5e-7, atol=0)
    assert data == written(variants, ref, alt, tracks)  # no time stamp: same input, same bytes


def test_numbers_are_written_as_printf_g_with_7_digits():
    values = np.array(
        [0.5, 0.025, 1.0, 0.0, -0.0, 1e-05, 9.9999999e-05, 0.12345678, -40.1, 1234567,
         12345678, 1e-45, 3.4e38, 0.1, 100],
        "float32",
    )  # fmt: skip
    variants = pd.DataFrame(
        {"variant_id": ["v"], "chrom": ["1"], "pos": [5], "ref": ["A"], "alt": ["C"]}
    )
    row = values[None]
    text = effect_text(variants, row, row, [f"t{j}" for j in range(len(values))]).decode()
    ref_column = [line.split("\t")[6] for line in text.splitlines()]
    assert ref_column == [f"{float(v):.7g}" for v in values]
    assert ref_column[:8] == ["0.5", "0.025", "1", "0", "-0", "1e-05", "0.0001", "0.1234568"]


def test_many_random_numbers_match_printf():
    rng = np.random.default_rng(1)
    values = (rng.random(5000) * 10.0 ** rng.integers(-12, 4, 5000)).astype("float32")
    values *= np.where(rng.random(5000) < 0.5, -1, 1).astype("float32")
    variants = pd.DataFrame(
        {"variant_id": ["v"], "chrom": ["1"], "pos": [5], "ref": ["A"], "alt": ["C"]}
    )
    zeros = np.zeros_like(values)[None]
    text = effect_text(variants, zeros, values[None], [""] * len(values)).decode()
    alt_column = [line.split("\t")[7] for line in text.splitlines()]
    assert alt_column == [f"{float(v):.7g}" for v in values]


def test_nan_is_an_empty_field_like_pandas_writes_it():
    variants, ref, alt, tracks = effects_input(1, 2)
    ref[0, 1] = np.nan
    line = effect_text(variants, ref, alt, tracks).decode().splitlines()[1].split("\t")
    assert line[:6] == ["rs0", "chrX", "7", "A", "G", "K562|T1|None"] and line[6] == ""


def test_a_failed_write_stops_with_the_error():
    variants, ref, alt, tracks = effects_input()
    sink = io.BytesIO()
    writer = EffectsWriter(sink, tracks)
    sink.close()  # every later write fails, in the writer's thread
    writer.write(variants, ref, alt)
    with pytest.raises(ValueError, match="closed file"):
        writer.close()


def test_an_empty_table_has_the_header_only():
    _, _, _, tracks = effects_input()
    sink = io.BytesIO()
    with EffectsWriter(sink, tracks):
        pass
    assert gzip.decompress(sink.getvalue()).decode() == "\t".join(EFFECT_COLUMNS) + "\n"


def test_rows_can_be_chosen_and_carry_an_evalue_column():
    variants, ref, alt, tracks = effects_input(3, 4)
    keep = np.zeros((3, 4), bool)
    keep[0, 2] = keep[2, 0] = keep[2, 3] = True
    evalue = np.full((3, 4), 0.25, "float32")
    lines = effect_text(variants, ref, alt, tracks, evalue, keep).decode().splitlines()
    assert [(line.split("\t")[0], line.split("\t")[5]) for line in lines] == [
        ("rs0", tracks[2]), ("rs2", tracks[0]), ("rs2", tracks[3]),
    ]  # fmt: skip
    assert all(line.split("\t")[-1] == "0.25" and line.count("\t") == 10 for line in lines)
    sink = io.BytesIO()
    with EffectsWriter(sink, tracks, evalues=True) as writer:
        writer.write(variants, ref, alt, evalue, keep)
    table = pd.read_csv(io.BytesIO(sink.getvalue()), sep="\t", compression="gzip")
    assert list(table.columns) == [*EFFECT_COLUMNS, "evalue"] and len(table) == 3
