"""Jupyter Book's ``build`` in a process started before the notebooks have finished.

Setting Sphinx up takes seconds: importing it, the theme and the book's extensions, reading the
configuration and the environment pickled by the last render, loading the theme, compiling what writing a
page compiles at first use (:func:`_warm`). None of it reads the pages, so the build starts this process
early, at low priority, and Jupyter Book runs ``jupyter-book build ARGS`` up to the moment Sphinx would read
the pages; there it waits. The build copies the executed notebooks in, then writes ``go`` to the process's
standard input, and Sphinx reads and writes the pages exactly as it would have. Anything else on
standard input (or its end) exits without building. Once the book is written, the process exits at once
(:func:`_leave`).

Run as ``python -m ketamine_ptsd.engine.render_worker SOURCE_FOLDER ARGS...``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

#: Languages of the book's code cells and outputs, whose highlighting patterns are compiled while waiting.
LANGUAGES = ("ipython3", "python", "default", "none")
#: The page templates the last render compiled (in the folder of Sphinx's environment), compiled while waiting.
TEMPLATES = "templates.json"


def _warm(app) -> None:
    """Compile what the first page written would: the highlighter's patterns, the templates the last render
    used, the CSS selectors the theme runs over each page's navigation (soupsieve compiles its own
    patterns at first use), and nbformat's schema validator for the notebooks' format (fastjsonschema
    compiles it at the first notebook read: 0.07 s). A template changed since is compiled again when it is
    used (jinja checks)."""
    import nbformat
    import soupsieve
    from jinja2 import TemplateNotFound

    for language in LANGUAGES:
        app.builder.highlighter.highlight_block("x = 1", language)
    soupsieve.compile("li.toctree-l1 > details")
    # Read as myst-nb reads one (validated on the way), a notebook of the last render has the executed ones' format.
    if (notebook := next(Path(app.srcdir).rglob("*.ipynb"), None)) is not None:
        nbformat.reads(notebook.read_text(encoding="utf-8"), as_version=4)
    try:
        names = json.loads((Path(app.doctreedir) / TEMPLATES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        names = []
    for name in names:
        try:
            app.builder.templates.environment.get_template(name)
        except TemplateNotFound:
            pass


def _wait_for_go(build):
    """``Sphinx.build``, once the standard input says ``go``; before that, :func:`_warm`."""

    @functools.wraps(build)
    def wrapper(app, *args, **kwargs):
        _warm(app)
        if sys.stdin.readline().strip() != "go":
            os._exit(0)  # the build stopped before rendering: nothing was written, nothing to flush
        result = build(app, *args, **kwargs)
        compiled = app.builder.templates.environment.cache or {}
        names = sorted({name for _, name in compiled.keys()})
        (Path(app.doctreedir) / TEMPLATES).write_text(json.dumps(names), encoding="utf-8")
        return result

    return wrapper


def main(argv: list[str]) -> None:
    import pybtex.plugin
    import sphinx.application
    from jupyter_book.cli.main import main as jupyter_book
    from sphinx.util.console import color_terminal, nocolor

    # As sphinx-build does (Jupyter Book does not): no colour codes in what the build quotes when it fails.
    if not color_terminal():
        nocolor()

    # sphinxcontrib-bibtex looks its pybtex plugins up in the installed entry points for every citation;
    # they cannot change during a build, so each lookup is done once.
    pybtex.plugin.entry_points = functools.cache(pybtex.plugin.entry_points)
    sphinx.application.Sphinx.build = _wait_for_go(sphinx.application.Sphinx.build)
    jupyter_book(["build", *argv], prog_name="jupyter-book")


def _leave(code) -> None:
    """Exit with ``SystemExit``'s ``code`` at once: everything is written (Sphinx closes what it writes), and
    tearing the interpreter down, with its Sphinx environment, doctrees and modules, took 0.5 s of CPU, longer
    than rendering a changed page."""
    import logging

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        _leave(exc.code)
