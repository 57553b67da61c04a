"""Jupyter Book's ``build`` in a process started before the notebooks have finished.

Importing Sphinx, the theme and the book's extensions takes about two seconds. The build starts this
process early, at low priority, so those imports fill the moments when a core is idle; it copies the
executed notebooks in, then writes ``go`` to the process's standard input, and Jupyter Book builds exactly
as ``jupyter-book build ARGS`` would. Anything else on standard input (or its end) exits without building.

Run as ``python -m ketamine_ptsd.engine.render_worker SOURCE_FOLDER ARGS...``.
"""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path


def preload(source: Path) -> None:
    """Import what the Sphinx build of ``source`` loads: Jupyter Book, the HTML builder, every extension."""
    import jupyter_book.cli.main  # noqa: F401
    import jupyter_book.sphinx  # noqa: F401
    import myst_nb.sphinx_ext  # noqa: F401 - myst_nb's setup imports it only when called
    import pybtex.plugin
    import sphinx.builders.html  # noqa: F401
    from jupyter_book.config import get_final_config

    # sphinxcontrib-bibtex looks its pybtex plugins up in the installed entry points for every citation;
    # they cannot change during a build, so each lookup is done once.
    pybtex.plugin.entry_points = functools.cache(pybtex.plugin.entry_points)

    config, _ = get_final_config(
        user_yaml=source / "_config.yml", sourcedir=source, cli_config={"latex_individualpages": False}
    )
    for name in config.get("extensions", []):
        importlib.import_module(name)


def main(argv: list[str]) -> None:
    source, jupyter_book_args = Path(argv[0]), argv[1:]
    preload(source)
    if sys.stdin.readline().strip() != "go":
        return
    from jupyter_book.cli.main import main as jupyter_book

    jupyter_book(["build", str(source), *jupyter_book_args], prog_name="jupyter-book")


if __name__ == "__main__":
    main(sys.argv[1:])
