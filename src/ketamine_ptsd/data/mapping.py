"""Column mapping: a clinic export's own column names and codes, translated to the data contract.

A mapping file (YAML, passed as ``--columns FILE.yml``) renames the file's columns and recodes their values
before validation; everything after it sees the contract's names and values, and validation messages name
both (``column PCL5_baseline (pcl5_pre)``)::

    columns:                 # name in the file: name in the contract
      record_id: patient_id
    values:                  # per contract column: spelling in the file: contract value
      gender: {"1": woman, "2": man}

Values are read as the text they are written with (``Y`` stays ``Y``, ``1`` stays ``1``), and cells are
matched as text too, so a coded column is never read as numbers first. A value the map does not list is
left as it was, for validation to judge. :func:`ketamine_ptsd.data.columns.suggest` writes a starting mapping
for a file.

Examples
--------
>>> m = parse_mapping('columns:\\n  record_id: patient_id\\nvalues:\\n  gender: {"1": woman}\\n', "map.yml")
>>> m.columns, m.values
({'record_id': 'patient_id'}, {'gender': {'1': 'woman'}})
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .contract import (
    BOOLEAN_SPELLINGS,
    GENDER_SPELLINGS,
    MISSING_MARKERS,
    known_column,
)
from .problems import Problem, Refused, ValidationFailed
from .reading import Table, clean_name

__all__ = ["ColumnMapping", "parse_mapping", "read_mapping", "apply_mapping", "apply_format"]

#: At most this many distinct values of a column are listed in a suggested mapping.
MAX_VALUES = 30

#: Values a coded column may keep as the file writes them: the contract's own spellings, by kind of column.
ACCEPTED = {
    "boolean": set(BOOLEAN_SPELLINGS),
    "category": set(GENDER_SPELLINGS),
    "assessment": {"pre", "interim", "post", "followup"},
}


@dataclass(frozen=True)
class ColumnMapping:
    """A parsed mapping file.

    Attributes
    ----------
    path : str
        The mapping file, as messages name it.
    columns : dict
        Name in the data file -> contract name.
    values : dict
        Contract column -> {spelling in the file: contract value}, all text.
    lines : dict
        Line in the mapping file of each entry: ``("columns", name)`` or ``("values", column)``.
    format : dict
        How the file is written (:data:`FORMAT_KEYS`): ``date`` (a strftime pattern), ``delimiter``,
        ``decimal``, ``header_row`` (1 = the first line).
    """

    path: str
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    format: dict = field(default_factory=dict)


#: The ``format:`` keys of a mapping: what each may be, in words.
FORMAT_KEYS = {
    "date": 'a strftime pattern of every date column, e.g. "%m/%d/%Y"',
    "delimiter": 'one character between the fields of a CSV line, e.g. ";"',
    "decimal": 'the decimal mark of numbers: "." or ","',
    "header_row": "the line holding the column names, 1 = the first",
}


def _add_format(mapping, key, value, line, problems) -> None:
    path = mapping.path
    text = value.value if isinstance(value, yaml.ScalarNode) else None
    ok = {
        "date": lambda t: "%" in t,
        "delimiter": lambda t: len(t) == 1 or t == "\\t",
        "decimal": lambda t: t in (".", ","),
        "header_row": lambda t: t.isdigit() and int(t) >= 1,
    }
    if key not in FORMAT_KEYS:
        problems.append(
            Problem(path, None, None, f"line {line}: unknown format key {key!r}; use {', '.join(FORMAT_KEYS)}")
        )
    elif text is None or not ok[key](text):
        problems.append(Problem(path, None, None, f"line {line}: format {key} must be {FORMAT_KEYS[key]}"))
    else:
        mapping.format[key] = int(text) if key == "header_row" else ("\t" if text == "\\t" else text)
        mapping.lines[("format", key)] = line


def normal_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.strip().lower())


def _scalar_pairs(node, path: str, what: str, problems: list[Problem]):
    """(key text, value node, line) of a YAML mapping node, or a problem when it is not a mapping."""
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(path, None, None, f"line {node.start_mark.line + 1}: {what} must be a mapping"))
        return []
    pairs = []
    for key, value in node.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            problems.append(Problem(path, None, None, f"line {line}: {what}: a key must be a single name or value"))
            continue
        pairs.append((key.value, value, line))
    return pairs


def parse_mapping(text: str, path: str) -> ColumnMapping:
    """Parse a mapping file's text; :class:`ValidationFailed` with every problem, each naming its line.

    Contract names are checked here (a name the contract does not know, two file columns mapped to one
    contract column, an empty value); that the file has the named columns is checked by
    :func:`apply_mapping`.
    """
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationFailed([Problem(path, None, None, f"{where}not valid YAML ({why})")]) from None
    if root is None:
        raise ValidationFailed([Problem(path, None, None, "empty mapping file; expected columns: and values:")])
    mapping = ColumnMapping(path)
    targets: dict[str, int] = {}
    for section, node, line in _scalar_pairs(root, path, "the mapping file", problems):
        if section not in ("columns", "values", "format"):
            problems.append(
                Problem(
                    path, None, None, f"line {line}: unknown section {section!r}; use columns:, values: and format:"
                )
            )
            continue
        for key, value, at in _scalar_pairs(node, path, section, problems):
            if section == "columns":
                _add_column(mapping, key, value, at, targets, problems)
            elif section == "values":
                _add_values(mapping, key, value, at, problems)
            else:
                _add_format(mapping, key, value, at, problems)
    if problems:
        raise ValidationFailed(problems)
    return mapping


def _add_column(mapping, key, value, line, targets, problems):
    path = mapping.path
    if (("columns", key)) in mapping.lines:
        problems.append(Problem(path, None, None, f"line {line}: column {key} is mapped twice"))
        return
    target = value.value.strip().lower() if isinstance(value, yaml.ScalarNode) else ""
    if not target:
        problems.append(
            Problem(path, None, None, f"line {line}: column {key} is mapped to nothing; name a contract column")
        )
        return
    if known_column(target) is None:
        problems.append(
            Problem(
                path, None, None, f"line {line}: column {key} is mapped to {target}, a name the contract does not know"
            )
        )
        return
    if target in targets:
        problems.append(
            Problem(
                path,
                None,
                None,
                f"line {line}: column {key} is mapped to {target}, as line {targets[target]} already is",
            )
        )
        return
    targets[target] = line
    mapping.columns[key] = target
    mapping.lines[("columns", key)] = line


def _add_values(mapping, column, node, line, problems):
    path = mapping.path
    name = column.strip().lower()
    if known_column(name) is None:
        problems.append(
            Problem(path, None, None, f"line {line}: values for {column}, a name the contract does not know")
        )
        return
    codes: dict[str, str] = {}
    for code, value, at in _scalar_pairs(node, path, f"values of {column}", problems):
        if not isinstance(value, yaml.ScalarNode) or not value.value.strip():
            problems.append(Problem(path, None, None, f"line {at}: {column} value {code!r} is mapped to nothing"))
            continue
        codes[code.strip()] = value.value.strip()
        mapping.lines[("code", name, code.strip())] = at
    mapping.values[name] = codes
    mapping.lines[("values", name)] = line


def read_mapping(path) -> ColumnMapping:
    """Read and parse a mapping file (see :func:`parse_mapping`)."""
    label = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([Problem(label, None, None, f"cannot read the mapping file ({exc})")]) from None
    return parse_mapping(text, label)


def _whole(texts: pd.Series) -> pd.Series:
    """``1.0`` as ``1``: how a numeric export writes a code in a column with gaps."""
    return texts.str.replace(r"^([+-]?[0-9]+)\.0*$", r"\1", regex=True)


def apply_mapping(mapping: ColumnMapping, table: Table, file: str) -> Table:
    """``table`` with the mapping's names and values; ``Refused`` when the mapping names a column the file
    does not have (after renaming, for a value map)."""
    names = [clean_name(h).lower() for h in table.headers]
    headers, renamed, problems = list(table.headers), {}, []
    for source, target in mapping.columns.items():
        wanted = clean_name(source).lower()
        if wanted not in names:
            line = mapping.lines[("columns", source)]
            problems.append(Problem(mapping.path, None, None, f"line {line}: column {source} is not in {file}"))
            continue
        i = names.index(wanted)
        renamed[target] = clean_name(table.headers[i])
        headers[i] = target
    new_names = [clean_name(h).lower() for h in headers]
    cells = table.cells.copy()
    for column, codes in mapping.values.items():
        if column not in new_names:
            line = mapping.lines[("values", column)]
            problems.append(
                Problem(mapping.path, None, None, f"line {line}: values for {column}, a column {file} does not have")
            )
            continue
        i = new_names.index(column)
        text = cells[cells.columns[i]].str.strip()
        key = text.where(text.isin(codes), _whole(text))
        # A code that matches no value of the file, while the file has values neither mapped nor accepted as
        # they are, is a mistake in the mapping (a typo, another letter case): said once, at its line, rather
        # than as every row it failed to recode. A code for a value this file happens not to have is fine.
        seen = set(text) | set(_whole(text))
        values = ", ".join(sorted(v for v in set(text) if v)[:MAX_VALUES])
        kind = "assessment" if column == "assessment" else known_column(column).kind
        stray = [
            v
            for v in seen - set(codes)
            if v and v.lower() not in MISSING_MARKERS and v.lower() not in ACCEPTED.get(kind, {v.lower()})
        ]
        for code in (c for c in codes if c not in seen and stray):
            line = mapping.lines[("code", column, code)]
            problems.append(
                Problem(
                    mapping.path,
                    None,
                    None,
                    f"line {line}: {column} value {code!r} matches no value of {table.headers[i]!r} in {file} "
                    f"(its values: {values})",
                )
            )
        cells[cells.columns[i]] = key.map(codes).fillna(cells[cells.columns[i]])
    if problems:
        raise Refused(problems)
    return Table(headers, cells, table.rows, table.errors, table.warnings, table.unreadable, renamed)


#: Contract columns that hold dates, which the mapping's ``format: date`` describes.
DATE_COLUMNS = ("date", "date_pre", "date_post")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def apply_format(mapping: ColumnMapping, table: Table) -> Table:
    """``table`` (already renamed to the contract's names) as the contract writes values: numbers with a
    decimal point and dates in ISO, from the mapping's ``format: decimal`` and ``format: date``. A cell that
    does not fit the stated form is left as it was, for validation to report at its row."""
    from datetime import datetime

    fmt = mapping.format
    cells = table.cells.copy()
    if fmt.get("decimal") == ",":
        for c in cells.columns:
            text = cells[c].str.strip()
            comma = text.str.fullmatch(DECIMAL_COMMA.pattern).fillna(False)
            cells[c] = cells[c].where(~comma, text.str.replace(",", ".", regex=False))
    if "date" in fmt:

        def iso(value: str) -> str:
            try:
                return datetime.strptime(value.strip(), fmt["date"]).date().isoformat()
            except ValueError:
                return value

        for i, name in enumerate(table.headers):
            if name in DATE_COLUMNS:
                cells[cells.columns[i]] = cells[cells.columns[i]].map(iso, na_action="ignore")
    return Table(table.headers, cells, table.rows, table.errors, table.warnings, table.unreadable, table.renamed)
