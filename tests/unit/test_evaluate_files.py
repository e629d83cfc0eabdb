"""metrics.tsv: written and read back by the evaluate stage's one writer and reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seq2chrom.errors import InputError
from seq2chrom.evaluate.files import read_metrics_table, write_metrics_table


def test_metrics_round_trip_keeps_a_track_named_na(tmp_path: Path) -> None:
    metrics = pd.DataFrame({
        "track": ["NA", "CTCF"], "assay": ["TF", "TF"], "cell_type": ["NA", "K562"],
        "n_pos": [3, 40], "auroc": [np.nan, 0.9], "auprc": [np.nan, 0.25],
        "status": ["too_few_positives", "ok"],
    })  # fmt: skip
    path = tmp_path / "metrics.tsv"
    write_metrics_table(metrics, path)
    assert path.read_text().splitlines()[1] == "NA\tTF\tNA\t3\tNA\tNA\ttoo_few_positives"
    table = read_metrics_table(path)
    assert table["track"].tolist() == ["NA", "CTCF"] and table["cell_type"].tolist()[0] == "NA"
    assert np.isnan(table.loc[0, "auroc"]) and table.loc[1, "auprc"] == 0.25


def test_metrics_reader_names_missing_file_and_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="metrics file not found"):
        read_metrics_table(tmp_path / "none.tsv")
    path = tmp_path / "metrics.tsv"
    path.write_text("track\tauroc\nA\t0.5\n")
    with pytest.raises(InputError, match=r"metrics.tsv:1: missing columns \['assay', 'cell_type'"):
        read_metrics_table(path)
