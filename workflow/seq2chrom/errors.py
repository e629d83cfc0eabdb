"""One exception type for bad user input, printed by the CLI as a single line."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input: names the file, the line (when there is one) and the fix.

    str(InputError("peaks.bed", "start 10 > end 5", line=3, fix="swap the columns"))
    -> "peaks.bed:3: start 10 > end 5 (fix: swap the columns)"
    """

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, fix: str | None = None
    ):
        self.path = str(path)
        self.line = line
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        text = f"{where}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text
