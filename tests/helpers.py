"""Small helpers shared by the tests that build the book."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from ketamine_ptsd import paths
from ketamine_ptsd.engine import execute as execute_module
from ketamine_ptsd.engine import plan

CLI = [sys.executable, "-m", "ketamine_ptsd.cli"]


def plant_cell(monkeypatch, notebook: str, code: str) -> None:
    """Make every build in this test append a code cell running ``code`` to ``notebook`` before executing it."""
    real_execute = execute_module._execute

    def execute(name, source, params, target, kernel):
        if name == notebook:
            source += f"\n```{{code-cell}} ipython3\n{code}\n```\n"
        return real_execute(name, source, params, target, kernel)

    monkeypatch.setattr(execute_module, "_execute", execute)


def run(*args, **kw) -> subprocess.CompletedProcess:
    """The command-line tool, as a user runs it."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, **kw)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its SHA-256: equal digests mean byte-for-byte equal trees."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def html_text(path: Path) -> str:
    """The page's visible text, whitespace folded (glued numbers sit in their own elements)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    return re.sub(r"\s+", " ", soup.get_text(""))


def toc_chapters(repo: Path = paths.REPO) -> list[str]:
    """Every notebook ``_toc.yml`` lists, in the book's order, as the engine reads it (:func:`plan.read_toc`: a
    commented-out entry is not a chapter, and a new chapter is checked without anyone listing it)."""
    return list(plan.read_toc(repo).notebooks)


def toc_pages(repo: Path = paths.REPO) -> list[str]:
    """Every page ``_toc.yml`` lists after the landing page (``notebooks/cohort``, ``book/own_data`` ...), by the
    parser the engine and Jupyter Book use."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    site = parse_toc_yaml(repo / plan.TOC_FILE)
    return [docname for docname in site if docname != site.root.docname]
