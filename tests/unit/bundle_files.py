"""Write small DeepSEA-bundle files with exactly the published layout, from known sequences.

train.mat: MATLAB 7.3, i.e. HDF5 behind a 512-byte userblock that holds MATLAB's text header;
`trainxdata` (L, 4, N) and `traindata` (T, N) as h5py shows them. valid.mat/test.mat: MATLAB 5
written by scipy.io.savemat, `{split}xdata` (N, 4, L), `{split}data` (N, T). Bases A,G,C,T; the
second half of each set is the reverse complement of the first half, with the same labels.
Used by tests/unit/test_bundle.py, tests/integration/test_bundle_workflow.py and
tests/bench/bench_bundle.py.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import h5py
import numpy as np
import scipy.io

AGCT = np.array([0, 2, 1, 3])  # position of A, G, C, T in A,C,G,T (and back: the same)


def random_one_hot(rng: np.random.Generator, n: int, length: int = 1000) -> np.ndarray:
    """(n, length, 4) uint8 one-hot A,C,G,T; about 1 % of positions N (all zeros)."""
    codes = rng.integers(0, 4, (n, length))
    x = (codes[..., None] == np.arange(4)).astype(np.uint8)
    x[rng.random((n, length)) < 0.01] = 0
    return x


def bundle_layout(x_acgt: np.ndarray) -> np.ndarray:
    """(n, L, 4) A,C,G,T -> the bundle's both-strand MATLAB array (2n, 4, L), A,G,C,T."""
    both = np.concatenate([x_acgt, x_acgt[:, ::-1, ::-1]])
    return np.ascontiguousarray(both[:, :, AGCT].transpose(0, 2, 1))


def matlab_header(version: str) -> bytes:
    """The 128-byte MATLAB file header (text, subsystem offset, version, endian 'IM')."""
    text = (
        f"MATLAB {version} MAT-file, Platform: GLNXA64, "
        f"Created on: {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(0))}"
        + (" HDF5 schema 1.00 ." if version == "7.3" else "")
    ).encode()
    version_word = b"\x00\x02" if version == "7.3" else b"\x00\x01"
    return text.ljust(116, b" ") + b"\x00" * 8 + version_word + b"IM"


def write_mat73(
    path: Path,
    x_acgt: np.ndarray,
    y: np.ndarray,
    *,
    split: str = "train",
    names: tuple[str, str] | None = None,
    x_dtype: str = "uint8",
    chunks: bool = True,
    compression: str | None = "gzip",
    block: int = 4096,
) -> None:
    """train.mat as MATLAB 7.3 writes it: forward samples `x_acgt` (n, L, 4), labels (n, T).

    Written block by block (memory of one block); `names` replaces the variable names.
    """
    x_name, y_name = names or (f"{split}xdata", f"{split}data")
    n, length, _ = x_acgt.shape
    with h5py.File(path, "w", userblock_size=512) as h5:
        x = h5.create_dataset(
            x_name,
            shape=(length, 4, 2 * n),
            dtype=x_dtype,
            chunks=(length, 4, min(2 * n, 512)) if chunks else None,
            compression=compression,
        )
        labels = h5.create_dataset(
            y_name,
            shape=(y.shape[1], 2 * n),
            dtype=np.uint8,
            chunks=(y.shape[1], min(2 * n, 512)) if chunks else None,
            compression=compression,
        )
        for dataset in (x, labels):
            dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
        for first in range(0, n, block):
            last = min(first + block, n)
            forward = x_acgt[first:last]
            for offset, part in ((0, forward), (n, forward[:, ::-1, ::-1])):
                x[:, :, offset + first : offset + last] = part[:, :, AGCT].transpose(1, 2, 0)
                labels[:, offset + first : offset + last] = y[first:last].T
    with open(path, "r+b") as handle:
        handle.write(matlab_header("7.3"))


def write_mat5(
    path: Path,
    x_acgt: np.ndarray,
    y: np.ndarray,
    *,
    split: str,
    names: tuple[str, str] | None = None,
    compress: bool = False,
) -> None:
    """valid.mat/test.mat as scipy.io.savemat (MATLAB 5) writes them, both strands."""
    x_name, y_name = names or (f"{split}xdata", f"{split}data")
    both_y = np.concatenate([y, y]).astype(np.uint8)
    scipy.io.savemat(path, {x_name: bundle_layout(x_acgt), y_name: both_y}, do_compression=compress)


def write_bundle(
    folder: Path, rng: np.random.Generator, sizes: dict[str, int], n_tracks: int, length: int = 1000
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """train.mat, valid.mat, test.mat with `sizes[split]` forward samples each.

    Labels are random with a few positives per track; returns the forward (x, y) per split.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, n in sizes.items():
        x = random_one_hot(rng, n, length)
        y = (rng.random((n, n_tracks)) < 0.2).astype(np.uint8)
        if split == "train":
            write_mat73(folder / "train.mat", x, y)
        else:
            write_mat5(folder / f"{split}.mat", x, y, split=split)
        data[split] = (x, y)
    return data


def write_mat5_streamed(
    path: Path,
    split: str,
    n: int,
    n_tracks: int,
    make_block,
    *,
    length: int = 1000,
    block: int = 4096,
) -> None:
    """An uncompressed MATLAB 5 file of any size, written block by block (for benchmarks).

    `make_block(first, last)` returns forward (x (n, L, 4) A,C,G,T, y (n, T)) of those samples;
    the reverse complements are added. Same bytes layout as scipy.io.savemat's.
    """
    shapes = {f"{split}xdata": (2 * n, 4, length), f"{split}data": (2 * n, n_tracks)}
    offsets = {}
    with open(path, "wb") as handle:
        handle.write(matlab_header("5"))
        for name, shape in shapes.items():
            dims = struct.pack(f"<{len(shape)}i", *shape)
            dims += b"\0" * (-len(dims) % 8)
            encoded = name.encode() + b"\0" * (-len(name) % 8)
            size = int(np.prod(shape))
            body = struct.pack("<II", 6, 8) + struct.pack("<II", 9, 0)  # mxUINT8_CLASS
            body += struct.pack("<II", 5, len(shape) * 4) + dims
            body += struct.pack("<II", 1, len(name)) + encoded
            body += struct.pack("<II", 2, size)
            padding = -size % 8
            handle.write(struct.pack("<II", 14, len(body) + size + padding) + body)
            offsets[name] = handle.tell()
            handle.seek(size + padding, 1)
        handle.truncate()
    x = np.memmap(path, np.uint8, "r+", offsets[f"{split}xdata"], (length, 4, 2 * n))
    y = np.memmap(path, np.uint8, "r+", offsets[f"{split}data"], (n_tracks, 2 * n))
    for first in range(0, n, block):
        last = min(first + block, n)
        forward, labels = make_block(first, last)
        for offset, part in ((0, forward), (n, forward[:, ::-1, ::-1])):
            x[:, :, offset + first : offset + last] = part[:, :, AGCT].transpose(1, 2, 0)
            y[:, offset + first : offset + last] = labels.T
    x.flush()
    y.flush()
    del x, y
