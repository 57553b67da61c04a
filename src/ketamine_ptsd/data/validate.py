"""Read a cohort file and check it against the data contract before any analysis runs.

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

import codecs
import csv
import datetime as _dt
import decimal
import difflib
import functools
import io
import itertools
import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from ..parameters import DEFAULTS
from .contract import (
    ALL_ITEM_COLUMNS,
    BOOLEAN_SPELLINGS,
    CHECKBOX,
    COHORT_DTYPES,
    COLUMNS,
    FILE_TYPES,
    GENDER_SPELLINGS,
    ITEM_COLUMNS,
    MISSING_MARKERS,
    N_ITEMS,
    OPTIONAL_COLUMNS,
    REDCAP_BOOKKEEPING,
    REQUIRED_COLUMNS,
    SPREADSHEET_ERRORS,
    Column,
    adverse_event_column,
    wide_column,
)

__all__ = [
    "Problem",
    "ValidationResult",
    "ValidationFailed",
    "validate_file",
    "validate_frame",
    "load_cohort",
    "summarised",
]

#: Longest offending value shown in a message.
VALUE_WIDTH = 40

# Whole numbers as the contract accepts them: optional sign, digits, optional zero fraction ("52.0").
# At most 15 digits, so the value is exact in any numeric type; longer numbers are out of every range.
_WHOLE = r"[+-]?[0-9]{1,15}(?:\.0*)?"
_NUMBER_LIKE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# ISO date, optionally followed by a time of day (spreadsheets and databases export dates that way).
_DATE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-2][0-9]:[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_DAY_FIRST = re.compile(r"[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}")
_SPREADSHEET_ERRORS = frozenset(SPREADSHEET_ERRORS)
_PARQUET_INDEX = re.compile(r"__index_level_\d+__")


# --------------------------------------------------------------------------------------------------
# Results


def _show(value) -> str | None:
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
        listed = _first_rows([p.row for p in group], [p.value for p in group], word=False)
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


class _Refused(Exception):
    """Raised inside the readers: the file cannot be read as a table at all."""

    def __init__(self, problems):
        self.problems = list(problems)


# --------------------------------------------------------------------------------------------------
# Reading: every cell as text


@dataclass
class _Table:
    headers: list[str]
    cells: pd.DataFrame  # positional columns, text
    rows: np.ndarray  # the row number the user sees, per data row
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)  # position -> why its cells cannot be text
    # contract name -> the file's own name, for columns a mapping file renamed (see data.columns)
    renamed: dict[str, str] = field(default_factory=dict)


def _cell_text(v) -> str:
    """One spreadsheet or Parquet cell as text, as a person would have typed it."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        # Spreadsheets store every number as a float: show whole ones as whole numbers.
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if v is pd.NA or v is pd.NaT:
        return ""
    return str(v)


def _as_text(s: pd.Series) -> pd.Series:
    """A column as text with missing cells as the empty string, vectorized where the dtype allows."""
    s = s.reset_index(drop=True)
    if isinstance(s.dtype, pd.StringDtype):
        return s.fillna("").astype("str")
    if s.dtype == object:
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s.where(s.notna(), "").astype("str")
        return s.map(_cell_text).astype("str")
    try:
        arr = pyarrow.Array.from_pandas(s)
        return _arrow_text(pyarrow.chunked_array([arr]))
    except Exception:  # an exotic dtype: fall back to one cell at a time
        return s.map(_cell_text).astype("str")


