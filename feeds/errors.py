"""Problems found in the content, each naming the file, the line and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem with one file; ``line`` is 1-based, or None when no line applies."""

    path: str
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class PostError(Exception):
    """A post that cannot be loaded; carries the problem that says why."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.problem = Problem(path, line, message)
        super().__init__(str(self.problem))
