"""Read a cohort file and check it against the data contract before any analysis runs: the entry point.

Reading is :mod:`~ketamine_ptsd.data.reading`, the cell rules :mod:`~ketamine_ptsd.data.cells`, the checks
across cells :mod:`~ketamine_ptsd.data.checks` and the problems they report :mod:`~ketamine_ptsd.data.problems`;
this module applies a column mapping (:mod:`~ketamine_ptsd.data.mapping`) and sends a table to the layout it
has: one row per patient (checked here) or one row per assessment (:mod:`~ketamine_ptsd.data.long`).

Every cell is read as text first, so that validation, not a file reader, decides what a value means.
Column-level rules (formats, ranges, allowed spellings) run as two lazy :mod:`pandera` schemas, one on
the text and one on the parsed values, so every failing cell is collected; rules across columns (items
against totals, dates against ``days_between``, duplicate identifiers) are vectorized checks of their own.
All problems come back at once, each naming the file, the row as the user sees it and the column.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"patient_id": ["a", "b"], "pcl5_pre": ["52", "abc"], "pcl5_post": ["30", ""]})
>>> result = validate_frame(raw, file="cohort.csv")
>>> result.ok
False
>>> print(result.errors[0])
cohort.csv: row 3: column pcl5_pre: must be a whole number; found text (abc)
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..parameters import DEFAULTS
from .cells import check_cells
from .checks import WIDE, check_days, check_ids, check_items, cohort_frame
from .contract import (
    ALL_ITEM_COLUMNS,
    COLUMNS,
    ITEM_COLUMNS,
    OPTIONAL_COLUMNS,
)
from .long import validate_long_table
from .mapping import apply_format, apply_mapping, read_mapping
from .problems import Problem, Refused, ValidationFailed, ValidationResult, summarised
from .reading import Table, as_text, cell_text, clean_name, read_table

__all__ = [
    "Problem",
    "ValidationResult",
    "ValidationFailed",
    "validate_file",
    "validate_frame",
    "load_cohort",
    "summarised",
]


def _validate_table(table: Table, file: str, limit: int = DEFAULTS["pcl5_items_missing_max"]) -> ValidationResult:
    if table.errors and len(table.cells) == 0:
        # Every row was refused while reading (too many fields, say): those messages say all there is.
        return ValidationResult(None, list(table.errors), list(table.warnings))
    if "assessment" in (clean_name(h).lower() for h in table.headers):
        return validate_long_table(table, file, limit)
    cells = check_cells(table, file, WIDE)
    if isinstance(cells, ValidationResult):
        return cells
    T, typed, given, value_of, out = cells.T, cells.typed, cells.given, cells.value_of, cells.out
    used, extra, items_used, rows, n = cells.used, cells.extra, cells.items_used, cells.rows, len(cells.rows)

    # Rules across columns.
    totals, derived, prorated = check_items(T, typed, given, items_used, cells.missing_required, value_of, out, limit)

    check_ids(T, rows, out)
    days = check_days(typed, used, value_of, out, derived, n)
    post_present = "pcl5_post" in T or items_used["post"]
    post_seen = "pcl5_post" in T and bool(given["pcl5_post"].any())
    if items_used["post"]:
        post_seen = post_seen or any(bool(given[c].any()) for c in ITEM_COLUMNS["post"])
    if post_present and not post_seen:
        out.error(
            "pcl5_post",
            "no completers: no patient has a pcl5_post score, so the file cannot answer the study's question",
        )

    # Warnings: unusual but legal values, columns present but empty.
    final = {**typed, "pcl5_pre": totals["pre"], "pcl5_post": totals["post"], "days_between": days}
    for col in COLUMNS:
        values = final.get(col.name)
        if values is None or (col.unusual_below is None and col.unusual_above is None):
            continue
        flag = np.zeros(n, dtype=bool)
        if col.unusual_below is not None:
            flag |= (values < col.unusual_below).fillna(False).to_numpy(dtype=bool)
        if col.unusual_above is not None:
            flag |= (values > col.unusual_above).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(flag):
            out.warning(col.name, col.unusual_why, str(values.iat[i]), at=i)
    for name in T.columns:
        if name in OPTIONAL_COLUMNS and name not in ALL_ITEM_COLUMNS and not given[name].any():
            out.warning(name, "column is present but empty; the analyses that need it are turned off")

    errors, warns = out.done()
    if errors:
        return ValidationResult(None, errors, warns)
    cohort = cohort_frame(final, items_used, used, extra, derived, n)
    cohort.attrs["prorated_totals"] = int(sum(p.sum() for p in prorated.values()))
    cohort.attrs["prorated_patients"] = int((prorated["pre"] | prorated["post"]).sum())
    return ValidationResult(cohort, errors, warns)


# --------------------------------------------------------------------------------------------------
# Public API


def validate_file(path, columns=None, items_missing_max: int | None = None) -> ValidationResult:
    """Read a cohort file and validate it against the data contract.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` (UTF-8, comma-separated), ``.parquet``/``.pq`` or ``.xlsx`` file (first sheet).
        The file is only read, never written. A file with an ``assessment`` column has one row per
        assessment (:mod:`ketamine_ptsd.data.long`).
    columns : str or os.PathLike, optional
        A mapping file (:mod:`ketamine_ptsd.data.mapping`) applied before validation.
    items_missing_max : int, optional
        PCL-5 items that may be empty in an assessment whose total is then prorated (the parameter
        ``pcl5_items_missing_max``; its default when not given).

    Returns
    -------
    ValidationResult
        ``cohort`` is the normalized cohort (see :func:`validate_frame`) when there are no errors.
        Unreadable files come back as a result with one file-level error, never as an exception.
    """
    label = os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)
    try:
        mapping = None
        if columns is not None:
            mapping = read_mapping(columns)
        table = read_table(path, label, None if mapping is None else mapping.format)
        if mapping is not None:
            table = apply_format(mapping, apply_mapping(mapping, table, label))
    except (Refused, ValidationFailed) as r:
        return ValidationResult(None, r.problems if isinstance(r, Refused) else r.errors, [])
    limit = DEFAULTS["pcl5_items_missing_max"] if items_missing_max is None else items_missing_max
    result = _validate_table(table, label, limit)
    if mapping is None and any(p.message.startswith("missing required column") for p in result.errors):
        # A clinic's export under its own names: point to the tool that writes the mapping it needs.
        hint = (
            f"the file's columns are not the data contract's names: `ketamine-ptsd columns {label} --out "
            "mapping.yml` writes a starting mapping to check and pass with --columns"
        )
        result.errors.insert(0, Problem(label, None, None, hint))
    return result


