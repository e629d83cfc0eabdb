"""Tables built from per-track metrics: per-class summary and model-vs-model wins."""

from __future__ import annotations

import numpy as np
import pandas as pd

ASSAY_ORDER = ["TF", "DNase", "Histone"]
ALL = "all"
METRICS = ["auroc", "auprc"]


def assay_classes(assays: pd.Series | list[str]) -> list[str]:
    """Assay classes present, TF, DNase, Histone first, then any others alphabetically."""
    present = set(assays)
    return [a for a in ASSAY_ORDER if a in present] + sorted(present - set(ASSAY_ORDER))


def class_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-assay-class summary of a metrics table, plus an `all` row.

    Parameters
    ----------
    metrics : the `metrics_table` output (columns track, assay, n_pos, auroc, auprc, ...)

    Returns
    -------
    DataFrame with columns `assay, n_tracks, n_evaluated, n_constant, median_auroc,
    mean_auroc, median_auprc, mean_auprc`; `n_evaluated` counts tracks with metrics (enough
    positives, predictions that vary), over which the medians and means are taken (NaN when
    none); `n_constant` counts tracks whose predictions were one number for every window.
    """
    rows = []
    for assay in [*assay_classes(metrics["assay"]), ALL]:
        part = metrics if assay == ALL else metrics[metrics["assay"] == assay]
        evaluated = part.dropna(subset=METRICS)
        row = {
            "assay": assay,
            "n_tracks": len(part),
            "n_evaluated": len(evaluated),
            "n_constant": int((part["status"] == "constant_predictions").sum()),
        }
        for metric in METRICS:
            values = evaluated[metric].to_numpy(dtype=np.float64)
            row[f"median_{metric}"] = float(np.median(values)) if values.size else np.nan
            row[f"mean_{metric}"] = float(np.mean(values)) if values.size else np.nan
        rows.append(row)
    columns = ["assay", "n_tracks", "n_evaluated", "n_constant"]
    columns += ["median_auroc", "mean_auroc", "median_auprc", "mean_auprc"]
    return pd.DataFrame(rows, columns=columns)


def paired_metrics(metrics_by_model: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per track with `track, assay, cell_type` and `<metric>_<model>` columns.

    Raises ValueError if the models were evaluated on different track lists.
    """
    models = list(metrics_by_model)
    first = metrics_by_model[models[0]]
    paired = first[["track", "assay", "cell_type"]].reset_index(drop=True)
    for model, table in metrics_by_model.items():
        if table["track"].tolist() != paired["track"].tolist():
            raise ValueError(f"model {model!r} was evaluated on other tracks than {models[0]!r}")
        for metric in METRICS:
            paired[f"{metric}_{model}"] = table[metric].to_numpy(dtype=np.float64)
    return paired


def wins_table(metrics_by_model: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How many tracks each model wins (strictly highest value), per metric and assay class.

    Parameters
    ----------
    metrics_by_model : model name -> metrics table, all over the same tracks in the same order

    Returns
    -------
    DataFrame with columns `metric, assay, n_tracks, <model> ..., ties`: `n_tracks` counts
    tracks with the metric for every model; each model column counts tracks where that model
    is strictly best; `ties` counts tracks where the best value is shared.
    """
    models = list(metrics_by_model)
    paired = paired_metrics(metrics_by_model)
    rows = []
    for metric in METRICS:
        values = paired[[f"{metric}_{model}" for model in models]].to_numpy()
        complete = ~np.isnan(values).any(axis=1)
        best = np.where(complete[:, None], values, -np.inf).max(axis=1, keepdims=True)
        is_best = values == best
        single_winner = complete & (is_best.sum(axis=1) == 1)
        for assay in [*assay_classes(paired["assay"]), ALL]:
            in_class = np.ones(len(paired), bool) if assay == ALL else paired["assay"] == assay
            in_class = np.asarray(in_class) & complete
            row = {"metric": metric, "assay": assay, "n_tracks": int(in_class.sum())}
            for k, model in enumerate(models):
                row[model] = int((in_class & single_winner & is_best[:, k]).sum())
            row["ties"] = int((in_class & ~single_winner).sum())
            rows.append(row)
    return pd.DataFrame(rows, columns=["metric", "assay", "n_tracks", *models, "ties"])
