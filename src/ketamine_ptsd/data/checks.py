"""Checks across cells shared by both layouts (one row per patient, one row per assessment): the header, the
cells through :mod:`~ketamine_ptsd.data.rules`, items against totals with proration, identifiers, days and
dates; and the assembly of the validated cohort."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .contract import (
    CHECKBOX,
    COHORT_DTYPES,
    ITEM_COLUMNS,
    N_ITEMS,
    OPTIONAL_COLUMNS,
    REDCAP_BOOKKEEPING,
    REQUIRED_COLUMNS,
    Column,
    adverse_event_column,
    did_you_mean,
    wide_column,
)
from .problems import Collector, first_rows
from .reading import as_arrow, clean_name


def na_series(n: int, dtype: str = "Int64") -> pd.Series:
    return pd.Series(pd.array([pd.NA] * n, dtype=dtype))


@dataclass(frozen=True)
class Layout:
    """What a file's rows are: the columns it may have, its item sets and what it requires."""

    known: Callable[[str], Column | None]
    items: dict[str, list[str]]  # item set -> its 20 item columns
    totals: dict[str, str]  # item set -> the total its items sum to
    item_word: dict[str, str]  # item set -> how a message names its items
    required: tuple[str, ...]
    required_totals: dict[str, str]  # item set -> message for a row with neither total nor items


WIDE = Layout(
    wide_column,
    ITEM_COLUMNS,
    {"pre": "pcl5_pre", "post": "pcl5_post"},
    {"pre": "pre-treatment", "post": "post-treatment"},
    REQUIRED_COLUMNS,
    {"pre": "the baseline PCL-5 total is required"},
)


def check_header(names, headers, filled, out: Collector, layout: Layout = WIDE):
    """Column names: duplicates, unknown and unnamed columns, item sets, required columns.

    Returns the contract columns in use (name -> position), the extra names, which item sets are
    complete, and whether a required column is missing.
    """
    seen: dict[str, int] = {}
    used: dict[str, int] = {}
    extra: list[str] = []
    for i, name in enumerate(names):
        shown = clean_name(headers[i])
        if name == "":
            if filled[i].any():
                out.warning(None, f"column {i + 1} has no name and holds values; it was ignored")
            continue
        if name in seen:
            out.error(
                name if layout.known(name) else shown,
                f"duplicate column name (columns {seen[name] + 1} and {i + 1}); each column may appear only once",
            )
            continue
        seen[name] = i
        if layout.known(name):
            used[name] = i
        else:
            extra.append(shown)
            hint = did_you_mean(shown)
            hint = f" (did you mean {hint}?)" if hint and hint not in seen else ""
            if CHECKBOX.fullmatch(name):
                hint = (
                    " (a REDCap checkbox, one column per choice: an adverse event's is named in a column "
                    "mapping, e.g. ae___1: ae_nausea; `ketamine-ptsd columns` starts one)"
                )
            elif REDCAP_BOOKKEEPING.fullmatch(name):
                hint = " (REDCap's bookkeeping)"
            out.warning(shown, f"unknown column, ignored{hint}")

    items_used: dict[str, bool] = {}
    for tp, item_names in layout.items.items():
        present = [c for c in item_names if c in used]
        if present and len(present) < N_ITEMS:
            missing = [c for c in item_names if c not in used]
            out.error(
                missing[0],
                f"item columns incomplete: {', '.join(missing)} missing; give all "
                f"{N_ITEMS} item columns of a time point or none",
            )
        items_used[tp] = len(present) == N_ITEMS

    missing_required = False
    for name in layout.required:
        tp = next((k for k, total in layout.totals.items() if total == name), None)
        if name in used or items_used.get(tp):
            continue
        alt = ""
        if tp in layout.items:
            alt = f" (or all {N_ITEMS} items {layout.items[tp][0]} .. {layout.items[tp][-1]})"
        hints = [e for e in extra if did_you_mean(e) == name]
        hint = f"; found {hints[0]!r} -- rename it" if hints else ""
        out.error(name, f"missing required column{alt}{hint}")
        missing_required = True

    for a, b in (("date_pre", "date_post"), ("date_post", "date_pre")):
        if a in used and b not in used:
            out.warning(a, f"{a} without {b}: days_between cannot be derived from one date; the dates are ignored")
    return used, extra, items_used, missing_required


