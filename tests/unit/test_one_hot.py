"""One-hot encoding: A,C,G,T order, soft-masked bases as ordinary bases, N/IUPAC all zero."""

import numpy as np
import pytest
from seq2chrom.data.one_hot import (
    ONE_HOT_TABLE,
    encode_windows,
    gather_windows,
    one_hot_encode,
    padded_windows,
    reverse_complement,
)


def test_bases_in_acgt_order_either_case():
    expected = np.eye(4, dtype=np.uint8)
    np.testing.assert_array_equal(one_hot_encode("ACGT"), expected)
    np.testing.assert_array_equal(one_hot_encode("acgt"), expected)  # soft-masked
    np.testing.assert_array_equal(one_hot_encode(b"aCgT"), expected)


@pytest.mark.parametrize("base", list("NnRYSWKMBDHVryswkmbdhv-.X"))
def test_unknown_and_iupac_bases_are_all_zero(base):
    np.testing.assert_array_equal(
        one_hot_encode(f"A{base}T"), [[1, 0, 0, 0], [0] * 4, [0, 0, 0, 1]]
    )


def test_table_covers_every_byte_once():
    assert ONE_HOT_TABLE.shape == (256, 4) and ONE_HOT_TABLE.dtype == np.uint8
    assert ONE_HOT_TABLE.sum() == 8  # ACGTacgt only


def test_encode_keeps_array_shape():
    codes = np.frombuffer(b"ACGTNNGG", np.uint8).reshape(2, 4)
    x = one_hot_encode(codes)
    assert x.shape == (2, 4, 4) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[1].sum(axis=1), [0, 0, 1, 1])


def test_encode_windows_matches_per_window_encoding():
    rng = np.random.default_rng(0)
    sequence = np.frombuffer(b"ACGTacgtNRY", np.uint8)[rng.integers(0, 11, 5000)].copy()
    starts = np.array([0, 7, 7, 1234, 4000])
    x = encode_windows(sequence, starts, 1000)
    assert x.shape == (5, 1000, 4) and x.dtype == np.uint8
    for row, start in enumerate(starts):
        np.testing.assert_array_equal(x[row], one_hot_encode(sequence[start : start + 1000]))


def test_windows_must_lie_inside_the_sequence():
    sequence = np.frombuffer(b"ACGT" * 10, np.uint8)
    assert gather_windows(sequence, np.array([], np.int64), 8).shape == (0, 8)
    with pytest.raises(ValueError):
        gather_windows(sequence, np.array([35]), 8)
    with pytest.raises(ValueError):
        gather_windows(sequence, np.array([-1]), 8)


def test_padded_windows_are_n_beyond_both_chromosome_ends():
    sequence = np.frombuffer(b"ACGTA", np.uint8)
    windows = padded_windows(sequence, np.array([-2, 0, 3]), 4)
    assert [row.tobytes() for row in windows] == [b"NNAC", b"ACGT", b"TANN"]
    assert padded_windows(sequence, np.zeros(0, np.int64), 4).shape == (0, 4)


def test_reverse_complement_twice_is_the_identity():
    x = one_hot_encode("ACGTTN")[None]
    np.testing.assert_array_equal(reverse_complement(x), one_hot_encode("NAACGT")[None])
    np.testing.assert_array_equal(reverse_complement(reverse_complement(x)), x)
