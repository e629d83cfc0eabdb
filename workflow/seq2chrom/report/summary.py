"""The report's Summary: the headline numbers of every model, each linked to its detailed item.

Per model: median test AUROC and AUPRC per assay class (from the evaluation's ``summary.tsv``),
the filters with a database match and the motifs most often matched (the motif step's
``summary.tsv``), when attributions were run the factors TF-MoDISco named beside those the
filters matched (``modisco/{model}/table.tsv``) and, when variants were scored, the strongest
variants (``{name}.top.tsv``).

Three renderings of one table: a TSV, an HTML page (the report item) and reStructuredText for
the item's caption, where each number is a link that opens the detailed item in the Snakemake
report (``javascript:app.showResultInfo(path)``, as the report's own links do). The landing
page (workflow.rst) shows that caption first.
"""

from __future__ import annotations

import html
import urllib.parse
from dataclasses import dataclass, field

import pandas as pd

SUMMARY_COLUMNS = ["model", "section", "item", "value", "link"]
TOP_MOTIFS = 5
TOP_VARIANTS = 3
SHOWN_FACTORS = 12  # factor names listed per approach before "+n more"


@dataclass
class ModelResults:
    """One model's detailed tables and the report paths of the items they come from."""

    name: str
    preset: str
    evaluation: pd.DataFrame  # evaluate/summary.py class_summary
    evaluation_link: str
    motifs: pd.DataFrame | None = None  # motifs/summary.py summary_table
    motifs_link: str = ""
    variants: dict[str, tuple[pd.DataFrame, str]] = field(default_factory=dict)  # name -> top
    modisco: pd.DataFrame | None = None  # attribution/report.py pattern_track_table
    modisco_link: str = ""


def _number(value: float) -> str:
    return "NA" if pd.isna(value) else f"{value:.3f}"


def top_motifs(motifs: pd.DataFrame, n: int = TOP_MOTIFS) -> list[tuple[str, int]]:
    """The `n` database motifs matched by most filters (best match per filter), with counts;
    ties broken by the smallest E-value."""
    matched = motifs[motifs["best_match"].fillna("") != ""]
    if matched.empty:
        return []
    grouped = matched.groupby("best_match").agg(filters=("filter", "size"), best=("evalue", "min"))
    grouped = grouped.sort_values(["filters", "best"], ascending=[False, True], kind="stable")
    return list(zip(grouped.index[:n], grouped["filters"][:n].astype(int), strict=True))


def filter_factors(motifs: pd.DataFrame) -> list[str]:
    """Database motifs that filters match (best match per filter), most filters first."""
    matched = motifs[motifs["best_match"].fillna("") != ""]
    counts = matched.groupby("best_match", sort=False)["filter"].size()
    return counts.sort_values(ascending=False, kind="stable").index.tolist()


def modisco_factors(table: pd.DataFrame) -> list[str]:
    """Named TF-MoDISco motifs that raise a track (sign +) in a model's motifs x tracks table
    (whose novel rows start with "novel "), in the table's order (most tracks first)."""
    motif = table["motif"].astype(str)
    named = motif[~motif.str.startswith("novel ") & (table["sign"] == "+")]
    return list(dict.fromkeys(named))


def _factor_list(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_FACTORS]) or "none"
    more = len(names) - SHOWN_FACTORS
    return f"{shown} (+{more} more)" if more > 0 else shown


def summary_rows(models: list[ModelResults]) -> pd.DataFrame:
    """The Summary as a long table with `SUMMARY_COLUMNS` (value as display text)."""
    rows = []
    for model in models:
        whole = model.evaluation[model.evaluation["assay"] == "all"]
        constant = int(whole["n_constant"].iloc[0]) if "n_constant" in whole and len(whole) else 0
        if constant:
            # A collapsed model's AUROC of 0.5 is ties, not a result: said in words, first.
            rows.append((model.name, "warning", "constant predictions",
                         f"{constant} of {int(whole['n_tracks'].iloc[0])} tracks: one number "
                         "for every test window (a collapsed training); no AUROC/AUPRC; retrain "
                         "with a lower train.learning_rate", model.evaluation_link))  # fmt: skip
        for record in model.evaluation.to_dict("records"):
            for metric in ("auroc", "auprc"):
                value = _number(record[f"median_{metric}"])
                rows.append((model.name, f"median test {metric.upper()}", record["assay"], value,
                             model.evaluation_link))  # fmt: skip
        if model.motifs is not None:
            annotated = int((model.motifs["best_match_id"].fillna("") != "").sum())
            rows.append((model.name, "filters", "annotated (database match)",
                         f"{annotated} of {len(model.motifs)}", model.motifs_link))  # fmt: skip
            for name, count in top_motifs(model.motifs):
                filters = f"{count} filter" + ("s" if count > 1 else "")
                rows.append((model.name, "top matched motifs", name, filters,
                             model.motifs_link))  # fmt: skip
        if model.modisco is not None:
            found = modisco_factors(model.modisco)
            rows.append((model.name, "factors found", "TF-MoDISco", _factor_list(found),
                         model.modisco_link))  # fmt: skip
            if model.motifs is not None:
                by_filters = filter_factors(model.motifs)
                rows.append((model.name, "factors found", "filters", _factor_list(by_filters),
                             model.motifs_link))  # fmt: skip
                both = {name.upper() for name in by_filters}
                rows.append((model.name, "factors found", "both",
                             _factor_list([n for n in found if n.upper() in both]),
                             model.modisco_link))  # fmt: skip
        for vcf, (top, link) in model.variants.items():
            for record in top.head(TOP_VARIANTS).to_dict("records"):
                rows.append((model.name, f"strongest variants ({vcf})", str(record["variant_id"]),
                             f"{record['top_track']} {record['top_diff']:+.3f}", link))  # fmt: skip
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def report_link(text: str, path: str) -> str:
    """An RST hyperlink that opens `path`'s item in the Snakemake report."""
    quoted = urllib.parse.quote(path, safe="/")
    text = text.replace("`", "'").replace("<", "(").replace(">", ")")
    return f"`{text} <javascript:app.showResultInfo('{quoted}')>`__"


def summary_rst(table: pd.DataFrame, presets: dict[str, str]) -> str:
    """reStructuredText of the Summary: per model, one bullet per section, numbers linked."""
    lines = []
    for model, part in table.groupby("model", sort=False):
        lines += [f"**{model}** (preset ``{presets.get(model, '?')}``)", ""]
        for section, rows in part.groupby("section", sort=False):
            items = ", ".join(
                f"{row.item} {report_link(row.value, row.link)}" for row in rows.itertuples()
            )
            lines.append(f"- {section}: {items}")
        lines.append("")
    if not lines:
        lines = ["No model results yet.", ""]
    return "\n".join(lines)


def summary_html(table: pd.DataFrame, presets: dict[str, str]) -> str:
    """A standalone page: one table per model (section, item, value)."""
    from seq2chrom.report.tables import tables_html

    sections = [
        (
            f"{model} (preset {presets.get(model, '?')})",
            part[["section", "item", "value"]].reset_index(drop=True),
        )
        for model, part in table.groupby("model", sort=False)
    ]
    if not sections:
        return f"<!doctype html><p>{html.escape('No model results yet.')}</p>"
    return tables_html(sections, title="seq2chrom summary")
