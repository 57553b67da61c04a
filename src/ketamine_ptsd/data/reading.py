"""Reading a cohort file, every cell as text: CSV (encodings, delimiters, decimal commas, a title row above the
header), Parquet and xlsx. Validation, not the reader, decides what a value means."""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import decimal
import io
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .contract import (
    FILE_TYPES,
)
from .problems import Problem, Refused

_PARQUET_INDEX = re.compile(r"__index_level_\d+__")


@dataclass
class Table:
    headers: list[str]
    cells: pd.DataFrame  # positional columns, text
    rows: np.ndarray  # the row number the user sees, per data row
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)  # position -> why its cells cannot be text
    # contract name -> the file's own name, for columns a mapping file renamed (see data.mapping)
    renamed: dict[str, str] = field(default_factory=dict)


def cell_text(v) -> str:
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


def as_text(s: pd.Series) -> pd.Series:
    """A column as text with missing cells as the empty string, vectorized where the dtype allows."""
    s = s.reset_index(drop=True)
    if isinstance(s.dtype, pd.StringDtype):
        return s.fillna("").astype("str")
    if s.dtype == object:
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s.where(s.notna(), "").astype("str")
        return s.map(cell_text).astype("str")
    try:
        arr = pyarrow.Array.from_pandas(s)
        return _arrow_text(pyarrow.chunked_array([arr]))
    except Exception:  # an exotic dtype: fall back to one cell at a time
        return s.map(cell_text).astype("str")


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
            return pd.Series([cell_text(v) for v in arr.to_pylist()], dtype="str")
    arr = pc.fill_null(arr, "")
    return pd.Series(arr.to_pandas(), dtype="str").reset_index(drop=True)