def too_many_empty(rows, limit: int, what: str, outcome: str) -> str:
    """The one warning for assessments whose items are too incomplete to give a total, and what became of them."""
    return (
        f"{len(rows)} {what} with more than {limit} of {N_ITEMS} items empty (pcl5_items_missing_max): "
        f"{outcome} ({first_rows(rows)})"
    )


def _prorated(answered_sum: np.ndarray, n_answered: np.ndarray) -> np.ndarray:
    """The mean of the answered items x 20, rounded half up to a whole number like every total; in integers,
    so that a total of exactly x.5 rounds the same on every machine.

    >>> _prorated(np.array([45, 38]), np.array([19, 19])).tolist()  # 47.37 and exactly 40
    [47, 40]
    """
    return (2 * N_ITEMS * answered_sum + n_answered) // (2 * np.maximum(n_answered, 1))


def check_items(T, typed, given, items_used, missing_required, value_of, out, limit: int, layout: Layout = WIDE):
    """Items against totals, prorated totals, the required totals. Returns totals (by item set), the columns
    derived from items or dates, and which rows' totals were prorated (by item set).

    A row whose items are all given has their sum as its total; one with at most ``limit``
    (``pcl5_items_missing_max``) empty, and every given item valid, the mean of the answered items x 20
    (:func:`_prorated`); one with more empty has no total (an error where the total is required).
    """
    n = len(T)
    totals: dict[str, pd.Series] = {}
    prorated: dict[str, np.ndarray] = {}
    derived: list[str] = []
    for tp, items in layout.items.items():
        total_name = layout.totals[tp]
        total = typed[total_name].copy() if total_name in typed else na_series(n)
        total_given = given[total_name] if total_name in given else np.zeros(n, dtype=bool)
        n_items = np.zeros(n, dtype=int)
        prorated[tp] = np.zeros(n, dtype=bool)
        too_many = np.zeros(n, dtype=bool)
        if items_used[tp]:
            filled = np.column_stack([given[c] for c in items])
            n_items = filled.sum(axis=1)
            values = np.column_stack([typed[c].to_numpy(dtype="float64", na_value=np.nan) for c in items])
            # Every given item a valid score (the invalid ones are reported already).
            valid = (~np.isnan(values) == filled).all(axis=1)
            answered = np.nan_to_num(values).sum(axis=1).astype(np.int64)
            complete = valid & (n_items == N_ITEMS)
            prorated[tp] = valid & (n_items > 0) & (N_ITEMS - n_items <= limit) & ~complete
            too_many = (n_items > 0) & (N_ITEMS - n_items > limit)
            scored = np.where(complete, answered, _prorated(answered, n_items))
            sums = pd.Series(pd.array(scored, dtype="Int64")).where(complete | prorated[tp])
            _given_total_mismatches(
                total, sums, answered, complete, prorated[tp], n_items, items, total_name, value_of, out
            )
            fill = (complete & ~total_given) | prorated[tp]
            if fill.any():
                total = total.where(~fill, sums)
                derived.append(total_name)
            if prorated[tp].any():
                out.warning(
                    total_name,
                    f"{int(prorated[tp].sum())} total(s) prorated from {layout.item_word[tp]} items with at most "
                    f"{limit} of {N_ITEMS} empty: the mean of the answered items x {N_ITEMS} "
                    f"({first_rows(out.rows[prorated[tp]])})",
                )
        if tp in layout.required_totals and not missing_required:
            for i in np.flatnonzero(too_many):
                empty = [c for c, g in zip(items, filled[i]) if not g]
                out.error(
                    empty[0],
                    f"{len(empty)} of {N_ITEMS} {layout.item_word[tp]} items empty ({', '.join(empty)}): more "
                    f"than {limit} (pcl5_items_missing_max), so no total can be prorated; "
                    f"{layout.required_totals[tp]}",
                    at=i,
                )
            for i in np.flatnonzero(~total_given & (n_items == 0)):
                alt = f" (or all {N_ITEMS} items {items[0]} .. {items[-1]})" if items_used[tp] else ""
                out.error(total_name, f"empty; {layout.required_totals[tp]}{alt}", at=i)
        elif too_many.any():
            total = total.mask(too_many)
            what = f"{layout.item_word[tp]} assessment(s)"
            out.warning(total_name, too_many_empty(out.rows[too_many], limit, what, "no total, taken as missing"))
        totals[tp] = total
    return totals, derived, prorated


