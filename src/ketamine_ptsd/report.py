"""What notebooks use to publish: glued results, escaped tables, and the reading of glued results back.

Every value a notebook publishes goes through :func:`record`: it is glued under its ``results.json`` name,
so the number in the prose, the cell that made it and the machine-readable result share one name. Keys
ending in ``_display`` are presentation of another key (a p-value as "< .001") and stay out of
``results.json``.

Small cells. A count or statistic that rests on a group of 1 to ``min_cell - 1`` patients is suppressed
(:func:`suppress`): it is published as ``None`` (``null`` in ``results.json``), shown as suppressed in the
book, and its name is listed under ``"suppressed"`` in ``results.json``, so a reader can tell a value hidden
for privacy from one the data could not give. Values inside a list are named by their path, e.g.
``sensitivity[2].n``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

GLUE_MIME = "application/papermill.record/text/plain"
DISPLAY_SUFFIX = "_display"
#: Key of ``results.json`` (and of the dictionaries :func:`suppress` returns) listing the suppressed values.
SUPPRESSED_KEY = "suppressed"
#: Glue names starting with this mark a value as suppressed; :func:`gather` turns them into that list.
SUPPRESSED_PREFIX = "suppressed:"
#: How a suppressed statistic reads in the book.
SUPPRESSED_TEXT = "suppressed"


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    raise TypeError(f"cannot publish a value of type {type(value).__name__}")


def record(name: str, value: Any, suppressed: Sequence[str] = ()) -> None:
    """Glue ``value`` under ``name`` (hidden), for the prose and for ``results.json``.

    ``suppressed`` names the values (``name`` itself, or paths inside it such as ``name[2].n``) that were
    set to ``None`` by the small-cell rule; they are listed under ``"suppressed"`` in ``results.json``.
    """
    from myst_nb import glue

    glue(name, plain(value), display=False)
    for path in suppressed:
        glue(SUPPRESSED_PREFIX + path, True, display=False)


def record_all(values: Mapping[str, Any], keys=None) -> None:
    """:func:`record` each of ``keys`` (default: all but the suppressed list) of ``values``, marking those
    that :func:`suppress` listed as suppressed."""
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    for key in keys if keys is not None else [k for k in values if k != SUPPRESSED_KEY]:
        record(key, values[key], [key] if key in hidden else ())


def too_few(k: int | None, min_cell: int) -> bool:
    """Whether a group of ``k`` patients is too small to publish: 1 to ``min_cell - 1`` (0 is not a person).

    >>> [too_few(k, 5) for k in (0, 1, 4, 5)], too_few(3, 0)
    ([False, True, True, False], False)
    """
    return k is not None and 0 < k < min_cell


def suppress(values: Mapping[str, Any], sizes: Mapping[str, int | Sequence[int | None] | None],
             min_cell: int) -> dict[str, Any]:
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


def count_mark(min_cell: int) -> str:
    """How a suppressed count reads in a table."""
    return f"< {min_cell} ({SUPPRESSED_TEXT})"


def small_rows(frame, count: str, min_cell: int, denominators: Sequence[int] = ()) -> list[bool]:
    """Rows of ``frame`` whose ``count`` column, or any of the ``denominators`` its shares divide by, is a
    group too small to publish (:func:`too_few`)."""
    small_base = any(too_few(d, min_cell) for d in denominators)
    return [small_base or (k is not None and not _isna(k) and too_few(int(k), min_cell)) for k in frame[count]]


def suppress_rows(frame, hidden_rows: Sequence[bool], columns: Sequence[str], min_cell: int, name: str,
                  counts: Sequence[str] = ("n",)):
    """A table with the ``columns`` of the ``hidden_rows`` suppressed.

    Returns ``(shown, records, paths)``: the table for the reader, in which a suppressed count (a column
    of ``counts``) of 1 to ``min_cell - 1`` reads ``< min_cell (suppressed)`` and any other suppressed
    cell "suppressed"; the rows as records for ``results.json``, with those cells ``None``; and the paths
    of those cells (``name[i].column``) for :func:`record`.
    """
    shown = frame.astype(object).copy()
    records = [{k: (None if _isna(v) else v) for k, v in row.items()}
               for row in frame.astype(object).to_dict(orient="records")]
    paths: list[str] = []
    for i, hidden in enumerate(hidden_rows):
        if not hidden:
            continue
        for column in columns:
            value = records[i][column]
            small_count = column in counts and value is not None and too_few(int(value), min_cell)
            shown.iat[i, frame.columns.get_loc(column)] = count_mark(min_cell) if small_count else SUPPRESSED_TEXT
            if value is not None:
                records[i][column] = None
                paths.append(f"{name}[{i}].{column}")
    return shown, records, paths


def _isna(value) -> bool:
    """``pandas.isna`` for one cell (False for a list or other container)."""
    import pandas as pd

    result = pd.isna(value)
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def record_display(values: Mapping[str, Any], templates: Mapping[str, Any], missing: str = "not computed") -> None:
    """Glue ``KEY_display``, the text the prose shows for each ``KEY`` of ``templates``: the value in its
    template (``"{:.1f}%"``, or a function of the value), "suppressed" when the small-cell rule hid it,
    ``missing`` when the data could not give it. Prose cannot format a hidden value, so it shows these."""
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    for key, template in templates.items():
        if key in hidden:
            text = SUPPRESSED_TEXT
        elif values[key] is None:
            text = missing
        else:
            text = template(values[key]) if callable(template) else template.format(values[key])
        record(key + DISPLAY_SUFFIX, text)


def format_p(p: float | None) -> str:
    """A p-value as a reader expects it: "< .001" below a thousandth, else three decimals."""
    if p is None:
        return "not computed"
    if p < 0.001:
        return "< .001"
    return f"= {p:.3f}".replace("0.", ".", 1)


def show_table(frame, float_format: str = "{:.2f}", caption: str | None = None, name: str | None = None):
    """An HTML table with every cell escaped, so text from the data file is shown, never interpreted,
    followed by a link that downloads the same table, unrounded, as CSV (``name``.csv)."""
    import base64
    import re
    from html import escape

    import pandas as pd
    from IPython.display import HTML

    def cell(value):
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return ""
        if isinstance(value, (float, np.floating)):
            return float_format.format(value)
        return value

    shown = frame.astype(object).map(cell)
    html = shown.to_html(index=False, escape=True, border=0, classes="table")
    if caption:
        html = html.replace(">\n  <thead>", f">\n  <caption>{escape(caption)}</caption>\n  <thead>", 1)
    slug = name or re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()).strip("-")[:60]
    csv = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    link = (f'<p class="table-download"><a download="{escape(slug)}.csv" href="data:text/csv;base64,{csv}">'
            f"Download this table as CSV</a></p>")
    return HTML(html + link)


def gather(notebooks: Mapping[str, Path]) -> dict[str, Any]:
    """Every value the executed notebooks glued, by name; a name glued twice with two values is an error.

    The values marked as suppressed are listed, sorted, under :data:`SUPPRESSED_KEY` (always present).
    The notebooks are read as plain JSON: nbformat's validation of every figure costs more than the rest.
    """
    import json

    results: dict[str, Any] = {}
    origin: dict[str, str] = {}
    hidden: set[str] = set()
    for label, path in notebooks.items():
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                if not name or name.endswith(DISPLAY_SUFFIX) or GLUE_MIME not in output.get("data", {}):
                    continue
                if name.startswith(SUPPRESSED_PREFIX):
                    hidden.add(name.removeprefix(SUPPRESSED_PREFIX))
                    continue
                text = output["data"][GLUE_MIME]
                # The .ipynb format may store text as a list of lines.
                value = ast.literal_eval("".join(text) if isinstance(text, list) else text)
                # One name is one thing: two notebooks may publish it only if they agree on its value.
                if name in results and results[name] != value:
                    raise ValueError(f"result {name!r} differs between {origin[name]} and {label}")
                results[name] = value
                origin.setdefault(name, label)
    if SUPPRESSED_KEY in results:
        raise ValueError(f"{SUPPRESSED_KEY!r} is reserved for the list of suppressed values")
    results[SUPPRESSED_KEY] = sorted(hidden)
    return results


ORIGIN_NOTES = {
    "synthetic": (
        "```{admonition} Synthetic data\n:class: warning\n"
        "The numbers on this page come from the **bundled synthetic reconstruction**, not from patient "
        "records: the study's raw data are not public. The reconstruction was generated to reproduce the "
        "published aggregates (means, SDs, percentages), so it can check the paper's arithmetic and show "
        "what the analyses do, but nothing on this page is new evidence about patients.\n```"
    ),
    "user": (
        "```{admonition} Data\n:class: note\n"
        "The numbers on this page come from the cohort file this book was built on; its SHA-256 is given in "
        "the provenance appendix. They are not the published study's data.\n```"
    ),
}


def data_origin_note(data_origin: str):
    """The notice every page with numbers opens with: where its numbers come from."""
    from IPython.display import Markdown

    return Markdown(ORIGIN_NOTES[data_origin])


#: Optional columns and what goes missing from the book without them.
NEEDED_BY = {
    "days_between": "the moderator test of days between assessments",
    "age": "the moderator test of age and the age rows of Table 1",
    "gender": "the moderator test of gender, the share of women and the gender rows of Table 1",
    "race_ethnicity": "the race/ethnicity rows of Table 1 and the unreported share",
    "n_infusions": "the mean number of infusions",
    "n_psych_meds": "the moderator test of psychiatric medications",
    "suicidal_ideation": "the moderator test of suicidal ideation",
    "psychotherapy": "the psychotherapy contrast and its moderator test",
}


def absent_columns_note(cohort):
    """Markdown naming the optional columns the file lacks and the analyses that are therefore off."""
    from IPython.display import Markdown

    absent = [c for c in cohort.attrs.get("absent_columns", []) if c in NEEDED_BY]
    if not absent:
        return Markdown("Every optional column of the data contract is present, so every analysis runs.")
    lines = [f"- `{c}`: turns off {NEEDED_BY[c]}." for c in absent]
    return Markdown("The data file lacks these optional columns, so some analyses do not run:\n\n" + "\n".join(lines))


def suppressed_note(min_cell: int, group: str):
    """The notice a page shows when its statistics are suppressed because ``group`` are too few."""
    from IPython.display import Markdown

    return Markdown(
        f"```{{admonition}} Suppressed\n:class: note\nThe data hold fewer than {min_cell} {group}. Statistics of so "
        "few patients would describe identifiable people, so they are suppressed here and `null` in "
        "`results.json` (the small-cell rule, parameter `min_cell`).\n```"
    )


def psychotherapy_sentence(contrast: dict, ci_level: float, min_cell: int = 0):
    """The psychotherapy result in words, or why it could not be computed or is not shown."""
    from IPython.display import Markdown

    if contrast.get(SUPPRESSED_KEY):
        return Markdown(
            f"Not shown: fewer than {min_cell} completers with, or fewer than {min_cell} without, psychotherapy. "
            "A mean or a contrast of so few patients is suppressed (`min_cell`)."
        )
    if contrast["psychotherapy_d"] is None:
        return Markdown(
            "Not computed: the data need at least two completers with and two without psychotherapy "
            f"(found {contrast['n_psychotherapy']} and {contrast['n_no_psychotherapy']})."
        )
    c = contrast
    return Markdown(
        f"Completers with psychotherapy (n = {c['n_psychotherapy']}) improved by "
        f"{c['mean_change_psychotherapy']:.2f} points on average, those without (n = {c['n_no_psychotherapy']}) "
        f"by {c['mean_change_no_psychotherapy']:.2f}: d = {c['psychotherapy_d']:.2f} "
        f"({ci_level:.0%} CI {c['psychotherapy_d_ci_low']:.2f} to {c['psychotherapy_d_ci_high']:.2f}), "
        f"p {format_p(c['psychotherapy_p'])}."
    )
