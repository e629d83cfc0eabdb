"""Import the published DeepSEA training bundle (deepsea_train_bundle.v0.9) as split files.

The bundle, as published:
  train.mat  MATLAB 7.3 (HDF5, 512-byte userblock): h5py shows `trainxdata` (L, 4, N) and
             `traindata` (T, N)
  valid.mat, test.mat  MATLAB 5: MATLAB shapes `validxdata` (N, 4, L), `validdata` (N, T)
             (`testxdata`, `testdata`)
with L = 1000, T = 919, bases in A,G,C,T order, and the second half of each set the reverse
complement of the first half with the same labels. `matfile` opens both formats as views with
h5py's axis order, (L, 4, N) and (T, N), so one code path converts every split.

`convert_split` writes the forward halves as split files (`seq2chrom.splitfile`): x (N/2, L, 4)
uint8 A,C,G,T, y (N/2, T) uint8, the table's track names, chrom "unknown" and start -1 (the
bundle has no coordinates), attrs bin_size 200, window L and source "deepsea_bundle". It
reads blocks of samples, reorders bases and transposes each block with a compiled kernel, and
appends gzip chunks, so memory is a few blocks whatever N is.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import h5py
import numba
import numpy as np
import pandas as pd

from seq2chrom.data.matfile import hdf5_variables, mat5_array, mat5_variables, mat_version
from seq2chrom.data.summary import summary_table
from seq2chrom.data.tracksheet import TABLE_COLUMNS, read_table
from seq2chrom.errors import InputError
from seq2chrom.splitfile import (
    CHUNK_SAMPLES,
    SPLITS,
    ChunkWriter,
    TrackColumns,
    create_split_file,
    open_split,
)

log = logging.getLogger(__name__)

BUNDLE_FILES = {"train": "train.mat", "valid": "valid.mat", "test": "test.mat"}
#: MATLAB version of each published file.
BUNDLE_FORMATS = {"train": "7.3", "valid": "5", "test": "5"}
BIN_SIZE = 200
SOURCE = "deepsea_bundle"  # attrs["source"] of the imported split files
#: Rows of the published 919-track table per assay class (1-based, inclusive).
PUBLISHED_ASSAY_ROWS = (("DNase", 1, 125), ("TF", 126, 815), ("Histone", 816, 919))
PUBLISHED_COLUMNS = {  # aucs.txt column -> resource column
    "DeepSEA ROC AUC": "deepsea_auroc",
    "DanQ ROC AUC": "danq_auroc",
    "DanQ-JASPAR ROC AUC": "danq_jaspar_auroc",
    "DeepSEA PR AUC": "deepsea_auprc",
    "DanQ PR AUC": "danq_auprc",
    "DanQ-JASPAR PR AUC": "danq_jaspar_auprc",
}
_AGCT_TO_ACGT = np.array([0, 2, 1, 3])


def default_track_table_path() -> Path:
    """The shipped table of the 919 tracks (resources/deepsea_919_targets.tsv)."""
    return Path(str(resources.files("seq2chrom") / "resources" / "deepsea_919_targets.tsv"))


# ---------------------------------------------------------------------------------------------
# Track table


def build_track_table(aucs: pd.DataFrame) -> pd.DataFrame:
    """The resource table from the DanQ repository's aucs.txt (one row per bundle label column).

    Columns: track (``{factor}_{cell_type}[_{treatment}]``, characters outside
    ``[A-Za-z0-9_.-]`` replaced by ``_``, repeats numbered ``.2``, ``.3`` in row order), assay
    (by row range: 1-125 DNase, 126-815 TF, 816-919 Histone), cell_type, factor, treatment
    (whitespace, including no-break spaces, stripped), then the six published AUROC/AUPRC
    columns (NaN where aucs.txt says NA).
    """
    text = aucs.iloc[:, :3].apply(lambda column: column.str.replace("\xa0", " ").str.strip())
    cell_type, factor, treatment = (text.iloc[:, i] for i in range(3))
    assay = np.empty(len(aucs), dtype=object)
    for name, first, last in PUBLISHED_ASSAY_ROWS:
        assay[first - 1 : last] = name
    clean = [
        part.str.replace(r"[^A-Za-z0-9.-]+", "_", regex=True).str.strip("_")
        for part in (factor, cell_type, treatment)
    ]
    base = clean[0] + "_" + clean[1]
    base = base.where(treatment.isin(["None", "NA", ""]), base + "_" + clean[2])
    occurrence = base.groupby(base).cumcount() + 1
    track = base.where(occurrence == 1, base + "." + occurrence.astype(str))
    table = pd.DataFrame(
        {
            "track": track,
            "assay": assay,
            "cell_type": cell_type,
            "factor": factor,
            "treatment": treatment,
        }
    )
    for source, column in PUBLISHED_COLUMNS.items():
        table[column] = pd.to_numeric(aucs[source].where(~aucs[source].str.startswith("NA")))
    return table


def read_track_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read a track table (default: the shipped published table), checked by
    `tracksheet.read_table`: columns track, assay, cell_type (others are kept), names unique and
    usable as file names, assay one of TF, DNase, Histone."""
    path = path or default_track_table_path()
    return read_table(path, TABLE_COLUMNS, name_column="track", key="data.bundle_targets")


