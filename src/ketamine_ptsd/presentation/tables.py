"""Tables as the book shows them: one house style, through great-tables.

Every cell is formatted here, once, for display: numbers rounded to the table's precision, booleans and
statuses as words with a symbol, missing values as a dash, and every text escaped, so text from the data
file is shown, never interpreted. great-tables lays the cells out (column labels, spanners, row groups,
notes) as static HTML; the book's stylesheet (``book/_static/tables.css``) keeps it inside the text column.
The unrounded table stays downloadable as CSV below it, and the caption is numbered by the book's Sphinx
extension (:mod:`ketamine_ptsd.engine.sphinx_tables`), which finds the table by its ``house-table`` class.
"""

from __future__ import annotations

import base64
import re
from html import escape

import numpy as np
import pandas as pd

from ketamine_ptsd.presentation import citations, glossary, prose

#: Words a status column may hold, with the symbol shown before each (a reader scanning a column finds
#: the exceptions by shape; the word keeps it readable in print and by screen readers).
STATUS_SYMBOLS = {
    "matches": "✓",
    "reproduced by construction": "◇",
    "matches only unadjusted": "◐",
    "yes": "✓",
    "differs": "✗",
    "no": "✗",
    "NO": "✗",
    "cannot check": "○",
    "not computable": "○",
    "suppressed": "○",
}
MISSING = "—"
#: Text that is a number with its comparison, sign, unit or range ("< .001", "p = .027", "−0.2 to 1.3", "63%").
NUMBER_TEXT = re.compile(r"(?:p\s*)?[<>≤≥=]?\s*[−–+-]?[\d.,]+%?(?:\s*(?:to|–)\s*[−–+-]?[\d.,]+%?)?")


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value))


def _cell(value, decimals: int | str, status: bool) -> str:
    """One cell as escaped HTML; ``decimals`` is a number of places, a kind in ``prose.DECIMALS``, or "p"."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        value = "yes" if value else "no"
        status = True
    elif isinstance(value, (float, np.floating)):
        if decimals == "p":
            return f'<span class="house-number">{escape(prose.p_value(float(value)))}</span>'
        return prose.number(float(value), decimals)
    elif isinstance(value, (int, np.integer)):
        return str(value)
    typed = prose.typeset(str(value))
    text = reader_html(typed)
    if NUMBER_TEXT.fullmatch(typed):
        # A number written as text (a p value "< .001", a range) is never broken over lines.
        return f'<span class="house-number">{text}</span>'
    symbol = STATUS_SYMBOLS.get(str(value)) if status else None
    if symbol:
        return f'<span class="house-status house-status-{escape(str(value)).replace(" ", "-")}">{symbol} {text}</span>'
    return text


def _typed(text: str) -> str:
    """A cell of names a user types, as code: "pcl5_pre_01 .. pcl5_pre_20" sets each name, not the dots, and
    "ae_<name>" whole."""
    pieces = re.split(r"(\s+|\.\.)", text)
    return "".join(escape(p) if i % 2 or not p else f"<code>{escape(p)}</code>" for i, p in enumerate(pieces))


def reader_html(text: str) -> str:
    """``text`` escaped, with its names as a reader sees them: an outcome or column the glossary names in words
    when it is all of the cell, a statistic as notation, any other name (one a user types) as code."""
    if text in glossary.TERMS:
        return glossary.html(text)
    shown = {"text": escape, "symbol": glossary.html, "code": lambda name: f"<code>{escape(name)}</code>"}
    return "".join(shown[kind](piece) for kind, piece in prose.names(text))


def _numeric(column: pd.Series) -> bool:
    values = [v for v in column if not _is_missing(v) and v != "suppressed"]
    return bool(values) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in values
    )


def _short_source(source: str) -> str:
    """A citation's short form: its first phrase, up to a comma, a full stop (not of "et al.") or a question
    mark ("Feder et al. 2021", "So how special is special K?"), with a comma before the year, as the text cites
    ("Feder et al., 2021"); authors without a year are cited "n.d." ("MacConnel et al., n.d."), as APA does."""
    first = re.split(r",\s|(?<!\bal)\.\s|(?<=\?)\s", source, maxsplit=1)[0].strip()
    if first.endswith(" et al."):
        return f"{first}, n.d."
    return re.sub(r"(\S) (\d{4})$", r"\1, \2", first)


def _citations(source: str) -> list[tuple[str, str | None]]:
    """Each work ``source`` cites (several are separated by semicolons): its citation as the text gives it, with
    the qualifier in the table's source ("(MAPP1)"), and its note (None when the citation says all). A work in
    the book's bibliography is cited and noted as the text and bibliography cite it."""
    cited = []
    for part in (p.strip() for p in source.split(";")):
        key = citations.find(part)
        if key is None:
            short = _short_source(part)
            cited.append((short, None if short == part else part))
            continue
        qualifier = re.search(r" (\([^()]*\))$", part)
        cited.append((citations.short(key) + (qualifier[0] if qualifier else ""), citations.full(key)))
    return cited