def _given_total_mismatches(total, sums, answered, complete, prorated, n_items, items, total_name, value_of, out):
    """An error for each given total that is neither its items' sum nor, where they are prorated, that total."""
    differs = total.notna().to_numpy() & (total != sums).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero(complete & differs):
        out.error(
            total_name,
            f"does not equal the sum of items {items[0]} .. {items[-1]}, which is {int(sums.iat[i])}",
            value_of(total_name, i),
            at=i,
        )
    # A system that sums the answered items only writes that sum as the total: it stands for the same
    # answers, and the prorated total replaces it.
    differs &= total.to_numpy(dtype="float64", na_value=np.nan) != answered
    for i in np.flatnonzero(prorated & differs):
        out.error(
            total_name,
            f"does not equal the total of items {items[0]} .. {items[-1]}: {N_ITEMS - n_items[i]} of "
            f"{N_ITEMS} are empty, and the mean of the {n_items[i]} answered x {N_ITEMS} is "
            f"{int(sums.iat[i])} (their sum {answered[i]})",
            value_of(total_name, i),
            at=i,
        )


def check_ids(T, rows, out):
    """Each repeat of a patient_id is an error naming the row where the id first appears."""
    if "patient_id" not in T:
        return
    ids = T["patient_id"]
    present = as_arrow(ids).filter(pc.not_equal(as_arrow(ids), ""))
    if len(pc.unique(present)) == len(present):
        return  # the common case, decided by one hash pass
    dup = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
    first_at = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    first_at = first_at[~first_at.index.duplicated(keep="first")]
    for i in np.flatnonzero(dup):
        out.error(
            "patient_id", f"duplicate patient_id; first seen at row {int(rows[first_at[ids.iat[i]]])}", ids.iat[i], at=i
        )


def check_days(typed, used, value_of, out, derived, n):
    """Dates in order, days_between against the dates; returns days_between with gaps filled from dates."""
    days = typed["days_between"].copy() if "days_between" in typed else na_series(n)
    if not ("date_pre" in used and "date_post" in used):
        return days
    pre, post = typed["date_pre"], typed["date_post"]
    span = pd.Series((post - pre).dt.days, dtype="Int64")
    for i in np.flatnonzero((span < 0).fillna(False).to_numpy(dtype=bool)):
        out.error("date_post", f"is before date_pre, {pre.iat[i].date().isoformat()}", value_of("date_post", i), at=i)
    span = span.where(span >= 0)
    if "days_between" in typed:
        clash = (days.notna() & span.notna() & (days != span)).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(clash):
            out.error(
                "days_between",
                f"does not match the dates: date_post - date_pre = {int(span.iat[i])} days",
                value_of("days_between", i),
                at=i,
            )
    fill = (days.isna() & span.notna()).to_numpy(dtype=bool)
    if fill.any():
        days = days.where(~fill, span)
        derived.append("days_between")
    return days


def cohort_frame(final, items_used, used, extra, derived, n) -> pd.DataFrame:
    """The normalized cohort: contract columns and dtypes, items when the file has them."""
    columns = {}
    for name, dtype in COHORT_DTYPES.items():
        s = final[name] if name in final else na_series(n, dtype)
        columns[name] = s.reset_index(drop=True).astype(dtype)
    for tp in ("pre", "post"):
        if items_used[tp]:
            for c in ITEM_COLUMNS[tp]:
                columns[c] = final[c].reset_index(drop=True).astype("Int64")
    for name in sorted(used):
        if adverse_event_column(name):
            columns[name] = final[name].reset_index(drop=True).astype("boolean")
    cohort = pd.DataFrame(columns, index=pd.RangeIndex(n))
    absent = [c for c in OPTIONAL_COLUMNS if c not in used]
    if "days_between" in derived and "days_between" in absent:
        absent.remove("days_between")  # the dates supply it
    cohort.attrs["absent_columns"] = sorted(absent)
    cohort.attrs["extra_columns"] = sorted(extra)
    cohort.attrs["derived_columns"] = sorted(set(derived))
    return cohort
