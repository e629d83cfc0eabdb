"""Tiling: windows inside the chromosome, mostly-N windows and blacklisted bins dropped."""

import numpy as np
import pytest
from seq2chrom.data.bins import (
    CHROMOSOMES,
    overlaps_any,
    read_bins,
    selected_sequences,
    tile_chromosome,
    tile_genome,
    unknown_before,
    window_offset,
    write_bins,
)
from seq2chrom.data.genome import open_genome
from seq2chrom.data.one_hot import IS_UNKNOWN
from seq2chrom.data.peaks import Intervals


def seq(text):
    return np.frombuffer(text.encode(), np.uint8)


def test_windows_centred_and_inside_the_chromosome():
    starts = tile_chromosome(seq("A" * 2050), size=200, window=1000)
    # Window = [start - 400, start + 600): needs start >= 400 and start + 600 <= 2050.
    assert starts.tolist() == [400, 600, 800, 1000, 1200, 1400]
    assert window_offset(200, 1000) == -400
    assert window_offset(200, 1001) == -400  # odd margin: the extra base goes right


def test_short_chromosome_has_no_bins():
    assert tile_chromosome(seq("A" * 999), 200, 1000).size == 0
    assert tile_chromosome(seq(""), 200, 1000).size == 0


def test_window_mostly_unknown_is_dropped_half_is_kept():
    # Window of bin 400 is [0, 1000); bin 600's is [200, 1200).
    text = "N" * 500 + "acgt" * 125 + "A" * 1000  # first window exactly half N: kept
    assert tile_chromosome(seq(text), 200, 1000)[0] == 400
    text = "R" * 501 + "a" * 499 + "A" * 1000  # IUPAC counts as unknown; 501 > 500: dropped
    assert tile_chromosome(seq(text), 200, 1000)[0] == 600
    lower = tile_chromosome(seq("acgt" * 500), 200, 1000)  # soft-masked bases are known
    assert lower.tolist() == tile_chromosome(seq("ACGT" * 500), 200, 1000).tolist()


def test_blacklist_drops_bins_overlapping_by_one_base():
    blacklist = Intervals(np.array([799, 1400, 1000]), np.array([800, 1450, 1000]))
    starts = tile_chromosome(seq("C" * 3000), 200, 1000, blacklist)
    # [799, 800) overlaps bin 600; [1400, 1450) overlaps bin 1400; the empty region nothing.
    assert 600 not in starts and 1400 not in starts
    assert {400, 800, 1000, 1200, 1600}.issubset(starts.tolist())


def test_overlaps_any_against_brute_force():
    rng = np.random.default_rng(3)
    region_starts = rng.integers(0, 5000, 40)
    regions = Intervals(region_starts, region_starts + rng.integers(0, 300, 40))
    starts = np.arange(0, 5000, 50)
    pairs = list(zip(regions.starts, regions.ends, strict=True))
    expected = [any(b < e and b < s + 50 and e > s for b, e in pairs) for s in starts]
    assert overlaps_any(starts, starts + 50, regions).tolist() == expected


def test_unknown_counts_segment_by_segment():
    rng = np.random.default_rng(0)
    sequence = np.frombuffer(b"ACGTN", np.uint8)[rng.integers(0, 5, 10_001)].copy()
    points = np.sort(rng.integers(0, 10_002, 300))
    expected = np.concatenate([[0], np.cumsum(IS_UNKNOWN[sequence])])[points]
    np.testing.assert_array_equal(unknown_before(sequence, points, segment=97), expected)


def test_tile_genome_round_trips_through_hdf5(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "A" * 2400 + "\n>tiny\nACGT\n>chr2\n" + "G" * 1600 + "\n")
    blacklist = {"chr2": Intervals(np.array([0]), np.array([450]))}  # drops chr2 bin 400
    bins = tile_genome(open_genome(fasta), 200, 1000, blacklist)
    write_bins(tmp_path / "bins.h5", bins)
    loaded = read_bins(tmp_path / "bins.h5")
    assert loaded.chroms == ["chr1", "tiny", "chr2"]
    assert loaded.chrom_lengths.tolist() == [2400, 4, 1600]
    assert loaded.start.tolist() == [400, 600, 800, 1000, 1200, 1400, 1600, 1800, 600, 800, 1000]
    assert loaded.chrom_offsets.tolist() == [0, 8, 8, 11]
    assert loaded.chrom_index().tolist() == [0] * 8 + [2] * 3
    assert (loaded.size, loaded.window) == (200, 1000)
    assert loaded.start[loaded.of("chr2")].tolist() == [600, 800, 1000]
    assert loaded.chrom_sizes() == {"chr1": 2400, "tiny": 4, "chr2": 1600}


@pytest.mark.parametrize("size, window", [(200, 1000), (100, 100), (50, 175)])
def test_every_kept_window_is_inside(size, window):
    starts = tile_chromosome(seq("T" * 3333), size, window)
    windows = starts + window_offset(size, window)
    assert starts.size and windows.min() >= 0 and (windows + window).max() <= 3333
    assert np.all(starts % size == 0)


def test_default_chromosomes_keep_autosomes_x_and_y_with_or_without_chr():
    names = ["chr1", "chr22", "chrX", "chrY", "7", "X", "chrM", "MT", "chr1_gl000191_random"]
    names += ["chrUn_gl000220", "chr6_ssto_hap7", "chr10a", "HLA-A*01:01"]
    kept = selected_sequences(names, CHROMOSOMES)
    assert [n for n, k in zip(names, kept, strict=True) if k] == [
        "chr1",
        "chr22",
        "chrX",
        "chrY",
        "7",
        "X",
    ]
    assert selected_sequences(names, None).all()
    with pytest.raises(ValueError, match="bins.chromosomes"):
        selected_sequences(names, "chr(")


def test_unselected_sequences_stay_listed_without_bins(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(
        ">chr1\n" + "A" * 1600 + "\n>chr1_random\n" + "C" * 1600 + "\n>chrM\n" + "G" * 1600 + "\n"
    )
    genome = open_genome(fasta)
    default = tile_genome(genome, 200, 1000, chromosomes=CHROMOSOMES)
    assert default.chroms == ["chr1", "chr1_random", "chrM"]
    assert default.chrom_offsets.tolist() == [0, 4, 4, 4]  # starts 400..1000
    pieces = tile_genome(genome, 200, 1000, chromosomes=r"(chr)?([0-9]+|X|Y)(_.*)?")
    assert pieces.chrom_offsets.tolist() == [0, 4, 8, 8]