def _decimals(float_format: str) -> int:
    match = re.fullmatch(r"\{:,?\.(\d+)[f%]\}", float_format)
    if not match:
        raise ValueError(f"float_format must look like '{{:.2f}}', not {float_format!r}")
    return int(match.group(1))


#: A parameter's value that is one name (``bias_sd: d_av``): what the user types, not the statistic it names.
TYPED_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_[A-Za-z0-9_]*")


def _value_cell(value, decimals, status: bool) -> str:
    """A parameter's value as the user types it: a name as code, a number with its own places (31, 0.82)."""
    if isinstance(value, str) and TYPED_VALUE.fullmatch(value):
        return f"<code>{escape(value)}</code>"
    if isinstance(value, (float, np.floating)) and not _is_missing(value):
        return prose.typeset(f"{value:g}")
    return _cell(value, decimals, status)


def _column_cells(frame, column, decimals, status: bool, details: dict, names, values=()) -> list[str]:
    """A column's cells as HTML: a name as code, a value in the house style, its detail under it."""
    if column in names:
        cells = [MISSING if _is_missing(v) else _typed(str(v)) for v in frame[column]]
    elif column in values:
        cells = [_value_cell(v, decimals, status) for v in frame[column]]
    elif isinstance(decimals, pd.Series):
        cells = [_cell(v, d, status) for v, d in zip(frame[column], decimals.reindex(frame.index), strict=True)]
    else:
        cells = [_cell(v, decimals, status) for v in frame[column]]
    if column in details:
        cells = [
            c
            if _is_missing(d) or d == ""
            else f'{c}<div class="house-detail">{reader_html(prose.typeset(str(d)))}</div>'
            for c, d in zip(cells, frame[details[column]], strict=True)
        ]
    return cells


def _source_cells(values: pd.Series) -> tuple[list[str], list[str]]:
    """Author-year citations with note marks, and the notes: numbered per table in order of first citation, one
    per work, only for works with a note."""
    cells, notes = [], []
    for value in values:
        if _is_missing(value):
            cells.append(MISSING)
            continue
        marked = []
        for short, note in _citations(str(value)):
            if note is not None and note not in notes:
                notes.append(note)
            mark = "" if note is None else f"<sup>{notes.index(note) + 1}</sup>"
            marked.append(f"{escape(short)}{mark}")
        cells.append("; ".join(marked))
    return cells, [f"{k}. {note}" for k, note in enumerate(notes, start=1)]


def _great_table(shown: pd.DataFrame, slug: str, groups, labels: dict, spanners: dict, numeric, notes) -> str:
    """The table's HTML by great-tables, from cells that are HTML already."""
    from great_tables import GT
    from great_tables import html as gt_html

    table = GT(shown.reset_index(drop=True), id=f"gt-{slug}", groupname_col=groups)
    # Cells are escaped HTML already; great-tables would escape them again.
    table = table.fmt(columns=[c for c in shown.columns if c != groups], fns=lambda cell: cell)
    table = table.cols_label(
        **{c: gt_html(reader_html(prose.typeset(labels.get(c, c)))) for c in shown.columns if c != groups}
    )
    for label, columns in spanners.items():
        table = table.tab_spanner(label=gt_html(reader_html(prose.typeset(label))), columns=columns)
    table = table.cols_align("left").cols_align("right", columns=numeric) if numeric else table.cols_align("left")
    for note in notes:
        table = table.tab_source_note(prose.typeset(note))
    return table.as_raw_html(inline_css=False)


