"""``ketamine-ptsd columns FILE``: a starting column mapping (:mod:`~ketamine_ptsd.data.mapping`) for a clinic's
export, with the file's format detected, each column matched to the contract where its name says so (REDCap's
and platforms' names included), and every coded column's values listed to fill in."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .contract import (
    ALL_ITEM_COLUMNS,
    CHECKBOX,
    COLUMNS,
    GENDER_VALUES,
    LONG_COLUMNS,
    MISSING_MARKERS,
    OPTIONAL_COLUMNS,
    PATIENT_LEVEL_COLUMNS,
    REDCAP_BOOKKEEPING,
    REQUIRED_COLUMNS,
    known_column,
    long_column,
    wide_column,
)
from .mapping import ACCEPTED, DECIMAL_COMMA, MAX_VALUES, normal_name
from .reading import clean_name, read_table

__all__ = ["suggest", "detect_format"]

#: Names clinic systems use for a contract column, compared after :func:`normal_name` (REDCap, measurement-based
#: care platforms, spreadsheets kept by hand).
SYNONYMS: dict[str, str] = {
    "recordid": "patient_id",
    "record": "patient_id",
    "patient": "patient_id",
    "patientid": "patient_id",
    "subjectid": "patient_id",
    "participantid": "patient_id",
    "mrn": "patient_id",
    "id": "patient_id",
    "sex": "gender",
    "genderidentity": "gender",
    "race": "race_ethnicity",
    "ethnicity": "race_ethnicity",
    "raceethnicity": "race_ethnicity",
    "visit": "assessment",
    "timepoint": "assessment",
    "event": "assessment",
    "redcapeventname": "assessment",
    "visittype": "assessment",
    "pcl5total": "pcl5",
    "pcltotal": "pcl5",
    "pcl5score": "pcl5",
    "pcl5baseline": "pcl5_pre",
    "baselinepcl5": "pcl5_pre",
    "pcl5final": "pcl5_post",
    "pcl": "pcl5",
    "visitdate": "date",
    "assessmentdate": "date",
    "dayssincebaseline": "days",
    "studyday": "days",
    "infusions": "n_infusions",
    "ninfusions": "n_infusions",
    "psychmeds": "n_psych_meds",
    "si": "suicidal_ideation",
    "therapy": "psychotherapy",
    "sae": "serious_adverse_event",
    "seriousae": "serious_adverse_event",
}


#: PCL-5 items numbered without a leading zero (REDCap's ``pcl5_1``), for one assessment or a time point.
UNPADDED_ITEM = re.compile(r"pcl5_(?P<point>(?:pre|post)_)?(?P<item>[1-9]|1[0-9]|20)")


def _guess(name: str, long: bool) -> tuple[str | None, str]:
    """The contract column a file's column most likely is, and why."""
    known = long_column if long else wide_column
    clean = name.strip().lower()
    if REDCAP_BOOKKEEPING.fullmatch(clean):
        return None, "REDCap's bookkeeping column: ignored"
    checkbox = CHECKBOX.fullmatch(clean)
    if checkbox:
        return _checkbox(checkbox["field"], checkbox["code"])
    item = UNPADDED_ITEM.fullmatch(clean)
    if item:
        padded = f"pcl5_{item['point'] or ''}{int(item['item']):02d}"
        if padded != clean and known(padded):
            return padded, "PCL-5 item numbered without its leading zero"
    if known(clean):
        return None, "already the contract's name"
    key = normal_name(name)
    for candidate in [c.name for c in LONG_COLUMNS] if long else []:
        if normal_name(candidate) == key:
            return candidate, "exact match after normalising"
    for candidate in ("patient_id", *PATIENT_LEVEL_COLUMNS) if long else ():
        if normal_name(candidate) == key:
            return candidate, "exact match after normalising"
    if not long:
        for column in COLUMNS:
            if normal_name(column.name) == key:
                return column.name, "exact match after normalising"
    target = SYNONYMS.get(key)
    if target and known(target):
        return target, f"known synonym of {target}"
    snake = re.sub(r"[^0-9a-z]+", "_", clean).strip("_")
    if snake.startswith("ae_") and known(snake):
        return snake, "adverse event column (ae_ and the event's name)"
    return None, "no contract column found: left out (ignored, with a warning)"


def _checkbox(field: str, code: str) -> tuple[str | None, str]:
    """What a REDCap checkbox column (one per choice) can become: an adverse event needs its name; other
    checkboxes (race, say) say why they are left out."""
    if field.startswith("ae") or "adverse" in field:
        return None, f"REDCap checkbox {field}, choice {code}: an adverse event; map it to ae_<the event's name>"
    return None, (
        f"REDCap checkbox {field}, choice {code}: left out; one column per choice cannot fill one category "
        "(combine them in REDCap into one field with the choices' labels, then map that)"
    )


