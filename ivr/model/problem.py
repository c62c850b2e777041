"""A problem found in a menu (an error or a warning), with the file, line and column it is at."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a look) in the menu file, with where it is and how to fix it."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text
