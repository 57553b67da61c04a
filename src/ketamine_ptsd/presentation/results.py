"""Publishing a notebook's values: glued under their ``results.json`` name, and read back from the executed notebooks.

Every value a notebook publishes goes through :func:`record`: it is glued under its ``results.json`` name,
so the number in the prose, the cell that made it and the machine-readable result share one name. Keys
ending in ``_display`` are presentation of another key (a p-value as "< .001") and stay out of
``results.json``. Values the small-cell rule hid are glued with a marker and listed under ``"suppressed"``.
``results.schema.json`` beside this module describes every key (type, unit, when it may be null);
:func:`check_schema` holds a build's results to it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT
from ketamine_ptsd.analysis.values import plain

GLUE_MIME = "application/papermill.record/text/plain"
DISPLAY_SUFFIX = "_display"
#: Glue names starting with this mark a value as suppressed; :func:`gather` turns them into that list.
SUPPRESSED_PREFIX = "suppressed:"
#: The JSON Schema (draft 2020-12) of ``results.json``, shipped with the package and published beside it.
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


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


def record_display(values: Mapping[str, Any], templates: Mapping[str, Any], missing: str = "not computed") -> dict:
    """Glue ``KEY_display``, the text the prose shows for each ``KEY`` of ``templates``: the value in its
    template (``"{:.1f}%"``, or a function of the value), "suppressed" when the small-cell rule hid it,
    ``missing`` when the data could not give it. Prose cannot format a hidden value, so it shows these.
    Returns the texts by ``KEY``, for sentences built from several of them."""
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    shown = {}
    for key, template in templates.items():
        if key in hidden:
            text = SUPPRESSED_TEXT
        elif values[key] is None:
            text = missing
        else:
            text = template(values[key]) if callable(template) else template.format(values[key])
        record(key + DISPLAY_SUFFIX, text)
        shown[key] = text
    return shown


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


def check_schema(results: Mapping[str, Any]) -> list[str]:
    """Every way ``results`` breaks :data:`SCHEMA_PATH`, one line each naming the value by its path
    (``claims[3].status``, as ``"suppressed"`` names them); an empty list when it conforms.

    >>> problems = check_schema({"n_patients": "117"})
    >>> problems[0], "results.json: 'n_completers' is a required property" in problems
    ("n_patients: '117' is not of type 'integer'", True)
    """
    import json

    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    problems = []
    for error in validator.iter_errors(results):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        problems.append(f"{path.removeprefix('.') or 'results.json'}: {error.message}")
    return sorted(problems)
