"""Information-content logos (glyph paths on a reused figure) and the motif summary table."""

from __future__ import annotations

import time

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from seq2chrom.cli import main
from seq2chrom.motifs.logos import COLOURS, LogoCanvas, draw_logos, letter_heights, logo_paths
from seq2chrom.motifs.meme import Motif, write_meme
from seq2chrom.motifs.tomtom import COLUMNS


def test_letter_heights():
    assert np.allclose(letter_heights(np.full((3, 4), 0.25)), 0)
    np.testing.assert_allclose(letter_heights(np.eye(4)), 2 * np.eye(4))
    heights = letter_heights(np.array([[0.5, 0.5, 0.0, 0.0]]))
    np.testing.assert_allclose(heights, [[0.5, 0.5, 0, 0]])


def test_paths_stack_largest_on_top():
    heights = np.array([[0.2, 1.0, 0.0, 0.5], [0.0, 0.0, 0.0, 1.8]])
    paths = logo_paths(heights)
    assert paths[2] is None  # G never drawn
    extents = [p.get_extents() if p is not None else None for p in paths]
    # column 0: A (0.2) at the bottom, T (0.5) above it, C (1.0) on top
    a, c, t = extents[0], extents[1], extents[3]
    assert a.y0 == pytest.approx(0, abs=1e-9) and a.y1 == pytest.approx(0.2)
    assert c.y0 == pytest.approx(0.7) and c.y1 == pytest.approx(1.7)
    assert t.y0 == pytest.approx(0.0, abs=1e-9) and t.y1 == pytest.approx(1.8)  # T spans both
    assert 0 < a.x0 < a.x1 < 1 and 1 < t.x1 < 2


def test_logo_png_shows_the_letters(tmp_path):
    pwm = np.full((10, 4), 0.25)
    pwm[2] = [1, 0, 0, 0]  # a full-height green A
    canvas = LogoCanvas(10)
    canvas.draw(pwm, "filter0: A", tmp_path / "a.png")
    canvas.draw(np.full((10, 4), 0.25), "flat", tmp_path / "flat.png")
    image = matplotlib.image.imread(tmp_path / "a.png")[..., :3]
    green = np.array([int(COLOURS[0][i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(image - green).sum(axis=-1) < 0.05).sum() > 200
    flat = matplotlib.image.imread(tmp_path / "flat.png")[..., :3]
    assert (np.abs(flat - green).sum(axis=-1) < 0.05).sum() == 0  # old patches were removed


def test_logos_are_fast(tmp_path):
    rng = np.random.default_rng(0)
    pwms = [rng.dirichlet(np.full(4, 0.3), size=26) for _ in range(40)]
    started = time.perf_counter()
    draw_logos(pwms, [f"f{i}" for i in range(40)], [tmp_path / f"{i}.png" for i in range(40)])
    per_logo = (time.perf_counter() - started) / 40
    assert per_logo < 0.15  # 320 logos in < 30 s on 2 cores needs < 0.19 s per logo per core
    assert len(list(tmp_path.glob("*.png"))) == 40


def test_cli_logos_and_summary(tmp_path):
    rng = np.random.default_rng(1)
    motifs = [Motif(f"filter{i}", rng.dirichlet(np.ones(4), size=12), nsites=30) for i in (0, 2, 3)]
    write_meme(tmp_path / "filters.meme", motifs)
    pd.DataFrame(
        {
            "filter": [f"filter{i}" for i in range(4)],
            "n_sites": [30, 2, 30, 30],
            "information": [10.0, 0.0, 8.0, 6.0],
            "max_activation": [3.0, 1.0, 2.0, 2.0],
            "status": ["written", "too_few_sites", "written", "written"],
            "influence": [0.01, 0.0, 0.2, 0.05],
            "top_track": ["a", "a", "b", "a"],
            "top_track_influence": [0.02, 0.0, 0.3, 0.1],
        }
    ).to_csv(tmp_path / "filters.tsv", sep="\t", index=False)
    rows = [
        ["filter3", "MA0139.2", 0, 1e-9, 8.8e-7, 1e-6, 12, "ACGT", "ACGT", "+", "CTCF"],
        ["filter0", "MA0138.3", -2, 1e-7, 8.8e-5, 1e-4, 10, "ACGT", "ACGT", "-", "REST"],
        ["filter3", "MA1930.2", 1, 1e-6, 8.8e-4, 1e-3, 11, "ACGT", "ACGT", "+", "CTCF"],
    ]
    tomtom = pd.DataFrame(rows, columns=[*COLUMNS, "Target_name"])
    tomtom.to_csv(tmp_path / "tomtom.tsv", sep="\t", index=False)
    out = tmp_path / "out"
    args = ["logos", "--meme", str(tmp_path / "filters.meme"), "--filters"]
    args += [str(tmp_path / "filters.tsv"), "--tomtom", str(tmp_path / "tomtom.tsv")]
    args += ["--name", "danq", "--out-dir", str(out / "logos")]
    args += ["--out-summary", str(out / "summary.tsv"), "--out-html", str(out / "summary.html")]
    assert main(args) == 0
    assert sorted(p.name for p in (out / "logos").iterdir()) == ["filter0.png", "filter3.png"]
    summary = pd.read_csv(out / "summary.tsv", sep="\t", keep_default_na=False)
    assert summary["filter"].tolist() == ["filter3", "filter0", "filter2"]
    assert summary["best_match"].tolist() == ["CTCF", "REST", ""]
    assert summary.loc[0, "best_match_id"] == "MA0139.2"
    assert summary["logo"].tolist() == ["filter3.png", "filter0.png", ""]
    html = (out / "summary.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "2 of 3 filters" in html and "CTCF" in html
