"""Regions BED: names, an optional track column, chromosome matching and bad lines."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from seq2chrom.errors import InputError
from seq2chrom.inference.regions import file_stem, place_regions, read_regions


def test_names_default_to_the_interval_and_column_5_is_a_track_unless_a_score(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\n1\t10\t20\n1\t30\t40\tsite\tCTCF_K562\n1\t50\t60\t.\t900\n")
    regions = read_regions(bed)
    assert regions["name"].tolist() == ["1:10-20", "site", "1:50-60"]
    assert regions["track"].tolist() == ["", "CTCF_K562", ""]
    placed = place_regions(regions, {"chr1": 100}, bed)
    assert placed["chrom"].tolist() == ["chr1"] * 3


@pytest.mark.parametrize(
    "line, message",
    [("1\t10\n", "2 column(s)"), ("1\t20\t10\n", "bad interval '20'-'10'"), ("1\ta\t5\n", "bad")],
)
def test_bad_lines_stop_naming_the_line(tmp_path, line, message):
    bed = tmp_path / "r.bed"
    bed.write_text("1\t0\t5\n" + line)
    with pytest.raises(InputError, match=re.escape(f"r.bed:2: {message}")):
        read_regions(bed)


def test_regions_outside_the_genome_stop(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t150\tlong\nchrZ\t0\t5\n")
    regions = read_regions(bed)
    with pytest.raises(InputError, match=r"chrZ.*fix: use the genome's names"):
        place_regions(regions, {"chr1": 100}, bed)
    with pytest.raises(InputError, match="long ends past the end of chr1"):
        place_regions(regions.head(1), {"chr1": 100}, bed)


def test_file_stems_are_safe():
    assert file_stem("variant_chr1:5:A:<DEL>") == "variant_chr1_5_A__DEL_"


def test_best_test_windows_pick_the_highest_positive_bin_of_each_track():
    from seq2chrom.inference.regions import best_test_windows
    from seq2chrom.splitfile import Predictions

    y_pred = np.array([[0.9, 0.1], [0.5, 0.8], [0.7, 0.2]], dtype=np.float32)
    y = np.array([[0, 0], [1, 1], [1, 0]], dtype=np.uint8)  # bin 0 scores highest but is negative
    predictions = Predictions(y_pred, ["a", "b"], np.array(["chr1", "chr2", "chr3"]),
                              np.array([1000, 2000, 3000]))  # fmt: skip
    rows = best_test_windows(predictions, y, ["a", "b"], window=1000, bin_size=200)
    assert rows.values.tolist() == [
        ["chr3", 2600, 3600, "best_a", "a"],
        ["chr2", 1600, 2600, "best_b", "b"],
    ]
    no_positive = best_test_windows(predictions, np.zeros_like(y), ["a"], 1000, 200)
    assert no_positive.empty


def test_variant_windows_centre_each_variant_at_index_500():
    from seq2chrom.inference.regions import variant_windows

    top = pd.DataFrame(
        {"variant_id": ["rs1", "v2"], "chrom": ["chr1", "chr2"], "pos": [1001, 200],
         "top_track": ["CTCF", "GATA1"]}
    )  # fmt: skip
    rows = variant_windows(top, 1000)
    assert rows.values.tolist() == [
        ["chr1", 500, 1500, "variant_rs1", "CTCF"],
        ["chr2", 0, 699, "variant_v2", "GATA1"],  # start clipped at the chromosome's start
    ]
