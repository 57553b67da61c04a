"""The contract's rules for single cells, as two lazy :mod:`pandera` schemas (the text, then the parsed values),
and the messages that name what is wrong with a cell; problems collected in reading order."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from .checks import Layout, check_header
from .contract import (
    BOOLEAN_SPELLINGS,
    GENDER_SPELLINGS,
    MISSING_MARKERS,
    SPREADSHEET_ERRORS,
    Column,
    wide_column,
)
from .problems import Collector, ValidationResult
from .reading import Table, as_arrow, clean_name

# Whole numbers as the contract accepts them: optional sign, digits, optional zero fraction ("52.0").
# At most 15 digits, so the value is exact in any numeric type; longer numbers are out of every range.
_WHOLE = r"[+-]?[0-9]{1,15}(?:\.0*)?"
_SPREADSHEET_ERRORS = frozenset(SPREADSHEET_ERRORS)
_NUMBER_LIKE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# ISO date, optionally followed by a time of day (spreadsheets and databases export dates that way).
_DATE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-2][0-9]:[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_DAY_FIRST = re.compile(r"[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}")


#
# Cells travel as Arrow arrays: pandas' text dtype is Arrow-backed, and Arrow's compute kernels keep a
# million-row file to a few seconds. Only failing cells are visited one at a time.

_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype


def _case_variants(words) -> list[str]:
    """Every upper/lower-case spelling of short words, so that matching them needs no lower-casing pass."""
    out = set()
    for w in words:
        for combo in itertools.product(*[(ch.lower(), ch.upper()) for ch in w]):
            out.add("".join(combo))
    return sorted(out)


_MISSING_VARIANTS = pyarrow.array(_case_variants(MISSING_MARKERS))
_SPREADSHEET_ERRORS_ARROW = pyarrow.array(SPREADSHEET_ERRORS)
_BOOLEAN_KEYS = pyarrow.array(list(BOOLEAN_SPELLINGS))
_BOOLEAN_VALUES = pyarrow.array(list(BOOLEAN_SPELLINGS.values()))
_GENDER_KEYS = pyarrow.array(list(GENDER_SPELLINGS))
_GENDER_VALUES = pyarrow.array(list(GENDER_SPELLINGS.values()))


def _text_series(a: pyarrow.Array) -> pd.Series:
    return pd.Series(pyarrow.chunked_array([a]), dtype=_STR)


def _numpy(mask) -> np.ndarray:
    """A boolean Arrow result as a numpy array (null counts as False)."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _matches(a: pyarrow.Array, pattern: str) -> pyarrow.Array:
    return pc.match_substring_regex(a, f"^(?:{pattern})$")


def _dates(s: pd.Series) -> pd.Series:
    """ISO date texts to dates (NaT where empty, malformed or not in the calendar)."""
    good = _numpy(_matches(as_arrow(s), _DATE))
    day = s.where(good, None).str.slice(0, 10)
    return pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")


def _check(fn):
    """A pandera-ready check: ``fn`` maps an Arrow text array to an Arrow boolean (True = fine)."""

    def check(s: pd.Series) -> pd.Series:
        return pd.Series(_numpy(fn(as_arrow(s))), index=s.index)

    return check


def _empty_or(test):
    return lambda a: pc.or_(pc.equal(a, ""), test(a))


def _no_spreadsheet_error(a):
    return pc.invert(pc.is_in(a, value_set=_SPREADSHEET_ERRORS_ARROW))


def _text_rules(col: Column):
    """The rule on the text of one column: [(key, pandera check)]. One rule per column keeps pandera's
    per-check overhead low; :func:`_message` tells the ways a cell can fail it apart."""
    if col.name == "patient_id":
        return [("id", _check(lambda a: pc.and_(pc.not_equal(a, ""), _no_spreadsheet_error(a))))]
    if col.kind == "integer":
        return [("whole_number", _check(_empty_or(lambda a: _matches(a, _WHOLE))))]
    if col.kind == "date":
        return [("date", lambda s: (s == "") | _dates(s).notna())]
    if col.kind == "boolean":
        return [("boolean", _check(_empty_or(lambda a: pc.is_in(pc.utf8_lower(a), value_set=_BOOLEAN_KEYS))))]
    if col.kind == "category":
        return [("gender", _check(_empty_or(lambda a: pc.is_in(pc.utf8_lower(a), value_set=_GENDER_KEYS))))]
    return [("text", _check(_no_spreadsheet_error))]


def _value_rules(col: Column):
    """Rules on the parsed values of one column (pandera skips NA cells)."""
    if col.kind != "integer" or (col.minimum is None and col.maximum is None):
        return []
    lo = -np.inf if col.minimum is None else col.minimum
    hi = np.inf if col.maximum is None else col.maximum
    return [("range", lambda s: (s >= lo) & (s <= hi))]


