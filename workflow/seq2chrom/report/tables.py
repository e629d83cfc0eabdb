"""Render tables as small standalone, styled HTML pages for the Snakemake report.

The report offers TSV files only for download; an HTML page is shown inline. Numbers are
formatted per column: integers with thousands separators, fractions with three decimals,
tiny values (p-values, E-values) in scientific notation, missing values as "NA".
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       font-size: 13px; color: #1f2933; margin: 16px; }
h1 { font-size: 16px; margin: 0 0 4px 0; }
p.note { color: #52606d; margin: 0 0 10px 0; max-width: 60em; }
table { border-collapse: collapse; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; white-space: nowrap; }
th { position: sticky; top: 0; background: #f5f7fa; text-align: left;
     border-bottom: 2px solid #9aa5b1; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #9aa5b1; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #e6f0ff; }
"""


def format_column(values: pd.Series) -> list[str]:
    """Format one column for display (see module docstring); returns one string per value."""
    if pd.api.types.is_bool_dtype(values):
        return [str(v) for v in values]
    if not pd.api.types.is_numeric_dtype(values):
        return ["NA" if _missing(v) else str(v) for v in values]
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64 too
    finite = numbers[np.isfinite(numbers)]
    integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
    if integral and (pd.api.types.is_integer_dtype(values) or np.all(np.abs(finite) < 1e15)):
        return [_format_integer(v) for v in numbers]
    return [_format_float(v) for v in numbers]


def table_html(table: pd.DataFrame, *, title: str = "", note: str = "") -> str:
    """A complete HTML page showing `table` with numbers right-aligned and formatted."""
    return _page(title or "table", [_table_fragment(table, title=title, note=note)])


def _table_fragment(table: pd.DataFrame, *, title: str, note: str) -> str:
    numeric = [
        pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
        for c in table.columns
    ]
    cells = [format_column(table[c]) for c in table.columns]
    head = "".join(
        f'<th class="num">{html.escape(str(c))}</th>' if num else f"<th>{html.escape(str(c))}</th>"
        for c, num in zip(table.columns, numeric, strict=True)
    )
    parts = []
    if title:
        parts.append(f"<h1>{html.escape(title)}</h1>")
    if note:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
    for i in range(len(table)):
        row = []
        for column_cells, num in zip(cells, numeric, strict=True):
            text = column_cells[i]
            classes = (["num"] if num else []) + (["na"] if text == "NA" else [])
            attr = f' class="{" ".join(classes)}"' if classes else ""
            row.append(f"<td{attr}>{html.escape(text)}</td>")
        parts.append("<tr>" + "".join(row) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _page(title: str, fragments: Sequence[str]) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head><body>\n"
        + "\n<hr>\n".join(fragments)
        + "\n</body></html>\n"
    )


def tables_html(sections: Sequence[tuple[str, pd.DataFrame]], *, title: str) -> str:
    """One page with several titled tables (e.g. settings and the tracks sheet)."""
    return _page(title, [_table_fragment(t, title=heading, note="") for heading, t in sections])


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _format_integer(value: float) -> str:
    if not np.isfinite(value):
        return "NA" if np.isnan(value) else str(value)
    return f"{int(value):,}"


def _format_float(value: float) -> str:
    if np.isnan(value):
        return "NA"
    if not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(value)
    if value == 0:
        return "0"
    if magnitude < 1e-3:
        return f"{value:.2e}"
    if magnitude >= 1e4:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}"
