"""Jupyter Book's ``build`` in a process started before the notebooks have finished.

Setting Sphinx up takes seconds: importing it, the theme and the book's extensions, reading the
configuration and the environment pickled by the last render, loading the theme, compiling the code
highlighter's patterns. None of it reads the pages, so the build starts this process early, at low
priority, and Jupyter Book runs ``jupyter-book build ARGS`` up to the moment Sphinx would read the
pages; there it waits. The build copies the executed notebooks in, then writes ``go`` to the process's
standard input, and Sphinx reads and writes the pages exactly as it would have. Anything else on
standard input (or its end) exits without building.

Run as ``python -m ketamine_ptsd.engine.render_worker SOURCE_FOLDER ARGS...``.
"""

from __future__ import annotations

import functools
import os
import sys

#: Languages of the book's code cells and outputs, whose highlighting patterns are compiled while waiting.
LANGUAGES = ("ipython3", "python", "default", "none")


def _wait_for_go(build):
    """``Sphinx.build``, once the standard input says ``go``; before that the highlighter is warmed."""

    @functools.wraps(build)
    def wrapper(app, *args, **kwargs):
        for language in LANGUAGES:
            app.builder.highlighter.highlight_block("x = 1", language)
        if sys.stdin.readline().strip() != "go":
            os._exit(0)  # the build stopped before rendering: nothing was written, nothing to flush
        return build(app, *args, **kwargs)

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


if __name__ == "__main__":
    main(sys.argv[1:])