_FILL_IN = {
    "boolean": "true or false",
    "category": " or ".join(GENDER_VALUES),
    "assessment": "pre, interim, post or followup",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _not_found(contract_of: dict[int, str], names: list[str], long: bool) -> list[str]:
    """Comment lines for the contract's columns that no column of the file maps to: each required one, and each
    optional one that resembles a column the mapping leaves out ("did you mean"); the other optional ones on
    one line, as the analyses they would have fed are turned off."""
    import difflib

    if long:
        required = ("patient_id", "assessment", "pcl5", "days")
        optional = ("date", *PATIENT_LEVEL_COLUMNS)
    else:
        required = REQUIRED_COLUMNS
        optional = tuple(c for c in OPTIONAL_COLUMNS if c not in ALL_ITEM_COLUMNS)
    present = set(contract_of.values())
    # The items stand in for a total; a date for the days since pre.
    stand_in = {
        "pcl5": "pcl5_01",
        "pcl5_pre": "pcl5_pre_01",
        "pcl5_post": "pcl5_post_01",
        "days": "date",
        "days_between": "date_post",
    }
    # What the mapping leaves out, less what is left out on purpose (REDCap's checkboxes and bookkeeping).
    left = {
        normal_name(n): n
        for i, n in enumerate(names)
        if n
        and i not in contract_of
        and not CHECKBOX.fullmatch(n.lower())
        and not REDCAP_BOOKKEEPING.fullmatch(n.lower())
    }
    out, absent = [], []
    for name in (c for c in (*required, *optional) if c not in present and stand_in.get(c) not in present):
        # An optional column is suggested on a closer likeness than a required one, which is always listed.
        close = difflib.get_close_matches(normal_name(name), left, n=1, cutoff=0.6 if name in required else 0.7)
        hint = f"; did you mean {_quote(left[close[0]])}?" if close else ""
        if name in required:
            alt = " (or date)" if name == "days" else ""
            out.append(f"  # {name}{alt}: required by the contract, and no column of the file maps to it{hint}")
        elif hint:
            out.append(f"  # {name}: optional, and no column of the file maps to it{hint}")
        else:
            absent.append(name)
    if absent:
        out.append(f"  # not in the file (optional; the analyses that need them are turned off): {', '.join(absent)}")
    return out


_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def _detect_xlsx_title(path) -> tuple[dict, list[str]]:
    """A workbook whose first row has a single value above a fuller row: a title above the column names."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [
            [v for v in row if v not in (None, "")]
            for _, row in zip(range(2), wb.worksheets[0].iter_rows(values_only=True))
        ]
        wb.close()
    except Exception:  # noqa: BLE001 - an unreadable workbook is reported by the reader itself
        return {}, []
    if len(rows) == 2 and len(rows[0]) == 1 and len(rows[1]) > 1:
        return {"header_row": 2}, [
            f"  header_row: 2   # row 1 ({str(rows[0][0])[:40]!r}) is a title above the column names"
        ]
    return {}, []


def detect_format(path) -> tuple[dict, list[str]]:
    """How a CSV is written, read from its first lines: ``(format, comment lines)``.

    The field separator (more ``;``, tabs or ``|`` than commas in the header), a title line above the header
    (a first line with one field, the next with more), decimal commas in the data, and the order of day and
    month in dates like ``02/05/2023``: decided by a part above 12, refused with the evidence otherwise.
    """
    import csv
    import io

    if Path(path).suffix.lower() == ".xlsx":
        return _detect_xlsx_title(path)
    if Path(path).suffix.lower() != ".csv":
        return {}, []
    text = Path(path).read_bytes()[: 1 << 20].decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    lines = text.split("\n")[:200]
    fmt: dict = {}
    notes: list[str] = []
    first = lines[0] if lines else ""
    header_at = 1
    if len(lines) > 1 and max(first.count(c) for c in ",;\t|") == 0 and max(lines[1].count(c) for c in ",;\t|"):
        header_at = 2
        fmt["header_row"] = 2
        notes.append(f"  header_row: 2   # line 1 ({first.strip()[:40]!r}) is a title above the column names")
    header = lines[header_at - 1] if len(lines) >= header_at else ""
    delimiter = max(",;\t|", key=header.count)
    if delimiter != "," and header.count(delimiter) > header.count(","):
        fmt["delimiter"] = delimiter
        shown = "\\t" if delimiter == "\t" else delimiter
        notes.append(f'  delimiter: "{shown}"   # the column names are separated by it, not by commas')
    records = list(csv.reader(io.StringIO("\n".join(lines[header_at:]), newline=""), delimiter=delimiter))
    cells = [c.strip() for r in records for c in r]
    if fmt.get("delimiter") and any(DECIMAL_COMMA.fullmatch(c) for c in cells):
        fmt["decimal"] = ","
        example = next(c for c in cells if DECIMAL_COMMA.fullmatch(c))
        notes.append(f'  decimal: ","   # numbers such as {example} have a decimal comma')
    dates = [m for c in cells if (m := _SLASHED.fullmatch(c))]
    if dates:
        sep = re.search(r"[/.-]", dates[0].group(0)).group(0)
        day_first = [m.group(0) for m in dates if int(m.group(1)) > 12]
        month_first = [m.group(0) for m in dates if int(m.group(2)) > 12]
        if day_first and not month_first:
            fmt["date"] = f"%d{sep}%m{sep}%Y"
            notes.append(f'  date: "{fmt["date"]}"   # day first: {day_first[0]} has no 13th month')
        elif month_first and not day_first:
            fmt["date"] = f"%m{sep}%d{sep}%Y"
            notes.append(f'  date: "{fmt["date"]}"   # month first: {month_first[0]} has no 13th month')
        else:
            notes.append(
                f"  # date: cannot tell day from month: {dates[0].group(0)} could be either order and no date "
                f'settles it; fill in "%m{sep}%d{sep}%Y" (month first) or "%d{sep}%m{sep}%Y" (day first)'
            )
    return fmt, notes


def suggest(path) -> str:
    """A starting mapping file for the data file ``path``, as YAML text with a reason beside each line.

    Columns whose name, once lower-cased with spaces and punctuation removed, is a contract name or a
    known synonym (:data:`SYNONYMS`) are mapped; the distinct values of each coded column (yes/no, gender,
    assessment) that validation would not accept as they are are listed with an empty value to fill in.
    """
    label = os.fspath(path)
    fmt, format_lines = detect_format(path)
    table = read_table(path, label, fmt)
    names = [clean_name(h) for h in table.headers]
    long = any(_guess(n, True)[0] == "assessment" or n.lower() == "assessment" for n in names)
    lines = [
        f"# Column mapping for {Path(label).name}, written by `ketamine-ptsd columns`: check every line,",
        "# fill in the empty values, then pass it to build or validate with --columns.",
        "# The file has " + ("one row per assessment." if long else "one row per patient."),
        # A format: section only with something in it; an undecided date alone stays a comment.
        *(
            [("format:" if fmt else "# format:") + "   # how the file is written", *format_lines]
            if format_lines
            else []
        ),
        "columns:",
    ]
    contract_of: dict[int, str] = {}
    for i, name in enumerate(names):
        if not name:
            continue
        target, why = _guess(name, long)
        if target is None and why.startswith("REDCap checkbox") and "map it to ae_" in why:
            # A line to complete, not a guess: the event's name is in REDCap's data dictionary, not the file.
            lines.append(f'  # {_quote(name)}: ae_   # fill in the name after ae_ and remove the "#": {why}')
            continue
        if target is None:
            lines.append(f"  # {_quote(name)}: {why}")
            if known_column(name.lower()):
                contract_of[i] = name.lower()
            continue
        if target in contract_of.values():
            lines.append(f"  # {_quote(name)}: {target}   # {why}, but another column already maps to it")
            continue
        contract_of[i] = target
        lines.append(f"  {_quote(name)}: {target}   # {why}")
    lines.extend(_not_found(contract_of, names, long))
    lines.append("values:")
    for i, target in contract_of.items():
        column = known_column(target)
        kind = "assessment" if target == "assessment" else column.kind
        cells = table.cells[table.cells.columns[i]].str.strip()
        seen = sorted({v for v in cells if v.lower() not in MISSING_MARKERS})
        if target == "race_ethnicity" and seen and all(v.isdigit() for v in seen):
            # A free category written as codes (REDCap's 0/1/2): the book would print the codes as labels.
            lines.append(f"  {target}:   # codes in {_quote(names[i])}: {', '.join(seen[:MAX_VALUES])}")
            lines.extend(
                f'    {_quote(v)}: ""   # fill in: the category this code stands for' for v in seen[:MAX_VALUES]
            )
            continue
        if kind not in ACCEPTED:
            continue
        odd = [v for v in seen if v.lower() not in ACCEPTED[kind]]
        if not odd:
            continue
        lines.append(f"  {target}:   # values in {_quote(names[i])}: {', '.join(seen[:MAX_VALUES])}")
        lines.extend(f'    {_quote(v)}: ""   # fill in: {_FILL_IN[kind]}' for v in odd[:MAX_VALUES])
    if lines[-1] == "values:":
        lines[-1] = "values: {}"
    return "\n".join(lines) + "\n"
