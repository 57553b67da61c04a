"""From a project's input to the published book: check OUT -> plan -> execute notebooks -> render -> publish.

Papermill executes, Jupyter Book only renders (its own execution and cache stay off: its cache key ignores
data files and injected parameters). The engine knows nothing about the book it builds: what the notebooks
are offered, how the input is checked and what is published come from a :class:`Project`
(:mod:`ketamine_ptsd.project` is this repository's).

Each notebook's execution is keyed on everything that can change its output: its source, the library
modules it imports (found with ``importlib``, transitively), the input's digest, the values of the
parameters it declares, the lock file, and every file under the project's folder it read when it last ran
(recorded by an audit hook in its kernel, :mod:`ketamine_ptsd.engine.kernel_state`, and kept with its key).
A notebook whose key is unchanged is not executed again; a book whose notebooks and sources are unchanged
is not rendered again, and a render reads and writes only the pages that changed (:class:`Renderer`). All build state lives in ``OUT/.state``, so deleting the output folder gives a
clean build.

One build at a time holds ``OUT`` (:mod:`ketamine_ptsd.engine.output`), and it replaces only what it made.
Nothing is published until everything has succeeded: the new HTML and results replace the old ones only at
the end, so a failed or interrupted build leaves the last good book as it was.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from ketamine_ptsd import paths
from ketamine_ptsd.engine.kernel_state import file_digest
from ketamine_ptsd.engine.output import OutputFolder, sha256_file

if TYPE_CHECKING:
    from ketamine_ptsd.engine.kernels import WarmKernel, Zygote
    from ketamine_ptsd.engine.warm import Warm

#: The file that lists the book's chapters, in the project's folder.
TOC_FILE = "_toc.yml"
#: Jupyter Book's configuration, in the project's folder.
CONFIG_FILE = "_config.yml"
KERNEL_STATE = Path(__file__).with_name("kernel_state.py")


class Project(Protocol):
    """What the engine asks of the book it builds."""

    #: The tool's name, for messages and the mark on what it publishes.
    name: str
    #: The project's folder: ``_toc.yml`` and the notebooks' sources are there, and any file under it a
    #: notebook reads is an input of that notebook.
    root: Path
    #: Import name of the library the notebooks call; its modules they import are their inputs.
    package: str
    #: The pinned environment: an input of every notebook and of the rendering.
    lock_file: Path
    #: Modules every kernel imports before its first notebook (from the zygote, so they are imported once):
    #: the libraries the package's modules import, at their top or inside functions.
    libraries: tuple[str, ...]

    def book_files(self) -> list[Path]:
        """Files under ``root`` the rendering reads besides the executed notebooks (``_config.yml``, ...)."""

    def inputs(self) -> tuple[dict[str, Any], str]:
        """The values offered to the notebooks' parameters cells (by name; each notebook gets those it
        declares), and a digest of the input data. Quick: it runs before anything else."""

    def prepare(self, state: Path, echo: Callable[[str], None]) -> list[str]:
        """Check the input and write what the notebooks read into ``state`` (their working folder); returns
        warnings. Raises with every problem before writing anything. Runs while the kernels start."""

    def results(self, notebooks: dict[str, Path]) -> dict[str, Any]:
        """The results of the executed ``notebooks`` (name: path), checked: raises :class:`BuildFailed` with
        every problem, and nothing is published."""

    def published_files(self) -> dict[str, Path]:
        """Files published beside ``results.json`` (name in OUT: source)."""


class BuildFailed(RuntimeError):
    """A notebook or the rendering failed; the message says which and where."""


@dataclass
class BuildReport:
    out: Path
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    rendered: bool = False
    warnings: list[str] = field(default_factory=list)


def sha_text(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class Parsed:
    """What the engine needs from a MyST Markdown file, read by jupytext."""

    #: Whether it is a notebook: its front matter names a kernel (as myst-nb decides).
    notebook: bool
    #: Names assigned in the cell tagged ``parameters`` (however the tag is written); None without one.
    parameters: list[str] | None
    #: The Python of its code cells, IPython magics turned into the calls they stand for.
    code: str


def parse(source: str, cache: dict[str, dict] | None = None) -> Parsed:
    """Read MyST Markdown ``source``; ``cache`` (by the source's SHA-256) spares a rebuild importing jupytext."""
    digest = sha_text(source)
    if cache is not None and digest in cache:
        return Parsed(**cache[digest])
    import jupytext
    from IPython.core.inputtransformer2 import TransformerManager

    notebook = jupytext.reads(source, fmt="md:myst")
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    parameters = None
    for cell in cells:
        if "parameters" in cell.metadata.get("tags", []):
            parameters = []
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                for target in filter(None, targets):
                    parameters += [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and n.id not in parameters]
            break
    transform = TransformerManager().transform_cell
    parsed = Parsed("kernelspec" in notebook.metadata, parameters, "\n".join(transform(c.source) for c in cells))
    if cache is not None:
        cache[digest] = parsed.__dict__
    return parsed


@dataclass
class Toc:
    #: The landing page's document name (``notebooks/introduction``).
    root: str
    #: The notebooks among the chapters, in the book's order: name (the file's stem) -> source file.
    notebooks: dict[str, Path]


def read_toc(root: Path, cache: dict[str, dict] | None = None) -> Toc:
    """The book's table of contents, read by the parser Jupyter Book itself uses (sphinx-external-toc).

    A chapter is executed when it is a notebook (:attr:`Parsed.notebook`). An entry that is commented out
    is no chapter.
    """
    from sphinx_external_toc.parsing import parse_toc_yaml

    try:
        site = parse_toc_yaml(root / TOC_FILE)
    except Exception as exc:  # noqa: BLE001 - the parser raises several kinds, all meaning a broken file
        raise BuildFailed(f"{root / TOC_FILE}: {exc}") from None
    notebooks: dict[str, Path] = {}
    for docname in site:  # in the book's order: root, then each subtree's entries, depth first
        source = root / (docname if Path(docname).suffix else f"{docname}.md")
        if source.suffix != ".md" or not source.is_file() or not parse(source.read_text("utf-8"), cache).notebook:
            continue
        if source.stem in notebooks:
            raise BuildFailed(f"{root / TOC_FILE}: two notebooks named {source.stem}")
        notebooks[source.stem] = source
    return Toc(site.root.docname, notebooks)


def declared_parameters(source: str, cache: dict[str, dict] | None = None) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` of a MyST notebook."""
    parameters = parse(source, cache).parameters
    if parameters is None:
        raise BuildFailed("notebook has no cell tagged 'parameters'")
    return parameters


class UnresolvedImport(BuildFailed):
    """A module of the project's package that a notebook or a module imports cannot be found."""


@functools.lru_cache(maxsize=512)
def _imports(text: str, current: str) -> tuple[tuple[str, ast.stmt, bool], ...]:
    """(module, statement, required) for every import in Python ``text`` (cached on the text itself).

    ``current`` is the package the text belongs to, for relative imports. ``from a import b`` gives ``a``
    (required) and ``a.b`` (a submodule, or only a name in ``a``).
    """
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            try:
                module = importlib.util.resolve_name("." * node.level + (node.module or ""), current)
            except ImportError:
                raise UnresolvedImport(f"`{ast.unparse(node)}`: a relative import outside a package") from None
            found.append((module, node, True))
            found += [(f"{module}.{alias.name}", node, False) for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node, True) for alias in node.names]
    return tuple(found)


def _find(module: str) -> Path | None:
    """The file of ``module``, found as ``import`` would find it but without importing anything: the top-level
    package by ``find_spec``, each submodule in its parent package's folders."""
    parent, _, child = module.rpartition(".")
    if not parent:
        spec = importlib.util.find_spec(module)
    else:
        parent_spec = _spec(parent)
        if parent_spec is None or parent_spec.submodule_search_locations is None:
            return None  # no such package, or a module: ``child`` is a name inside it
        spec = importlib.machinery.PathFinder.find_spec(module, parent_spec.submodule_search_locations)
    return Path(spec.origin) if spec is not None and spec.has_location else None


@functools.lru_cache(maxsize=512)
def _spec(module: str):
    path = _find(module)
    if path is None:
        return None
    return importlib.util.spec_from_file_location(
        module, path, submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None
    )


def module_closure(source: str, package: str, cache: dict[str, dict] | None = None) -> dict[str, Path]:
    """Every module of ``package`` a MyST notebook can run: see :func:`import_closure`."""
    return import_closure(parse(source, cache).code, package)


def import_closure(code: str, package: str) -> dict[str, Path]:
    """Every module of ``package`` that Python ``code`` can run, by dotted name: its imports and theirs,
    transitively, with the packages above them. Raises :class:`UnresolvedImport` for an import of
    ``package`` that cannot be found, naming it."""
    seen: dict[str, Path] = {}
    todo = [(module, statement, required, "") for module, statement, required in _imports(code, "")]
    while todo:
        module, statement, required, where = todo.pop()
        if module.split(".")[0] != package or module in seen:
            continue
        parts = module.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        todo += [(".".join(parts[:i]), statement, True, where) for i in range(1, len(parts))]
        path = _find(module)
        if path is None:
            if required:
                where += ": " if where else ""
                raise UnresolvedImport(f"{where}`{ast.unparse(statement)}`: no module named {module}")
            continue
        seen[module] = path
        current = module if path.name == "__init__.py" else module.rpartition(".")[0]
        todo += [(m, s, r, module) for m, s, r in _imports(path.read_text(encoding="utf-8"), current)]
    return dict(sorted(seen.items()))


def notebook_key(source: str, params: dict[str, Any], input_digest: str, modules: dict[str, Path], lock: str) -> str:
    """The key of a notebook's execution, before the files it reads (:class:`_Record`) are added."""
    # kernel_state runs before every notebook, in the kernel, so it belongs to every notebook's code.
    hashes = {name: sha256_file(path) for name, path in modules.items()} | {"(kernel state)": sha256_file(KERNEL_STATE)}
    payload = {"source": sha_text(source), "modules": hashes, "input": input_digest, "params": params, "lock": lock}
    return sha_text(json.dumps(payload, sort_keys=True, default=str))


class _State:
    """The build's memory inside ``OUT/.state``."""

    def __init__(self, out: Path):
        self.dir = out / paths.STATE_DIRNAME
        self.notebooks = self.dir / "notebooks"

    def read(self, name: str) -> str | None:
        """The text of a state file; None when it is missing or damaged past reading (then made again)."""
        try:
            return (self.dir / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def write(self, name: str, text: str) -> None:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def remove(self, name: str) -> None:
        (self.dir / name).unlink(missing_ok=True)


@dataclass
class _Record:
    """What a notebook's last execution depended on: its key, and the files it read with their SHA-256; and
    the SHA-256 of the executed notebook it left, so a copy cut short or changed is not trusted."""

    key: str
    reads: dict[str, str]
    output: str

    def full_key(self) -> str:
        return sha_text(json.dumps([self.key, self.reads], sort_keys=True))

    @classmethod
    def load(cls, text: str | None) -> _Record | None:
        try:
            return cls(**json.loads(text)) if text else None
        except (ValueError, TypeError):  # damaged, or written by an older build
            return None

    def intact(self, executed: Path) -> bool:
        """Whether ``executed`` is the notebook this execution left (unreadable or missing: no)."""
        try:
            return sha256_file(executed) == self.output
        except OSError:
            return False

    def unchanged(self, key: str, root: Path) -> bool:
        return key == self.key and all(file_digest(str(root / name)) == digest for name, digest in self.reads.items())


def _failed_cell(path: Path) -> str:
    """ "cell N (first line of its code)" for the cell of an executed notebook that raised."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"cell {index} of {len(nb.cells)} (`{first[:80]}`)"
    return "a cell"


def _execute(name: str, source: str, params: dict, target: Path, kernel: WarmKernel) -> None:
    import jupytext
    import papermill
    from nbclient.exceptions import DeadKernelError

    notebook = jupytext.reads(source, fmt="md:myst")
    try:
        papermill.execute_notebook(
            notebook,
            str(target),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            km=kernel.fresh(reads=_reads_log(target)),
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildFailed(f"notebook {name} failed in {_failed_cell(target)}: {exc.ename}: {exc.evalue}") from None
    except DeadKernelError:
        # The next notebook gets a new kernel (WarmKernel.fresh starts one when this one is gone).
        raise BuildFailed(f"notebook {name}: its kernel died while executing it (out of memory?)") from None
    # Plain JSON: papermill has just written and validated it, and revalidating every figure is slow.
    executed = json.loads(target.read_text(encoding="utf-8"))
    # papermill records where it read and wrote the notebook: absolute paths of the build machine (a user's
    # name, a clinic's folder) that the published notebooks must not carry.
    recorded = executed.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in recorded:
            recorded[key] = f"{name}.ipynb"
    for cell in executed["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        # The parameters actually used are shown, collapsed; the defaults they replaced are not.
        if "injected-parameters" in tags:
            tags.append("hide-cell")
    target.write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _reads_log(target: Path) -> Path:
    return target.with_suffix(".reads")


@dataclass
class _Item:
    name: str
    source: str
    params: dict[str, Any]
    key: str
    modules: dict[str, Path]


@dataclass
class _Plan:
    items: dict[str, _Item]  # every notebook, in the book's order
    keys: dict[str, str]  # every notebook's full key (for those to execute: known once they have run)
    todo: list[_Item]  # those to execute


def plan_notebooks(
    project: Project,
    toc: Toc,
    values: dict[str, Any],
    input_digest: str,
    state: _State,
    echo,
    report: BuildReport,
    cache: dict[str, dict] | None = None,
) -> _Plan:
    """Every notebook's key, and which notebooks must execute because it changed or a file they read did."""
    lock = sha256_file(project.lock_file) if project.lock_file.exists() else ""
    _spec.cache_clear()  # a module may have been added or removed since an earlier build in this process
    plan = _Plan({}, {}, [])
    for name, path in toc.notebooks.items():
        source = path.read_text(encoding="utf-8")
        try:
            params = {p: values[p] for p in declared_parameters(source, cache) if p in values}
            modules = module_closure(source, project.package, cache)
        except (BuildFailed, SyntaxError) as exc:
            raise BuildFailed(f"notebook {name}: {exc}") from None
        item = plan.items[name] = _Item(
            name, source, params, notebook_key(source, params, input_digest, modules, lock), modules
        )
        record = _Record.load(state.read(f"notebooks/{name}.key"))
        if record and record.unchanged(item.key, project.root):
            if record.intact(state.notebooks / f"{name}.ipynb"):
                plan.keys[name] = record.full_key()
                report.cached.append(name)
                echo(f"execute: {name}: unchanged, not executed")
                continue
            echo(f"cache: {name}.ipynb damaged or missing, executing again")
        plan.todo.append(item)
    return plan


def execute_notebooks(
    plan: _Plan,
    zygote: Zygote,
    state: _State,
    jobs: int,
    echo,
    report: BuildReport,
    failed_dir: Callable[[], Path],
    meanwhile: Callable[[], Any],
) -> Any:
    """Execute the planned notebooks, ``jobs`` at a time in kernels forked from ``zygote``, recording each
    one's key and the files it read; returns what ``meanwhile`` returned.

    ``meanwhile`` (checking the input) runs in this thread while the kernels start and import their
    libraries; the notebooks start once it has returned, and none does if it raises.
    """
    if not plan.todo:
        return meanwhile()
    from ketamine_ptsd.engine.kernels import KernelFailed, WarmKernel

    zygote.preload(sorted({module for item in plan.todo for module in item.modules}))
    # Longest first, so no worker is left with a long notebook at the end; source length stands for work.
    queue = deque(sorted(plan.todo, key=lambda item: -len(item.source)))
    go, cancelled = threading.Event(), threading.Event()

    def run(item: _Item, kernel: WarmKernel) -> str:
        target = state.notebooks / f"{item.name}.running.ipynb"
        started = time.perf_counter()
        try:
            _execute(item.name, item.source, item.params, target, kernel)
        except BaseException:
            if target.exists():
                shutil.move(str(target), failed_dir() / f"{item.name}.ipynb")
            raise
        executed = state.notebooks / f"{item.name}.ipynb"
        os.replace(target, executed)
        reads = dict(line.split("\t") for line in _reads_log(target).read_text(encoding="utf-8").splitlines())
        _reads_log(target).unlink()
        record = _Record(item.key, dict(sorted(reads.items())), sha256_file(executed))
        state.write(f"notebooks/{item.name}.key", json.dumps(record.__dict__, indent=1))
        plan.keys[item.name] = record.full_key()
        echo(f"execute: {item.name}: {time.perf_counter() - started:.1f} s")
        return item.name

    def worker(index: int) -> list[str]:
        kernel = WarmKernel(zygote, state.dir, state.dir / f"kernel-{index}.log")
        errors = []
        try:
            kernel.start()
            go.wait()
            while not cancelled.is_set():
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                try:
                    report.executed.append(run(item, kernel))
                except BuildFailed as exc:
                    errors.append(str(exc))
        except KernelFailed as exc:
            errors.append(str(exc))
        finally:
            kernel.shutdown()
        return errors

    workers = min(max(1, jobs), len(plan.todo))
    with ThreadPoolExecutor(max_workers=workers) as executor:
        futures = [executor.submit(worker, i) for i in range(workers)]
        try:
            result = meanwhile()
            state.notebooks.mkdir(parents=True, exist_ok=True)
            go.set()
            errors = [e for future in futures for e in future.result()]
        except BaseException:
            cancelled.set()
            go.set()
            # Interrupted (Ctrl-C, SIGTERM) or the input refused: the kernels go with their zygote (ipykernel
            # watches its parent), so a notebook running now stops within seconds instead of running to its end.
            zygote.close()
            raise
    if errors:
        raise BuildFailed("; ".join(errors) + f"; executed copies kept in {failed_dir()}")
    return result


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

    def __init__(self, project: Project, toc: Toc, state: _State, base: str, warm: Warm | None = None):
        self.src = self.source(state)
        self.work = self.src.parent
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
                "--warningiserror",
                "--nitpick",
                "--keep-going",
                "--quiet",
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
    def source(state: _State) -> Path:
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
        html = self.work / "_build" / "html"
        # Jupyter Book's landing redirect has no icon link, so browsers ask for a /favicon.ico that is not there.
        (html / "index.html").write_text(REDIRECT.format(target=f"{self.toc.root}.html"), encoding="utf-8")
        # Sphinx never deletes an image: the figures a page showed before it changed would stay (and be
        # published) beside the new ones. Only those a page shows are kept.
        shown = {unquote(name) for page in html.rglob("*.html") for name in IMAGE.findall(page.read_text("utf-8"))}
        for image in (html / "_images").glob("*"):
            if image.name not in shown:
                image.unlink()
        # A copy is published: the render folder keeps its own for the next build to update.
        staged = self.state.dir / "html.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(html, staged)
        return staged

    def published(self) -> None:
        """The book is out: the next build may update this render."""
        self.state.write(self.BASE, self.base)

    def close(self) -> None:
        """Stop the process if the build ended without (or while) rendering."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


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
    belongs to the book beside it. A process that builds again and again passes :class:`~ketamine_ptsd.engine.warm.Warm`,
    which has a zygote and a render process started before the build.
    """
    from ketamine_ptsd.engine.kernels import Zygote
    from ketamine_ptsd.engine.pdf import PDF_FILENAME
    from ketamine_ptsd.engine.publish import mark_built

    started = time.time()
    out = Path(out).absolute()
    report = BuildReport(out=out)
    published = {paths.RESULTS_FILENAME: None, **project.published_files()}
    with OutputFolder(out, project.name, [*published, PDF_FILENAME], wait, echo) as folder:
        values, input_digest = project.inputs()
        state = _State(out)
        # Started first: its imports take longer than planning, and overlap it. The environment may live
        # under the project's folder (.venv); the lock file stands for it.
        zygote_args = (list(project.libraries), project.root, [out, Path(sys.prefix), Path(sys.base_prefix)])
        zygote = warm.zygote(*zygote_args) if warm is not None else Zygote(*zygote_args)
        renderer: Renderer | None = None
        try:
            try:
                parsed = json.loads(state.read("parsed.json") or "{}")
            except ValueError:
                parsed = {}
            toc = read_toc(project.root, parsed)
            plan = plan_notebooks(project, toc, values, input_digest, state, echo, report, parsed)
            # What the rendering depends on besides the notebooks: the book's sources, and what a kept render
            # folder was made by: the code that renders (this module, the Sphinx hooks, the lock) and the
            # book's configuration and table of contents (pages taken out of the book are not deleted by Sphinx).
            render_code = [
                Path(__file__),
                Path(__file__).with_name("sphinx_ext.py"),
                Path(__file__).with_name("sphinx_tables.py"),
                Path(__file__).with_name("render_worker.py"),
                *([project.lock_file] if project.lock_file.exists() else []),
                *(p for p in project.book_files() if p.name in (TOC_FILE, CONFIG_FILE)),
            ]
            render_base = sha_text("".join(sha256_file(p) for p in render_code))

            def render_key() -> str:
                sources = "".join(sha256_file(p) for p in project.book_files())
                return sha_text(json.dumps(plan.keys, sort_keys=True) + sources + render_base)

            unchanged = (
                not plan.todo
                and state.read("render.key") == render_key()
                and all((out / name).exists() for name in [paths.HTML_DIRNAME, *published])
            )

            def prepare_then_start_renderer() -> None:
                nonlocal renderer
                report.warnings = project.prepare(state.dir, echo)
                state.write("parsed.json", json.dumps(parsed))  # only now: invalid input leaves nothing behind
                if not unchanged:
                    renderer = Renderer(project, toc, state, render_base, warm)

            execute_notebooks(
                plan,
                zygote,
                state,
                jobs or os.cpu_count() or 1,
                echo,
                report,
                folder.failed_dir,
                meanwhile=prepare_then_start_renderer,
            )
            zygote.close()  # now, not after rendering: its memory and any unfinished imports are of no more use
            if renderer is None:
                echo("render: unchanged, not rendered")
            else:
                renderer.start(project.root, state.notebooks)
                results = project.results({name: state.notebooks / f"{name}.ipynb" for name in toc.notebooks})
                new_html = renderer.wait(echo)
        finally:
            zygote.close()
            if renderer is not None:
                renderer.close()
        if renderer is not None:
            files = {paths.RESULTS_FILENAME: (json.dumps(results, indent=2, allow_nan=False) + "\n").encode()}
            files |= {name: source.read_bytes() for name, source in project.published_files().items()}
            folder.publish(new_html, files)
            renderer.published()
            state.write("render.key", render_key())
            report.rendered = True
            echo(f"published: {folder.html} and {', '.join(str(out / name) for name in files)}")
        mark_built(state.dir, started)
        if pdf and (report.rendered or not folder.owns(PDF_FILENAME)):
            from ketamine_ptsd.engine.pdf import print_build

            # The render folder, kept after every published render, holds exactly this book's sources.
            print_build(Renderer.source(state), out, echo)
            folder.record(PDF_FILENAME)
    return report
