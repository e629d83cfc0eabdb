"""The scores file of a VCF (``results/variants/{model}/{vcf}.h5``): every variant's predictions
on every track. `ScoresWriter` writes it, `open_scores` reads it; no other module names its
datasets.

Layout (rows are the scored variants in VCF order: by line, then by ALT allele):

- ``ref_prob``, ``alt_prob``: (n, T) float32, strand-averaged probability of each track for the
  reference and the alternative allele; ``evalue`` (n, T) float32 with a background (the
  fraction of background variants with a larger \\|diff\\| on the track, `variants.evalues`).
- ``tracks``: (T,) the track names, in the model's output order.
- ``variants/<column>``: (n,) one dataset per column of the variant table, in the order of the
  ``columns`` attribute: variant_id chrom pos ref alt line, then the per-variant summary
  (top_track top_diff max_abs_diff, mean \\|diff\\| per assay class, strongest, min_evalue).
- attributes: ``vcf``, ``model`` and ``background`` (as given), ``n_background``, ``contigs`` and
  ``contig_lengths`` (the VCF's chromosome names that were scored, with the genome's lengths).

Matrices are stored in chunks of `chunk_rows` rows x T (about 1 MiB), shuffled and deflated
at level 1 (HDF5's own filters, so h5py, R's rhdf5 or HDFView read them). The writer compresses
with ISA-L in a thread and writes whole chunks, in a fixed order that depends on the rows alone,
not on how they were handed in: the same variants give the same bytes, whether scored in one
job or gathered from shards.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.splitfile import open_h5

try:  # h5py's lock of the HDF5 library: its direct-chunk calls, unlike the rest, do not take it,
    # so a chunk written in one thread while another reads a file would run HDF5 in two threads
    from h5py._objects import phil as _HDF5_LOCK
except ImportError:  # pragma: no cover - present in h5py 2 and 3
    _HDF5_LOCK = threading.RLock()

try:  # ISA-L's deflate: the zlib stream HDF5's deflate filter reads, several times faster
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    import zlib as _deflate

FORMAT = "seq2chrom variant scores 1"
MATRICES = ("ref_prob", "alt_prob", "evalue")
LEVEL = 1
_STRING = h5py.string_dtype()


def chunk_rows(n_tracks: int) -> int:
    """Rows per stored chunk: about 1 MiB of float32 per matrix chunk, 64 to 4096 rows."""
    return int(max(64, min(4096, (1 << 20) // (4 * max(n_tracks, 1)))))


def _shuffled_deflate(block: np.ndarray) -> bytes:
    """HDF5's shuffle then deflate filters on a C-ordered float32 block."""
    data = np.ascontiguousarray(block, np.float32).view(np.uint8).reshape(-1, 4)
    shuffled = np.empty((4, len(data)), np.uint8)
    for k in range(4):  # byte by byte: ~10x numpy's transposed copy
        shuffled[k] = data[:, k]
    return _deflate.compress(shuffled, LEVEL)


