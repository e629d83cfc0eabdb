"""TSV -> standalone HTML tables for the report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from seq2chrom.cli import COMMANDS, main
from seq2chrom.io import read_tsv
from seq2chrom.report.tables import format_column, table_html, tables_html


class Cells(HTMLParser):
    """Collects the text of every th/td cell and its class attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []
        self._open: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open = (tag, dict(attrs).get("class") or "")
            self.cells.append((tag, self._open[1], ""))

    def handle_data(self, data):
        if self._open:
            tag, cls, text = self.cells[-1]
            self.cells[-1] = (tag, cls, text + data)

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._open = None


def parse(page: str) -> list[tuple[str, str, str]]:
    parser = Cells()
    parser.feed(page)
    return parser.cells


def test_number_formatting_per_column() -> None:
    assert format_column(pd.Series([455024, 12])) == ["455,024", "12"]
    assert format_column(pd.Series([0.93412, np.nan, 1.0])) == ["0.934", "NA", "1.000"]
    assert format_column(pd.Series([3.2e-7, 0.5, 0.0])) == ["3.20e-07", "0.500", "0"]
    assert format_column(pd.Series([12.0, np.nan])) == ["12", "NA"]  # integers with gaps
    assert format_column(pd.Series(["TF", None])) == ["TF", "NA"]
    assert format_column(pd.Series([123456.7, 150.25])) == ["123,457", "150.2"]
    assert format_column(pd.Series(pd.array([7, None], dtype="Int64"))) == ["7", "NA"]


def test_table_html_is_a_complete_escaped_page() -> None:
    table = pd.DataFrame({"track": ["<CTCF>", "REST"], "n_pos": [1200, 3], "auroc": [0.91, None]})
    page = table_html(table, title="Metrics & more", note="note text")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<h1>Metrics &amp; more</h1>" in page and "note text" in page
    assert "<style>" in page and "<script" not in page
    cells = parse(page)
    assert cells[:3] == [("th", "", "track"), ("th", "num", "n_pos"), ("th", "num", "auroc")]
    assert ("td", "", "<CTCF>") in cells  # escaped in the page, text again once parsed
    assert "&lt;CTCF&gt;" in page
    assert ("td", "num", "1,200") in cells
    assert ("td", "num na", "NA") in cells


def test_read_tsv_keeps_na_names_and_renders_missing_values(tmp_path: Path) -> None:
    tsv = tmp_path / "summary.tsv"
    tsv.write_text("assay\tn_tracks\tmedian_auroc\nTF\t14\t0.95\nNA_class\t2\tNA\n")
    cells = parse(table_html(read_tsv(tsv), title="Summary"))
    assert ("td", "num", "0.950") in cells and ("td", "num na", "NA") in cells
    assert ("td", "", "NA_class") in cells
    assert "table-html" not in COMMANDS  # no rule renders a loose TSV


def test_tables_html_and_config_html(tmp_path: Path) -> None:
    page = tables_html(
        [("A", pd.DataFrame({"x": [1]})), ("B", pd.DataFrame({"y": ["z"]}))], title="T"
    )
    assert page.count("<table>") == 2 and "<h1>A</h1>" in page and "<h1>B</h1>" in page
    tracks = tmp_path / "tracks.tsv"
    tracks.write_text("name\tassay\tcell_type\tpath\nCTCF_K562\tTF\tK562\tp.bed.gz\n")
    out = tmp_path / "config.html"
    config = '{"bins": {"size": 200}, "split": {"test": ["chr8", "chr9"]}, "genome": ""}'
    args = ["config-html", "--config-json", config, "--tracks", str(tracks), "--out", str(out)]
    assert main(args) == 0
    cells = parse(out.read_text())
    assert ("td", "", "bins.size") in cells and ("td", "", "chr8, chr9") in cells
    assert ("td", "", "(not set)") in cells and ("td", "", "CTCF_K562") in cells
    assert main([*args[:2], "{not json", *args[3:]]) == 1
    assert main([*args[:3], "--tracks=", *args[5:]]) == 0  # bundle mode: no tracks sheet
    page = out.read_text()
    assert "Workflow settings" in page and "CTCF_K562" not in page and page.count("<table>") == 1


def test_config_html_tables_each_models_train_settings(tmp_path: Path) -> None:
    config = {
        "train": {"epochs": 30, "patience": 5, "optimizer": {"name": None}},
        "models": {"deepsea": {"preset": "full"}, "danq": {"train": {"epochs": 60}}},
    }
    out = tmp_path / "config.html"
    args = ["config-html", "--config-json", json.dumps(config), "--tracks=", "--out", str(out)]
    assert main(args) == 0
    page = out.read_text()
    assert "Training settings per model" in page and page.count("<table>") == 2
    rows = [cell[2] for cell in parse(page.split("Training settings per model")[1])]
    assert rows[:3] == ["key", "deepsea", "danq"]
    assert rows[3:6] == ["epochs", "30", "60 (own)"] and rows[6:9] == ["patience", "5", "5"]