def show_table(
    frame: pd.DataFrame,
    float_format: str = "{:.2f}",
    caption: str | None = None,
    name: str | None = None,
    *,
    labels: dict[str, str] | None = None,
    spanners: dict[str, list[str]] | None = None,
    decimals: dict[str, int | str | pd.Series] | None = None,
    status: tuple[str, ...] = (),
    details: dict[str, str] | None = None,
    groups: str | None = None,
    sources: str | None = None,
    notes: tuple[str, ...] = (),
    keys: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
    values: tuple[str, ...] = (),
):
    """A table in the book's house style, followed by a link that downloads ``frame``, unrounded, as CSV.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table at full precision; it is what the CSV download holds.
    float_format : str
        Precision of every float column, as a format such as ``"{:.2f}"``.
    caption : str, optional
        What the table shows, in a sentence; the book numbers it ("Table 3.1").
    name : str, optional
        Label of the table (``{numref}`tbl-NAME``` refers to it) and file name of its CSV; default: from the
        caption.
    labels : dict, optional
        Column name: label in words, with the unit.
    spanners : dict, optional
        Label over a group of columns: those columns (by name in ``frame``).
    decimals : dict, optional
        Column name: decimals, where a column differs from ``float_format``: a number of places, a kind of
        quantity (``"share"``, ``"points"``, ``"d"``: :data:`~ketamine_ptsd.presentation.prose.DECIMALS`), or
        ``"p"`` for p values as APA writes them (".027", "< .001"); or a Series of those by row, where the
        rows of one column hold different quantities.
    status : tuple of str
        Columns of status words (:data:`STATUS_SYMBOLS`), shown with their symbol. Booleans always are.
    details : dict, optional
        Column name: column whose text is shown under it, in smaller type, and not as a column of its own
        (an explanation next to the value it explains).
    groups : str, optional
        Column whose values group the rows, in order of first appearance; shown as group headings.
    sources : str, optional
        Column of references: each cell shows the author-year citation with a note number, and the notes
        under the table give each full reference once, numbered in order of first citation (a work in the
        book's bibliography as the bibliography gives it).
    notes : tuple of str
        Sentences under the table.
    keys : tuple of str
        Columns of ids that only machines read (a key in a data file): in the CSV download, not on the page.
    names : tuple of str
        Columns of names a user types (a column of the data file, a parameter): each cell set as code.
    values : tuple of str
        Columns of parameters' values as typed: a name (``d_av``) as code, a number with its own places (31).
    """
    from IPython.display import HTML

    labels, spanners, decimals, details = labels or {}, spanners or {}, decimals or {}, details or {}
    default = _decimals(float_format)
    slug = name or re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()).strip("-")[:60]
    hidden = set(details.values()) | ({groups} if groups else set()) | set(keys)
    shown = pd.DataFrame(index=frame.index)
    for column in (c for c in frame.columns if c not in hidden):
        shown[column] = _column_cells(
            frame, column, decimals.get(column, default), column in status, details, names, values
        )
    source_notes: list[str] = []
    if sources:
        shown[sources], source_notes = _source_cells(frame[sources])
    if groups:
        shown = _grouped(shown, frame[groups].astype(str), groups)
    numeric = [c for c in shown.columns if c != groups and _numeric(frame[c])]

    body = _great_table(shown, slug, groups, labels, spanners, numeric, [*notes, *source_notes])
    return HTML(_with_caption_and_download(body, frame, slug, caption))


def _grouped(shown: pd.DataFrame, group: pd.Series, column: str) -> pd.DataFrame:
    """``shown`` with the group labels as ``column``, each group's rows together in order of first appearance."""
    order = list(dict.fromkeys(group))
    return shown.assign(**{column: group}).iloc[np.argsort([order.index(g) for g in group], kind="stable")]


def _with_caption_and_download(body: str, frame: pd.DataFrame, slug: str, caption: str | None) -> str:
    """The table in its scrolling box, under its caption, over the link that downloads ``frame`` as CSV."""
    csv = frame.to_csv(index=False).encode("utf-8")
    link = (
        f'<p class="table-download"><a download="{escape(slug)}.csv" '
        f'href="data:text/csv;base64,{base64.b64encode(csv).decode("ascii")}">Download this table as CSV</a></p>'
    )
    caption_html = f'<p class="house-table-caption">{escape(caption)}</p>' if caption else ""
    # A box that may scroll takes the keyboard focus, named by its caption, so it can be scrolled without a mouse
    # (WCAG 2.1.1; axe: scrollable-region-focusable).
    scroll = f'<div class="house-table-scroll" tabindex="0" role="region" aria-label="{escape(caption or slug)}">'
    # The frame carries the phone's cue that the box scrolls on (book/_static/house.js, house.css).
    boxed = f'<div class="house-table-frame">{scroll}{body}</div></div>'
    return f'<div class="house-table" id="tbl-{escape(slug)}">{caption_html}{boxed}{link}</div>'
