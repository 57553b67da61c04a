"""From a project's input to the published book: check OUT -> plan -> execute notebooks -> render -> publish.

Papermill executes, Jupyter Book only renders (its own execution and cache stay off: its cache key ignores
data files and injected parameters). The engine knows nothing about the book it builds: what the notebooks
are offered, how the input is checked and what is published come from a :class:`~ketamine_ptsd.engine.plan.Project`
(:mod:`ketamine_ptsd.project` is this repository's).

Each notebook's execution is keyed on everything that can change its output: what its kernel sees of its
source (its code cells in order, with their tags and metadata, and the notebook's metadata), the library
modules it imports (found with ``importlib``, transitively), the input's digest, the values of the
parameters it declares, the lock file, and every file under the project's folder it read when it last ran
(recorded by an audit hook in its kernel, :mod:`ketamine_ptsd.engine.kernel_state`, and kept with its key).
A notebook whose key is unchanged is not executed again; when only its prose changed, its last execution
takes the Markdown of the source as it is now (:func:`~ketamine_ptsd.engine.plan.with_prose`). A book
whose notebooks and sources are unchanged is not rendered again, and a render reads and writes only the pages
that changed (:class:`~ketamine_ptsd.engine.render.Renderer`). All build state lives in ``OUT/.state``, so
deleting the output folder gives a clean build.

One build at a time holds ``OUT`` (:mod:`ketamine_ptsd.engine.output`), and it replaces only what it made.
Nothing is published until everything has succeeded: the new HTML and results replace the old ones only at
the end, so a failed or interrupted build leaves the last good book as it was.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ketamine_ptsd.engine.execute import execute_notebooks
from ketamine_ptsd.engine.output import HTML_DIRNAME, RESULTS_FILENAME, OutputFolder, sha256_file
from ketamine_ptsd.engine.plan import (
    CONFIG_FILE,
    TOC_FILE,
    BuildReport,
    Plan,
    Project,
    State,
    plan_notebooks,
    read_toc,
    sha_text,
)
from ketamine_ptsd.engine.render import Renderer

if TYPE_CHECKING:
    from ketamine_ptsd.engine.warm import Warm


def build(
    project: Project,
    out: Path | str,
    jobs: int | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    wait: bool = True,
    pdf: bool = False,
    warm: Warm | None = None,
) -> BuildReport:
    """Build ``project``'s book into ``out/html``, ``out/results.json`` and its other published files, and
    with ``pdf`` ``out/book.pdf`` (:mod:`ketamine_ptsd.engine.pdf`) from the same executed notebooks.

    Waits for another build of ``out`` to end (or raises :class:`~ketamine_ptsd.engine.output.OutputBusy`
    when ``wait`` is false), and raises :class:`~ketamine_ptsd.engine.output.NotMadeByBuild` rather than
    replace anything in ``out`` it did not make. The PDF is printed inside the same lock, so it always
    belongs to the book beside it. A process that builds again and again passes
    :class:`~ketamine_ptsd.engine.warm.Warm`, which has a zygote and a render process started before the build.
    """
    from ketamine_ptsd.engine.kernels import Zygote
    from ketamine_ptsd.engine.pdf import PDF_FILENAME
    from ketamine_ptsd.engine.publish import mark_built

    started = time.time()
    out = Path(out).absolute()
    report = BuildReport(out=out)
    published = {RESULTS_FILENAME: None, **project.published_files()}
    with OutputFolder(out, project.name, [*published, PDF_FILENAME], wait, echo) as folder:
        values, input_digest = project.inputs()
        state = State(out)
        # Started first: its imports take longer than planning, and overlap it; a warm one is taken only if a
        # notebook is to run. The environment may live under the project's folder (.venv): the lock stands for it.
        zygote_args = (list(project.libraries), project.root, [out, Path(sys.prefix), Path(sys.base_prefix)])
        zygote = Zygote(*zygote_args) if warm is None else None
        if warm is not None:
            warm.start(*zygote_args)
        renderer: Renderer | None = None
        try:
            parsed = _parsed(state)
            toc = read_toc(project.root, parsed)
            plan = plan_notebooks(project, toc, values, input_digest, state, echo, report, parsed)
            if warm is not None and plan.todo:
                zygote = warm.zygote(*zygote_args)
            render_base = render_code_key(project)
            unchanged = (
                not plan.todo
                and state.read("render.key") == _render_key(project, plan, render_base)
                and all((out / name).exists() for name in [HTML_DIRNAME, *published])
            )

            def prepare_then_start_renderer() -> None:
                nonlocal renderer
                report.warnings = project.prepare(state.dir, echo)
                state.write("parsed.json", json.dumps(parsed))  # only now: invalid input leaves nothing behind
                if not unchanged:
                    renderer = Renderer(project, toc, state, render_base, warm)

            jobs = jobs or os.cpu_count() or 1
            execute_notebooks(plan, zygote, state, jobs, echo, report, folder.failed_dir, prepare_then_start_renderer)
            if zygote is not None:
                zygote.close()  # now, not after rendering: its memory and any unfinished imports are of no more use
            if renderer is None:
                echo("render: unchanged, not rendered")
            else:
                renderer.start(project.root, state.notebooks)
                results = project.results({name: state.notebooks / f"{name}.ipynb" for name in toc.notebooks})
                new_html = renderer.wait(echo)
        finally:
            if zygote is not None:
                zygote.close()
            if renderer is not None:
                renderer.close()
        if renderer is not None:
            _publish(project, folder, new_html, results, echo)
            renderer.published()
            state.write("render.key", _render_key(project, plan, render_base))
            report.rendered = True
        mark_built(state.dir, started)
        if pdf and (report.rendered or not folder.owns(PDF_FILENAME)):
            _print_pdf(state, folder, echo)
    return report


def _print_pdf(state: State, folder: OutputFolder, echo) -> None:
    from ketamine_ptsd.engine.pdf import PDF_FILENAME, print_build

    # The render folder, kept after every published render, holds exactly this book's sources.
    print_build(Renderer.source(state), folder.out, echo)
    folder.record(PDF_FILENAME)


def _parsed(state: State) -> dict:
    """The notebooks as the last build parsed them, by source digest (empty when missing or damaged)."""
    try:
        return json.loads(state.read("parsed.json") or "{}")
    except ValueError:
        return {}


def _render_key(project: Project, plan: Plan, render_base: str) -> str:
    """The rendering's key: every notebook's full key, the book's sources and what renders them."""
    sources = "".join(sha256_file(p) for p in project.book_files())
    return sha_text(json.dumps(plan.keys, sort_keys=True) + sources + render_base)


def _publish(project: Project, folder: OutputFolder, new_html: Path, results: dict, echo) -> None:
    """Put the new book and its results in place of the old, at once."""
    files = {RESULTS_FILENAME: (json.dumps(results, indent=2, allow_nan=False) + "\n").encode()}
    files |= {name: source.read_bytes() for name, source in project.published_files().items()}
    folder.publish(new_html, files)
    echo(f"published: {folder.html} and {', '.join(str(folder.out / name) for name in files)}")


def render_code_key(project: Project) -> str:
    """What the rendering depends on besides the notebooks and the book's sources: what a kept render folder
    was made by, the code that renders (the engine's modules that do, the Sphinx hooks, the lock), and the
    book's configuration and table of contents (pages taken out of the book are not deleted by Sphinx)."""
    code = [
        Path(__file__),
        *(
            Path(__file__).with_name(name)
            for name in ("render.py", "sphinx_ext.py", "sphinx_tables.py", "render_worker.py")
        ),
        *([project.lock_file] if project.lock_file.exists() else []),
        *(p for p in project.book_files() if p.name in (TOC_FILE, CONFIG_FILE)),
    ]
    return sha_text("".join(sha256_file(p) for p in code))
