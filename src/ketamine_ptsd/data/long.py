"""One row per assessment: validate a clinic export of repeated PCL-5 assessments and derive the cohort.

Measurement-based-care platforms and REDCap export one row per assessment, recognised here by an
``assessment`` column (``pre``, ``interim``, ``post``, ``followup``). Cells are checked with the same rules
and messages as a one-row-per-patient file (the row is the file's line); then the rules across rows: one
``pre`` per patient, at most one ``post`` after it, ``interim`` between them, ``followup`` after ``post``,
patient-level values that agree across a patient's rows. The result is the wide cohort the chapters read
(``pcl5_pre``, ``pcl5_post``, ``days_between`` from the ``pre`` and ``post`` rows) and a table of the later
assessments for the durability chapter.

Examples
--------
>>> import pandas as pd
>>> from ketamine_ptsd.data.validate import validate_frame
>>> raw = pd.DataFrame({"patient_id": ["a", "a", "a"], "assessment": ["pre", "post", "followup"],
...                     "days": ["0", "21", "60"], "pcl5": ["50", "20", "30"]})
>>> r = validate_frame(raw)
>>> r.cohort[["pcl5_pre", "pcl5_post", "days_between"]].iloc[0].tolist()
[50, 20, 21]
>>> r.assessments[["assessment", "days_after_post", "pcl5"]].values.tolist()
[['post', 0, 20], ['followup', 39, 30]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cells import Cells, check_cells
from .checks import Layout, check_items, cohort_frame, too_many_empty
from .contract import (
    ASSESSMENT_LABELS,
    BY_NAME,
    ITEM_COLUMNS,
    LONG_ITEM_COLUMNS,
    MISSING_MARKERS,
    N_ITEMS,
    PATIENT_LEVEL_COLUMNS,
    adverse_event_column,
    long_column,
)
from .problems import ValidationResult, first_rows
from .reading import Table

__all__ = ["validate_long_table", "later_assessments", "ASSESSMENT_COLUMNS"]

_LONG = Layout(
    long_column,
    {"assessment": LONG_ITEM_COLUMNS},
    {"assessment": "pcl5"},
    {"assessment": "assessment"},
    ("patient_id", "assessment", "pcl5"),
    {"assessment": "the pre assessment needs a PCL-5 total"},
)

#: Columns of the later-assessments table, with their dtypes.
ASSESSMENT_COLUMNS = {
    "patient_id": "string",
    "assessment": "string",
    "days": "Int64",
    "days_after_post": "Int64",
    "pcl5": "Int64",
}
_ORDER = {label: k for k, label in enumerate(ASSESSMENT_LABELS)}


def _without_unscored_rows(table: Table, limit: int) -> tuple[Table, list[str]]:
    """``table`` without the assessment rows that have no score: neither a PCL-5 total nor any item (a
    scheduled visit never done, which platforms export with a blank score), or more than ``limit`` items empty
    (``pcl5_items_missing_max``: no total can be prorated), and one warning for each kind, counting them. A
    ``pre`` row stays, for validation to report: a patient is analysed from their baseline total."""
    names = [h.strip().lower() for h in table.headers]
    scored = [i for i, name in enumerate(names) if name == "pcl5" or name in LONG_ITEM_COLUMNS]
    if not scored or "assessment" not in names:
        return table, []
    empty = table.cells.iloc[:, scored].apply(lambda c: c.str.strip().str.lower().isin(MISSING_MARKERS))
    # A line with nothing at all is no assessment (validation skips it); one with a patient and a visit is.
    some_value = (table.cells.apply(lambda c: c.str.strip()) != "").any(axis=1).to_numpy()
    blank = empty.all(axis=1).to_numpy() & some_value
    items = [i for i in scored if names[i] in LONG_ITEM_COLUMNS]
    too_many = np.zeros(len(blank), dtype=bool)
    if len(items) == N_ITEMS:  # an incomplete set of item columns is an error of the header
        n_empty = empty[items].sum(axis=1).to_numpy()
        pre = (table.cells.iloc[:, names.index("assessment")].str.strip().str.lower() == "pre").to_numpy()
        too_many = (n_empty > limit) & ~blank & ~pre
    warnings = []
    if blank.any():
        warnings.append(
            f"{int(blank.sum())} assessment row(s) without a PCL-5 total or any item (scheduled, never done): "
            f"left out ({first_rows(table.rows[blank])})"
        )
    if too_many.any():
        warnings.append(too_many_empty(table.rows[too_many], limit, "assessment row(s)", "no total, left out"))
    drop = blank | too_many
    if not drop.any():
        return table, []
    kept = table.cells[~drop].reset_index(drop=True)
    return Table(
        table.headers, kept, table.rows[~drop], table.errors, table.warnings, table.unreadable, table.renamed
    ), warnings


def validate_long_table(table: Table, file: str, limit: int) -> ValidationResult:
    """Validate a table with one row per assessment and derive the cohort and the later assessments.

    Returns
    -------
    ValidationResult
        ``cohort`` as for a one-row-per-patient file (one row per patient, in order of first appearance;
        patient-level columns from whichever row gives them; ``pcl5_pre_01`` .. and ``pcl5_post_01`` ..
        from the items of the ``pre`` and ``post`` rows when the file has items). ``assessments``: every
        ``interim``, ``post`` and ``followup`` row, ordered by patient and day, with ``days`` since ``pre``
        and ``days_after_post`` (``NA`` for ``interim``). ``limit``: ``pcl5_items_missing_max``.
    """
    kept = len(table.rows)
    table, skipped = _without_unscored_rows(table, limit)
    left_out = kept - len(table.rows)
    cells = check_cells(table, file, _LONG)
    if isinstance(cells, ValidationResult):
        return cells
    out, n = cells.out, len(cells.rows)
    for message in skipped:
        out.warning("pcl5", message)
    totals, derived, prorated = check_items(
        cells.T, cells.typed, cells.given, cells.items_used, cells.missing_required, cells.value_of, out, limit, _LONG
    )
    pcl5 = totals["assessment"]
    if "days" not in cells.used and "date" not in cells.used:
        out.error("days", "missing required column (or date: days since the patient's pre assessment)")
    if cells.missing_required or "patient_id" not in cells.T or "assessment" not in cells.T:
        errors, warns = out.done()
        return ValidationResult(None, errors, warns)

    # Patients as whole numbers in order of first appearance: grouping on them is fast, and their order is the
    # file's.
    ids, names = pd.factorize(cells.T["patient_id"].astype(str))
    ids = pd.Series(ids)
    label = cells.T["assessment"].str.lower()
    unknown = ~label.isin(ASSESSMENT_LABELS) & (label != "")
    for i in np.flatnonzero(unknown.to_numpy()):
        out.error(
            "assessment",
            "unknown assessment; use pre, interim, post or followup",
            cells.value_of("assessment", i),
            at=i,
        )
    for i in np.flatnonzero((label == "").to_numpy()):
        out.error("assessment", "empty; every row needs its assessment (pre, interim, post or followup)", at=i)
    label = label.where(~unknown & (label != ""))
    days = _days(cells, ids, label, n)
    frame = pd.DataFrame({"id": ids, "label": label, "days": days, "pcl5": pcl5, "line": cells.rows})
    _check_order(frame, cells)
    _check_patient_level(frame, cells)
    if not (frame["label"] == "post").any() and not unknown.all():
        out.error(
            "assessment",
            "no completers: no patient has a post assessment, so the file cannot answer the study's question",
        )
    pre_rows = (frame["label"] == "pre").to_numpy()
    cutoff = BY_NAME["pcl5_pre"]
    for i in np.flatnonzero(pre_rows & (pcl5 < cutoff.unusual_below).fillna(False).to_numpy(dtype=bool)):
        out.warning("pcl5", cutoff.unusual_why, str(pcl5.iat[i]), at=i)

    errors, warns = out.done()
    if errors:
        return ValidationResult(None, errors, warns)
    cohort = _wide(frame, cells, derived, names)
    # The chapters describe the file as it was: one row per assessment, this many rows, some maybe left out.
    cohort.attrs["assessment_rows"] = len(frame) + left_out
    cohort.attrs["unscored_rows_left_out"] = left_out > 0
    cohort.attrs["prorated_totals"] = int(prorated["assessment"].sum())
    cohort.attrs["prorated_patients"] = int(frame.loc[prorated["assessment"], "id"].nunique())
    return ValidationResult(cohort, errors, warns, _later(frame, names))


def _days(cells: Cells, ids: pd.Series, label: pd.Series, n: int) -> pd.Series:
    """Days since the patient's pre assessment: the ``days`` column, or derived from ``date``."""
    out = cells.out
    days = cells.typed["days"].copy() if "days" in cells.typed else pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if "date" in cells.typed:
        date = cells.typed["date"]
        pre_date = date.where(label == "pre").groupby(ids).transform("first")
        span = pd.Series((date - pre_date).dt.days, dtype="Int64")
        for i in np.flatnonzero((span < 0).fillna(False).to_numpy(dtype=bool)):
            out.error("date", "is before the patient's pre assessment", cells.value_of("date", i), at=i)
        span = span.where(span >= 0)
        clash = (days.notna() & span.notna() & (days != span)).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(clash):
            out.error(
                "days",
                f"does not match the dates: {int(span.iat[i])} days after the patient's pre assessment",
                cells.value_of("days", i),
                at=i,
            )
        no_pre_date = (date.notna() & pre_date.isna() & days.isna()).to_numpy()
        for i in np.flatnonzero(no_pre_date & label.notna().to_numpy()):
            out.error("date", "days cannot be derived: the patient's pre assessment has no date", at=i)
        days = days.where(days.notna(), span)
    if "days" in cells.typed or "date" in cells.typed:
        none = np.zeros(n, bool)
        for i in np.flatnonzero(~cells.given.get("days", none) & ~cells.given.get("date", none)):
            out.error("days", "empty; give days since the pre assessment (or date)", at=i)
    return days