def validate_frame(df: pd.DataFrame, file: str = "<data>", row_offset: int = 2) -> ValidationResult:
    """Validate a table whose cells were read as text.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient, columns named as in the file, cells as text (``dtype=str``,
        ``keep_default_na=False``). Other dtypes are turned into text first, as a spreadsheet cell would be.
    file : str
        The name problems are reported against.
    row_offset : int
        The row number of ``df``'s first row (2 = the line after a CSV header).

    Returns
    -------
    ValidationResult
        With no errors, ``cohort`` has one row per patient in input order with a default index and the
        columns ``patient_id`` (string), ``pcl5_pre``, ``pcl5_post`` (Int64; NA = dropout),
        ``days_between`` (Int64; derived from the dates where only they are given), ``age`` (Int64),
        ``gender`` (string: woman/man/nonbinary/other), ``race_ethnicity`` (string), ``n_infusions``,
        ``n_psych_meds`` (Int64), ``suicidal_ideation``, ``psychotherapy`` (boolean), followed by the
        item columns the file has (Int64). Absent optional columns are all-NA; their names are in
        ``cohort.attrs["absent_columns"]`` (``days_between`` is not absent when the dates supply it),
        ignored columns in ``cohort.attrs["extra_columns"]`` and totals or days computed from items or
        dates in ``cohort.attrs["derived_columns"]``.

    Examples
    --------
    >>> raw = pd.DataFrame({"patient_id": ["p1", "p2"], "pcl5_pre": ["52", "60.0"],
    ...                     "pcl5_post": ["20", ""], "gender": ["F", "male"]})
    >>> cohort = validate_frame(raw).cohort
    >>> cohort["pcl5_pre"].tolist(), cohort["gender"].tolist()
    ([52, 60], ['woman', 'man'])
    >>> cohort["pcl5_post"].isna().tolist()
    [False, True]
    """
    headers = [cell_text(c) for c in df.columns]
    cells = pd.DataFrame({i: as_text(df.iloc[:, i]) for i in range(df.shape[1])}, index=pd.RangeIndex(len(df)))
    if df.shape[1] == 0:
        return ValidationResult(None, [Problem(file, None, None, "file is empty (no columns)")], [])
    if len(df) == 0:
        return ValidationResult(None, [Problem(file, None, None, "file has a header but no data rows")], [])
    table = Table(headers, cells, np.arange(row_offset, row_offset + len(df)))
    return _validate_table(table, file)


def load_cohort(path, columns=None, items_missing_max: int | None = None) -> pd.DataFrame:
    """The validated cohort of a file, or :class:`ValidationFailed` with every problem."""
    return validate_file(path, columns, items_missing_max).raise_for_errors()
