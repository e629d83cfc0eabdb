"""No config or track-sheet value reaches a shell unquoted, and no output escapes results/.

Reads the rule files as text: every `{input}`, `{output}`, `{params}`, `{log}` and
`{wildcards}` in a `shell:` command must carry `:q` (Snakemake then quotes it, item by item
for a list), and every wildcard in a rule's output must be constrained (common.smk,
variants_common.smk) to names the track sheet or config allow. A path with shell syntax in it
runs for real in tests/integration/test_bad_inputs.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "workflow" / "rules"
PLACEHOLDER = re.compile(
    r"(?<!\{)\{((?:input|output|params|log|wildcards)(?:\.\w+|\[[^\]]*\])*)(:[^}]*)?\}(?!\})"
)


def section_lines(text: str, keyword: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a rule's `keyword:` section."""
    found, inside, indent = [], False, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        depth = len(line) - len(line.lstrip())
        if stripped.startswith(f"{keyword}:"):
            inside, indent = True, depth
            found.append((number, stripped[len(keyword) + 1 :]))
        elif inside and stripped and depth <= indent:
            inside = False
        elif inside:
            found.append((number, line))
    return found


def test_placeholder_pattern_finds_unquoted_ones():
    line = '"x {input.a:q} {output} {params.b[0]} {{literal}} {threads} {log:q}"'
    assert [m[1] for m in PLACEHOLDER.finditer(line) if m[2] != ":q"] == ["output", "params.b[0]"]


@pytest.mark.parametrize("path", sorted(RULES.glob("*.smk")), ids=lambda path: path.name)
def test_every_shell_placeholder_is_quoted(path):
    unquoted = [
        f"{path.name}:{number}: {match[0]}"
        for number, line in section_lines(path.read_text(), "shell")
        for match in PLACEHOLDER.finditer(line)
        if match[2] != ":q"
    ]
    assert not unquoted


def test_there_are_shell_commands_to_check():
    lines = [
        line for path in RULES.glob("*.smk") for _, line in section_lines(path.read_text(), "shell")
    ]
    assert sum(line.count(":q}") for line in lines) > 150


def test_every_output_wildcard_is_constrained():
    constrained, used = set(), {}
    for path in RULES.glob("*.smk"):
        text = path.read_text()
        for _, line in section_lines(text, "wildcard_constraints"):
            constrained.update(re.findall(r"^\s*(\w+)=", line))
        for number, line in section_lines(text, "output"):
            for literal in re.findall(r'"([^"]*)"', line):
                if literal.startswith(("results/", "resources/")):
                    for name in re.findall(r"(?<!\{)\{(\w+)\}(?!\})", literal):
                        used.setdefault(name, f"{path.name}:{number}")
    assert {"track", "model", "split", "vcf"} <= constrained
    assert used and set(used) <= constrained, {
        k: v for k, v in used.items() if k not in constrained
    }