@functools.lru_cache(maxsize=64)
def _schema_for(stage: str, names: tuple[str, ...], known: Callable[[str], Column | None] = wide_column):
    """The pandera schema of one stage ("text" or "value") for the contract columns a file has."""
    rules = _text_rules if stage == "text" else _value_rules
    return _schema({name: rules(known(name)) for name in names})


def _schema(columns: dict[str, list]):
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                None, [pa.Check(fn, name=key, error=key) for key, fn in rules], nullable=True, required=False
            )
            for name, rules in columns.items()
            if rules
        },
        strict=False,
    )


def _failures(schema, frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(column, rule key, 0-based row) of every failing cell of a lazy pandera validation."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        fc = fc[fc["index"].notna()].sort_values(["index", "check_number"], kind="stable")
        return [(c, k, int(i)) for c, k, i in zip(fc["column"], fc["check"], fc["index"])]
    return []


def _to_int(a: pyarrow.Array, ok: np.ndarray) -> pd.Series:
    """Whole-number texts to ``Int64``; cells not ``ok`` (or empty) become NA."""
    valid = ok & _numpy(pc.not_equal(a, ""))
    if pc.any(pc.match_substring_regex(a, r"[+.]")).as_py():
        a = pc.replace_substring_regex(a, r"^\+|\.0*$", "")
    a = pc.if_else(pyarrow.array(valid), a, pyarrow.scalar(None, a.type))
    ints = pc.cast(a, pyarrow.int64())
    values = pc.fill_null(ints, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(values, _numpy(pc.is_null(ints))))


def _lookup(a: pyarrow.Array, ok: np.ndarray, keys: pyarrow.Array, values: pyarrow.Array, dtype: str) -> pd.Series:
    """Spellings to values (NA where empty or not ``ok``)."""
    a = pc.if_else(pyarrow.array(ok), a, pyarrow.scalar("", a.type))
    found = pc.take(values, pc.index_in(pc.utf8_lower(a), value_set=keys))
    return pd.Series(pyarrow.chunked_array([found]), dtype=dtype)


def _range_text(col: Column) -> str:
    if col.minimum is not None and col.maximum is not None:
        return f"{col.minimum}-{col.maximum}"
    if col.minimum is not None:
        return f">= {col.minimum}"
    return f"<= {col.maximum}"


def _whole_number_message(col: Column, value: str) -> str:
    """Why a text is not a whole number, in the user's terms."""
    if _NUMBER_LIKE.fullmatch(value):
        try:
            x = float(value)
        except (ValueError, OverflowError):
            x = math.inf
        if not math.isfinite(x):
            return "must be a whole number; found a number too large to represent"
        if not x.is_integer():
            return "must be a whole number; found a fraction"
        if re.fullmatch(r"[+-]?[0-9]+(\.0*)?", value):  # more digits than any legal value has
            if col.maximum is None and not value.startswith("-"):
                return "too large"
            return f"out of range: must be {_range_text(col)}"
        return "must be a whole number written in digits (no exponent)"
    if value.lower().lstrip("+-") in ("inf", "infinity"):
        return "must be a whole number; found an infinite value"
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value):
        return "must be a whole number; found a decimal comma"
    return "must be a whole number; found text"


def _message(col: Column, key: str, value: str) -> str:
    """What is wrong with a cell that failed rule ``key``."""
    if value in _SPREADSHEET_ERRORS:
        return "spreadsheet error value; fix the formula or leave the cell empty"
    if key == "id":
        return "empty patient_id; every row needs an identifier"
    if key == "whole_number":
        return _whole_number_message(col, value)
    if key == "date":
        if re.fullmatch(_DATE, value):
            return "impossible date: no such day in the calendar"
        if _DAY_FIRST.fullmatch(value):
            return (
                "dates must be written YYYY-MM-DD (ISO), or their form named in the column mapping's "
                "format: date (ketamine-ptsd columns detects it); found another date form"
            )
        return "not a date; dates must be written YYYY-MM-DD"
    if key == "boolean":
        return "unknown value; use true/false, yes/no or 1/0 (any case), or leave empty for unknown"
    if key == "gender":
        return (
            "unknown gender; use woman, man, nonbinary or other (female, f, male, m accepted), "
            "or leave empty for not reported"
        )
    if key == "range":
        if col.minimum == 0 and col.maximum is None:
            return f"negative: must be {_range_text(col)}"
        return f"out of range: must be {_range_text(col)}"
    raise KeyError(key)


def _parsed(col: Column, a: pyarrow.Array, texts: pd.Series, ok: np.ndarray) -> pd.Series:
    """A column's cells as values of its kind; NA where empty or not ``ok``."""
    if col.kind == "integer":
        return _to_int(a, ok)
    if col.kind == "date":
        return _dates(texts.where(ok, ""))
    if col.kind == "boolean":
        return _lookup(a, ok, _BOOLEAN_KEYS, _BOOLEAN_VALUES, "boolean")
    if col.kind == "category":
        return _lookup(a, ok, _GENDER_KEYS, _GENDER_VALUES, "string")
    nulled = pc.if_else(pc.equal(a, ""), pyarrow.scalar(None, a.type), a)
    return pd.Series(pyarrow.chunked_array([nulled]), dtype="string")


