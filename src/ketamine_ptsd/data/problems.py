"""Problems found in a cohort file, and the result of validating it: what every part of validation reports
with, and what the CLI and the build print."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Longest offending value shown in a message.
VALUE_WIDTH = 40


def show_value(value) -> str | None:
    """The offending value as printed: control characters escaped, cut to :data:`VALUE_WIDTH`."""
    if value is None:
        return None
    text = str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 3] + "..."
    return text


@dataclass(frozen=True)
class Problem:
    """One problem with the input, located as the user sees the file.

    Parameters
    ----------
    file : str
        The path as the user gave it.
    row : int or None
        CSV: the line number in the file (header = line 1, first data row = 2). Excel: the sheet's row
        number. Parquet: data row (1-based) + 1, so that the first data row is 2 as in CSV. ``None`` for
        problems of the whole file or of a column.
    column : str or None
        The column's name as the contract spells it (as the file spells it for unknown columns).
    message : str
        What is wrong.
    value : str or None
        The offending value, printable and cut to 40 characters.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        text = ": ".join(parts) + ": " + self.message
        return text if self.value is None else f"{text} ({self.value})"


def summarised(problems) -> list[str]:
    """The problems as a person reads them: one line per column and kind of problem. A problem repeated over
    rows (the same file, column and message) is one line with its count and its first three rows, each with
    the value it found there; a problem of one row, or of the whole file, is its own line.

    >>> rows = [Problem("a.csv", r, "date", "not a date", v) for r, v in ((2, "x"), (3, "y"), (5, "z"), (8, "w"))]
    >>> summarised(rows + [Problem("a.csv", 4, "age", "too old", "120")])
    ['a.csv: column date: not a date: 4 rows: 2 (x), 3 (y), 5 (z), ...', 'a.csv: row 4: column age: too old (120)']
    """
    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.file, p.column, p.message, p.row is None), []).append(p)
    lines = []
    for (file, column, message, whole), group in groups.items():
        if whole or len(group) == 1:
            lines.extend(str(p) for p in group)
            continue
        head = file if column is None else f"{file}: column {column}"
        listed = first_rows([p.row for p in group], [p.value for p in group], word=False)
        lines.append(f"{head}: {message}: {len(group)} rows: {listed}")
    return lines


@dataclass
class ValidationResult:
    """What validation found.

    Attributes
    ----------
    cohort : pandas.DataFrame or None
        The normalized cohort (see :func:`validate_frame`), or ``None`` when there are errors.
    errors : list of Problem
        Every error, file-level ones first, then by row and column.
    warnings : list of Problem
        Unusual but legal input; it does not stop a build.
    assessments : pandas.DataFrame or None
        For a file with one row per assessment: the assessments after ``pre`` (see
        :func:`ketamine_ptsd.data.long.validate_long_table`); ``None`` for a file with one row per patient.
    """

    cohort: pd.DataFrame | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    assessments: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def raise_for_errors(self) -> pd.DataFrame:
        """Return the cohort, or raise :class:`ValidationFailed` holding the errors."""
        if self.errors:
            raise ValidationFailed(self.errors)
        return self.cohort


class ValidationFailed(Exception):
    """The input broke the data contract. ``errors`` holds every :class:`Problem`."""

    def __init__(self, errors):
        self.errors = list(errors)
        head = "\n".join(str(p) for p in self.errors[:20])
        more = f"\n... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} problem(s) with the input:\n{head}{more}")


class Refused(Exception):
    """Raised inside the readers: the file cannot be read as a table at all."""

    def __init__(self, problems):
        self.problems = list(problems)


def first_rows(rows, values=None, word: bool = True) -> str:
    """``rows 4, 7, 9, ...``: where a message about many rows points, its first three (each with the value
    found there, when given).

    >>> first_rows([4]), first_rows([4, 7, 9, 12], ["a", None, "c", "d"], word=False)
    ('row 4', '4 (a), 7, 9 (c), ...')
    """
    rows = [int(r) for r in rows]
    values = values or [None] * len(rows)
    shown = [str(r) if v is None else f"{r} ({v})" for r, v in zip(rows[:3], values)]
    listed = ", ".join(shown) + (", ..." if len(rows) > 3 else "")
    return (("row " if len(rows) == 1 else "rows ") + listed) if word else listed


class Collector:
    """Problems with a sort key, so that the report reads top to bottom, left to right."""

    def __init__(self, file: str, rows: np.ndarray, position: dict[str, int], renamed: dict[str, str] | None = None):
        self.file, self.rows, self.position = file, rows, position
        self.renamed = renamed or {}
        self.errors: list[tuple] = []
        self.warnings: list[tuple] = []

    def add(self, bucket: list, row, column, message, value):
        where = self.position.get(str(column).strip().lower(), 10**6)
        if column in self.renamed:  # the file's own name first, then the contract's
            column = f"{self.renamed[column]} ({column})"
        p = Problem(self.file, row, column, message, show_value(value))
        bucket.append(((-1 if row is None else row), where, len(bucket), p))

    def error(self, column, message, value=None, *, at=None):
        """Record an error; ``at`` is the 0-based data row (None for the whole file or a column)."""
        self.add(self.errors, None if at is None else int(self.rows[at]), column, message, value)

    def warning(self, column, message, value=None, *, at=None):
        """Record a warning, located as :meth:`error` does."""
        self.add(self.warnings, None if at is None else int(self.rows[at]), column, message, value)

    def done(self) -> tuple[list[Problem], list[Problem]]:
        return (
            [t[-1] for t in sorted(self.errors, key=lambda t: t[:3])],
            [t[-1] for t in sorted(self.warnings, key=lambda t: t[:3])],
        )
