"""The report's Tracks table: one row per track of the sheet, with where its peaks came from,
how many peaks and positive bins it has, whether it is new since the base model, and each
model's test AUROC and AUPRC in the same row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

COLUMNS = ["track", "assay", "cell_type", "source", "peaks", "positive_bins", "new"]


def tracks_table(
    sheet: pd.DataFrame,
    peaks: Sequence[int | None],
    positive_bins: Mapping[str, int],
    metrics: Mapping[str, pd.DataFrame],
    base_tracks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per track, in sheet order.

    Parameters
    ----------
    sheet : the track sheet, columns name, assay, cell_type, path (a file path or a URL).
    peaks : peaks per track, in sheet order; None where unknown (shown as NA).
    positive_bins : track name -> positive bins in the label matrix (absent: NA).
    metrics : model name -> that model's metrics table (columns track, auroc, auprc).
    base_tracks : the tracks the base model was trained on, or None without a base model.

    Returns
    -------
    Columns track, assay, cell_type, source, peaks, positive_bins, new ("yes" when a base
    model exists and does not have the track, otherwise "no"), then `<model>_auroc` and
    `<model>_auprc` for each model in `metrics` order (NaN where the model has no value).
    """
    names = sheet["name"].astype(str).tolist()
    if len(peaks) != len(names):
        raise ValueError(f"{len(peaks)} peak counts for {len(names)} tracks")
    known = set(base_tracks) if base_tracks is not None else set(names)
    table = pd.DataFrame(
        {
            "track": names,
            "assay": sheet["assay"].astype(str).tolist(),
            "cell_type": sheet["cell_type"].astype(str).tolist(),
            "source": sheet["path"].astype(str).tolist(),
            "peaks": pd.array(peaks, dtype="Int64"),
            "positive_bins": pd.array([positive_bins.get(n) for n in names], dtype="Int64"),
            "new": ["no" if name in known else "yes" for name in names],
        },
        columns=COLUMNS,
    )
    for model, model_metrics in metrics.items():
        values = model_metrics.drop_duplicates("track").set_index("track")
        for metric in ("auroc", "auprc"):
            column = values[metric].reindex(names).to_numpy(np.float64)
            table[f"{model}_{metric}"] = column
    return table


def tracks_note(table: pd.DataFrame, base: str | None) -> str:
    """One sentence for the top of the Tracks page: how many tracks, and how many are new."""
    if base is None:
        return f"{len(table)} tracks. No base model is set, so no track is marked new."
    new = int((table["new"] == "yes").sum())
    return f"{len(table)} tracks, {new} new since the base model ({base})."
