"""The evaluate stage's files: its checked inputs, and metrics.tsv, which later steps read.

metrics.tsv (one row per track, `metrics.METRICS_COLUMNS`) is written by `write_metrics_table`
and read back by `read_metrics_table` in every step that uses it (compare-models,
published-comparison, tracks-table): text columns stay strings (a track may be named "NA"),
missing metrics are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.errors import InputError
from seq2chrom.evaluate.metrics import METRICS_COLUMNS
from seq2chrom.io import METRIC_FLOATS, read_tsv, write_tsv
from seq2chrom.modelfile import track_difference

METRICS_TEXT = ("track", "assay", "cell_type", "status")  # the other columns are numbers
METRICS_REQUIRED = [c for c in METRICS_COLUMNS if c != "status"]  # status came later


def read_evaluation_inputs(
    predictions_path: Path, data_path: Path
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Labels, scores and track sheet of a test split, checked against each other.

    Returns
    -------
    y_true : (N, T) uint8; y_score : (N, T) float32;
    tracks : T rows with columns track, assay, cell_type (data file order)
    """
    from seq2chrom.splitfile import read_labels, read_predictions

    y_true, columns = read_labels(data_path)
    y_score, predicted_tracks, *_ = read_predictions(predictions_path)
    data_tracks = columns.tracks
    if predicted_tracks != data_tracks:
        raise InputError(
            predictions_path,
            f"tracks differ from {data_path}: {track_difference(predicted_tracks, data_tracks)}",
            fix="predict again with a model trained on this data set",
        )
    if y_score.ndim != 2 or y_score.shape[1] != len(data_tracks):
        raise InputError(
            predictions_path, f"y_pred has shape {y_score.shape}, expected (N, {len(data_tracks)})"
        )
    if y_true.shape != y_score.shape:
        raise InputError(
            predictions_path,
            f"y_pred has shape {y_score.shape} but y of {data_path} has shape {y_true.shape}",
            fix="predict again on this test split",
        )
    if y_true.dtype != np.bool_ and y_true.size and y_true.max() > 1:
        raise InputError(data_path, "y holds values other than 0 and 1")
    if not np.issubdtype(y_score.dtype, np.floating):
        raise InputError(predictions_path, f"y_pred has dtype {y_score.dtype}, expected float")
    tracks = pd.DataFrame(
        {"track": data_tracks, "assay": columns.assays, "cell_type": columns.cell_types}
    )
    return y_true, y_score, tracks


def write_metrics_table(metrics: pd.DataFrame, path: str | Path) -> None:
    """metrics.tsv: `metrics.metrics_table`'s table, metrics with six decimals, missing as NA."""
    write_tsv(metrics, path, floats=METRIC_FLOATS)


def read_metrics_table(path: str | Path) -> pd.DataFrame:
    """A metrics.tsv written by `write_metrics_table`, checked for `METRICS_REQUIRED`."""
    if not Path(path).is_file():
        raise InputError(path, "metrics file not found", fix="run `seq2chrom evaluate` first")
    table = read_tsv(path, text=METRICS_TEXT)
    missing = [column for column in METRICS_REQUIRED if column not in table.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", line=1, fix="rerun the evaluation")
    return table
