"""Prediction tracks: bigWigs read back equal direct predictions of the centred windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyBigWig
from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.inference.predict import predict_both_strands
from seq2chrom.inference.tracks import (
    merge_regions,
    predicted_steps,
    region_steps,
    write_bigwigs,
)

from tests.unit.toy_models import composition_model


def test_steps_tile_each_region_with_the_bins():
    steps = region_steps(np.array([1000]), np.array([1650]), step=200, bin_size=200)
    assert steps.bin_start.tolist() == [1000, 1200, 1400]
    assert steps.start.tolist() == [1000, 1200, 1400]
    assert steps.end.tolist() == [1200, 1400, 1650]  # the last value runs to the region's end


def test_smaller_steps_write_the_step_around_each_bin_centre():
    steps = region_steps(np.array([0]), np.array([400]), step=100, bin_size=200)
    assert steps.bin_start.tolist() == [0, 100, 200, 300]
    assert steps.start.tolist() == [50, 150, 250, 350]
    assert steps.end.tolist() == [150, 250, 350, 400]


def test_overlapping_regions_are_merged():
    regions = pd.DataFrame({"chrom": ["a", "a", "b", "a"], "start": [0, 50, 5, 300],
                            "end": [100, 120, 9, 400]})  # fmt: skip
    merged = merge_regions(regions)
    assert merged.values.tolist() == [["a", 0, 120], ["a", 300, 400], ["b", 5, 9]]


def test_bigwig_values_equal_direct_predictions(tmp_path):
    rng = np.random.default_rng(0)
    genome = {"chrA": rng.choice(np.frombuffer(b"ACGT", np.uint8), 3000)}
    window, bin_size = 1000, 200
    model = composition_model(window)
    regions = pd.DataFrame({"chrom": ["chrA", "chrA"], "start": [0, 1800], "end": [1000, 3000]})
    chunks = list(predicted_steps(model, genome.__getitem__, regions, 200, bin_size, 4))
    paths = {"AT": tmp_path / "AT.bw", "GC": tmp_path / "GC.bw"}
    write_bigwigs(paths, [("chrA", 3000)], chunks, {"AT": 0, "GC": 1})
    handle = pyBigWig.open(str(paths["GC"]))
    intervals = handle.intervals("chrA")
    handle.close()
    starts = [start for start, _, _ in intervals]
    assert starts == [0, 200, 400, 600, 800, 1800, 2000, 2200, 2400, 2600, 2800]
    padded = np.concatenate([np.full(400, ord("N")), genome["chrA"], np.full(600, ord("N"))])
    for start, end, value in intervals:
        x = one_hot_encode(padded[start : start + window].astype(np.uint8))[None]
        direct = predict_both_strands(model, x.astype("float32"))[0, 1]
        assert end - start == 200
        assert abs(value - direct) < 1e-6
    # with N padding the GC fraction is below the 50% of the random sequence at both ends
    assert intervals[0][2] < 0.35 and intervals[-1][2] < 0.35