# ---------------------------------------------------------------------------------------------
# Opening a bundle file


@dataclass
class BundleArrays:
    """The two arrays of one bundle file, as views with h5py's axis order.

    x: (L, 4, N), bases A,G,C,T; y: (T, N). Slicing reads only what is asked for.
    """

    path: Path
    x_name: str
    y_name: str
    x: h5py.Dataset | np.ndarray
    y: h5py.Dataset | np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[2])


@contextlib.contextmanager
def open_bundle_file(
    path: str | Path, split: str, scratch: str | Path | None = None
) -> Iterator[BundleArrays]:
    """Open `{split}.mat` of the bundle and check format, variable names, shapes and dtypes.

    `scratch` is where a compressed MATLAB 5 variable is inflated (default: beside `path`).
    """
    path = Path(path)
    expected = BUNDLE_FORMATS[split]
    version = mat_version(path)
    if version != expected:
        raise InputError(
            path,
            f"is a MATLAB {version} file, but the published {BUNDLE_FILES[split]} is MATLAB "
            f"{expected}",
            fix=f"pass the bundle's own {BUNDLE_FILES[split]} (files swapped or re-saved?)",
        )
    x_name, y_name = f"{split}xdata", f"{split}data"
    if version == "7.3":
        try:
            handle = h5py.File(path, "r")
        except OSError as error:
            raise InputError(
                path,
                f"cannot open as HDF5 ({error})",
                fix="the file is truncated or corrupt: download it again",
            ) from None
        with handle:
            variables = hdf5_variables(handle)
            _check_names(path, variables, x_name, y_name)
            arrays = BundleArrays(path, x_name, y_name, variables[x_name], variables[y_name])
            _check_arrays(arrays, {k: str(v.dtype) for k, v in variables.items()})
            yield arrays
        return
    variables = mat5_variables(path)
    _check_names(path, variables, x_name, y_name)
    for name in (x_name, y_name):
        variable = variables[name]
        if variable.dtype not in ("uint8", "int8") or variable.complex:
            raise InputError(
                path,
                f"{name} is stored as {'complex ' if variable.complex else ''}"
                f"{variable.dtype}; the published bundle stores 0/1 bytes (uint8)",
                fix="pass the unmodified bundle file",
            )
        if not variable.compressed and variable.nbytes != int(np.prod(variable.shape)):
            raise InputError(
                path,
                f"{name}: {variable.nbytes} data bytes for shape {variable.shape}",
                fix="the file is corrupt: download it again",
            )
    scratch = Path(scratch) if scratch is not None else path.parent
    with (
        mat5_array(path, variables[x_name], scratch) as x,
        mat5_array(path, variables[y_name], scratch) as y,
    ):
        arrays = BundleArrays(path, x_name, y_name, x, y)
        _check_arrays(arrays, {x_name: str(x.dtype), y_name: str(y.dtype)})
        yield arrays


def _check_names(path: Path, variables: dict, x_name: str, y_name: str) -> None:
    missing = [name for name in (x_name, y_name) if name not in variables]
    if missing:
        raise InputError(
            path,
            f"variables {missing} not found (file has {sorted(variables)})",
            fix="pass the bundle file of this split (train.mat, valid.mat or test.mat)",
        )


def _check_arrays(arrays: BundleArrays, dtypes: dict[str, str]) -> None:
    path, x, y = arrays.path, arrays.x, arrays.y
    for name in (arrays.x_name, arrays.y_name):
        if dtypes[name] not in ("uint8", "int8", "bool"):
            raise InputError(
                path,
                f"{name} has dtype {dtypes[name]}; the published bundle stores 0/1 bytes (uint8)",
                fix="pass the unmodified bundle file",
            )
    shown = _shown_shapes(arrays)
    if x.ndim != 3 or x.shape[1] != 4:
        raise InputError(
            path,
            f"{arrays.x_name} has shape {shown[0]}, expected {shown[2]}",
            fix="pass the unmodified bundle file",
        )
    if y.ndim != 2 or y.shape[1] != x.shape[2]:
        raise InputError(
            path,
            f"{arrays.y_name} has shape {shown[1]}, expected {shown[3]}",
            fix="pass the unmodified bundle file",
        )
    if x.shape[2] == 0 or x.shape[2] % 2:
        raise InputError(
            path,
            f"{x.shape[2]} samples: the bundle holds an even number (second half = reverse "
            "complements of the first)",
            fix="pass the unmodified bundle file",
        )


