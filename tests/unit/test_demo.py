"""The embedded demo: determinism, genome composition, track files, planted motifs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pybedtools
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from pyfaidx import Fasta
from seq2chrom.cli import main
from seq2chrom.demo import DEMO_TRACKS, TF_TRACK_NAMES, demo_track
from seq2chrom.demo.genome import CHROM_SIZES
from seq2chrom.demo.motifs import load_factor_motifs, log_odds, sample_instances
from seq2chrom.demo.peaks import BROADPEAK, NARROWPEAK

REPO = Path(__file__).resolve().parents[2]
SEED = 3
SPLIT = {"chr7": "valid", "chr8": "test", "chr9": "test"}


def _run_demo(outdir: Path, seed: int) -> Path:
    assert main(["demo", "--out-dir", str(outdir), "--seed", str(seed)]) == 0
    return outdir


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return _run_demo(tmp_path_factory.mktemp("demo"), SEED)


@pytest.fixture(scope="module")
def genome(demo_dir) -> dict[str, np.ndarray]:
    """chrom -> (n,) uint8 ASCII as written (soft-masked)."""
    fasta = Fasta(str(demo_dir / "genome.fa"), sequence_always_upper=False)
    return {record.name: np.frombuffer(str(record[:]).encode(), np.uint8) for record in fasta}


@pytest.fixture(scope="module")
def peaks(demo_dir) -> dict[str, pd.DataFrame]:
    tables = {}
    for track in DEMO_TRACKS:
        columns = BROADPEAK if track.assay == "Histone" else NARROWPEAK
        path = demo_dir / "peaks" / f"{track.name}.bed.gz"
        tables[track.name] = pd.read_csv(path, sep="\t", header=None, names=columns)
    return tables


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix != ".fai"
    }


def test_same_seed_gives_identical_bytes(demo_dir, tmp_path):
    again = _files(_run_demo(tmp_path / "again", SEED))
    assert again == _files(demo_dir)
    # genome, truth, variants.vcf.gz, background.vcf.gz, regions.bed
    assert len(again) == 5 + len(DEMO_TRACKS)


def test_different_seed_gives_different_data(demo_dir, tmp_path):
    other = _run_demo(tmp_path / "other", SEED + 1)
    assert (other / "genome.fa").read_bytes() != (demo_dir / "genome.fa").read_bytes()
    for name in ("CTCF_K562.bed.gz", "H3K27ac_HepG2.bed.gz"):
        assert (other / "peaks" / name).read_bytes() != (demo_dir / "peaks" / name).read_bytes()
    assert (other / "truth.tsv").read_bytes() == (demo_dir / "truth.tsv").read_bytes()


def test_chromosome_names_and_sizes(genome):
    assert list(genome) == [f"chr{i}" for i in range(1, 10)]
    assert {name: len(seq) for name, seq in genome.items()} == CHROM_SIZES
    assert 3_000_000 < sum(CHROM_SIZES.values()) < 8_000_000
    assert CHROM_SIZES["chr7"] < CHROM_SIZES["chr1"]


def test_composition_is_human_like(genome):
    seq = np.concatenate(list(genome.values()))
    upper = seq & 0xDF
    assert set(np.unique(upper).tobytes()) <= set(b"ACGTN")
    bases = upper[upper != ord("N")]
    c, g = (bases == ord("C")).mean(), (bases == ord("G")).mean()
    assert 0.38 < c + g < 0.45
    cpg = ((bases[:-1] == ord("C")) & (bases[1:] == ord("G"))).mean()
    assert cpg / (c * g) < 0.5, "CpG must be depleted as in mammalian genomes"
    lower = (seq >= ord("a")).mean()
    assert 0.03 < lower < 0.3, "some soft-masked repeats"
    n_fraction = (upper == ord("N")).mean()
    assert 0 < n_fraction < 0.05
    assert genome["chr1"][0] == ord("N") and genome["chr9"][-1] == ord("N"), "gaps at ends"


def test_every_track_parses_as_bed_within_chromosomes(demo_dir, peaks):
    sheet = pd.read_csv(REPO / "config" / "tracks.tsv", sep="\t")
    for path in sheet["path"]:
        bed = pybedtools.BedTool(str(demo_dir / "peaks" / Path(path).name))
        assert bed.file_type == "bed" and bed.count() > 100, path
    for track in DEMO_TRACKS:
        table = peaks[track.name]
        assert table["chrom"].isin(list(CHROM_SIZES)).all()
        assert (table["start"] >= 0).all() and (table["start"] < table["end"]).all()
        assert (table["end"] <= table["chrom"].map(CHROM_SIZES)).all(), track.name
        width = table["end"] - table["start"]
        if track.assay == "TF":
            assert width.between(150, 400).all() and table["peak"].lt(width).all()
        elif track.assay == "Histone":
            assert width.median() > 1000, "histone tracks are broad"


def test_peaks_avoid_gaps(genome, peaks):
    for name in TF_TRACK_NAMES:
        for chrom, start, end in peaks[name][["chrom", "start", "end"]].itertuples(index=False):
            assert (genome[chrom][start:end] != ord("N")).all()


def _bin_labels(table: pd.DataFrame, chrom: str, size: int) -> np.ndarray:
    """DeepSEA rule, computed independently: bin positive when > half of it is in a peak."""
    covered = np.zeros(size + 1, dtype=np.int64)
    rows = table[table["chrom"] == chrom]
    np.add.at(covered, rows["start"].to_numpy(), 1)
    np.add.at(covered, rows["end"].to_numpy(), -1)
    inside = np.cumsum(covered)[:size] > 0
    n_bins = size // 200
    return inside[: n_bins * 200].reshape(n_bins, 200).sum(axis=1) > 100


def test_each_split_has_positives_and_negatives_under_tf_positive_selection(peaks):
    positives = {name: {"train": 0, "valid": 0, "test": 0} for name in TF_TRACK_NAMES}
    selected = {"train": 0, "valid": 0, "test": 0}
    for chrom, size in CHROM_SIZES.items():
        labels = np.array([_bin_labels(peaks[name], chrom, size) for name in TF_TRACK_NAMES])
        keep = labels.any(axis=0)
        split = SPLIT.get(chrom, "train")
        selected[split] += int(keep.sum())
        for name, row in zip(TF_TRACK_NAMES, labels, strict=True):
            positives[name][split] += int(row[keep].sum())
    for name, counts in positives.items():
        assert counts["test"] >= 40 and counts["valid"] >= 15, (name, counts)
        for split, n_pos in counts.items():
            assert n_pos < 0.5 * selected[split], (name, split)


def _best_scores(genome, intervals, pwm) -> np.ndarray:
    """Best log-odds score of `pwm` ``(w, 4)`` on either strand in each (chrom, start, end)."""
    lookup = np.full(256, 4, dtype=np.uint8)  # N -> column 4, scored very low
    for i, base in enumerate(b"ACGT"):
        lookup[[base, base + 32]] = i
    low = np.full((len(pwm), 1), -50.0)
    forward, reverse = np.hstack([pwm, low]), np.hstack([pwm[::-1, ::-1], low])
    columns = np.arange(len(pwm))
    best = []
    for chrom, start, end in intervals:
        windows = sliding_window_view(lookup[genome[chrom][start:end]], len(pwm))
        on_forward = forward[columns, windows].sum(axis=1).max()
        best.append(max(on_forward, reverse[columns, windows].sum(axis=1).max()))
    return np.array(best)


def test_planted_motifs_are_enriched_in_tf_peaks(genome, peaks):
    motifs = load_factor_motifs()
    rng = np.random.default_rng(0)
    chroms = rng.choice(list(CHROM_SIZES), size=300)
    starts = rng.integers(20_000, 290_000, size=300)
    random_windows = [(c, s, s + 270) for c, s in zip(chroms, starts, strict=True)]
    for name in TF_TRACK_NAMES:
        pwm = log_odds(motifs[demo_track(name).factors[0]].pfm)
        threshold = 0.7 * pwm.max(axis=1).sum()
        table = peaks[name].sample(150, random_state=0)
        summit = table["start"] + table["peak"]
        around_summit = zip(table["chrom"], summit - 100, summit + 100, strict=True)
        in_peaks = _best_scores(genome, around_summit, pwm)
        background = _best_scores(genome, random_windows, pwm)
        assert (in_peaks >= threshold).mean() > 0.85, name
        assert (background >= threshold).mean() < 0.35, name
        assert np.median(in_peaks) > np.quantile(background, 0.9), name


def test_truth_records_the_motifs_of_each_track(demo_dir):
    truth = pd.read_csv(demo_dir / "truth.tsv", sep="\t", dtype=str)
    assert list(truth.columns) == ["track", "assay", "cell_type", "motif_ids", "motif_names"]
    assert truth["track"].tolist() == [track.name for track in DEMO_TRACKS]
    by_track = truth.set_index("track")
    assert by_track.loc["CTCF_K562", "motif_ids"] == "MA0139.2"
    assert by_track.loc["CTCF_K562", "motif_names"] == "CTCF"
    for track in DEMO_TRACKS:
        ids = by_track.loc[track.name, "motif_ids"].split(",")
        assert len(ids) == len(track.factors) and all(i.startswith("MA") for i in ids)
        if track.assay == "DNase":
            expected = {
                by_track.loc[other.name, "motif_ids"]
                for other in DEMO_TRACKS
                if other.assay == "TF" and other.cell_type == track.cell_type
            }
            assert set(ids) == expected, track.name


def test_tracks_sheet_matches_the_package_table():
    sheet = pd.read_csv(REPO / "config" / "tracks.tsv", sep="\t", dtype=str)
    assert sheet["name"].tolist() == [track.name for track in DEMO_TRACKS]
    assert sheet["assay"].tolist() == [track.assay for track in DEMO_TRACKS]
    assert sheet["cell_type"].tolist() == [track.cell_type for track in DEMO_TRACKS]
    expected = [f"resources/demo/peaks/{track.name}.bed.gz" for track in DEMO_TRACKS]
    assert sheet["path"].tolist() == expected


def test_sampled_instances_follow_the_pfm_and_are_strong():
    pfm = load_factor_motifs()["CTCF"].pfm
    pwm = log_odds(pfm)
    bases = sample_instances(pfm, 4000, np.random.default_rng(1), min_score=0.7)
    assert bases.shape == (4000, len(pfm)) and bases.dtype == np.uint8
    scores = pwm[np.arange(len(pfm)), bases].sum(axis=1)
    assert scores.min() >= 0.7 * pwm.max(axis=1).sum()
    frequencies = np.stack([(bases == base).mean(axis=0) for base in range(4)], axis=1)
    assert np.corrcoef(frequencies.ravel(), pfm.ravel())[0, 1] > 0.9


def test_gzip_members_carry_no_timestamp(demo_dir):
    raw = (demo_dir / "peaks" / "CTCF_K562.bed.gz").read_bytes()
    assert raw[4:8] == b"\x00\x00\x00\x00"
    assert gzip.decompress(raw).startswith(b"chr1\t")
