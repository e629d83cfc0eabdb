"""The one track-sheet reader: columns, names and assays as tracks.schema.yaml says."""

from __future__ import annotations

import pytest
import yaml
from seq2chrom.config import TRACKS_SCHEMA_PATH
from seq2chrom.data.tracksheet import (
    TABLE_COLUMNS,
    Track,
    check_table,
    read_table,
    read_track_sheet,
    row_rules,
)
from seq2chrom.errors import InputError

HEADER = "name\tassay\tcell_type\tpath\tmd5\n"


def test_sheet_rows_in_order_as_strings(tmp_path):
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text(HEADER + "NA\tTF\tK562\tpeaks/na.bed\t\nb.2\tHistone\tHepG2\thttp://x/b\t\n")
    assert read_track_sheet(sheet) == [
        Track("NA", "TF", "K562", "peaks/na.bed"),  # "NA" stays a name, not a missing value
        Track("b.2", "Histone", "HepG2", "http://x/b"),
    ]
    assert read_table(sheet)["md5"].tolist() == ["", ""]


def test_rules_are_the_row_schema():
    spec = yaml.safe_load(TRACKS_SCHEMA_PATH.read_text())["properties"]
    pattern, forbidden, assays = row_rules()
    assert pattern.pattern == spec["name"]["pattern"]
    assert list(forbidden) == [".", ".."] and list(assays) == spec["assay"]["enum"]


@pytest.mark.parametrize(
    "rows, expected",
    [
        ("a\tTF\tK\tp\t\na\tDNase\tK\tq\t\n", "tracks.tsv:3: duplicate track name 'a'"),
        ("a/b\tTF\tK\tp\t\n", "tracks.tsv:2: bad track name 'a/b'"),
        ("..\tTF\tK\tp\t\n", "tracks.tsv:2: bad track name '..'"),
        (
            "a\tChIP\tK\tp\t\n",
            "tracks.tsv:2: assay 'ChIP' is not one of ['TF', 'DNase', 'Histone']",
        ),
    ],
)
def test_bad_rows_name_file_line_and_fix(tmp_path, rows, expected):
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text(HEADER + rows)
    with pytest.raises(InputError, match="fix: ") as error:
        read_track_sheet(sheet)
    assert str(error.value).startswith(f"{tmp_path}/{expected}")
    table = read_table(sheet, check=False)  # the workflow validates rows with the schema first
    with pytest.raises(InputError):
        check_table(table, sheet)


def test_missing_file_or_columns(tmp_path):
    with pytest.raises(InputError, match="track sheet not found.*set `tracks`"):
        read_table(tmp_path / "none.tsv")
    table = tmp_path / "targets.tsv"
    table.write_text("track\tassay\nCTCF_K562\tTF\n")
    with pytest.raises(InputError, match=r"targets.tsv:1: missing columns \['cell_type'\]"):
        read_table(table, TABLE_COLUMNS, name_column="track", key="data.bundle_targets")