def _shown_shapes(arrays: BundleArrays) -> tuple[tuple, tuple, str, str]:
    """Shapes as the user's tool shows them: h5py for MATLAB 7.3, MATLAB/scipy for MATLAB 5."""
    hdf5 = isinstance(arrays.x, h5py.Dataset)
    x_shape, y_shape = tuple(arrays.x.shape), tuple(arrays.y.shape)
    if hdf5:
        return x_shape, y_shape, "(1000, 4, N)", "(919, N)"
    return x_shape[::-1], y_shape[::-1], "(N, 4, 1000)", "(N, 919)"


# ---------------------------------------------------------------------------------------------
# Conversion


@numba.njit(nogil=True, cache=True)
def _agct_to_acgt_kernel(source: np.ndarray, out32: np.ndarray) -> None:  # pragma: no cover
    """out32[i, l] packs bytes A, C, G, T = source[l, 0, i], [l, 2, i], [l, 1, i], [l, 3, i]."""
    length, _, n = source.shape
    for n0 in range(0, n, 64):
        n1 = min(n0 + 64, n)
        for l0 in range(0, length, 64):
            for position in range(l0, min(l0 + 64, length)):
                for i in range(n0, n1):
                    out32[i, position] = (
                        np.uint32(source[position, 0, i])
                        | (np.uint32(source[position, 2, i]) << 8)
                        | (np.uint32(source[position, 1, i]) << 16)
                        | (np.uint32(source[position, 3, i]) << 24)
                    )


def agct_to_acgt(block: np.ndarray) -> np.ndarray:
    """Bundle layout to split-file layout.

    block: (L, 4, n) uint8, bases A,G,C,T -> (n, L, 4) uint8, bases A,C,G,T (C-contiguous).
    """
    block = np.ascontiguousarray(block).view(np.uint8)
    length, _, n = block.shape
    out = np.empty((n, length, 4), np.uint8)
    if sys.byteorder == "little" and n:
        _agct_to_acgt_kernel(block, out.view(np.uint32).reshape(n, length))
    else:
        out[...] = block[:, _AGCT_TO_ACGT, :].transpose(2, 0, 1)
    return out


def check_reverse_complement(
    arrays: BundleArrays, n_runs: int = 8, run_length: int = 16, seed: int = 0
) -> int:
    """Check that sample i + N/2 is the reverse complement of sample i, with the same labels.

    Checks `n_runs` runs of `run_length` consecutive forward samples (the first run at the start,
    the last at the end of the first half, the others random; runs keep reads contiguous) and
    raises InputError naming the first failing pair. In A,G,C,T (as in A,C,G,T) order the
    complement reverses the base axis: rc(x)[l, b] = x[L - 1 - l, 3 - b]. Returns the number
    of pairs checked.
    """
    half = arrays.n_samples // 2
    rng = np.random.default_rng(seed)
    run_length = min(run_length, half)
    random_starts = rng.integers(0, half - run_length + 1, n_runs)
    starts = np.concatenate([[0, half - run_length], random_starts])
    rows = np.unique((starts[:, None] + np.arange(run_length)).ravel())
    both = np.concatenate([rows, rows + half])
    x = np.asarray(_read(arrays, arrays.x, (slice(None), slice(None), both)))
    y = np.asarray(_read(arrays, arrays.y, (slice(None), both)))
    forward, reverse = x[:, :, : rows.size], x[:, :, rows.size :]
    same_x = (reverse == forward[::-1, ::-1, :]).all(axis=(0, 1))
    same_y = (y[:, : rows.size] == y[:, rows.size :]).all(axis=0)
    bad = np.flatnonzero(~(same_x & same_y))
    if bad.size:
        i = int(rows[bad[0]])
        what = "sequence" if not same_x[bad[0]] else "labels"
        raise InputError(
            arrays.path,
            f"sample {i + half + 1} is not the reverse complement of sample {i + 1} "
            f"({what} differ; {bad.size} of {rows.size} checked pairs fail)",
            fix="pass the unmodified bundle file (second half = reverse complements of the first)",
        )
    return int(rows.size)


