"""The report's "Motifs (TF-MoDISco)" pages of one model: every track's patterns with logos and
JASPAR matches, and the pattern x track table (which motifs drive which tracks)."""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2chrom.attribution.modisco import NOVEL, TOP_MATCHES
from seq2chrom.errors import InputError
from seq2chrom.motifs.meme import Motif

TABLE_FIXED = ["motif", "sign", "match_id", "tracks", "seqlets"]


def read_track_results(folder: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A modisco folder's ``patterns.tsv`` and the PPMs of ``patterns.meme`` by pattern."""
    from seq2chrom.io import read_tsv
    from seq2chrom.motifs.meme import read_meme

    table_path, meme_path = folder / "patterns.tsv", folder / "patterns.meme"
    for path in (table_path, meme_path):
        if not path.is_file():
            raise InputError(path, "not found", fix="run `seq2chrom modisco` for this track")
    table = read_tsv(table_path, text=["pattern", "sign", "name"])
    text = meme_path.read_text()
    motifs = read_meme(meme_path) if "letter-probability matrix" in text else []
    return table, {m.id: m.matrix for m in motifs}


def pattern_track_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Which motifs drive which tracks: one row per named motif and sign (novel patterns each
    on their own row, ``novel <track>/<pattern>``), one column per track with the seqlets of
    its patterns of that motif (0 when none); then the number of tracks and all seqlets.

    tables: track -> its ``patterns.tsv``. Rows: most tracks first, then most seqlets."""
    rows: dict[tuple[str, str], dict] = {}
    for track, table in tables.items():
        for record in table.to_dict("records"):
            named = record["name"] != NOVEL
            motif = record["name"] if named else f"{NOVEL} {track}/{record['pattern']}"
            row = rows.setdefault(
                (motif, record["sign"]),
                {"motif": motif, "sign": record["sign"], "match_id": ""},
            )
            if named and not row["match_id"]:
                row["match_id"] = record["match_id"]
            row[track] = row.get(track, 0) + int(record["n_seqlets"])
    tracks = list(tables)
    table = pd.DataFrame(list(rows.values()), columns=["motif", "sign", "match_id", *tracks])
    table[tracks] = table[tracks].fillna(0).astype(int)
    table.insert(3, "tracks", (table[tracks] > 0).sum(axis=1))
    table.insert(4, "seqlets", table[tracks].sum(axis=1))
    table["_novel"] = table["motif"].str.startswith(NOVEL + " ")
    table = table.sort_values(
        ["_novel", "tracks", "seqlets"], ascending=[True, False, False], kind="stable"
    )
    return table.drop(columns="_novel").reset_index(drop=True)


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _reverse_complement(matrix: np.ndarray) -> np.ndarray:
    return np.asarray(matrix)[::-1, ::-1]


def patterns_html(
    tables: dict[str, pd.DataFrame],
    ppms: dict[str, dict[str, np.ndarray]],
    targets: Sequence[Motif],
    *,
    title: str,
) -> str:
    """A self-contained page: per track, each pattern's sign, seqlets, forward and reverse
    logos (of the trimmed PPM that was matched) and its best JASPAR matches with q-values
    and logos (in the orientation they matched)."""
    from seq2chrom.motifs.logos import draw_logos

    by_id = {motif.id: motif for motif in targets}
    jobs: list[tuple[np.ndarray, str, str]] = []  # (matrix, title, key)
    for track, table in tables.items():
        for record in table.to_dict("records"):
            matrix = ppms[track].get(record["pattern"])
            if matrix is None:
                continue
            key = f"{track}/{record['pattern']}"
            jobs.append((matrix, f"{key} (+)", f"{key}.fwd"))
            jobs.append((_reverse_complement(matrix), f"{key} (-)", f"{key}.rev"))
            for i in range(1, TOP_MATCHES + 1):
                target = by_id.get(str(record.get(f"match_id{i}") or ""))
                if target is not None:
                    jobs.append((target.matrix, f"{target.label} {target.id}", f"{target.id}"))
    unique = {key: (matrix, label) for matrix, label, key in jobs}
    with tempfile.TemporaryDirectory() as folder:
        files = {key: Path(folder) / f"{i}.png" for i, key in enumerate(unique)}
        draw_logos(
            [matrix for matrix, _ in unique.values()],
            [label for _, label in unique.values()],
            list(files.values()),
        )
        images = {key: _image(path, key) for key, path in files.items()}
    sections = []
    for track, table in tables.items():
        named = int((table["name"] != NOVEL).sum())
        rows = []
        for record in table.to_dict("records"):
            key = f"{track}/{record['pattern']}"
            matches = []
            for i in range(1, TOP_MATCHES + 1):
                target_id = str(record.get(f"match_id{i}") or "")
                if not target_id:
                    continue
                q = record[f"qvalue{i}"]
                label = f"{record[f'match_name{i}']} ({target_id}) q={q:.2g}"
                matches.append(f"<div>{html.escape(label)}<br>{images.get(target_id, '')}</div>")
            rows.append(
                "<tr>"
                f"<td>{html.escape(record['pattern'])}<br><b>{html.escape(record['name'])}</b></td>"
                f"<td>{html.escape(record['sign'])}</td><td>{int(record['n_seqlets']):,}</td>"
                f"<td>{images.get(key + '.fwd', '')}</td><td>{images.get(key + '.rev', '')}</td>"
                f"<td>{''.join(matches)}</td></tr>"
            )
        body = (
            "<table><thead><tr><th>pattern</th><th>sign</th><th>seqlets</th><th>forward</th>"
            f"<th>reverse</th><th>best JASPAR matches</th></tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>"
            if rows
            else "<p>No pattern: too few seqlets passed MoDISco's thresholds.</p>"
        )
        sections.append(
            f"<h2>{html.escape(track)}</h2><p>{len(table)} patterns, {named} named "
            f"(a JASPAR match at q below the threshold).</p>{body}"
        )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; font-size: 13px; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }}
img {{ height: 80px; }}
td div {{ display: inline-block; margin-right: 8px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{chr(10).join(sections)}
</body></html>
"""


def write_modisco_report(
    folders: Sequence[Path],
    targets: Sequence[Motif],
    *,
    title: str,
    out_patterns: Path,
    out_table: Path,
    out_html: Path,
) -> None:
    """`seq2chrom modisco-report`: one model's patterns page and pattern x track table (TSV and
    HTML) from its modisco folders (``results/modisco/{model}/{track}``, named by track)."""
    from seq2chrom.io import atomic_output, write_tsv
    from seq2chrom.report.tables import table_html

    tables, ppms = {}, {}
    for folder in map(Path, folders):
        tables[folder.name], ppms[folder.name] = read_track_results(folder)
    page = patterns_html(tables, ppms, targets, title=f"TF-MoDISco patterns of {title}")
    table = pattern_track_table(tables)
    note = (
        "Seqlets of each motif's TF-MoDISco patterns per track; sign + raises the track, - "
        "lowers it. A pattern is named after its best JASPAR match when q is small enough, "
        "else novel."
    )
    with atomic_output(out_patterns) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_output(out_html) as tmp:
        tmp.write_text(
            table_html(table, title=f"Motifs x tracks of {title}", note=note), encoding="utf-8"
        )
    write_tsv(table, out_table, na="")
