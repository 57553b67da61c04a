"""The small-cell rule: what rests on 1 to ``min_cell - 1`` patients is not published.

A count or statistic that rests on so small a group is suppressed (:func:`suppress`): it is published as
``None`` (``null`` in ``results.json``), shown as suppressed in the book, and its name is listed under
``"suppressed"`` in ``results.json``, so a reader can tell a value hidden for privacy from one the data
could not give. Values inside a list are named by their path, e.g. ``sensitivity[2].n``.

One mechanism, two shapes: a dictionary of values goes through :func:`suppress` (and :func:`renamed`,
:func:`suppressed_with` for values renamed or derived from it); a table through :func:`suppress_cells`,
which lists its hidden cells in ``attrs["suppressed"]``, and :func:`mark_suppressed`, which turns them
into what the book shows and the paths ``results.json`` lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ketamine_ptsd.parameters import DEFAULTS

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


def renamed(values: Mapping, names: Mapping[str, str]) -> dict:
    """``values[key]`` under the name ``names[key]`` for each key of ``names``, and under ``"suppressed"`` the
    new names of those the small-cell rule hid: ready for :func:`ketamine_ptsd.presentation.results.record_all`.

    >>> renamed({"n": None, "m": 2, "suppressed": ["n"]}, {"n": "followup_n", "m": "followup_m"})
    {'followup_n': None, 'followup_m': 2, 'suppressed': ['followup_n']}
    """
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    out = {new: values[old] for old, new in names.items()}
    out[SUPPRESSED_KEY] = [new for old, new in names.items() if old in hidden]
    return out


def suppressed_with(values: Mapping, source: Mapping, needs: Mapping[str, Sequence[str]]) -> dict:
    """``values`` with each key whose inputs (``needs[key]``, keys of ``source``) the small-cell rule hid in
    ``source`` set to None and named under ``"suppressed"``: what is derived from a hidden value is hidden.

    >>> suppressed_with({"share": 0.5, "k": 3}, {"mean": None, "suppressed": ["mean"]}, {"share": ["mean"]})
    {'share': None, 'k': 3, 'suppressed': ['share']}
    """
    hidden = set(source.get(SUPPRESSED_KEY, ()))
    out = dict(values)
    out[SUPPRESSED_KEY] = [key for key in values if hidden.intersection(needs.get(key, ()))]
    for key in out[SUPPRESSED_KEY]:
        out[key] = None
    return out


def count_mark(min_cell: int) -> str:
    """How a suppressed count reads in a table."""
    return f"< {min_cell} ({SUPPRESSED_TEXT})"


def suppress_cells(
    frame: pd.DataFrame,
    sizes: Mapping[tuple[int, str], int | Sequence[int | None] | None],
    min_cell: int,
    inherited: Sequence[tuple[int, str]] = (),
) -> pd.DataFrame:
    """A table's version of :func:`suppress`: a copy of ``frame`` (missing values as None) with every cell
    ``(row, column)`` of ``sizes`` whose group is too small set to None, and every cell of ``inherited``
    (copied from a value the rule already hid elsewhere). The hidden cells are listed, as ``(row, column)``,
    in ``attrs["suppressed"]``: those of ``sizes`` that held a value, and all of ``inherited``.
    :func:`mark_suppressed` turns them into what the book shows and the paths ``results.json`` lists.

    >>> t = pd.DataFrame({"n": [3, 40], "pct": [7.5, 100.0]})
    >>> out = suppress_cells(t, row_sizes(t, "n", ["n", "pct"], denominators=[43]), 5)
    >>> out.to_dict(orient="records"), out.attrs["suppressed"]
    ([{'n': None, 'pct': None}, {'n': 40, 'pct': 100.0}], [(0, 'n'), (0, 'pct')])
    """
    frame = frame.astype(object).where(frame.notna(), None)
    hidden, small = [], []

    def hide(i, column):
        value = frame.at[i, column]
        # A hidden count that is itself a small group reads as such (:func:`mark_suppressed`).
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and too_few(int(value), min_cell):
            small.append((i, column))
        frame.at[i, column] = None
        hidden.append((i, column))

    for (i, column), size in sizes.items():
        groups = size if isinstance(size, (list, tuple)) else [size]
        if frame.at[i, column] is not None and any(too_few(k, min_cell) for k in groups):
            hide(i, column)
    for i, column in inherited:
        if (i, column) not in hidden:
            hide(i, column)
    frame.attrs["suppressed"] = hidden
    frame.attrs["too_few"] = small
    return frame


def row_sizes(
    frame: pd.DataFrame, count: str, columns: Sequence[str], denominators: Sequence[int] = ()
) -> dict[tuple[int, str], tuple[int | None, ...]]:
    """For :func:`suppress_cells`: each cell of ``columns`` rests on its row's ``count`` and on the
    ``denominators`` its shares divide by."""
    return {
        (i, column): (None if _isna(k) else int(k), *denominators)
        for i, k in enumerate(frame[count])
        for column in columns
    }


def hidden_rows(rows: Sequence[bool], columns: Sequence[str]) -> list[tuple[int, str]]:
    """The cells ``(row, column)`` of ``columns`` in the rows marked True: for ``inherited`` of
    :func:`suppress_cells`, where another table or value already decided a row is hidden."""
    return [(i, column) for i, hide in enumerate(rows) if hide for column in columns]


def mark_suppressed(frame: pd.DataFrame, name: str, min_cell: int = DEFAULTS["min_cell"], counts: Sequence[str] = ()):
    """The table as the book shows it, and the paths ``results.json`` lists for it.

    Each cell ``(row, column)`` listed in ``frame.attrs["suppressed"]`` reads "suppressed" in the returned
    copy, or ``< min_cell (suppressed)`` in a column of ``counts`` when the hidden count was itself 1 to
    ``min_cell - 1`` (``attrs["too_few"]`` of :func:`suppress_cells`); the paths are ``name[row].column``,
    for :func:`ketamine_ptsd.presentation.results.record` of the table's records.

    >>> t = pd.DataFrame({"x": [1.5, None]}); t.attrs["suppressed"] = [(1, "x")]
    >>> shown, paths = mark_suppressed(t, "t")
    >>> list(shown["x"]), paths
    ([1.5, 'suppressed'], ['t[1].x'])
    """
    cells = list(frame.attrs.get("suppressed", []))
    small = set(frame.attrs.get("too_few", []))
    shown = frame.astype(object).copy()
    for i, column in cells:
        shown.at[i, column] = count_mark(min_cell) if column in counts and (i, column) in small else SUPPRESSED_TEXT
    return shown, [f"{name}[{i}].{column}" for i, column in cells]


def _isna(value) -> bool:
    """``pandas.isna`` for one cell (False for a list or other container)."""
    result = pd.isna(value)
    return bool(result) if isinstance(result, (bool, np.bool_)) else False