def convert_split(
    path: str | Path,
    split: str,
    tracks: pd.DataFrame,
    output: str | Path,
    *,
    threads: int = 1,
    block_samples: int = 16 * CHUNK_SAMPLES,
    check_runs: int = 8,
    scratch: str | Path | None = None,
) -> int:
    """Convert one bundle file into a split file; returns the number of samples written (N/2).

    Parameters
    ----------
    path : the bundle's train.mat, valid.mat or test.mat
    split : "train", "valid" or "test" (fixes the expected format and variable names)
    tracks : table from `read_track_table`, one row per label column, in order
    output : split .h5 to write (x (N/2, L, 4) uint8 A,C,G,T; y (N/2, T) uint8; see module doc)
    threads : gzip compression threads
    block_samples : samples read, converted and written at a time (memory ~ 12 kB per sample)
    check_runs : runs of 16 sample pairs checked to be reverse complements (plus first and last)
    scratch : folder for inflating compressed MATLAB 5 variables (default: beside `output`)
    """
    scratch = Path(scratch) if scratch is not None else Path(output).parent
    with open_bundle_file(path, split, scratch) as arrays:
        length, n_tracks = int(arrays.x.shape[0]), int(arrays.y.shape[0])
        if n_tracks != len(tracks):
            raise InputError(
                arrays.path,
                f"{arrays.y_name} has {n_tracks} label columns but the track table "
                f"has {len(tracks)} rows",
                fix="set data.bundle_targets to a table with one row per label column, in order",
            )
        checked = check_reverse_complement(arrays, check_runs)
        n = arrays.n_samples // 2
        log.info(
            "%s: %d samples, %d forward; %d reverse-complement pairs checked",
            path,
            arrays.n_samples,
            n,
            checked,
        )
        columns = TrackColumns(*(tracks[column].tolist() for column in TABLE_COLUMNS))
        attrs = {"bin_size": BIN_SIZE, "window": length, "split": split, "source": SOURCE}
        with create_split_file(output, columns, n, window=length, attrs=attrs) as h5:
            x, y = h5.x, h5.y
            writer = ChunkWriter(x, threads)
            firsts = range(0, n, block_samples)
            blocks = [(first, min(first + block_samples, n)) for first in firsts]
            with ThreadPoolExecutor(1) as reader:  # read block k + 1 while block k compresses
                pending = reader.submit(_read_block, arrays, *blocks[0]) if blocks else None
                for k, (first, last) in enumerate(blocks):
                    x_block, y_block = pending.result()
                    if k + 1 < len(blocks):
                        pending = reader.submit(_read_block, arrays, *blocks[k + 1])
                    writer.append(agct_to_acgt(x_block))
                    y[first:last] = np.ascontiguousarray(y_block.T).view(np.uint8)
                    if (k + 1) % 64 == 0 or last == n:
                        log.info("%s: %d/%d samples", split, last, n)
            writer.close()
    return n


def _read_block(arrays: BundleArrays, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """x (L, 4, n) and y (T, n) of samples first..last, checked to hold only 0 and 1."""
    x_block = _read(arrays, arrays.x, (slice(None), slice(None), slice(first, last)))
    y_block = _read(arrays, arrays.y, (slice(None), slice(first, last)))
    _check_binary(arrays, x_block, arrays.x_name, first)
    _check_binary(arrays, y_block, arrays.y_name, first)
    return x_block, y_block


def _read(arrays: BundleArrays, array, selection: tuple) -> np.ndarray:
    try:
        return array[selection]
    except OSError as error:
        raise InputError(
            arrays.path,
            f"cannot read data ({error})",
            fix="the file is truncated or corrupt: download it again",
        ) from None


def _check_binary(arrays: BundleArrays, block: np.ndarray, name: str, first: int) -> None:
    if block.size and block.view(np.uint8).max() > 1:
        raise InputError(
            arrays.path,
            f"{name} holds values other than 0 and 1 (samples from {first + 1})",
            fix="pass the unmodified bundle file",
        )


# ---------------------------------------------------------------------------------------------
# Summary


def summarize_splits(paths: dict[str, str | Path], block_rows: int = 1 << 16) -> pd.DataFrame:
    """Samples and positives per split from split files, in the layout of the data summary
    (`seq2chrom.data.summary.summary_table`). Reads y in row blocks."""
    counts, columns = {}, None
    for split, path in paths.items():
        with open_split(path) as data:
            info = data.info()
            if columns is None:
                columns = TrackColumns(info.tracks, info.assays, info.cell_types)
            counts[split] = (info.n_samples, data.positives(block_rows))
    samples = np.array([counts[s][0] if s in counts else 0 for s in SPLITS])
    positives = np.array(
        [counts[s][1] if s in counts else np.zeros(len(columns.tracks), np.int64) for s in SPLITS]
    )
    return summary_table(columns, samples, positives)
