"""Problems found while validating an import, and the exceptions that carry them."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROBLEMS = 20


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one file: ``row`` is the 1-based line number (header = line 1)."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f'column "{self.column}"')
        return f"{where[0]}: {', '.join(where[1:])}: {self.message}" if len(where) > 1 else f"{self.file}: {self.message}"


class ImportUsageError(ValueError):
    """The import was called wrongly (unknown format, missing --measure, file not found ...)."""


class ImportValidationError(ValueError):
    """One or more files failed validation; nothing was written.

    ``problems`` holds the first problems (at most ``MAX_PROBLEMS``), ``total`` how many were
    found in all (at least ``len(problems)``; checks stop early once the limit is reached, so
    the total is a lower bound when it exceeds the limit).
    """

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = list(problems)
        self.total = max(total or 0, len(self.problems))
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"Import failed: {self.total} problem(s) found; nothing was written."]
        lines += [f"  {p}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append(f"  ... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


@dataclass
class Problems:
    """Collects problems up to a limit while counting all of them."""

    limit: int = MAX_PROBLEMS
    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(Problem(file, row, column, message))

    def extend(self, problems: list[Problem], total: int | None = None) -> None:
        for p in problems:
            if len(self.items) < self.limit:
                self.items.append(p)
        self.total += max(total or 0, len(problems))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportValidationError(self.items, self.total)