def _check_order(frame: pd.DataFrame, cells: Cells) -> None:
    """One pre at day 0, at most one post after it, interim between, followup after post, no repeats."""
    out = cells.out

    def days_seen(i):
        return cells.value_of("days", i) if "days" in cells.shown else None

    rows = frame[frame["label"].notna()]
    label, day = rows["label"], rows["days"]
    for name in ("pre", "post"):
        these = rows[label == name]
        repeat = these.duplicated("id")
        first = these.groupby("id", sort=False)["line"].transform("first")
        for i in these.index[repeat]:
            out.error(
                "assessment", f"a second {name} assessment of this patient; the first is at row {first[i]}", name, at=i
            )
    has_pre = rows["id"].isin(set(rows.loc[label == "pre", "id"]))
    for i in rows.index[~has_pre & ~rows["id"].duplicated()]:
        out.error("assessment", "this patient has no pre assessment; every patient needs exactly one", at=i)
    for i in rows.index[(label == "pre") & (day != 0).fillna(False)]:
        out.error("days", "the pre assessment is day 0: days count from it", days_seen(i), at=i)
    for name in ("interim", "post"):
        for i in rows.index[(label == name) & (day <= 0).fillna(False)]:
            out.error("days", f"{name} must be later than the pre assessment", days_seen(i), at=i)
    post = rows[label == "post"].drop_duplicates("id").set_index("id")
    post_day, post_line = rows["id"].map(post["days"]), rows["id"].map(post["line"])
    for name, wrong, where in (
        ("interim", (day >= post_day), "on or after"),
        ("followup", (day <= post_day), "on or before"),
    ):
        for i in rows.index[(label == name) & wrong.fillna(False)]:
            out.error(
                "assessment",
                f"{name} {where} the post assessment (row {post_line[i]}, day {post_day[i]})",
                name,
                at=i,
            )
    for i in rows.index[(label == "followup") & post_line.isna()]:
        # The durability analysis counts from the end of treatment: without it this follow-up has no place.
        out.warning(
            "assessment",
            "followup without a post assessment for this patient: left out of the durability analysis",
            "followup",
            at=i,
        )
    dated = rows[day.notna() & label.isin(["interim", "followup"])]
    repeat = dated.duplicated(["id", "label", "days"])
    first = dated.groupby(["id", "label", "days"], sort=False)["line"].transform("first")
    for i in dated.index[repeat]:
        out.error("assessment", f"the same assessment on the same day as row {first[i]}", dated.at[i, "label"], at=i)


