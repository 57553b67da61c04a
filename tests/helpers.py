"""Small helpers shared by the tests that build the book."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import yaml

from ketamine_ptsd import paths
from ketamine_ptsd.engine import build

CLI = [sys.executable, "-m", "ketamine_ptsd.cli"]


def plant_cell(monkeypatch, notebook: str, code: str) -> None:
    """Make every build in this test append a code cell running ``code`` to ``notebook`` before executing it."""
    real_execute = build._execute

    def execute(name, source, params, target, kernel):
        if name == notebook:
            source += f"\n```{{code-cell}} ipython3\n{code}\n```\n"
        return real_execute(name, source, params, target, kernel)

    monkeypatch.setattr(build, "_execute", execute)


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
    """Every notebook ``_toc.yml`` lists (root, chapters, sections at any depth), read as YAML the way Jupyter
    Book reads it: a commented-out entry is not a chapter, and a new chapter is checked without anyone listing it."""

    def files(node):
        if isinstance(node, dict):
            yield from (node[key] for key in ("root", "file") if isinstance(node.get(key), str))
            node = list(node.values())
        if isinstance(node, list):
            for child in node:
                yield from files(child)

    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    return [Path(f).stem for f in files(toc) if Path(f).parent == Path(paths.NOTEBOOKS.name)]
