"""Read the arrays of MATLAB files without loading them: MATLAB 7.3 (HDF5) and MATLAB 5.

The DeepSEA bundle stores `train.mat` as MATLAB 7.3 (HDF5 behind a 512-byte userblock) and
`valid.mat`/`test.mat` as MATLAB 5. Both are opened here as array views whose axes are those
h5py shows for MATLAB 7.3: MATLAB's (N, 4, L) array appears as (L, 4, N), because MATLAB writes
column-major. Slicing a view reads only the requested samples:

- MATLAB 7.3: the h5py datasets themselves.
- MATLAB 5, uncompressed (scipy.io.savemat's default, MATLAB `save -v6`): a `ColumnMajorArray`
  over the variable's data bytes; the column-major (N, 4, L) block is a C-order (L, 4, N)
  array whose rows are read with pread (a memory map would count every page read in the
  process's resident memory).
- MATLAB 5, compressed (MATLAB's default `save -v7`): the zlib stream of the variable is inflated
  in 16 MiB pieces into a temporary file beside the output, which is then read the same way.
  Memory stays flat; the temporary needs the variable's uncompressed size on disk.

`scipy.io.loadmat` is not used because it loads whole variables: 1.8 GB for `testxdata`.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from seq2chrom.errors import InputError

MAT5_HEADER = 128
# MAT-5 data types (MATLAB "MAT-File Format", table 1-1) that hold 0/1 bytes, and all names.
_MI_BYTES = {1: np.int8, 2: np.uint8}
_MI_NAMES = {
    1: "int8",
    2: "uint8",
    3: "int16",
    4: "uint16",
    5: "int32",
    6: "uint32",
    7: "single",
    9: "double",
    12: "int64",
    13: "uint64",
    16: "utf8",
}
_MI_INT32, _MI_MATRIX, _MI_COMPRESSED = 5, 14, 15
_INFLATE_PIECE = 16 << 20


def mat_version(path: str | Path) -> str:
    """'7.3' for an HDF5-based MAT file, '5' for a MATLAB 5 MAT file; InputError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", fix="set data.bundle_dir to the bundle folder")
    with open(path, "rb") as handle:
        header = handle.read(MAT5_HEADER)
    if h5py.is_hdf5(path):
        return "7.3"
    if header.startswith(b"MATLAB 7.3"):
        raise InputError(
            path,
            "MATLAB 7.3 header but no readable HDF5 data: truncated or corrupt",
            fix="download the bundle again and check its size",
        )
    if (
        len(header) == MAT5_HEADER
        and header.startswith(b"MATLAB")
        and header[126:128]
        in (
            b"IM",
            b"MI",
        )
    ):
        return "5"
    raise InputError(path, "not a MATLAB file", fix="pass the .mat files of the DeepSEA bundle")


