"""The training split is written in a seeded full permutation: same samples, batches that mix."""

import h5py
import numpy as np
import pytest
from seq2chrom.data.assemble import assemble_labels
from seq2chrom.data.bins import tile_genome
from seq2chrom.data.encode import write_split_file
from seq2chrom.data.genome import open_genome
from seq2chrom.data.labels import save_labels
from seq2chrom.data.tracksheet import read_track_sheet
from seq2chrom.training.batches import H5Batches

N_CHROMS, BINS_PER_CHROM, ID_BITS = 40, 200, 13  # 8,000 samples, each named by 13 label bits


@pytest.fixture(scope="module")
def genome_split(tmp_path_factory):
    """Train split of 40 chromosomes (60-column FASTA lines) whose labels spell the bin number.

    Returns (folder, genome, n); genome order and shuffled (seed 7) files are train.h5 and
    shuffled.h5.
    """
    folder = tmp_path_factory.mktemp("order")
    rng = np.random.default_rng(0)
    length = BINS_PER_CHROM * 200 + 800  # windows of 1000 bp around 200 bins
    with open(folder / "genome.fa", "w") as handle:
        for k in range(N_CHROMS):
            sequence = "".join(rng.choice(list("ACGTacgtN"), length))
            lines = [sequence[i : i + 60] for i in range(0, length, 60)]
            handle.write(f">chr{k + 1}\n" + "\n".join(lines) + "\n")
    genome = open_genome(folder / "genome.fa")
    bins = tile_genome(genome, 200, 1000)
    n = len(bins)
    assert n == N_CHROMS * BINS_PER_CHROM
    ids = (np.arange(n)[:, None] >> np.arange(ID_BITS)) & 1  # (n, 13): bit b of the bin number
    names = [f"bit{b}" for b in range(ID_BITS)]
    rows = [f"{name}\tTF\tX\tp" for name in names]
    (folder / "tracks.tsv").write_text("name\tassay\tcell_type\tpath\n" + "\n".join(rows) + "\n")
    for b, name in enumerate(names):
        save_labels(folder / f"{name}.npy", ids[:, b].astype(bool))
    assemble_labels(
        bins,
        read_track_sheet(folder / "tracks.tsv"),
        [folder / f"{name}.npy" for name in names],
        "all",
        [],
        [],
        folder / "labels.h5",
    )
    write_split_file(genome, folder / "labels.h5", "train", folder / "train.h5")
    write_split_file(
        genome, folder / "labels.h5", "train", folder / "shuffled.h5", block_samples=300, seed=7
    )
    return folder, genome, n


def _bin_number(y: np.ndarray) -> np.ndarray:
    return (np.asarray(y).astype(np.int64) << np.arange(ID_BITS)).sum(axis=1)


def test_shuffled_file_is_the_seeded_permutation_of_genome_order(genome_split):
    folder, _, n = genome_split
    order = np.random.default_rng(7).permutation(n)
    with h5py.File(folder / "train.h5") as plain, h5py.File(folder / "shuffled.h5") as shuffled:
        for key in ("x", "y", "chrom", "start"):
            np.testing.assert_array_equal(shuffled[key][:], plain[key][:][order], err_msg=key)
        assert _bin_number(shuffled["y"][:]).tolist() == order.tolist()
        assert shuffled.attrs["split"] == "train"


def _batch_statistics(bin_numbers: list[np.ndarray]) -> tuple[float, float, float]:
    """Per batch, averaged: distinct chromosomes, mean |difference| of genome positions (bins),
    fraction of pairs of samples whose 1000 bp windows overlap (same chromosome, < 5 bins)."""
    distinct, spread, overlapping = [], [], []
    for numbers in bin_numbers:
        chrom = numbers // BINS_PER_CHROM
        distance = np.abs(numbers[:, None] - numbers[None, :])
        pairs = np.triu(np.ones(distance.shape, bool), 1)
        distinct.append(np.unique(chrom).size)
        spread.append(distance[pairs].mean())
        near = (chrom[:, None] == chrom[None, :]) & (distance < 5)
        overlapping.append(near[pairs].mean())
    return float(np.mean(distinct)), float(np.mean(spread)), float(np.mean(overlapping))


def _batches(path, batch_size=100) -> list[np.ndarray]:
    # small blocks and buffers, so that the 8,000 samples are many buffers (as a genome is)
    batches = H5Batches(
        path, batch_size, reverse_complement=False, seed=3, block_size=64, buffer_blocks=4
    )
    try:
        return [_bin_number(batches[i][1]) for i in range(len(batches))]
    finally:
        batches.close()


def test_batches_of_the_shuffled_file_look_like_a_full_permutation(genome_split):
    folder, _, n = genome_split
    rng = np.random.default_rng(11)
    reference = _batch_statistics(np.array_split(rng.permutation(n), n // 100))
    shuffled = _batch_statistics(_batches(folder / "shuffled.h5"))
    genome_order = _batch_statistics(_batches(folder / "train.h5"))
    # a full permutation: about 40 * (1 - (39/40)^100) = 36.8 chromosomes, spread n / 3,
    # overlapping pairs about 8 / n = 0.1%
    assert reference[0] == pytest.approx(36.8, abs=0.3)
    assert reference[1] == pytest.approx(n / 3, rel=0.02)
    assert reference[2] == pytest.approx(8 / n, abs=3e-4)
    assert shuffled[0] == pytest.approx(reference[0], abs=0.3)
    assert shuffled[1] == pytest.approx(reference[1], rel=0.02)
    assert shuffled[2] == pytest.approx(reference[2], abs=3e-4)
    # block shuffling of a genome-ordered file: a batch holds a few neighbourhoods of 64 bins
    # (4 blocks per buffer, each on one or two chromosomes; a batch may straddle two buffers)
    assert genome_order[0] < 10 and genome_order[2] > 20 * reference[2]
