"""Streaming batches: reverse complements, both strands per epoch, seeded order, flat memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from seq2chrom.data.one_hot import reverse_complement
from seq2chrom.errors import InputError
from seq2chrom.training.batches import H5Batches

from tests.unit.training_data import one_hot, write_split


def _indexed_split(path, n, seq_len=20, chunk_rows=16):
    """Each sample's y holds its own index (in two uint8 columns) so batches can be traced."""
    rng = np.random.default_rng(0)
    x = one_hot(rng.integers(0, 4, (n, seq_len), dtype=np.uint8))
    y = np.stack([np.arange(n) // 256, np.arange(n) % 256], axis=1).astype(np.uint8)
    return write_split(path, x, y, chunk_rows=chunk_rows), x


def _epoch(batches):
    xs, ys = zip(*(batches[i] for i in range(len(batches))), strict=True)
    y = np.concatenate(ys).astype(int)
    return np.concatenate(xs), y[:, 0] * 256 + y[:, 1]


def test_reverse_complement_of_a_known_sequence():
    x = one_hot(np.array([[0, 0, 1, 2]], dtype=np.uint8))  # AACG
    expected = one_hot(np.array([[1, 2, 3, 3]], dtype=np.uint8))  # CGTT
    np.testing.assert_array_equal(reverse_complement(x), expected)
    np.testing.assert_array_equal(reverse_complement(reverse_complement(x)), x)


def test_every_sequence_once_per_strand_per_epoch(tmp_path):
    path, x = _indexed_split(tmp_path / "s.h5", 203)
    batches = H5Batches(path, batch_size=7, block_size=16, buffer_blocks=3, seed=5)
    assert len(batches) == -(-2 * 203 // 7)
    got_x, index = _epoch(batches)
    assert got_x.dtype == np.float32 and got_x.shape == (406, 20, 4)
    assert np.bincount(index, minlength=203).tolist() == [2] * 203
    forward = (got_x == x[index]).all(axis=(1, 2))
    reverse = (got_x == reverse_complement(x[index])).all(axis=(1, 2))
    assert (forward | reverse).all()
    for sample in range(203):  # one forward, one reverse complement of each sample
        rows = np.flatnonzero(index == sample)
        assert sorted(forward[rows].tolist()) == [False, True]


def test_without_reverse_complement_each_sequence_once(tmp_path):
    path, x = _indexed_split(tmp_path / "s.h5", 100)
    got_x, index = _epoch(H5Batches(path, 32, reverse_complement=False, block_size=16))
    assert sorted(index.tolist()) == list(range(100))
    np.testing.assert_array_equal(got_x, x[index])


def test_order_depends_only_on_seed_and_epoch(tmp_path):
    path, _ = _indexed_split(tmp_path / "s.h5", 300)
    a = H5Batches(path, 10, block_size=16, buffer_blocks=2, seed=1)
    b = H5Batches(path, 10, block_size=16, buffer_blocks=2, seed=1)
    first, _ = _epoch(a)
    a.on_epoch_end()
    second = _epoch(a)[1]
    np.testing.assert_array_equal(_epoch(b)[0], first)
    assert not np.array_equal(second, _epoch(b)[1])
    b.set_epoch(1)  # a resumed run jumps straight to epoch 1
    np.testing.assert_array_equal(_epoch(b)[1], second)
    other_seed = H5Batches(path, 10, block_size=16, buffer_blocks=2, seed=2)
    assert not np.array_equal(_epoch(other_seed)[1], _epoch(b)[1])
    # random access in any order gives the same batches
    backwards = [b[i][0] for i in reversed(range(len(b)))][::-1]
    np.testing.assert_array_equal(np.concatenate(backwards), _epoch(b)[0])


def test_shuffle_mixes_blocks_and_validation_keeps_file_order(tmp_path):
    path, _ = _indexed_split(tmp_path / "s.h5", 640)
    batches = H5Batches(path, 64, block_size=32, buffer_blocks=4, seed=3)
    _, index = _epoch(batches)
    first_batch_blocks = set(index[:64] // 32)
    assert len(first_batch_blocks) >= 3  # one batch mixes several contiguous blocks
    assert first_batch_blocks <= set(index[: 4 * 32 * 2] // 32)  # ...of the same buffer
    assert index[0] // 32 != 0 or index[64] // 32 != 0  # blocks not in file order
    plain = H5Batches(path, 64, shuffle=False, reverse_complement=False, block_size=32)
    assert _epoch(plain)[1].tolist() == list(range(640))
    labels = H5Batches(path, 50, shuffle=False, block_size=32).labels_in_order()
    assert labels.shape == (1280, 2)


def test_memory_is_flat_in_the_number_of_samples(tmp_path):
    peaks = []
    for n in (2_000, 20_000):
        path, _ = _indexed_split(tmp_path / f"{n}.h5", n, seq_len=100, chunk_rows=100)
        batches = H5Batches(path, 100, block_size=100, buffer_blocks=4)
        tracemalloc.start()
        for i in range(len(batches)):
            batches[i]
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        batches.close()
    x_bytes_big = 20_000 * 100 * 4
    assert peaks[1] < 2 * peaks[0]
    assert peaks[1] < x_bytes_big / 4  # far less than the file's x


def test_bad_file_is_a_one_line_input_error(tmp_path):
    path = write_split(
        tmp_path / "bad.h5", np.zeros((4, 10, 3), np.uint8), np.zeros((4, 2), np.uint8)
    )
    with pytest.raises(InputError, match="expected"):
        H5Batches(path)


def test_track_columns_select_and_order_the_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = one_hot(rng.integers(0, 4, (90, 20), dtype=np.uint8))
    y = rng.integers(0, 2, (90, 4), dtype=np.uint8)
    path = write_split(tmp_path / "s.h5", x, y, chunk_rows=16)
    full = H5Batches(path, 13, block_size=16, buffer_blocks=2, seed=3)
    chosen = H5Batches(path, 13, block_size=16, buffer_blocks=2, seed=3, track_columns=[3, 0])
    assert chosen.n_tracks == 2 and len(chosen) == len(full)
    for index in range(len(full)):
        (x_full, y_full), (x_chosen, y_chosen) = full[index], chosen[index]
        np.testing.assert_array_equal(x_chosen, x_full)
        np.testing.assert_array_equal(y_chosen, y_full[:, [3, 0]])
    np.testing.assert_array_equal(chosen.labels_in_order(), full.labels_in_order()[:, [3, 0]])
    for bad in ([4], [], [-1]):
        with pytest.raises(InputError, match="track columns"):
            H5Batches(path, track_columns=bad)