@dataclass(frozen=True)
class Mat5Variable:
    """Where one variable of a MATLAB 5 file is; shape is MATLAB's (column-major) shape."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # MAT-5 storage type of the data, e.g. "uint8"
    data_offset: int  # byte offset of the data (uncompressed) or of the element (compressed)
    nbytes: int  # bytes of data (uncompressed) or of the zlib stream (compressed)
    compressed: bool
    mat_class: int
    complex: bool


def mat5_variables(path: str | Path) -> dict[str, Mat5Variable]:
    """Index the top-level variables of a MATLAB 5 file by reading element headers only."""
    path = Path(path)
    size = path.stat().st_size
    variables = {}
    with open(path, "rb") as handle:
        order = "<" if _read(handle, 0, MAT5_HEADER, path)[126:128] == b"IM" else ">"
        offset = MAT5_HEADER
        while offset + 8 <= size:
            kind, nbytes = struct.unpack(order + "II", _read(handle, offset, 8, path))
            if offset + 8 + nbytes > size:
                raise InputError(
                    path,
                    f"truncated: an element at byte {offset} needs {nbytes} bytes, the file "
                    f"ends {size - offset - 8} bytes later",
                    fix="download the bundle again",
                )
            if kind == _MI_MATRIX:
                head = _read(handle, offset + 8, min(nbytes, 4096), path)
                variable = _parse_matrix(head, order, offset + 8, path, compressed=False)
            elif kind == _MI_COMPRESSED:
                stream = zlib.decompressobj()
                try:
                    head = stream.decompress(
                        _read(handle, offset + 8, min(nbytes, 4096), path), 4096
                    )
                except zlib.error as error:
                    raise InputError(path, f"corrupt compressed variable: {error}") from None
                inner_kind, _ = struct.unpack(order + "II", head[:8])
                if inner_kind != _MI_MATRIX:
                    raise InputError(path, f"unexpected compressed element type {inner_kind}")
                variable = _parse_matrix(head[8:], order, offset, path, compressed=True)
                variable = Mat5Variable(
                    **{**variable.__dict__, "data_offset": offset, "nbytes": nbytes}
                )
            else:
                variable = None
            if variable is not None:
                variables[variable.name] = variable
            offset += 8 + nbytes + (-nbytes % 8 if kind != _MI_COMPRESSED else 0)
    return variables


class ColumnMajorArray:
    """Read-only (reversed MATLAB shape) view of column-major data in a file, read with pread.

    MATLAB's (N, ..., K) array is a C-order array of shape (K, ..., N): every row (all axes but
    the last) is a contiguous run of N values. Indexing takes a full selection (`slice(None)`)
    on every axis but the last and a slice (step 1) or increasing integer array on the last;
    each row's requested run is read with one `os.preadv`. Unlike a memory map, nothing stays
    mapped, so resident memory does not grow with the file.
    """

    def __init__(self, path: str | Path, offset: int, shape: tuple[int, ...], dtype: type):
        self.path = Path(path)
        self.offset = offset
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.ndim = len(shape)
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())

    def close(self) -> None:
        self._file.close()

    def __getitem__(self, selection: tuple) -> np.ndarray:
        *rows, last = selection
        if len(rows) != self.ndim - 1 or any(r != slice(None) for r in rows):
            raise IndexError("select whole rows: (:, ..., :, last-axis selection)")
        n = self.shape[-1]
        if isinstance(last, slice):
            start, stop, step = last.indices(n)
            if step != 1:
                raise IndexError("last-axis slices must have step 1")
            runs = [(start, max(stop, start))]
        else:
            index = np.asarray(last, dtype=np.int64)
            breaks = np.flatnonzero(np.diff(index) != 1) + 1
            runs = [(int(r[0]), int(r[-1]) + 1) for r in np.split(index, breaks) if r.size]
        width = sum(stop - start for start, stop in runs)
        n_rows = int(np.prod(self.shape[:-1]))
        out = np.empty((n_rows, width), self.dtype)
        item = self.dtype.itemsize
        descriptor = self._file.fileno()
        column = 0
        for start, stop in runs:
            if stop == start:
                continue
            view = out[:, column : column + stop - start]
            for row in range(n_rows):
                buffer = memoryview(view[row]).cast("B") if view[row].flags.c_contiguous else None
                target = buffer if buffer is not None else bytearray((stop - start) * item)
                got = os.preadv(descriptor, [target], self.offset + (row * n + start) * item)
                if got != len(target):
                    raise InputError(self.path, "truncated data", fix="download the file again")
                if buffer is None:
                    view[row] = np.frombuffer(target, self.dtype)
            column += stop - start
        return out.reshape(*self.shape[:-1], width)


@contextlib.contextmanager
def mat5_array(
    path: str | Path, variable: Mat5Variable, scratch: str | Path
) -> Iterator[ColumnMajorArray]:
    """A read-only view (reversed MATLAB shape) of one MATLAB 5 variable's data.

    Uncompressed data is read in place. Compressed data is inflated into a temporary file in
    folder `scratch` (removed on exit) and read from there.
    """
    path = Path(path)
    shape = tuple(reversed(variable.shape))
    dtype = _MI_BYTES[_storage_code(variable.dtype)]
    if not variable.compressed:
        array = ColumnMajorArray(path, variable.data_offset, shape, dtype)
        try:
            yield array
        finally:
            array.close()
        return
    Path(scratch).mkdir(parents=True, exist_ok=True)
    temporary = Path(scratch) / f".{path.name}.{variable.name}.inflated"
    try:
        _inflate(path, variable, temporary)
        order = "<" if _read_file_header(path)[126:128] == b"IM" else ">"
        with open(temporary, "rb") as handle:
            head = handle.read(4096)
        inner = _parse_matrix(head[8:], order, 8, temporary, compressed=False)
        array = ColumnMajorArray(temporary, inner.data_offset, shape, dtype)
        try:
            yield array
        finally:
            array.close()
    finally:
        temporary.unlink(missing_ok=True)


def hdf5_variables(handle: h5py.File) -> dict[str, h5py.Dataset]:
    """The top-level datasets of a MATLAB 7.3 file (MATLAB's `#refs#` group excluded)."""
    return {name: item for name, item in handle.items() if isinstance(item, h5py.Dataset)}


def _read_file_header(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAT5_HEADER)


def _read(handle, offset: int, nbytes: int, path: Path) -> bytes:
    handle.seek(offset)
    data = handle.read(nbytes)
    if len(data) < nbytes:
        raise InputError(path, f"truncated at byte {offset + len(data)}", fix="download again")
    return data


def _parse_matrix(head: bytes, order: str, base: int, path: Path, compressed: bool) -> Mat5Variable:
    """Parse an miMATRIX element's sub-elements from its first bytes `head` (after the tag)."""
    position = 0

    def element() -> tuple[int, bytes, int]:
        nonlocal position
        if position + 8 > len(head):
            raise InputError(path, "truncated or oversized variable header", fix="download again")
        first, second = struct.unpack(order + "II", head[position : position + 8])
        if first >> 16:  # small data element: type and size packed in 4 bytes
            kind, nbytes = first & 0xFFFF, first >> 16
            data, start = head[position + 4 : position + 4 + nbytes], position + 4
            position += 8
            return kind, data, start
        kind, nbytes, start = first, second, position + 8
        if kind not in _MI_BYTES and nbytes > 4096:  # flags, dims or name never this long
            raise InputError(path, "corrupt variable header", fix="download the bundle again")
        data = head[start : start + nbytes]
        position = start + nbytes + (-nbytes % 8)
        return kind, data, start

    _, flags, _ = element()
    flag_word = struct.unpack(order + "I", flags[:4])[0]
    mat_class, is_complex = flag_word & 0xFF, bool(flag_word & 0x0800)
    dims_kind, dims, _ = element()
    if dims_kind != _MI_INT32:
        raise InputError(path, "corrupt variable header (dimensions)", fix="download again")
    shape = struct.unpack(order + f"{len(dims) // 4}i", dims)
    _, name, _ = element()
    data_kind, nbytes = struct.unpack(order + "II", head[position : position + 8])
    if data_kind >> 16:
        data_kind, nbytes = data_kind & 0xFFFF, data_kind >> 16
    return Mat5Variable(
        name=name.decode("ascii", "replace"),
        shape=tuple(int(d) for d in shape),
        dtype=_MI_NAMES.get(data_kind, f"type {data_kind}"),
        data_offset=base + position + 8,
        nbytes=int(nbytes),
        compressed=compressed,
        mat_class=mat_class,
        complex=is_complex,
    )


def _storage_code(name: str) -> int:
    return next(code for code, label in _MI_NAMES.items() if label == name)


def _inflate(path: Path, variable: Mat5Variable, destination: Path) -> None:
    """Inflate the zlib stream of a compressed variable into `destination`, piece by piece."""
    stream = zlib.decompressobj()
    with open(path, "rb") as source, open(destination, "wb") as sink:
        source.seek(variable.data_offset + 8)
        left = variable.nbytes
        try:
            while left:
                piece = source.read(min(left, _INFLATE_PIECE))
                if not piece:
                    raise InputError(path, "truncated compressed variable", fix="download again")
                left -= len(piece)
                data = stream.decompress(piece, _INFLATE_PIECE)
                while data:
                    sink.write(data)
                    data = stream.decompress(stream.unconsumed_tail, _INFLATE_PIECE)
            sink.write(stream.flush())
        except zlib.error as error:
            message = f"corrupt compressed variable {variable.name}: {error}"
            raise InputError(path, message, fix="download again") from None
        if not stream.eof:
            message = f"truncated compressed variable {variable.name}"
            raise InputError(path, message, fix="download again")
