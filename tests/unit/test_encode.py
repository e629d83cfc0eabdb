"""Split files: x one-hot windows of the genome, y rows of labels.h5, chunked gzip layout."""

import h5py
import numpy as np
import pytest
from seq2chrom.data.assemble import assemble_labels
from seq2chrom.data.bins import tile_genome, write_bins
from seq2chrom.data.encode import write_split_file
from seq2chrom.data.genome import open_genome
from seq2chrom.data.labels import save_labels
from seq2chrom.data.one_hot import one_hot_encode
from seq2chrom.data.tracksheet import read_track_sheet
from seq2chrom.splitfile import CHUNK_SAMPLES, ChunkWriter


@pytest.fixture
def data_set(tmp_path):
    rng = np.random.default_rng(5)
    lengths = {"chr1": 61_000, "chr2": 23_456, "chrY": 500, "chr3": 40_000}
    sequences = {
        name: "".join(rng.choice(list("ACGTacgtNNR"), length)) for name, length in lengths.items()
    }
    fasta = tmp_path / "genome.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in sequences.items()))
    genome = open_genome(fasta)
    bins = tile_genome(genome, 200, 1000)
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text("name\tassay\tcell_type\tpath\nt1\tTF\tA\tx\nt2\tHistone\tB\ty\n")
    labels = rng.random((2, len(bins))) < 0.4
    for name, row in zip(["t1", "t2"], labels, strict=True):
        save_labels(tmp_path / f"{name}.npy", row)
    write_bins(tmp_path / "bins.h5", bins)
    assemble_labels(
        bins,
        read_track_sheet(sheet),
        [tmp_path / "t1.npy", tmp_path / "t2.npy"],
        "all",
        ["chr3"],
        ["chr2:1-5000"],
        tmp_path / "labels.h5",
    )
    return tmp_path, genome, sequences, bins, labels


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_split_file_matches_genome_and_labels(data_set, split):
    tmp_path, genome, sequences, bins, labels = data_set
    n = write_split_file(
        genome, tmp_path / "labels.h5", split, tmp_path / "s.h5", threads=2, block_samples=100
    )
    with h5py.File(tmp_path / "labels.h5") as source, h5py.File(tmp_path / "s.h5") as h5:
        rows = source["split"][:] == ["train", "valid", "test"].index(split)
        expected_y = source["y"][:][rows]
        bin_index = source["bin_index"][:][rows]
        assert n == rows.sum() == h5["x"].shape[0] > 0
        x = h5["x"][:]
        assert x.dtype == np.uint8 and x.shape == (n, 1000, 4)
        assert h5["x"].chunks == (CHUNK_SAMPLES, 1000, 4) and h5["x"].compression == "gzip"
        np.testing.assert_array_equal(h5["y"][:], expected_y)
        np.testing.assert_array_equal(h5["y"][:], labels[:, bin_index].T)
        assert list(h5["tracks"].asstr()[:]) == ["t1", "t2"]
        assert list(h5["assays"].asstr()[:]) == ["TF", "Histone"]
        assert list(h5["cell_types"].asstr()[:]) == ["A", "B"]
        chrom = h5["chrom"].asstr()[:]
        start = h5["start"][:]
        assert start.dtype == np.int64 and dict(h5.attrs) == {
            "bin_size": 200,
            "window": 1000,
            "split": split,
        }
        for row in range(n):
            begin = start[row] - 400
            np.testing.assert_array_equal(
                x[row], one_hot_encode(sequences[chrom[row]][begin : begin + 1000])
            )
    expected_chroms = {"train": {"chr1", "chr2"}, "valid": {"chr2"}, "test": {"chr3"}}[split]
    assert set(chrom) == expected_chroms


def test_empty_split_file(data_set, tmp_path):
    root, genome, *_ = data_set
    with h5py.File(root / "labels.h5", "a") as h5:
        h5["split"][:] = 0  # everything train
    assert write_split_file(genome, root / "labels.h5", "test", tmp_path / "e.h5") == 0
    with h5py.File(tmp_path / "e.h5") as h5:
        assert h5["x"].shape == (0, 1000, 4) and h5["y"].shape == (0, 2)
        assert h5["chrom"].shape == (0,)


def test_chunk_writer_pads_only_the_stored_last_chunk(tmp_path):
    values = np.random.default_rng(0).integers(0, 2, (1000, 3, 4), dtype=np.uint8)
    with h5py.File(tmp_path / "c.h5", "w") as h5:
        dataset = h5.create_dataset(
            "x", shape=values.shape, dtype=np.uint8, chunks=(64, 3, 4), compression="gzip"
        )
        writer = ChunkWriter(dataset, threads=2)
        for begin in range(0, 1000, 77):
            writer.append(values[begin : begin + 77])
        writer.close()
    with h5py.File(tmp_path / "c.h5") as h5:
        np.testing.assert_array_equal(h5["x"][:], values)
