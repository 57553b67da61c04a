"""Sphinx hooks for the book: every inline script once.

sphinx-thebe registers its configuration script each time Sphinx reads documents, and Jupyter Book reads
twice, so every page declared ``THEBE_JS_URL`` twice and the browser logged an error on each page.
"""

from __future__ import annotations


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    seen = set()
    unique = []
    for script in context.get("script_files", []):
        # The two copies differ only in an empty filename given as None or as "".
        name = getattr(script, "filename", script) or ""
        key = (str(name), tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