def _inflated_unshuffle(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The float32 block of `_shuffled_deflate`."""
    planes = np.frombuffer(_deflate.decompress(data), np.uint8).reshape(4, -1)
    out = np.empty((planes.shape[1], 4), np.uint8)
    for k in range(4):
        out[:, k] = planes[k]
    return out.view(np.float32).reshape(shape)


class ScoresWriter:
    """Write a scores file: `append` blocks of rows in VCF order, then `close` (or use `with`).

    columns: name -> numpy dtype of the variant table's columns, in order (text columns
    object); matrices: the matrices to store (``ref_prob``, ``alt_prob``[, ``evalue``]).
    """

    def __init__(
        self,
        path: str | Path,
        tracks: Sequence[str],
        columns: Mapping[str, np.dtype | type],
        matrices: Sequence[str] = MATRICES[:2],
        attrs: Mapping[str, object] | None = None,
    ):
        self.tracks = list(tracks)
        self.columns = dict(columns)
        self.matrices = list(matrices)
        self.rows = chunk_rows(len(self.tracks))
        self._file = h5py.File(path, "w")
        self._file.attrs["format"] = FORMAT
        self._file.attrs["columns"] = np.array(list(self.columns), dtype=_STRING)
        for key, value in sorted((attrs or {}).items()):  # sorted: same bytes however given
            self._file.attrs[key] = value
        self._file.create_dataset("tracks", data=np.array(self.tracks, dtype=_STRING))
        width = len(self.tracks)
        for name in self.matrices:
            self._file.create_dataset(
                name,
                shape=(0, width),
                maxshape=(None, width),
                dtype="float32",
                chunks=(self.rows, max(width, 1)),
                compression="gzip",
                compression_opts=LEVEL,
                shuffle=True,
            )
        table = self._file.create_group("variants")
        for name, dtype in self.columns.items():
            kind = _STRING if np.dtype(dtype) == object else dtype
            table.create_dataset(
                name,
                shape=(0,),
                maxshape=(None,),
                dtype=kind,
                chunks=(self.rows,),
                compression="gzip",
                compression_opts=LEVEL,
            )
        self.n = 0  # rows handed to the writing thread
        self._buffer: tuple[dict, dict] | None = None  # the chunk being filled
        self._filled = 0
        self._error: BaseException | None = None
        # one chunk filling, one queued, one being written: memory is 3 chunks, whatever n
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._write_chunks, daemon=True)
        self._thread.start()

    def append(self, table: Mapping[str, np.ndarray], matrices: Mapping[str, np.ndarray]) -> None:
        """Add rows: `table` has every column (n values each), `matrices` each (n, T)."""
        self._raise()
        n = len(next(iter(matrices.values())))
        at = 0
        while at < n:
            if self._buffer is None:
                self._buffer = (
                    {c: np.empty(self.rows, self.columns[c]) for c in self.columns},
                    {m: np.empty((self.rows, len(self.tracks)), np.float32) for m in self.matrices},
                )
            take = min(self.rows - self._filled, n - at)
            rows = slice(self._filled, self._filled + take)
            for column, values in self._buffer[0].items():
                values[rows] = table[column][at : at + take]
            for name, values in self._buffer[1].items():
                values[rows] = matrices[name][at : at + take]
            self._filled += take
            at += take
            if self._filled == self.rows:
                self._put()

    def _put(self) -> None:
        """Queue the buffer's filled rows for the writing thread."""
        table, matrices = self._buffer
        filled = self._filled
        self._queue.put((self.n, {c: v[:filled] for c, v in table.items()},
                         {m: v[:filled] for m, v in matrices.items()}))  # fmt: skip
        self.n += filled
        self._buffer, self._filled = None, 0

    def _write_chunks(self) -> None:
        """The writing thread: compress and write each queued chunk, in order."""
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._write_chunk(*item)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = error

    def _write_chunk(self, start: int, table: dict, matrices: dict) -> None:
        n = len(matrices[self.matrices[0]])
        for name, block in matrices.items():
            dataset = self._file[name]
            dataset.resize(start + n, axis=0)
            if n < self.rows:  # the last chunk is stored whole: pad it with zeros
                block = np.concatenate([block, np.zeros((self.rows - n, block.shape[1]), "f4")])
            data = _shuffled_deflate(block)  # outside the lock: ISA-L releases the GIL
            with _HDF5_LOCK:
                dataset.id.write_direct_chunk((start, 0), data)
        for name, values in table.items():
            dataset = self._file["variants"][name]
            dataset.resize(start + n, axis=0)
            dataset[start:] = values.astype(object) if values.dtype == object else values

    def set_attrs(self, **attrs) -> None:
        """Attributes known only at the end (contigs, counts): written by `close`."""
        self._attrs = attrs

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Write the pending rows, wait for the thread, and close the file."""
        try:
            if self._filled and self._error is None:
                self._put()
        finally:
            self._queue.put(None)
            self._thread.join()
        for key, value in sorted(getattr(self, "_attrs", {}).items()):
            self._file.attrs[key] = value
        self._file.close()
        self._raise()

    def __enter__(self) -> ScoresWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:  # the caller's error wins; still stop the thread and close the file
            self._queue.put(None)
            self._thread.join()
            self._file.close()


class Scores:
    """A scores file open for reading (`open_scores`): ``tracks``, ``columns``, ``n`` rows."""

    def __init__(self, path: Path, handle: h5py.File):
        self.path = path
        self._file = handle
        self.tracks = [t.decode() if isinstance(t, bytes) else t for t in handle["tracks"][:]]
        self.columns = [str(c) for c in handle.attrs["columns"]]
        self.n = int(handle["ref_prob"].shape[0])
        self.rows = int(handle["ref_prob"].chunks[0])
        self.attrs = {key: handle.attrs[key] for key in handle.attrs}

    @property
    def has_evalue(self) -> bool:
        return "evalue" in self._file

    @property
    def matrices(self) -> list[str]:
        return [name for name in MATRICES if name in self._file]

    def table(
        self, start: int = 0, stop: int | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Rows start:stop of the variant table, or of its `columns` (text columns as str)."""
        stop = self.n if stop is None else stop
        group = self._file["variants"]
        columns = self.columns if columns is None else list(columns)
        data = {}
        for column in columns:
            dataset = group[column]
            if h5py.check_string_dtype(dataset.dtype) is not None:
                data[column] = dataset.asstr()[start:stop]
            else:
                data[column] = dataset[start:stop]
        return pd.DataFrame(data, columns=columns)

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows start:stop of one column of the variant table."""
        dataset = self._file["variants"][name]
        stop = self.n if stop is None else stop
        if h5py.check_string_dtype(dataset.dtype) is not None:
            return dataset.asstr()[start:stop]
        return dataset[start:stop]

    def matrix(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows start:stop of ``ref_prob``, ``alt_prob`` or ``evalue``: (m, T) float32.

        Chunks as `ScoresWriter` stores them are inflated with ISA-L (several times zlib's
        speed, which HDF5 uses); a file with other filters is read through HDF5.
        """
        dataset = self._file[name]
        stop = self.n if stop is None else stop
        if not self._own_filters(dataset) or stop <= start:
            return dataset[start:stop]
        width = dataset.shape[1]
        first = start // self.rows * self.rows
        out = np.empty((stop - first, width), np.float32)
        for row in range(first, stop, self.rows):
            with _HDF5_LOCK:
                mask, data = dataset.id.read_direct_chunk((row, 0))
            if mask:  # a filter was skipped on this chunk: let HDF5 read it
                return dataset[start:stop]
            chunk = _inflated_unshuffle(data, (self.rows, width))
            take = min(self.rows, stop - row)
            out[row - first : row - first + take] = chunk[:take]
        return out[start - first :]

    @staticmethod
    def _own_filters(dataset: h5py.Dataset) -> bool:
        """True when `dataset` is stored as `ScoresWriter` stores it: shuffle, then deflate."""
        filters = dataset.id.get_create_plist()
        codes = [filters.get_filter(k)[0] for k in range(filters.get_nfilters())]
        whole_rows = dataset.chunks is not None and dataset.chunks[1] == dataset.shape[1]
        return whole_rows and codes == [h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE]

    def blocks(self, size: int | None = None) -> Iterator[tuple[int, int]]:
        """(start, stop) of consecutive blocks of `size` rows (default: one stored chunk)."""
        size = size or self.rows
        for start in range(0, self.n, size):
            yield start, min(start + size, self.n)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Scores:
        return self

    def __exit__(self, *error) -> None:
        self.close()


