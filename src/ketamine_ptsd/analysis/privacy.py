"""The small-cell rule: what rests on 1 to ``min_cell - 1`` patients is not published.

A count or statistic that rests on so small a group is suppressed (:func:`suppress`): it is published as
``None`` (``null`` in ``results.json``), shown as suppressed in the book, and its name is listed under
``"suppressed"`` in ``results.json``, so a reader can tell a value hidden for privacy from one the data
could not give. Values inside a list are named by their path, e.g. ``sensitivity[2].n``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Key of ``results.json`` (and of the dictionaries :func:`suppress` returns) listing the suppressed values.
SUPPRESSED_KEY = "suppressed"
#: How a suppressed statistic reads in the book.
SUPPRESSED_TEXT = "suppressed"


def too_few(k: int | None, min_cell: int) -> bool:
    """Whether a group of ``k`` patients is too small to publish: 1 to ``min_cell - 1`` (0 is not a person).

    >>> [too_few(k, 5) for k in (0, 1, 4, 5)], too_few(3, 0)
    ([False, True, True, False], False)
    """
    return k is not None and 0 < k < min_cell


def suppress(
    values: Mapping[str, Any], sizes: Mapping[str, int | Sequence[int | None] | None], min_cell: int
) -> dict[str, Any]:
    """A copy of ``values`` with every key whose group is too small (:func:`too_few`) set to ``None``.

    ``sizes`` maps a key to the number of patients its value rests on, or to several numbers (a share rests
    on its numerator and its denominator; a contrast on both groups); keys absent from ``sizes`` are kept,
    and so is a ``None``, which hides nothing. The names of the suppressed keys, in the order of ``values``,
    are under :data:`SUPPRESSED_KEY`, joined to any that ``values`` already listed.

    >>> suppress({"n": 3, "pct": 10.0, "total": 30}, {"n": 3, "pct": (3, 30)}, 5)
    {'n': None, 'pct': None, 'total': 30, 'suppressed': ['n', 'pct']}
    """
    out = dict(values)
    hidden = list(out.pop(SUPPRESSED_KEY, []))
    for key in values:
        size = sizes.get(key)
        groups = size if isinstance(size, (list, tuple)) else [size]
        if key == SUPPRESSED_KEY or out[key] is None or key in hidden:
            continue
        if any(too_few(k, min_cell) for k in groups):
            out[key] = None
            hidden.append(key)
    out[SUPPRESSED_KEY] = hidden
    return out


def count_mark(min_cell: int) -> str:
    """How a suppressed count reads in a table."""
    return f"< {min_cell} ({SUPPRESSED_TEXT})"


def small_rows(frame, count: str, min_cell: int, denominators: Sequence[int] = ()) -> list[bool]:
    """Rows of ``frame`` whose ``count`` column, or any of the ``denominators`` its shares divide by, is a
    group too small to publish (:func:`too_few`)."""
    small_base = any(too_few(d, min_cell) for d in denominators)
    return [small_base or (k is not None and not _isna(k) and too_few(int(k), min_cell)) for k in frame[count]]


def suppress_rows(
    frame, hidden_rows: Sequence[bool], columns: Sequence[str], min_cell: int, name: str, counts: Sequence[str] = ("n",)
):
    """A table with the ``columns`` of the ``hidden_rows`` suppressed.

    Returns ``(shown, records, paths)``: the table for the reader, in which a suppressed count (a column
    of ``counts``) of 1 to ``min_cell - 1`` reads ``< min_cell (suppressed)`` and any other suppressed
    cell "suppressed"; the rows as records for ``results.json``, with those cells ``None``; and the paths
    of those cells (``name[i].column``) for :func:`record`.
    """
    shown = frame.astype(object).copy()
    records = [
        {k: (None if _isna(v) else v) for k, v in row.items()} for row in frame.astype(object).to_dict(orient="records")
    ]
    paths: list[str] = []
    for i, hidden in enumerate(hidden_rows):
        if not hidden:
            continue
        for column in columns:
            value = records[i][column]
            small_count = column in counts and value is not None and too_few(int(value), min_cell)
            shown.iat[i, frame.columns.get_loc(column)] = count_mark(min_cell) if small_count else SUPPRESSED_TEXT
            if value is not None:
                records[i][column] = None
                paths.append(f"{name}[{i}].{column}")
    return shown, records, paths


def _isna(value) -> bool:
    """``pandas.isna`` for one cell (False for a list or other container)."""
    import pandas as pd

    result = pd.isna(value)
    return bool(result) if isinstance(result, (bool, np.bool_)) else False