def _read_bytes(path: Path, label: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None


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
            raise Refused([Problem(label, None, None, message)])
    if b"\x00" in head:
        raise Refused([Problem(label, None, None, "is a binary file (it contains NUL bytes), not CSV text")])


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
        raise Refused(
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


def _separator_refused(name: str, label: str) -> Refused:
    return Refused([Problem(label, None, None, f"found {name} between the columns, not commas: {RESAVE}")])


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
        raise Refused([Problem(label, prev + 1, None, f"cannot be read as CSV ({e})")]) from None
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


def _read_csv(path: Path, label: str, delimiter: str = ",", header_row: int = 1) -> Table:
    data, text, skipped = _csv_text(path, label, delimiter, header_row)
    frame, lines, fields = _csv_frame(data, text, label, skipped)

    width = int(fields[0])
    headers = [str(h) for h in frame.iloc[0, :width]]
    cells = frame.iloc[1:].reset_index(drop=True)
    lines, fields = np.asarray(lines[1:]) + skipped, np.asarray(fields[1:])
    if len(cells) == 0:
        raise Refused([Problem(label, None, None, "file has a header but no data rows")])
    cells, lines, errors = _without_ragged_rows(cells, lines, fields, width, label)
    cells = cells.iloc[:, :width]
    cells.columns = range(width)
    return Table(headers, cells, lines, errors=errors)


def _csv_text(path: Path, label: str, delimiter: str, header_row: int) -> tuple[bytes, str, int]:
    """The file as UTF-8 text with "\\n" line ends, from its header line on, in commas; and the lines skipped above
    the header (Excel's ``sep=`` line, a title)."""
    data = _read_bytes(path, label)
    _sniff_not_text(data[:65536], label)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    text = _decode(data, label)
    if not text.strip():
        raise Refused([Problem(label, None, None, "file is empty")])
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
            raise Refused([Problem(label, None, None, "file is empty")])
    if header_row > 1:  # a title above the header (the mapping's format: header_row)
        skipped += header_row - 1
        text = "\n".join(text.split("\n")[header_row - 1 :])
    if delimiter != ",":
        text = _recomma(text, delimiter)
    if header_row > 1 or delimiter != ",":
        data = text.encode("utf-8")
        header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise Refused(
            [Problem(label, 1 + skipped, None, f"line {1 + skipped} is empty; the first line must be the header")]
        )
    _check_separator(header_line, label)
    return data, text, skipped


def _csv_frame(data: bytes, text: str, label: str, skipped: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every record as text, with the line it starts on and its number of fields: pandas' C parser where a
    structure pass agrees with it, else the csv module."""
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
            raise Refused([Problem(p.file, p.row + skipped, p.column, p.message) for p in problems])
    frame.columns = range(frame.shape[1])
    return frame, lines, fields


def _without_ragged_rows(cells: pd.DataFrame, lines, fields, width: int, label: str):
    """``cells`` without the rows whose fields do not match the header's (one error each), and those errors."""
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
    return cells, lines, errors


def _read_parquet(path: Path, label: str) -> Table:
    import pyarrow.parquet as pq

    data_head = _read_head(path, label)
    if not data_head.startswith(b"PAR1"):
        raise Refused([Problem(label, None, None, "is not a Parquet file" + _looks_like(data_head))])
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises many kinds; each means "cannot read"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Refused([Problem(label, None, None, f"is not a readable Parquet file ({first})")]) from None
    if table.num_columns == 0:
        raise Refused([Problem(label, None, None, "file is empty (no columns)")])
    if table.num_rows == 0:
        raise Refused([Problem(label, None, None, "file has column names but no data rows")])
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
    return Table(headers, cells, np.arange(2, table.num_rows + 2), unreadable=unreadable)


def _read_xlsx(path: Path, label: str, header_row: int = 1) -> Table:
    import openpyxl

    head = _read_head(path, label)
    if not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            why = "is an old Excel .xls or a password-protected workbook; save it as an unprotected .xlsx"
        else:
            why = "is not an Excel .xlsx workbook" + _looks_like(head)
        raise Refused([Problem(label, None, None, why)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Refused([Problem(label, None, None, f"is not a readable Excel .xlsx workbook ({first})")]) from None
    try:
        if not wb.worksheets:
            raise Refused([Problem(label, None, None, "file is empty (the workbook has no sheet)")])
        ws = wb.worksheets[0]
        # The stored sheet size can be wrong (too small loses rows; whole-column formatting claims a
        # million): read the rows that are there instead.
        ws.reset_dimensions()
        header, records, numbers = None, [], []
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number < header_row:  # a title above the header (the mapping's format: header_row)
                continue
            texts = [cell_text(v) for v in row]
            if header is None:
                if any(t.strip() for t in texts):
                    header = texts
                continue
            records.append(texts)
            numbers.append(number)
    except Refused:
        raise
    except Exception as e:
        raise Refused([Problem(label, None, None, f"is not a readable Excel .xlsx workbook ({e})")]) from None
    finally:
        wb.close()
    if header is None:
        raise Refused([Problem(label, None, None, "file is empty (the first sheet has no values)")])
    if not records:
        raise Refused([Problem(label, None, None, "file has a header but no data rows")])
    width = max(len(header), max(len(r) for r in records))
    header = header + [""] * (width - len(header))
    cells = pd.DataFrame([r + [""] * (width - len(r)) for r in records], dtype="str")
    return Table(header, cells, np.array(numbers))


def _read_head(path: Path, label: str, n: int = 8) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as e:
        raise Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None


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


def read_table(path, label: str, fmt: dict | None = None) -> Table:
    try:
        p = Path(path)
        exists, is_dir = p.exists(), p.is_dir()
    except (TypeError, ValueError, OSError) as e:  # not a path, a NUL in the name, a name too long
        raise Refused([Problem(label, None, None, f"not a usable file name ({e})")]) from None
    if not exists:
        raise Refused([Problem(label, None, None, "file not found")])
    if is_dir:
        raise Refused([Problem(label, None, None, "is a directory, not a file")])
    ext = p.suffix.lower()
    if ext == ".xls":
        raise Refused([Problem(label, None, None, "old Excel .xls files are not read; save it as .xlsx or CSV UTF-8")])
    if ext not in FILE_TYPES:
        shown = f"'{p.suffix}'" if p.suffix else "no extension"
        raise Refused(
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
            raise Refused([Problem(label, None, None, "file is empty")])
    except OSError as e:
        raise Refused([Problem(label, None, None, f"cannot read the file ({e.strerror or e})")]) from None
    kind = FILE_TYPES[ext]
    fmt = fmt or {}
    if kind == "csv":
        return _read_csv(p, label, fmt.get("delimiter", ","), fmt.get("header_row", 1))
    if kind == "xlsx":
        return _read_xlsx(p, label, fmt.get("header_row", 1))
    return _read_parquet(p, label)


def clean_name(header) -> str:
    return str(header).strip().lstrip("\ufeff").strip()


def as_arrow(s: pd.Series) -> pyarrow.Array:
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
