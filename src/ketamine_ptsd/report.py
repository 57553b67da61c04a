"""What notebooks use to publish: glued results, escaped tables, and the reading of glued results back.

Every value a notebook publishes goes through :func:`record`: it is glued under its ``results.json`` name,
so the number in the prose, the cell that made it and the machine-readable result share one name. Keys
ending in ``_display`` are presentation of another key (a p-value as "< .001") and stay out of
``results.json``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

GLUE_MIME = "application/papermill.record/text/plain"
DISPLAY_SUFFIX = "_display"


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


def record(name: str, value: Any) -> None:
    """Glue ``value`` under ``name`` (hidden), for the prose and for ``results.json``."""
    from myst_nb import glue

    glue(name, plain(value), display=False)


def record_all(values: Mapping[str, Any], keys=None) -> None:
    """:func:`record` each of ``keys`` (default: all) of ``values``."""
    for key in keys if keys is not None else values:
        record(key, values[key])


def format_p(p: float | None) -> str:
    """A p-value as a reader expects it: "< .001" below a thousandth, else three decimals."""
    if p is None:
        return "not computed"
    if p < 0.001:
        return "< .001"
    return f"= {p:.3f}".replace("0.", ".", 1)


def format_number(value: float | None, spec: str = ".2f", missing: str = "not computed") -> str:
    """``value`` formatted by ``spec``, or ``missing`` when the data could not give it."""
    return missing if value is None else format(value, spec)


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
    """Every value the executed notebooks glued, by name; a name glued twice with two values is an error."""
    import nbformat

    results: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for label, path in notebooks.items():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                if not name or name.endswith(DISPLAY_SUFFIX) or GLUE_MIME not in output.get("data", {}):
                    continue
                value = ast.literal_eval(output["data"][GLUE_MIME])
                # One name is one thing: two notebooks may publish it only if they agree on its value.
                if name in results and results[name] != value:
                    raise ValueError(f"result {name!r} differs between {origin[name]} and {label}")
                results[name] = value
                origin.setdefault(name, label)
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


def psychotherapy_sentence(contrast: dict, ci_level: float):
    """The psychotherapy result in words, or why it could not be computed."""
    from IPython.display import Markdown

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
