"""Per-filter summary of the motif step: sites, information, best database match, influence."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = [
    "filter",
    "n_sites",
    "information",
    "best_match_id",
    "best_match",
    "evalue",
    "qvalue",
    "strand",
    "influence",
    "top_track",
    "logo",
]


def filters_table(result, influence, tracks: list[str]) -> pd.DataFrame:
    """filters.tsv: one row per conv1 filter of `result` (`pwms.FilterPWMs`).

    influence: `influence.FilterInfluence` (Basset's), or None when not measured (NaN columns).
    Columns: filter (filter0...), n_sites, information (4 decimals), max_activation,
    mean_activation, site_limit (the output a site exceeds), status ("written",
    "too_few_sites", or "inactive" when it never fires), influence (Basset's loss influence:
    mean increase of a sequence's loss when the filter is held at its mean), top_track and
    top_track_influence (the track whose standardised logit it moves most, either way).
    """
    n_filters = len(result.n_sites)
    status = np.where(
        result.passed, "written", np.where(result.max_activation > 0, "too_few_sites", "inactive")
    )
    if influence is None:
        loss = np.full(n_filters, np.nan)
        per_track = np.full((n_filters, len(tracks)), np.nan)
    else:
        loss, per_track = influence.loss, influence.tracks
    top = np.argmax(np.nan_to_num(np.abs(per_track), nan=-1.0), axis=1)
    return pd.DataFrame(
        {
            "filter": [f"filter{i}" for i in range(n_filters)],
            "n_sites": result.n_sites,
            "information": np.round(result.information, 4),
            "max_activation": result.max_activation,
            "mean_activation": result.mean_activation,
            "site_limit": np.where(np.isfinite(result.limit), result.limit, np.nan),
            "status": status,
            "influence": loss,
            "top_track": [tracks[i] for i in top],
            "top_track_influence": per_track[np.arange(n_filters), top],
        }
    )


def best_matches(tomtom: pd.DataFrame) -> pd.DataFrame:
    """The best row of `tomtom` (Tomtom's ``tomtom.tsv`` columns) per query, indexed by filter.

    Smallest p-value first; ties keep the file's order (Tomtom's: larger overlap first).
    ``Target_name`` falls back to ``Target_ID`` for a file without it (MEME's own output).
    """
    ordered = tomtom.sort_values("p-value", kind="stable")
    best = ordered.drop_duplicates("Query_ID").set_index("Query_ID")
    if "Target_name" not in best:
        best["Target_name"] = best["Target_ID"]
    return best.rename_axis("filter")


def summary_table(filters: pd.DataFrame, tomtom: pd.DataFrame) -> pd.DataFrame:
    """Join the per-filter table (``filters.tsv``) with each filter's best Tomtom match.

    Rows: every filter with a PWM, annotated filters first (by E-value), then the rest by
    influence. ``logo`` is ``<filter>.png`` for annotated filters, empty otherwise.
    """
    written = filters[filters["status"] == "written"].set_index("filter")
    best = best_matches(tomtom).reindex(written.index)
    table = pd.DataFrame(
        {
            "filter": written.index,
            "n_sites": written["n_sites"].to_numpy(),
            "information": written["information"].round(3).to_numpy(),
            "best_match_id": best["Target_ID"].fillna("").to_numpy(),
            "best_match": best["Target_name"].fillna("").to_numpy(),
            "evalue": best["E-value"].to_numpy(),
            "qvalue": best["q-value"].to_numpy(),
            "strand": best["Orientation"].fillna("").to_numpy(),
            "influence": written["influence"].to_numpy(),
            "top_track": written["top_track"].to_numpy(),
        }
    )
    annotated = table["best_match_id"] != ""
    table["logo"] = np.where(annotated, table["filter"] + ".png", "")
    table["_unannotated"] = ~annotated
    table = table.sort_values(
        ["_unannotated", "evalue", "influence"], ascending=[True, True, False], kind="stable"
    )
    return table.drop(columns="_unannotated").reset_index(drop=True)[SUMMARY_COLUMNS]


def summary_html(table: pd.DataFrame, logo_dir: str | Path, *, title: str) -> str:
    """A self-contained HTML page of `table` with each logo embedded as a PNG data URI."""
    logo_dir = Path(logo_dir)
    shown = [c for c in SUMMARY_COLUMNS if c != "logo"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["logo", *shown])
    rows = []
    for record in table.to_dict("records"):
        image = ""
        if record["logo"] and (logo_dir / record["logo"]).exists():
            data = base64.b64encode((logo_dir / record["logo"]).read_bytes()).decode("ascii")
            alt = html.escape(record["filter"])
            image = f'<img alt="{alt}" src="data:image/png;base64,{data}">'
        cells = []
        for column in shown:
            value = record[column]
            if isinstance(value, float):
                value = (
                    ""
                    if pd.isna(value)
                    else (f"{value:.2e}" if column in ("evalue", "qvalue") else f"{value:.4g}")
                )
            cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append(f"<tr><td>{image}</td>{''.join(cells)}</tr>")
    n_annotated = int((table["best_match_id"] != "").sum())
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; }}
img {{ height: 90px; }}
</style></head><body>
<h2>{html.escape(title)}</h2>
<p>{n_annotated} of {len(table)} filters with a PWM match a database motif.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
