"""The one TSV writer and reader: formats, missing values, text columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from seq2chrom.io import METRIC_FLOATS, SIGNIFICANT_FLOATS, read_tsv, tsv_text, write_tsv


def test_write_tsv_formats_floats_and_missing_values(tmp_path: Path) -> None:
    table = pd.DataFrame({"track": ["NA", "b"], "n": [1, 2], "auroc": [0.5, np.nan]})
    write_tsv(table, tmp_path / "m.tsv", floats=METRIC_FLOATS)
    assert (tmp_path / "m.tsv").read_text() == "track\tn\tauroc\nNA\t1\t0.500000\nb\t2\tNA\n"
    write_tsv(table, tmp_path / "s.tsv", floats=SIGNIFICANT_FLOATS, na="", header=False)
    assert (tmp_path / "s.tsv").read_text() == "NA\t1\t0.5\nb\t2\t\n"
    assert tsv_text(table.head(1)) == "track\tn\tauroc\nNA\t1\t0.5\n"


def test_read_tsv_keeps_text_columns_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("track\tref\tscore\nNA\tNA\tNA\n1\t\t0.25\n")
    loose = read_tsv(path)  # every "NA" or empty cell is missing
    assert loose["track"].isna().tolist() == [True, False] and loose["ref"].isna().all()
    kept = read_tsv(path, text=("track", "ref", "absent"))
    assert kept["track"].tolist() == ["NA", "1"] and kept["ref"].tolist() == ["NA", ""]
    assert np.isnan(kept.loc[0, "score"]) and kept.loc[1, "score"] == 0.25
    assert read_tsv(path, text="all")["score"].tolist() == ["NA", "0.25"]