def _patient_level(cells: Cells) -> list[str]:
    return [c for c in cells.T.columns if c in PATIENT_LEVEL_COLUMNS or adverse_event_column(c)]


def _any_visit(column: str) -> bool:
    """Adverse events are recorded per visit: the patient had one if any visit says so (data contract)."""
    return adverse_event_column(column) is not None


def _check_patient_level(frame: pd.DataFrame, cells: Cells) -> None:
    """A patient-level value may repeat or be given once, but two different values name both rows."""
    for column in (c for c in _patient_level(cells) if not _any_visit(c)):
        values = cells.typed[column]
        given = pd.DataFrame({"id": frame["id"], "value": values, "line": frame["line"]})[values.notna().to_numpy()]
        first = given.drop_duplicates("id").set_index("id")
        differs = given["value"].to_numpy() != given["id"].map(first["value"]).to_numpy()
        for i in given.index[differs]:
            row = int(first.at[given.at[i, "id"], "line"])
            there = cells.value_of(column, int(np.flatnonzero(cells.rows == row)[0]))
            out_value = cells.value_of(column, i)
            cells.out.error(
                column, f"differs from row {row} of the same patient (row {row}: {there}; this row: {out_value})", at=i
            )


def _wide(frame: pd.DataFrame, cells: Cells, derived: list[str], names) -> pd.DataFrame:
    """The one-row-per-patient cohort: totals and days of pre and post, patient-level values, items."""
    patients = pd.RangeIndex(len(names), name="id")
    n = len(patients)

    def at(name: str, values: pd.Series) -> pd.Series:
        """The value of each patient's ``name`` assessment (NA without one)."""
        rows = (frame["label"] == name).to_numpy()
        series = pd.Series(values.to_numpy()[rows], index=frame.loc[rows, "id"])
        return series.reindex(patients).reset_index(drop=True).astype("Int64")

    final = {
        "patient_id": pd.Series(names, dtype="string"),
        "pcl5_pre": at("pre", frame["pcl5"]),
        "pcl5_post": at("post", frame["pcl5"]),
        "days_between": at("post", frame["days"]),
    }
    used = {"patient_id": 0, "pcl5_pre": 0, "pcl5_post": 0, "days_between": 0}
    for column in _patient_level(cells):
        values = pd.Series(cells.typed[column].to_numpy(), index=frame["id"])
        given = values[values.notna()].groupby(level=0, sort=False)
        # An event at any visit is the patient's event; any other value is the one the rows agree on.
        first = given.any() if _any_visit(column) else given.first()
        final[column] = first.reindex(patients).reset_index(drop=True).astype(cells.typed[column].dtype)
        used[column] = 0
    items_used = {"pre": cells.items_used["assessment"], "post": cells.items_used["assessment"]}
    if cells.items_used["assessment"]:
        for tp in ("pre", "post"):
            for long_name, wide_name in zip(LONG_ITEM_COLUMNS, ITEM_COLUMNS[tp]):
                final[wide_name] = at(tp, cells.typed[long_name])
    wide_derived = ["pcl5_pre", "pcl5_post"] if "pcl5" in derived else []
    return cohort_frame(final, items_used, used, cells.extra, wide_derived, n)


def _later(frame: pd.DataFrame, names) -> pd.DataFrame:
    """The interim, post and followup assessments, by patient and day."""
    post_day = frame["id"].map(frame[frame["label"] == "post"].set_index("id")["days"])
    later = pd.DataFrame(
        {
            "patient_id": pd.Series(names.take(frame["id"].to_numpy()), index=frame.index, dtype="string"),
            "_order": frame["id"],
            "assessment": frame["label"],
            "days": frame["days"],
            "days_after_post": (frame["days"] - post_day).where(frame["label"] != "interim"),
            "pcl5": frame["pcl5"],
        }
    )
    later = later[later["assessment"] != "pre"]
    later = later.sort_values(["_order", "days"], kind="stable").drop(columns="_order")
    return later.reset_index(drop=True).astype(ASSESSMENT_COLUMNS)


def later_assessments(result: ValidationResult) -> pd.DataFrame:
    """The later assessments of a validation result: empty (with the columns) for a one-row-per-patient file,
    so that the durability chapter reads the same table either way and says what is missing."""
    if result.assessments is not None:
        return result.assessments
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ASSESSMENT_COLUMNS.items()})
