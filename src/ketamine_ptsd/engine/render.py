"""Rendering the executed notebooks with Jupyter Book's Sphinx in a warm worker
(:mod:`ketamine_ptsd.engine.render_worker`), reading and writing only the pages that changed."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ketamine_ptsd.engine.output import HTML_DIRNAME, sha256_file
from ketamine_ptsd.engine.plan import BuildFailed, Project, State, Toc, sha_text

if TYPE_CHECKING:
    from ketamine_ptsd.engine.warm import Warm

REDIRECT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Redirecting to the book</title>
<link rel="icon" href="_static/favicon.svg"><meta http-equiv="Refresh" content="0; url={target}"></head>
<body><a href="{target}">Open the book</a></body></html>
"""

#: The parts of MathJax's es5 build the book loads: the combined TeX component, its fonts and lazy extensions.
MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml", "input", "a11y", "ui", "adaptors")


def _copy_mathjax(target: Path) -> None:
    from importlib.resources import files

    es5 = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


#: How every Sphinx run of the book goes, the HTML's and the PDF's alike: a warning fails it, every one reported.
STRICT = ("--warningiserror", "--nitpick", "--keep-going", "--quiet")

#: Sources Sphinx reads as pages, when it builds (not while it sets up).
PAGES = (".md", ".ipynb")

#: An image of the book as a page refers to it.
IMAGE = re.compile(r"""_images/([^"'?#\s)]+)""")


