"""MEME minimal motif format: writing, reading back, and rejecting bad files."""

from __future__ import annotations

import numpy as np
import pytest
from seq2chrom.errors import InputError
from seq2chrom.motifs.meme import Motif, format_meme, read_meme, write_meme


def motifs() -> list[Motif]:
    rng = np.random.default_rng(0)
    return [
        Motif("filter0", rng.dirichlet(np.ones(4), size=26), nsites=118),
        Motif("MA0139.2", rng.dirichlet(np.ones(4), size=5), name="CTCF", nsites=7),
    ]


def test_round_trip(tmp_path):
    write_meme(tmp_path / "m.meme", motifs())
    back = read_meme(tmp_path / "m.meme")
    assert [(m.id, m.name, m.nsites, m.matrix.shape) for m in back] == [
        ("filter0", "", 118, (26, 4)),
        ("MA0139.2", "CTCF", 7, (5, 4)),
    ]
    for original, read in zip(motifs(), back, strict=True):
        np.testing.assert_allclose(read.matrix, original.matrix, atol=2e-6)
    assert back[1].label == "CTCF" and back[0].label == "filter0"


def test_format_is_meme_minimal_version_4():
    text = format_meme(motifs()[:1]).splitlines()
    assert text[0] == "MEME version 4"
    assert "ALPHABET= ACGT" in text and "strands: + -" in text
    background = text.index("Background letter frequencies")
    assert text[background + 1] == "A 0.250000 C 0.250000 G 0.250000 T 0.250000"
    motif = text.index("MOTIF filter0")
    assert text[motif + 1] == "letter-probability matrix: alength= 4 w= 26 nsites= 118 E= 0"
    rows = np.array([[float(v) for v in line.split()] for line in text[motif + 2 : motif + 28]])
    assert rows.shape == (26, 4)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-5)


def test_reads_meme_suite_style_file(tmp_path):
    path = tmp_path / "db.meme"
    path.write_text(
        "MEME version 5\n\nALPHABET= ACGT\n\nstrands: +\n\nBackground letter frequencies\n"
        "A 0.3 C 0.2 G 0.2 T 0.3\n\nMOTIF M1 alt_1\n\n"
        "letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 1.2e-3\n"
        "  0.5 0.5 0 0\n  2 0 0 2\nURL http://example.org\n"
    )
    [motif] = read_meme(path)
    assert (motif.id, motif.name, motif.nsites) == ("M1", "alt_1", 20)
    np.testing.assert_allclose(motif.matrix, [[0.5, 0.5, 0, 0], [0.5, 0, 0, 0.5]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "not a MEME motif file"),
        ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "not DNA"),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 2\n0.1 0.2 0.3 0.4\n", "rows"),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n0.1 0.2 0.3\n", "row"),
        ("MEME version 4\n", "no 'letter-probability matrix'"),
    ],
)
def test_bad_files_raise_input_error(tmp_path, text, message):
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_meme(path)


def test_write_rejects_bad_motifs():
    with pytest.raises(ValueError, match="expected"):
        format_meme([Motif("x", np.ones((4, 5)).T[:, :3])])
    with pytest.raises(ValueError, match="single words"):
        format_meme([Motif("two words", np.full((3, 4), 0.25))])
