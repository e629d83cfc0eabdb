"""In-silico mutagenesis: 3L mutants per window, importance peaks on the motif a toy model reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.inference.mutagenesis import (
    mutagenesis,
    mutants,
    plot_mutagenesis,
    region_windows,
    strongest_span,
    substitutions,
    write_mutagenesis_regions,
)

from tests.unit.toy_models import motif_model


def test_every_position_gets_each_other_base():
    x = one_hot_encode("ACN")
    positions, bases = substitutions(x)
    assert positions.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert bases.tolist() == [1, 2, 3, 0, 2, 3, 0, 1, 2, 3]
    batch = mutants(x, positions, bases)
    assert batch.shape == (10, 3, 4)
    assert (batch[:, :2].sum(axis=2) == 1).all() and (
        batch[:, 2].sum(axis=1) == [0] * 6 + [1] * 4
    ).all()
    assert batch[0].argmax(axis=1).tolist()[:2] == [1, 1]  # A->C at position 0


def test_importance_peaks_on_the_motif():
    window = 60
    sequence = "C" * 30 + "GATA" + "G" * 26  # no single change makes TATC (the reverse motif)
    model = motif_model(window)
    result = mutagenesis(model, one_hot_encode(sequence)[None], [0], batch_size=50)
    np.testing.assert_allclose(result.reference, [0.5])  # forward strand only
    assert result.effects.shape == (1, window, 4)
    assert np.flatnonzero(result.importance[0] > 1e-6).tolist() == [30, 31, 32, 33]
    np.testing.assert_allclose(result.importance[0, 30:34], 0.5)
    assert (result.effects[0, 30:34] <= 0).all()  # every change of GATA destroys it
    assert (result.effects[0][one_hot_encode(sequence) == 1] == 0).all()  # reference base: 0


def test_strongest_span_and_plot():
    importance = np.zeros(100)
    importance[40:44] = 1
    start, end = strongest_span(importance, 10)
    assert start <= 40 and end >= 44 and end - start == 10
    effects = np.zeros((100, 4), "float32")
    effects[40:44, 0] = -0.5
    figure = plot_mutagenesis(effects, one_hot_encode("C" * 100), title="toy", width=10)
    overview, logo, heat = figure.axes  # the colour bar is an inset of the heat map
    assert logo.get_xlim() == heat.get_xlim() == (0.0, 10.0)  # column for column
    assert len(logo.patches) == 1  # one letter colour (C) drawn


def test_region_windows_are_centred_and_keep_the_regions_order():
    genome = {
        "a": np.frombuffer(b"ACGTACGTAC", np.uint8),
        "b": np.frombuffer(b"TTTTGGGG", np.uint8),
    }
    regions = pd.DataFrame({"chrom": ["b", "a", "b"], "start": [3, 0, 0], "end": [5, 2, 2]})
    x, start = region_windows(genome.__getitem__, regions, 4)
    assert start.tolist() == [2, -1, -1]  # centres 4, 1, 1 minus half the window
    letters = np.array(list("ACGTN"))
    decoded = ["".join(letters[np.where(w.any(1), w.argmax(1), 4)]) for w in x]
    assert decoded == ["TTGG", "NACG", "NTTT"]


def test_mutagenesis_regions_from_top_variants_without_duplicates(tmp_path):
    top = tmp_path / "demo.top.tsv"
    top.write_text(
        "variant_id\tchrom\tpos\tref\talt\ttop_track\ttop_diff\tmax_abs_diff\n"
        "v1\tchr1\t101\tA\tG\tGATA\t-0.4\t0.4\n"
        "v2\tchr2\t6\tC\tT\tCTCF\t0.2\t0.2\n"
        "v3\tchr2\t1\tC\tT\tCTCF\t0.1\t0.1\n"
    )
    out = tmp_path / "regions.bed"
    # the same table twice: each window is listed once; only the first two rows of each
    write_mutagenesis_regions(
        out, predictions=tmp_path / "unused.h5", data=tmp_path / "unused.h5",
        variants=[top, top], top_variants=2, window=10,
    )  # fmt: skip
    assert out.read_text().splitlines() == [
        "chr1\t95\t105\tvariant_v1\tGATA",
        "chr2\t0\t10\tvariant_v2\tCTCF",
    ]
