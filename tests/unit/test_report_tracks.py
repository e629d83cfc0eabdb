"""The report's Tracks table: seq2chrom.report.tracks and `seq2chrom tracks-table`."""

from __future__ import annotations

import gzip
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.report.tracks import COLUMNS, tracks_note, tracks_table

SHEET = pd.DataFrame(
    {
        "name": ["CTCF_K562", "NA", "DNase_H1"],
        "assay": ["TF", "TF", "DNase"],
        "cell_type": ["K562", "K562", "H1"],
        "path": ["peaks/ctcf.bed", "https://example.org/na.bed.gz", "peaks/dnase.bed"],
    }
)


def metrics(auroc: list[float], auprc: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"track": ["CTCF_K562", "NA", "DNase_H1"], "auroc": auroc, "auprc": auprc})


def test_one_row_per_track_with_every_models_metrics() -> None:
    table = tracks_table(
        SHEET,
        peaks=[4, None, 0],
        positive_bins={"CTCF_K562": 30, "NA": 2},
        metrics={
            "deepsea": metrics([0.9, np.nan, 0.8], [0.5, np.nan, 0.4]),
            "danq": metrics([0.95, 0.6, 0.85], [0.55, 0.1, 0.45]).iloc[::-1],  # any order
        },
        base_tracks=["CTCF_K562", "DNase_H1", "gone"],
    )
    assert list(table.columns) == [
        *COLUMNS,
        *["deepsea_auroc", "deepsea_auprc", "danq_auroc", "danq_auprc"],
    ]
    assert table["track"].tolist() == ["CTCF_K562", "NA", "DNase_H1"]  # sheet order
    assert table["source"].tolist() == SHEET["path"].tolist()
    assert table["peaks"].tolist() == [4, pd.NA, 0]
    assert table["positive_bins"].tolist() == [30, 2, pd.NA]
    assert table["new"].tolist() == ["no", "yes", "no"]
    assert table["danq_auroc"].tolist() == [0.95, 0.6, 0.85]
    assert np.isnan(table.loc[1, "deepsea_auroc"]) and table.loc[2, "deepsea_auprc"] == 0.4
    assert tracks_note(table, "base/config.yaml") == (
        "3 tracks, 1 new since the base model (base/config.yaml)."
    )


def test_without_a_base_model_no_track_is_new() -> None:
    table = tracks_table(SHEET, peaks=[1, 2, 3], positive_bins={}, metrics={})
    assert table["new"].tolist() == ["no"] * 3
    assert list(table.columns) == COLUMNS
    assert tracks_note(table, None) == "3 tracks. No base model is set, so no track is marked new."
    with pytest.raises(ValueError, match="2 peak counts for 3 tracks"):
        tracks_table(SHEET, peaks=[1, 2], positive_bins={}, metrics={})


class Rows(HTMLParser):
    """The text of every cell, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def test_cli_counts_peaks_and_positive_bins(tmp_path: Path) -> None:
    (tmp_path / "a.bed.gz").write_bytes(
        gzip.compress(b"track name=a\r\nchr1\t0\t100\r\nchr1\t50\t150\r\nchr2\t0\t10\r\n")
    )
    (tmp_path / "b.bed").write_text("")
    (tmp_path / "tracks.tsv").write_text(
        "name\tassay\tcell_type\tpath\nA\tTF\tK562\ta.bed.gz\nB\tDNase\tH1\thttps://x.org/b.bed\n"
    )
    (tmp_path / "summary.tsv").write_text(
        "track\tassay\tcell_type\ttrain\tvalid\ttest\ttotal\tpositive_fraction\n"
        "all samples\t\t\t2\t1\t1\t4\t1.0\n"
        "A\tTF\tK562\t2\t1\t0\t3\t0.75\nB\tDNase\tH1\t1\t0\t0\t1\t0.25\n"
    )
    (tmp_path / "m.tsv").write_text(
        "track\tassay\tcell_type\tn_pos\tauroc\tauprc\tstatus\n"
        "A\tTF\tK562\t12\t0.91\t0.4\tok\nB\tDNase\tH1\t1\tNA\tNA\ttoo_few_positives\n"
    )
    (tmp_path / "base.yaml").write_text("model: danq\ntracks: [A]\n")
    out = {"tsv": tmp_path / "r" / "tracks.tsv", "html": tmp_path / "r" / "tracks.html"}
    args = ["tracks-table", "--tracks", tmp_path / "tracks.tsv",
            "--summary", tmp_path / "summary.tsv", "--peaks", tmp_path / "a.bed.gz",
            tmp_path / "b.bed", "--metrics", tmp_path / "m.tsv",
            "--models", "danq", "--out-table", out["tsv"], "--out-html", out["html"]]  # fmt: skip
    assert main([str(arg) for arg in [*args, f"--base-config={tmp_path / 'base.yaml'}"]]) == 0
    table = pd.read_csv(out["tsv"], sep="\t", keep_default_na=False)
    assert table.to_dict("records") == [
        {"track": "A", "assay": "TF", "cell_type": "K562", "source": "a.bed.gz", "peaks": 3,
         "positive_bins": 3, "new": "no", "danq_auroc": "0.91", "danq_auprc": "0.4"},
        {"track": "B", "assay": "DNase", "cell_type": "H1", "source": "https://x.org/b.bed",
         "peaks": 0, "positive_bins": 1, "new": "yes", "danq_auroc": "NA", "danq_auprc": "NA"},
    ]  # fmt: skip
    rows = Rows()
    rows.feed(out["html"].read_text())
    assert rows.rows[0][:7] == COLUMNS
    assert rows.rows[1][:7] == ["A", "TF", "K562", "a.bed.gz", "3", "3", "no"]
    assert "1 new since the base model" in out["html"].read_text()

    assert main([str(arg) for arg in [*args, "--base-config="]]) == 0  # no base model
    assert pd.read_csv(out["tsv"], sep="\t")["new"].tolist() == ["no", "no"]
    assert main([str(arg) for arg in args[:7] + args[8:]]) == 1  # one peak file for two tracks