def open_scores(path: str | Path) -> Scores:
    """Open a scores file for reading; InputError when it is missing or not one."""
    path = Path(path)
    handle = open_h5(path, "scores file", "run score-variants first")
    if handle.attrs.get("format") != FORMAT:
        handle.close()
        raise InputError(path, f"not a {FORMAT!r} file", fix="score the VCF again")
    return Scores(path, handle)


def merge_contigs(parts: Sequence[Scores]) -> dict[str, object]:
    """The ``contigs`` and ``contig_lengths`` attributes of the parts together, in order of
    first appearance."""
    lengths: dict[str, int] = {}
    for part in parts:
        names = [str(c) for c in part.attrs.get("contigs", [])]
        for name, length in zip(names, part.attrs.get("contig_lengths", []), strict=True):
            lengths.setdefault(name, int(length))
    return contig_attrs(lengths)


def contig_attrs(lengths: Mapping[str, int]) -> dict[str, object]:
    """Attributes ``contigs`` (str) and ``contig_lengths`` (int64) of a name -> length map."""
    return {
        "contigs": np.array(list(lengths), dtype=_STRING),
        "contig_lengths": np.array(list(lengths.values()), dtype=np.int64),
    }


def gather_scores(
    parts: Sequence[str | Path], out: str | Path, attrs: Mapping[str, object]
) -> None:
    """Concatenate the scores files `parts` (shards of one VCF, in order) into `out`: the
    bytes one job scoring the whole VCF writes. `attrs` replace the parts' own (``vcf``)."""
    opened = [open_scores(part) for part in parts]
    try:
        first = opened[0]
        for part in opened[1:]:
            if part.tracks != first.tracks or part.columns != first.columns:
                raise InputError(
                    part.path,
                    f"other tracks or columns than {first.path}",
                    fix="score every shard with the same model and settings",
                )
        own = ("format", "columns", "contigs", "contig_lengths")
        kept = {k: v for k, v in first.attrs.items() if k not in own}
        dtypes = {c: first._file["variants"][c].dtype for c in first.columns}
        dtypes = {
            c: (object if h5py.check_string_dtype(d) is not None else d) for c, d in dtypes.items()
        }
        with ScoresWriter(out, first.tracks, dtypes, first.matrices, {**kept, **attrs}) as writer:
            for part in opened:
                for start, stop in part.blocks():
                    table = part.table(start, stop)
                    writer.append(
                        {c: table[c].to_numpy() for c in part.columns},
                        {m: part.matrix(m, start, stop) for m in part.matrices},
                    )
            writer.set_attrs(**merge_contigs(opened))
    finally:
        for part in opened:
            part.close()