def _update(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` unless it holds the same bytes already; True if it copied.

    A copied file gets a new modification time, which is how Sphinx tells a changed document; an
    unchanged one keeps its own, so Sphinx does not read it again.
    """
    if (
        target.exists()
        and target.stat().st_size == source.stat().st_size
        and target.read_bytes() == source.read_bytes()
    ):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def _stamp(path: Path) -> list[int]:
    """What changes whenever a file's bytes do, as git's index tells a changed file: inode, size, modification
    time, and the change time, which no program can set back (a write, a link or an unlink moves it on)."""
    stat = path.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


class Renderer:
    """Jupyter Book over the executed notebooks, warnings as errors, in a process started before they are.

    The process (:mod:`ketamine_ptsd.engine.render_worker`) sets Sphinx up at low priority while the
    notebooks execute; :meth:`start` copies the executed notebooks in and lets it build, and
    :meth:`wait` waits for the HTML.

    The render folder is kept from one successful build to the next, so Sphinx reads and writes only the
    pages whose sources changed (and, by :mod:`ketamine_ptsd.engine.sphinx_ext`, the pages that glue values
    from them). It is started afresh whenever the rendering code or the lock changed (``base``, a key of
    them) or the last render did not end in a published book: a page that failed, or was being written
    when a build stopped, is then read again.
    """

    def __init__(self, project: Project, toc: Toc, state: State, base: str, warm: Warm | None = None):
        self.src = self.source(state)
        self.work = self.src.parent
        # Where Sphinx writes the book, and where the build publishes it.
        self.html = self.work / "_build" / "html"
        self.published_html = state.dir.parent / HTML_DIRNAME
        self.toc = toc
        self.state, self.base = state, base
        self.sources = {self.src / path.relative_to(project.root): path for path in project.book_files()}

        def setup_key() -> str | None:
            """The render folder as a process setting Sphinx up finds it: published by a build with this
            ``base``, with these sources other than pages (Sphinx reads those only once told to build)."""
            if state.read(self.BASE) != base:
                return None
            setup = sorted((str(t), sha256_file(p)) for t, p in self.sources.items() if p.suffix not in PAGES)
            return sha_text(json.dumps([base, setup]))

        kept = setup_key() if warm is not None else None
        # Cleared now and written back only once the book is published: a render that fails or is
        # interrupted leaves the next one to start afresh.
        if state.read(self.BASE) != base:
            shutil.rmtree(self.work, ignore_errors=True)
        state.remove(self.BASE)
        for target, path in self.sources.items():
            _update(path, target)
        if not (self.src / "_mathjax").exists():
            _copy_mathjax(self.src / "_mathjax" / "mathjax")
        launch = functools.partial(self._launch, self.src, self.work)
        self.process = launch() if warm is None else warm.render_process(kept, setup_key, launch)

    @staticmethod
    def _launch(src: Path, work: Path, spare: bool = False) -> subprocess.Popen:
        """The render process; ``spare``: one set up between builds, for the next (:mod:`ketamine_ptsd.engine.warm`)."""
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ketamine_ptsd.engine.render_worker",
                str(src),
                "--path-output",
                str(work),
                *STRICT,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Its imports should use only what the notebooks' kernels leave idle. A spare sets up while no build
        # runs, and then renders at the priority it has: lowered, it would wait for any other busy process.
        if not spare:
            os.setpriority(os.PRIO_PROCESS, process.pid, 10)
        return process

    #: State file holding the ``base`` key of the render folder's last successful render.
    BASE = "render.base"

    @staticmethod
    def source(state: State) -> Path:
        """The book's sources with its executed notebooks, as Jupyter Book renders them."""
        return state.dir / "render" / "src"

    def start(self, root: Path, notebooks: Path) -> None:
        """Copy the executed ``notebooks`` in, each where its source is under ``root``, and let the process build.

        Files of an earlier render that are no longer sources (a chapter taken out) are deleted, so Sphinx
        drops their pages.
        """
        current = set(self.sources)
        for name, source in self.toc.notebooks.items():
            target = (self.src / source.relative_to(root)).with_suffix(".ipynb")
            _update(notebooks / f"{name}.ipynb", target)
            current.add(target)
        for path in self.src.rglob("*"):
            if path.is_file() and path not in current and self.src / "_mathjax" not in path.parents:
                path.unlink()
        self.started = time.perf_counter()
        try:
            self.process.stdin.write("go\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it failed while setting Sphinx up: :meth:`wait` reports why

    def wait(self, echo) -> Path:
        """Wait for the book; returns the new HTML folder."""
        stdout, stderr = self.process.communicate()
        if self.process.returncode:
            shutil.rmtree(self.work, ignore_errors=True)
            lines = [
                ln
                for ln in (stdout + stderr).splitlines()
                if re.search(r"WARNING|ERROR|[Ee]rror:", ln) and not ln.startswith(("Traceback", "  "))
            ]
            detail = "\n".join(lines[-20:]) or (stdout + stderr)[-3000:]
            raise BuildFailed(f"rendering the book failed (warnings are errors):\n{detail}")
        echo(f"render: {time.perf_counter() - self.started:.1f} s")
        # Jupyter Book's landing redirect has no icon link, so browsers ask for a /favicon.ico that is not there.
        (self.html / "index.html").write_text(REDIRECT.format(target=f"{self.toc.root}.html"), encoding="utf-8")
        # Sphinx never deletes an image: the figures a page showed before it changed would stay (and be
        # published) beside the new ones. Only those a page shows are kept.
        shown = {unquote(name) for page in self.html.rglob("*.html") for name in IMAGE.findall(page.read_text("utf-8"))}
        for image in (self.html / "_images").glob("*"):
            if image.name not in shown:
                image.unlink()
        # A copy is published: the render folder keeps its own for the next build to update.
        staged = self.state.dir / "html.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(self.html, staged, copy_function=self._copier())
        return staged

    #: State file: for each file of the published book, its render file's and its own :func:`_stamp` when
    #: they last held the same bytes (written once the book is out).
    MANIFEST = "html.manifest.json"

    def _copier(self):
        """``copytree``'s copy: a file that neither the render nor anything else changed since the book was
        published is hard-linked to the published one (no byte of a published file is ever written again: a
        build replaces the folder whole), any other file copied."""
        try:
            manifest = json.loads(self.state.read(self.MANIFEST) or "{}")
        except ValueError:
            manifest = {}

        def copy(source: str, target: str) -> str:
            name = os.path.relpath(source, self.html)
            old = self.published_html / name
            try:
                if manifest.get(name) == [_stamp(Path(source)), _stamp(old)]:
                    os.link(old, target)
                    return target
            except OSError:
                pass  # gone, or a file system without hard links: copied
            return shutil.copy2(source, target)

        return copy

    def published(self) -> None:
        """The book is out: the next build may update this render, and link to the files it did not change."""
        manifest = {}
        for path in self.html.rglob("*"):
            name = str(path.relative_to(self.html))
            if path.is_file() and (self.published_html / name).is_file():
                manifest[name] = [_stamp(path), _stamp(self.published_html / name)]
        self.state.write(self.MANIFEST, json.dumps(manifest))
        self.state.write(self.BASE, self.base)

    def close(self) -> None:
        """Stop the process if the build ended without (or while) rendering."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
