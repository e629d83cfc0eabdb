"""Error types the CLI prints as a single line, each with its own exit code (cli/__init__.py)."""

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


class TrainingError(Exception):
    """Training cannot go on (the loss became NaN or infinite); no model is written.

    Not the user's input at fault but the run: settings that diverge on this data.
    str(TrainingError("loss is nan at epoch 3", path="results/models/danq", fix="lower it"))
    -> "results/models/danq: loss is nan at epoch 3 (fix: lower it)"
    """

    def __init__(self, message: str, *, path: str | Path | None = None, fix: str | None = None):
        self.path = None if path is None else str(path)
        self.message = message
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.message if self.path is None else f"{self.path}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text