def _arrow_text(arr) -> pd.Series:
    """A pyarrow column as text (``""`` for null), or raise ``TypeError`` for nested types.

    Arrow prints numbers as a person would (52.0 as ``52``, NaN as ``nan``, a missing marker), dates as
    ISO dates and booleans as ``true``/``false``.
    """
    t = arr.type
    if pyarrow.types.is_dictionary(t):
        arr = pyarrow.chunked_array([c.dictionary_decode() for c in arr.chunks], type=t.value_type)
        t = arr.type
    if pyarrow.types.is_null(t):
        return pd.Series([""] * len(arr), dtype="str")
    if pyarrow.types.is_nested(t):
        raise TypeError(f"holds {t} values, not single values")
    if not (pyarrow.types.is_string(t) or pyarrow.types.is_large_string(t)):
        try:
            arr = arr.cast(pyarrow.string())
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
            return pd.Series([_cell_text(v) for v in arr.to_pylist()], dtype="str")
    arr = pc.fill_null(arr, "")
    return pd.Series(arr.to_pandas(), dtype="str").reset_index(drop=True)


def _read_bytes(path: Path, label: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise _Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None


def _sniff_not_text(head: bytes, label: str) -> None:
    """Refuse content that is not text, saying what it looks like."""
    kinds = [
        (
            b"PK\x03\x04",
            "is a zip archive (an Excel .xlsx workbook?), not CSV text; give it the .xlsx extension "
            "or export it as CSV UTF-8",
        ),
        (b"PAR1", "is a Parquet file, not CSV text; give it the .parquet extension"),
        (
            b"\xd0\xcf\x11\xe0",
            "is an old Excel .xls or a password-protected workbook, not CSV text; save it as .xlsx or CSV UTF-8",
        ),
        (b"%PDF", "is a PDF document, not CSV text"),
        (b"\xff\xfe", "is UTF-16 text (Excel's 'Unicode Text'), not UTF-8; save it as CSV UTF-8"),
        (b"\xfe\xff", "is UTF-16 text, not UTF-8; save it as CSV UTF-8"),
    ]
    for magic, message in kinds:
        if head.startswith(magic):
            raise _Refused([Problem(label, None, None, message)])
    if b"\x00" in head:
        raise _Refused([Problem(label, None, None, "is a binary file (it contains NUL bytes), not CSV text")])


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        byte = data[e.start]
        try:
            data.decode("cp1252")
            guess = "looks like Latin-1 (Windows-1252)"
        except UnicodeDecodeError:
            guess = "looks like Latin-1 (ISO-8859-1) or another 8-bit encoding"
        raise _Refused(
            [
                Problem(
                    label,
                    None,
                    None,
                    f"not UTF-8 (byte 0x{byte:02x} at line {line}); {guess} -- save the file as CSV UTF-8",
                )
            ]
        ) from None


_SEPARATORS = {";": "';'", "\t": "tabs ('\\t')", "|": "'|'"}


#: How to make a CSV the tool reads, said wherever a file uses another separator.
RESAVE = (
    "save it as 'CSV UTF-8 (Comma delimited)' (Excel: File > Save As), with numbers written with a decimal "
    "point; a European Excel writes ';' and decimal commas (1,5) instead. Or read it as it is, through --columns "
    "and a column mapping whose format: names its delimiter and decimal mark (`ketamine-ptsd columns FILE` "
    "writes one)"
)


def _separator_refused(name: str, label: str) -> _Refused:
    return _Refused([Problem(label, None, None, f"found {name} between the columns, not commas: {RESAVE}")])


def _check_separator(header_line: str, label: str) -> None:
    commas = header_line.count(",")
    for sep, name in _SEPARATORS.items():
        n = header_line.count(sep)
        if n and n > commas:
            raise _separator_refused(name, label)


def _csv_records(data: bytes):
    """Where each CSV record starts (line number) and how many fields it has.

    Vectorized: a comma or newline separates only outside quotes, that is after an even number of
    quote characters (RFC 4180 escapes a quote by doubling it, which keeps the parity). Returns ``None``
    when the quotes do not balance; the caller then falls back to the :mod:`csv` module.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newline = np.flatnonzero(buf == 10)
    comma = np.flatnonzero(buf == 44)
    quote = buf == 34
    if quote.any():
        inside = np.bitwise_xor.accumulate(quote.view(np.uint8))
        if inside[-1]:
            return None
        sep_newline = newline[inside[newline] == 0]
        comma = comma[inside[comma] == 0]
    else:
        sep_newline = newline
    ends = sep_newline if data.endswith(b"\n") else np.append(sep_newline, len(buf))
    starts = np.concatenate(([0], sep_newline + 1))[: len(ends)]
    fields = 1 + np.searchsorted(comma, ends) - np.searchsorted(comma, starts)
    fields[ends == starts] = 0  # an empty line: no field at all
    lines = 1 + np.searchsorted(newline, starts)
    return lines, fields


def _csv_with_module(text: str, label: str):
    """Slow path for irregular quoting: the :mod:`csv` module, which reads quotes as Excel does."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    records, lines, prev = [], [], 0
    try:
        for rec in reader:
            records.append(rec)
            lines.append(prev + 1)
            prev = reader.line_num
    except csv.Error as e:  # a NUL byte past the sniffed head, a field over the csv module's limit
        raise _Refused([Problem(label, prev + 1, None, f"cannot be read as CSV ({e})")]) from None
    fields = np.array([max(len(r), 1) for r in records])
    width = int(fields.max()) if len(fields) else 1
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype="str")
    problems = []
    if text.count('"') % 2 and records and any("\n" in c for c in records[-1]):
        problems.append(
            Problem(label, lines[-1], None, 'a quoted value runs to the end of the file: a closing " is missing')
        )
    return frame, np.array(lines), fields, problems