def check_cells(table: Table, file: str, layout: Layout) -> Cells | ValidationResult:
    """Header and cell rules of a table (every problem collected); a result already when no row has a value."""
    headers, cells, rows = table.headers, table.cells, table.rows
    names = [clean_name(h).lower() for h in headers]
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        position.setdefault(name, i)
    out = Collector(file, rows, position, table.renamed)
    for p in table.errors:
        out.add(out.errors, p.row, p.column, p.message, p.value)
    for p in table.warnings:
        out.add(out.warnings, p.row, p.column, p.message, p.value)

    # Cells: trimmed; missing markers become "".
    stripped = [pc.utf8_trim_whitespace(as_arrow(cells[i])) for i in range(len(names))]
    filled = [_numpy(pc.not_equal(a, "")) for a in stripped]
    used, extra, items_used, missing_required = check_header(names, headers, filled, out, layout)
    for i, why in table.unreadable.items():
        if used.get(names[i]) == i:
            out.error(names[i], f"cannot be read as single values ({why})")
            del used[names[i]]  # its cells would only repeat the problem
            missing_required |= names[i] in layout.required
    text: dict[str, pyarrow.Array] = {}
    empty_row = np.ones(len(cells), dtype=bool)
    for name, i in used.items():
        missing = pc.is_in(stripped[i], value_set=_MISSING_VARIANTS)
        text[name] = pc.if_else(missing, pyarrow.scalar("", stripped[i].type), stripped[i])
        empty_row &= _numpy(missing)
    for i, name in enumerate(names):
        if name not in used or used[name] != i:
            empty_row &= ~filled[i]
    shown = {name: stripped[i] for name, i in used.items()}
    if empty_row.all() and not table.errors:  # rows refused while reading are rows, not their absence
        out.error(None, "file has a header but no data rows")
        errors, warns = out.done()
        return ValidationResult(None, errors, warns)
    if empty_row.any():  # rows with no value anywhere are skipped
        keep = np.flatnonzero(~empty_row)
        rows = out.rows = rows[keep]
        take = pyarrow.array(keep)
        text = {k: v.take(take) for k, v in text.items()}
        shown = {k: v.take(take) for k, v in shown.items()}
    n = len(rows)
    T = pd.DataFrame({name: _text_series(a) for name, a in text.items()}, index=pd.RangeIndex(n), copy=False)
    given = {name: (T[name] != "").to_numpy() for name in T.columns}

    value_of = functools.partial(_shown_value, shown)

    # Column rules on the text (pandera, lazy): one problem per cell, the first rule that fails.
    bad = {name: np.zeros(n, dtype=bool) for name in T.columns}
    for name, key, i in _failures(_schema_for("text", tuple(T.columns), layout.known), T):
        if not bad[name][i]:
            bad[name][i] = True
            value = value_of(name, i)
            out.error(name, _message(layout.known(name), key, value), value or None, at=i)

    # Parse; cells that failed become NA so that no later rule reports them again.
    typed = {name: _parsed(layout.known(name), text[name], T[name], ~bad[name]) for name in T.columns}
    ranged = tuple(c for c in T.columns if _value_rules(layout.known(c)))
    if ranged:
        frame = pd.DataFrame({c: typed[c] for c in ranged}, index=pd.RangeIndex(n), copy=False)
        for name, key, i in _failures(_schema_for("value", ranged, layout.known), frame):
            bad[name][i] = True
            value = value_of(name, i)
            out.error(name, _message(layout.known(name), key, value), value, at=i)
        for name in ranged:
            if bad[name].any():
                typed[name] = typed[name].mask(bad[name])
    return Cells(T, typed, given, shown, rows, used, extra, items_used, missing_required, out)


@dataclass
class Cells:
    """A table's contract columns, checked cell by cell: what the rules across columns start from."""

    T: pd.DataFrame  # trimmed text, missing markers as ""
    typed: dict[str, pd.Series]  # parsed values, NA where empty or wrong
    given: dict[str, np.ndarray]  # cell not empty
    shown: dict[str, pyarrow.Array]  # the cells as the file has them, for messages
    rows: np.ndarray  # the row number the user sees
    used: dict[str, int]
    extra: list[str]
    items_used: dict[str, bool]
    missing_required: bool
    out: Collector

    def value_of(self, name: str, i: int):
        """The cell as the file has it (for messages)."""
        return _shown_value(self.shown, name, i)


def _shown_value(shown: dict[str, pyarrow.Array], name: str, i: int):
    return shown[name][i].as_py()