def _recomma(text: str, delimiter: str) -> str:
    """A CSV written with another field separator (the mapping's ``format: delimiter``), rewritten with commas
    record by record, so every line keeps its number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        writer.writerow(record)
    return out.getvalue()


def _read_csv(path: Path, label: str, delimiter: str = ",", header_row: int = 1) -> _Table:
    data = _read_bytes(path, label)
    _sniff_not_text(data[:65536], label)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    text = _decode(data, label)
    if not text.strip():
        raise _Refused([Problem(label, None, None, "file is empty")])
    if "\r" in text:
        # Old Mac and Windows line ends: one newline character makes line counting simple.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        data = text.encode("utf-8")
    header_line = text.split("\n", 1)[0]
    skipped = 0
    hint = re.fullmatch(r"\s*sep=(.)\s*", header_line, flags=re.IGNORECASE)
    if hint:  # Excel's "sep=," first line names the separator; the header follows it
        if hint.group(1) != ",":
            raise _separator_refused(_SEPARATORS.get(hint.group(1), repr(hint.group(1))), label)
        skipped = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
        data = text.encode("utf-8")
        header_line = text.split("\n", 1)[0]
        if not text.strip():
            raise _Refused([Problem(label, None, None, "file is empty")])
    if header_row > 1:  # a title above the header (the mapping's format: header_row)
        skipped += header_row - 1
        text = "\n".join(text.split("\n")[header_row - 1 :])
    if delimiter != ",":
        text = _recomma(text, delimiter)
    if header_row > 1 or delimiter != ",":
        data = text.encode("utf-8")
        header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise _Refused(
            [Problem(label, 1 + skipped, None, f"line {1 + skipped} is empty; the first line must be the header")]
        )
    _check_separator(header_line, label)

    structure = _csv_records(data)
    frame = None
    problems: list[Problem] = []
    if structure is not None:
        lines, fields = structure
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                header=None,
                names=range(max(int(fields.max()), 1)),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8",
                engine="c",
            )
        except Exception:  # the C parser disagrees with the structure pass: use the csv module
            frame = None
        # With quotes, a row whose length looks wrong may be a literal quote inside a value, which
        # pandas and the csv module read as text: let the csv module count such a file's fields.
        ragged = (fields != fields[0]) & (fields > 0)
        if frame is not None and (len(frame) != len(lines) or (b'"' in data and ragged.any())):
            frame = None
        fields = np.maximum(fields, 1)
    if frame is None:
        frame, lines, fields, problems = _csv_with_module(text, label)
        if problems:
            raise _Refused([Problem(p.file, p.row + skipped, p.column, p.message) for p in problems])
    frame.columns = range(frame.shape[1])

    width = int(fields[0])
    headers = [str(h) for h in frame.iloc[0, :width]]
    cells = frame.iloc[1:].reset_index(drop=True)
    lines, fields = np.asarray(lines[1:]) + skipped, np.asarray(fields[1:])
    if len(cells) == 0:
        raise _Refused([Problem(label, None, None, "file has a header but no data rows")])
    errors = []
    ragged = np.flatnonzero(fields != width)
    every_row_longer = bool(len(fields)) and bool((fields[fields > 0] > width).all())
    if len(ragged):
        odd = cells.iloc[ragged]
        filled = np.column_stack([(odd[c].str.strip() != "").to_numpy() for c in odd.columns])
        bad = []
        for k, i in enumerate(ragged):  # only the rows whose length differs from the header's
            nonempty = np.flatnonzero(filled[k])
            if len(nonempty) == 0 or (fields[i] > width and nonempty.max() < width):
                continue  # an empty line, or extra empty fields at the end: harmless
            bad.append(i)
            why = f"has {fields[i]} fields but the header has {width}"
            if every_row_longer:
                # "52,5" written with a decimal comma becomes two fields in every row: the usual cause.
                why += (
                    "; a number with a decimal comma (52,5) is split in two at the comma: save numbers with a "
                    "decimal point, or keep ';' between fields and name it in the mapping's format: delimiter"
                )
            errors.append(Problem(label, int(lines[i]), None, why))
        keep = np.ones(len(cells), dtype=bool)
        keep[bad] = False
        cells, lines = cells[keep].reset_index(drop=True), lines[keep]
    cells = cells.iloc[:, :width]
    cells.columns = range(width)
    return _Table(headers, cells, lines, errors=errors)


def _read_parquet(path: Path, label: str) -> _Table:
    import pyarrow.parquet as pq

    data_head = _read_head(path, label)
    if not data_head.startswith(b"PAR1"):
        raise _Refused([Problem(label, None, None, "is not a Parquet file" + _looks_like(data_head))])
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises many kinds; each means "cannot read"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _Refused([Problem(label, None, None, f"is not a readable Parquet file ({first})")]) from None
    if table.num_columns == 0:
        raise _Refused([Problem(label, None, None, "file is empty (no columns)")])
    if table.num_rows == 0:
        raise _Refused([Problem(label, None, None, "file has column names but no data rows")])
    headers, columns, unreadable = [], [], {}
    for name, arr in zip(table.column_names, table.columns):
        if _PARQUET_INDEX.fullmatch(name):
            continue  # a pandas index written along with the data
        try:
            text = _arrow_text(arr)
        except Exception as e:  # nested or undecodable values; an error only if the column is used
            unreadable[len(headers)] = str(e)
            text = pd.Series([""] * table.num_rows, dtype="str")
        headers.append(name)
        columns.append(text)
    cells = pd.concat(columns, axis=1, ignore_index=True)
    return _Table(headers, cells, np.arange(2, table.num_rows + 2), unreadable=unreadable)


def _read_xlsx(path: Path, label: str, header_row: int = 1) -> _Table:
    import openpyxl

    head = _read_head(path, label)
    if not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            why = "is an old Excel .xls or a password-protected workbook; save it as an unprotected .xlsx"
        else:
            why = "is not an Excel .xlsx workbook" + _looks_like(head)
        raise _Refused([Problem(label, None, None, why)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _Refused([Problem(label, None, None, f"is not a readable Excel .xlsx workbook ({first})")]) from None
    try:
        if not wb.worksheets:
            raise _Refused([Problem(label, None, None, "file is empty (the workbook has no sheet)")])
        ws = wb.worksheets[0]
        # The stored sheet size can be wrong (too small loses rows; whole-column formatting claims a
        # million): read the rows that are there instead.
        ws.reset_dimensions()
        header, records, numbers = None, [], []
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number < header_row:  # a title above the header (the mapping's format: header_row)
                continue
            texts = [_cell_text(v) for v in row]
            if header is None:
                if any(t.strip() for t in texts):
                    header = texts
                continue
            records.append(texts)
            numbers.append(number)
    except _Refused:
        raise
    except Exception as e:
        raise _Refused([Problem(label, None, None, f"is not a readable Excel .xlsx workbook ({e})")]) from None
    finally:
        wb.close()
    if header is None:
        raise _Refused([Problem(label, None, None, "file is empty (the first sheet has no values)")])
    if not records:
        raise _Refused([Problem(label, None, None, "file has a header but no data rows")])
    width = max(len(header), max(len(r) for r in records))
    header = header + [""] * (width - len(header))
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype="str")
    return _Table(header, cells, np.array(numbers))


def _read_head(path: Path, label: str, n: int = 8) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as e:
        raise _Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None


def _looks_like(head: bytes) -> str:
    if head.startswith(b"PK"):
        return " (it is a zip archive: an Excel .xlsx workbook?)"
    if head.startswith(b"PAR1"):
        return " (it is a Parquet file: give it the .parquet extension)"
    if b"\x00" not in head and head.strip():
        try:
            head.decode("utf-8")
            return " (it looks like text: a CSV file? give it the .csv extension)"
        except UnicodeDecodeError:
            pass
    return ""


def _read(path, label: str, fmt: dict | None = None) -> _Table:
    try:
        p = Path(path)
        exists, is_dir = p.exists(), p.is_dir()
    except (TypeError, ValueError, OSError) as e:  # not a path, a NUL in the name, a name too long
        raise _Refused([Problem(label, None, None, f"not a usable file name ({e})")]) from None
    if not exists:
        raise _Refused([Problem(label, None, None, "file not found")])
    if is_dir:
        raise _Refused([Problem(label, None, None, "is a directory, not a file")])
    ext = p.suffix.lower()
    if ext == ".xls":
        raise _Refused([Problem(label, None, None, "old Excel .xls files are not read; save it as .xlsx or CSV UTF-8")])
    if ext not in FILE_TYPES:
        shown = f"'{p.suffix}'" if p.suffix else "no extension"
        raise _Refused(
            [
                Problem(
                    label,
                    None,
                    None,
                    f"unsupported file type ({shown}): use .csv (comma-separated, UTF-8), .parquet (.pq) or .xlsx",
                )
            ]
        )
    try:
        if p.stat().st_size == 0:
            raise _Refused([Problem(label, None, None, "file is empty")])
    except OSError as e:
        raise _Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None
    kind = FILE_TYPES[ext]
    fmt = fmt or {}
    if kind == "csv":
        return _read_csv(p, label, fmt.get("delimiter", ","), fmt.get("header_row", 1))
    if kind == "xlsx":
        return _read_xlsx(p, label, fmt.get("header_row", 1))
    return _read_parquet(p, label)


# --------------------------------------------------------------------------------------------------
# Validation
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


def _arrow(s: pd.Series) -> pyarrow.Array:
    """A text column as one Arrow string array (zero-copy for pandas' Arrow-backed text)."""
    try:
        a = s.array.__arrow_array__()
    except (AttributeError, TypeError, NotImplementedError):
        a = None
    if a is None or not (pyarrow.types.is_string(a.type) or pyarrow.types.is_large_string(a.type)):
        a = pyarrow.array(s.to_numpy(dtype=object, na_value=None), type=pyarrow.large_string())
    if isinstance(a, pyarrow.ChunkedArray):
        a = a.combine_chunks()
    return pc.fill_null(a, "")


def _text_series(a: pyarrow.Array) -> pd.Series:
    return pd.Series(pyarrow.chunked_array([a]), dtype=_STR)


def _numpy(mask) -> np.ndarray:
    """A boolean Arrow result as a numpy array (null counts as False)."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_KEYS = {_key(c.name): c.name for c in COLUMNS}


def _did_you_mean(name: str) -> str | None:
    """The contract column an unknown name was probably meant to be."""
    k = _key(name)
    if k in _KEYS:
        return _KEYS[k]
    close = difflib.get_close_matches(k, list(_KEYS), n=1, cutoff=0.85)
    return _KEYS[close[0]] if close else None


def _matches(a: pyarrow.Array, pattern: str) -> pyarrow.Array:
    return pc.match_substring_regex(a, f"^(?:{pattern})$")


def _dates(s: pd.Series) -> pd.Series:
    """ISO date texts to dates (NaT where empty, malformed or not in the calendar)."""
    good = _numpy(_matches(_arrow(s), _DATE))
    day = s.where(good, None).str.slice(0, 10)
    return pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")


def _check(fn):
    """A pandera-ready check: ``fn`` maps an Arrow text array to an Arrow boolean (True = fine)."""

    def check(s: pd.Series) -> pd.Series:
        return pd.Series(_numpy(fn(_arrow(s))), index=s.index)

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


class _Collector:
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
        p = Problem(self.file, row, column, message, _show(value))
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


def _na(n: int, dtype: str = "Int64") -> pd.Series:
    return pd.Series(pd.array([pd.NA] * n, dtype=dtype))


@dataclass(frozen=True)
class _Layout:
    """What a file's rows are: the columns it may have, its item sets and what it requires."""

    known: Callable[[str], Column | None]
    items: dict[str, list[str]]  # item set -> its 20 item columns
    totals: dict[str, str]  # item set -> the total its items sum to
    item_word: dict[str, str]  # item set -> how a message names its items
    required: tuple[str, ...]
    required_totals: dict[str, str]  # item set -> message for a row with neither total nor items


_WIDE = _Layout(
    wide_column,
    ITEM_COLUMNS,
    {"pre": "pcl5_pre", "post": "pcl5_post"},
    {"pre": "pre-treatment", "post": "post-treatment"},
    REQUIRED_COLUMNS,
    {"pre": "the baseline PCL-5 total is required"},
)


def _check_header(names, headers, filled, out: _Collector, layout: _Layout = _WIDE):
    """Column names: duplicates, unknown and unnamed columns, item sets, required columns.

    Returns the contract columns in use (name -> position), the extra names, which item sets are
    complete, and whether a required column is missing.
    """
    seen: dict[str, int] = {}
    used: dict[str, int] = {}
    extra: list[str] = []
    for i, name in enumerate(names):
        shown = _clean_name(headers[i])
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
            hint = _did_you_mean(shown)
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
        hints = [e for e in extra if _did_you_mean(e) == name]
        hint = f"; found {hints[0]!r} -- rename it" if hints else ""
        out.error(name, f"missing required column{alt}{hint}")
        missing_required = True

    for a, b in (("date_pre", "date_post"), ("date_post", "date_pre")):
        if a in used and b not in used:
            out.warning(a, f"{a} without {b}: days_between cannot be derived from one date; the dates are ignored")
    return used, extra, items_used, missing_required


def _clean_name(header) -> str:
    return str(header).strip().lstrip("\ufeff").strip()


def _check_cells(table: _Table, file: str, layout: _Layout) -> _Cells | ValidationResult:
    """Header and cell rules of a table (every problem collected); a result already when no row has a value."""
    headers, cells, rows = table.headers, table.cells, table.rows
    names = [_clean_name(h).lower() for h in headers]
    position: dict[str, int] = {}
    for i, name in enumerate(names):
        position.setdefault(name, i)
    out = _Collector(file, rows, position, table.renamed)
    for p in table.errors:
        out.add(out.errors, p.row, p.column, p.message, p.value)
    for p in table.warnings:
        out.add(out.warnings, p.row, p.column, p.message, p.value)

    # Cells: trimmed; missing markers become "".
    stripped = [pc.utf8_trim_whitespace(_arrow(cells[i])) for i in range(len(names))]
    filled = [_numpy(pc.not_equal(a, "")) for a in stripped]
    used, extra, items_used, missing_required = _check_header(names, headers, filled, out, layout)
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
    typed: dict[str, pd.Series] = {}
    for name in T.columns:
        col, a, ok = layout.known(name), text[name], ~bad[name]
        if col.kind == "integer":
            typed[name] = _to_int(a, ok)
        elif col.kind == "date":
            typed[name] = _dates(T[name].where(ok, ""))
        elif col.kind == "boolean":
            typed[name] = _lookup(a, ok, _BOOLEAN_KEYS, _BOOLEAN_VALUES, "boolean")
        elif col.kind == "category":
            typed[name] = _lookup(a, ok, _GENDER_KEYS, _GENDER_VALUES, "string")
        else:
            nulled = pc.if_else(pc.equal(a, ""), pyarrow.scalar(None, a.type), a)
            typed[name] = pd.Series(pyarrow.chunked_array([nulled]), dtype="string")
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
    return _Cells(T, typed, given, shown, rows, used, extra, items_used, missing_required, out)


@dataclass
class _Cells:
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
    out: _Collector

    def value_of(self, name: str, i: int):
        """The cell as the file has it (for messages)."""
        return _shown_value(self.shown, name, i)


def _shown_value(shown: dict[str, pyarrow.Array], name: str, i: int):
    return shown[name][i].as_py()


def _validate_table(table: _Table, file: str, limit: int = DEFAULTS["pcl5_items_missing_max"]) -> ValidationResult:
    if table.errors and len(table.cells) == 0:
        # Every row was refused while reading (too many fields, say): those messages say all there is.
        return ValidationResult(None, list(table.errors), list(table.warnings))
    if "assessment" in (_clean_name(h).lower() for h in table.headers):
        from .long import validate_long_table  # one row per assessment

        return validate_long_table(table, file, limit)
    cells = _check_cells(table, file, _WIDE)
    if isinstance(cells, ValidationResult):
        return cells
    T, typed, given, value_of, out = cells.T, cells.typed, cells.given, cells.value_of, cells.out
    used, extra, items_used, rows, n = cells.used, cells.extra, cells.items_used, cells.rows, len(cells.rows)

    # Rules across columns.
    totals, derived, prorated = _check_items(T, typed, given, items_used, cells.missing_required, value_of, out, limit)

    _check_ids(T, rows, out)
    days = _check_days(typed, used, value_of, out, derived, n)
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
    cohort = _cohort(final, items_used, used, extra, derived, n)
    cohort.attrs["prorated_totals"] = int(sum(p.sum() for p in prorated.values()))
    cohort.attrs["prorated_patients"] = int((prorated["pre"] | prorated["post"]).sum())
    return ValidationResult(cohort, errors, warns)


def _first_rows(rows, values=None, word: bool = True) -> str:
    """``rows 4, 7, 9, ...``: where a message about many rows points, its first three (each with the value
    found there, when given).

    >>> _first_rows([4]), _first_rows([4, 7, 9, 12], ["a", None, "c", "d"], word=False)
    ('row 4', '4 (a), 7, 9 (c), ...')
    """
    rows = [int(r) for r in rows]
    values = values or [None] * len(rows)
    shown = [str(r) if v is None else f"{r} ({v})" for r, v in zip(rows[:3], values)]
    listed = ", ".join(shown) + (", ..." if len(rows) > 3 else "")
    return (("row " if len(rows) == 1 else "rows ") + listed) if word else listed


def _too_many_empty(rows, limit: int, what: str, outcome: str) -> str:
    """The one warning for assessments whose items are too incomplete to give a total, and what became of them."""
    return (
        f"{len(rows)} {what} with more than {limit} of {N_ITEMS} items empty (pcl5_items_missing_max): "
        f"{outcome} ({_first_rows(rows)})"
    )


def _prorated(answered_sum: np.ndarray, n_answered: np.ndarray) -> np.ndarray:
    """The mean of the answered items x 20, rounded half up to a whole number like every total; in integers,
    so that a total of exactly x.5 rounds the same on every machine.

    >>> _prorated(np.array([45, 38]), np.array([19, 19])).tolist()  # 47.37 and exactly 40
    [47, 40]
    """
    return (2 * N_ITEMS * answered_sum + n_answered) // (2 * np.maximum(n_answered, 1))


def _check_items(T, typed, given, items_used, missing_required, value_of, out, limit: int, layout: _Layout = _WIDE):
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
        total = typed[total_name].copy() if total_name in typed else _na(n)
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
            for i in np.flatnonzero(prorated[tp] & differs):
                out.error(
                    total_name,
                    f"does not equal the total of items {items[0]} .. {items[-1]}: {N_ITEMS - n_items[i]} of "
                    f"{N_ITEMS} are empty, and the mean of the {n_items[i]} answered x {N_ITEMS} is "
                    f"{int(sums.iat[i])} (their sum {answered[i]})",
                    value_of(total_name, i),
                    at=i,
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
                    f"({_first_rows(out.rows[prorated[tp]])})",
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
            out.warning(total_name, _too_many_empty(out.rows[too_many], limit, what, "no total, taken as missing"))
        totals[tp] = total
    return totals, derived, prorated


def _check_ids(T, rows, out):
    """Each repeat of a patient_id is an error naming the row where the id first appears."""
    if "patient_id" not in T:
        return
    ids = T["patient_id"]
    present = _arrow(ids).filter(pc.not_equal(_arrow(ids), ""))
    if len(pc.unique(present)) == len(present):
        return  # the common case, decided by one hash pass
    dup = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
    first_at = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    first_at = first_at[~first_at.index.duplicated(keep="first")]
    for i in np.flatnonzero(dup):
        out.error(
            "patient_id", f"duplicate patient_id; first seen at row {int(rows[first_at[ids.iat[i]]])}", ids.iat[i], at=i
        )


def _check_days(typed, used, value_of, out, derived, n):
    """Dates in order, days_between against the dates; returns days_between with gaps filled from dates."""
    days = typed["days_between"].copy() if "days_between" in typed else _na(n)
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


def _cohort(final, items_used, used, extra, derived, n) -> pd.DataFrame:
    """The normalized cohort: contract columns and dtypes, items when the file has them."""
    columns = {}
    for name, dtype in COHORT_DTYPES.items():
        s = final[name] if name in final else _na(n, dtype)
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
        A mapping file (:mod:`ketamine_ptsd.data.columns`) applied before validation.
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
            from .columns import read_mapping

            mapping = read_mapping(columns)
        table = _read(path, label, None if mapping is None else mapping.format)
        if mapping is not None:
            from .columns import apply_format, apply_mapping

            table = apply_format(mapping, apply_mapping(mapping, table, label))
    except (_Refused, ValidationFailed) as r:
        return ValidationResult(None, r.problems if isinstance(r, _Refused) else r.errors, [])
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
    headers = [_cell_text(c) for c in df.columns]
    cells = pd.DataFrame({i: _as_text(df.iloc[:, i]) for i in range(df.shape[1])}, index=pd.RangeIndex(len(df)))
    if df.shape[1] == 0:
        return ValidationResult(None, [Problem(file, None, None, "file is empty (no columns)")], [])
    if len(df) == 0:
        return ValidationResult(None, [Problem(file, None, None, "file has a header but no data rows")], [])
    table = _Table(headers, cells, np.arange(row_offset, row_offset + len(df)))
    return _validate_table(table, file)


def load_cohort(path, columns=None, items_missing_max: int | None = None) -> pd.DataFrame:
    """The validated cohort of a file, or :class:`ValidationFailed` with every problem."""
    return validate_file(path, columns, items_missing_max).raise_for_errors()
