"""From a cohort file to the published book: validate -> execute notebooks -> render -> publish.

Papermill executes, Jupyter Book only renders (its own execution and cache stay off: its cache key ignores
data files and injected parameters). Each notebook's execution is keyed on what can change its output:
its source, the library modules it imports (transitively), the data file's hash, the parameters it
declares, and the lock file. A notebook whose key is unchanged is not executed again; a book whose
notebooks and sources are unchanged is not rendered again. All build state lives in ``OUT/.state``, so
deleting the output folder gives a clean build.

Nothing is published until everything has succeeded: the new HTML and ``results.json`` replace the old
ones only at the end, so a failed or interrupted build leaves the last good book as it was.
"""

from __future__ import annotations

import ast
import functools
import hashlib
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
from typing import TYPE_CHECKING, Any

from ketamine_ptsd import paths

if TYPE_CHECKING:
    from ketamine_ptsd.engine.kernels import WarmKernel

#: Book sources copied into every render, besides the executed notebooks (and book/). The example cohort,
#: clinic export and its column mapping are offered for download by the page on running the book on one's
#: own data.
BOOK_FILES = (
    "_config.yml",
    "_toc.yml",
    "data/example_cohort.csv",
    "data/example_clinic_export.csv",
    "data/example_columns.yml",
)
LOCK_FILE = paths.REPO / "requirements.lock"


class BuildFailed(RuntimeError):
    """A notebook or the rendering failed; the message says which and where."""


@dataclass
class BuildReport:
    out: Path
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    rendered: bool = False
    warnings: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def toc_notebooks() -> list[str]:
    """Notebook names in ``_toc.yml`` order: the book's table of contents decides what is executed."""
    text = (paths.REPO / "_toc.yml").read_text(encoding="utf-8")
    return re.findall(r"(?:root|file):\s*notebooks/([\w-]+)", text)


def declared_parameters(source: str) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` of a MyST notebook."""
    match = re.search(r"```\{code-cell\}[^\n]*\n:tags: \[[^\]]*\bparameters\b[^\]]*\]\n(.*?)```", source, re.S)
    if not match:
        raise BuildFailed("notebook has no cell tagged 'parameters'")
    return re.findall(r"^(\w+)\s*=", match.group(1), re.M)


def _module_file(dotted: str, package_dir: Path) -> Path | None:
    """The file of package module ``dotted`` (``ketamine_ptsd.analysis.stats``), or None if it is not one."""
    parts = dotted.split(".")
    if parts[0] != package_dir.name:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=256)
def _package_imports(text: str, package_dir: Path, current: str = "") -> frozenset[Path]:
    """Modules of this package that Python ``text`` imports, directly (cached on the text itself).

    ``current`` is the dotted name of the package the text belongs to, for relative imports.
    """
    found: set[Path] = set()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return frozenset()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = current.split(".")[: len(current.split(".")) - node.level + 1]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            base = _module_file(module, package_dir)
            if base is None:
                continue
            found.add(base)
            for alias in node.names:
                sub = _module_file(f"{module}.{alias.name}", package_dir)
                if sub is not None:
                    found.add(sub)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(2, len(parts) + 1):
                    sub = _module_file(".".join(parts[:i]), package_dir)
                    if sub is not None:
                        found.add(sub)
    return frozenset(found)


def _dotted_package(module: Path, package_dir: Path) -> str:
    """The package a module file belongs to (for ``__init__.py``, the package itself)."""
    return ".".join(module.relative_to(package_dir.parent).with_suffix("").parts[:-1])


def _dotted_name(module: Path) -> str:
    parts = list(module.relative_to(paths.PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_closure(notebook_source: str, package_dir: Path = paths.PACKAGE) -> list[Path]:
    """Every package module a notebook can run: its imports and theirs, transitively, plus ``__init__``."""
    code = "\n".join(
        re.findall(r"```\{code-cell\}[^\n]*\n(?:(?::[^\n]*\n)|(?:---\n.*?---\n))*(.*?)```", notebook_source, re.S)
    )
    return _closure(_package_imports(code, package_dir) | {package_dir / "__init__.py"}, package_dir)


def _closure(start: set[Path] | frozenset[Path], package_dir: Path = paths.PACKAGE) -> list[Path]:
    todo, seen = set(start), set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo |= (
            _package_imports(module.read_text(encoding="utf-8"), package_dir, _dotted_package(module, package_dir))
            - seen
        )
    return sorted(seen)


def notebook_key(source: str, params: dict[str, Any], data_sha256: str) -> str:
    # kernel_state runs before every notebook, in the kernel, so it belongs to every notebook's code.
    files = [*module_closure(source), Path(__file__).with_name("kernel_state.py")]
    # Named from the package down, so a checkout that moves keeps its cache.
    modules = {"/".join(p.parts[p.parts.index(paths.PACKAGE.name) :]): sha256_file(p) for p in files}
    lock = sha256_file(LOCK_FILE) if LOCK_FILE.exists() else ""
    payload = {"source": _sha(source), "modules": modules, "data": data_sha256, "params": params, "lock": lock}
    return _sha(json.dumps(payload, sort_keys=True, default=str))


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True, timeout=10)
        if head.returncode:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


class _State:
    """The build's memory inside ``OUT/.state``."""

    def __init__(self, out: Path):
        self.dir = out / paths.STATE_DIRNAME
        self.notebooks = self.dir / "notebooks"

    def read(self, name: str) -> str | None:
        path = self.dir / name
        return path.read_text(encoding="utf-8") if path.exists() else None

    def write(self, name: str, text: str) -> None:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def _validator_key() -> str:
    return _sha("".join(sha256_file(p) for p in _closure({paths.PACKAGE / "data" / "validate.py"})))


def prepare_cohort(
    data: Path, state: _State, data_sha256: str, echo: Callable[[str], None], columns: Path | None = None
) -> list[str]:
    """Validate ``data`` (through the mapping file ``columns``, if any) and store the validated cohort for the
    notebooks, with the later assessments of a one-row-per-assessment file; reuse them when nothing changed.

    Returns the validation warnings. Raises :class:`ketamine_ptsd.data.validate.ValidationFailed` with every
    problem, before anything is written.
    """
    key = _sha(data_sha256 + _validator_key())
    cohort_file = state.dir / paths.COHORT_FILENAME
    if state.read("cohort.key") == key and cohort_file.exists():
        warnings = json.loads(state.read("cohort.warnings.json") or "[]")
        echo(f"validate: unchanged data file, {len(warnings)} warning(s)")
        return warnings
    from ketamine_ptsd.data.validate import ValidationFailed, validate_file

    result = validate_file(data, columns)
    if not result.ok:
        raise ValidationFailed(result.errors)
    warnings = [str(w) for w in result.warnings]
    state.dir.mkdir(parents=True, exist_ok=True)
    from ketamine_ptsd.data.long import later_assessments

    assessments = (later_assessments(result), state.dir / paths.ASSESSMENTS_FILENAME)
    for frame, target in (assessments, (result.cohort, cohort_file)):
        tmp = target.with_suffix(".tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, target)
    state.write("cohort.warnings.json", json.dumps(warnings))
    state.write("cohort.key", key)
    echo(f"validate: {len(result.cohort)} patients, {len(warnings)} warning(s)")
    return warnings


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
            km=kernel.fresh(),
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildFailed(f"notebook {name} failed in {_failed_cell(target)}: {exc.ename}: {exc.evalue}") from None
    except DeadKernelError:
        # The next notebook gets a new kernel (WarmKernel.fresh starts one when this one is gone).
        raise BuildFailed(f"notebook {name}: its kernel died while executing it (out of memory?)") from None
    # Plain JSON: papermill has just written and validated it, and revalidating every figure is slow.
    executed = json.loads(target.read_text(encoding="utf-8"))
    for cell in executed["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        # The parameters actually used are shown, collapsed; the defaults they replaced are not.
        if "injected-parameters" in tags:
            tags.append("hide-cell")
    target.write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass
class _Plan:
    keys: dict[str, str]  # every notebook's key
    todo: list[tuple[str, str, dict]]  # (name, source, parameters) of those to execute


def plan_notebooks(
    names: list[str], pool: dict[str, Any], data_sha256: str, state: _State, echo, report: BuildReport
) -> _Plan:
    """Every notebook's key, and which notebooks must execute because theirs changed."""
    plan = _Plan({}, [])
    for name in names:
        source = (paths.NOTEBOOKS / f"{name}.md").read_text(encoding="utf-8")
        params = {p: pool[p] for p in declared_parameters(source) if p in pool}
        plan.keys[name] = notebook_key(source, params, data_sha256)
        cached = state.notebooks / f"{name}.ipynb"
        if state.read(f"notebooks/{name}.key") == plan.keys[name] and cached.exists():
            report.cached.append(name)
            echo(f"execute: {name}: unchanged, not executed")
        else:
            plan.todo.append((name, source, params))
    return plan


def execute_notebooks(
    plan: _Plan, state: _State, jobs: int, echo, report: BuildReport, failed_dir: Path, meanwhile: Callable[[], Any]
) -> Any:
    """Execute the planned notebooks, ``jobs`` at a time; returns what ``meanwhile`` returned.

    ``meanwhile`` (validating the cohort) runs in this thread while the kernels start and import their
    libraries; the notebooks start once it has returned, and none does if it raises.
    """
    if not plan.todo:
        return meanwhile()
    from ketamine_ptsd.engine.kernels import LAZY_IMPORTS, KernelFailed, WarmKernel, Zygote

    preload = sorted({_dotted_name(m) for _, source, _ in plan.todo for m in module_closure(source)}) + list(
        LAZY_IMPORTS
    )
    # Longest first, so no worker is left with a long notebook at the end; source length stands for work.
    queue = deque(sorted(plan.todo, key=lambda item: -len(item[1])))
    go, cancelled = threading.Event(), threading.Event()

    def run(item, kernel: WarmKernel) -> str:
        name, source, params = item
        target = state.notebooks / f"{name}.running.ipynb"
        started = time.perf_counter()
        try:
            _execute(name, source, params, target, kernel)
        except BaseException:
            if target.exists():
                failed_dir.mkdir(parents=True, exist_ok=True)
                shutil.move(str(target), failed_dir / f"{name}.ipynb")
            raise
        os.replace(target, state.notebooks / f"{name}.ipynb")
        state.write(f"notebooks/{name}.key", plan.keys[name])
        echo(f"execute: {name}: {time.perf_counter() - started:.1f} s")
        return name

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
    zygote = Zygote(preload)
    try:
        with ThreadPoolExecutor(max_workers=workers) as executor:
            futures = [executor.submit(worker, i) for i in range(workers)]
            try:
                result = meanwhile()
                state.notebooks.mkdir(parents=True, exist_ok=True)
            except BaseException:
                cancelled.set()
                raise
            finally:
                go.set()
            errors = [e for future in futures for e in future.result()]
    finally:
        zygote.close()
    if errors:
        raise BuildFailed("; ".join(errors) + f"; executed copies kept in {failed_dir}")
    return result


def _book_sources() -> list[Path]:
    files = [paths.REPO / f for f in BOOK_FILES]
    files += sorted(p for p in paths.BOOK.rglob("*") if p.is_file())
    return files


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


class Renderer:
    """Jupyter Book over the executed notebooks, warnings as errors, in a process started before they are.

    The process (:mod:`ketamine_ptsd.engine.render_worker`) imports Sphinx and the extensions at low priority
    while the notebooks execute; :meth:`start` copies the executed notebooks in and lets it build, and
    :meth:`wait` waits for the HTML.
    """

    def __init__(self, state: _State):
        self.work = state.dir / "render"
        shutil.rmtree(self.work, ignore_errors=True)
        self.src = self.work / "src"
        for path in _book_sources():
            target = self.src / path.relative_to(paths.REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        _copy_mathjax(self.src / "_mathjax" / "mathjax")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ketamine_ptsd.engine.render_worker",
                str(self.src),
                "--path-output",
                str(self.work),
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
        # Its imports should use only what the notebooks' kernels leave idle.
        os.setpriority(os.PRIO_PROCESS, self.process.pid, 10)

    def start(self, names: list[str], notebooks: Path) -> None:
        """Copy the executed ``notebooks`` in and let the process build."""
        (self.src / "notebooks").mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy2(notebooks / f"{name}.ipynb", self.src / "notebooks" / f"{name}.ipynb")
        self.started = time.perf_counter()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def wait(self, echo) -> Path:
        """Wait for the book; returns the new HTML folder."""
        stdout, stderr = self.process.communicate()
        if self.process.returncode:
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
        root = re.search(r"^root:\s*(\S+)", (paths.REPO / "_toc.yml").read_text(encoding="utf-8"), re.M).group(1)
        (html / "index.html").write_text(REDIRECT.format(target=f"{root}.html"), encoding="utf-8")
        return html

    def close(self) -> None:
        """Stop the process if the build ended without (or while) rendering."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def publish(new_html: Path, results: dict, out: Path, state: _State) -> None:
    """Swap the new book and results in for the old ones, as late and as quickly as possible."""
    tmp_results = state.dir / "results.json.tmp"
    tmp_results.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    html = out / paths.HTML_DIRNAME
    old = state.dir / "html.old"
    shutil.rmtree(old, ignore_errors=True)
    if html.exists():
        os.rename(html, old)
    os.rename(new_html, html)
    os.replace(tmp_results, out / paths.RESULTS_FILENAME)
    shutil.rmtree(old, ignore_errors=True)


def build(
    data: Path | str = paths.BUNDLED_COHORT,
    out: Path | str = paths.DEFAULT_OUT,
    params: dict[str, Any] | None = None,
    jobs: int | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    columns: Path | str | None = None,
) -> BuildReport:
    """Build the book for ``data`` (read through the mapping file ``columns``, if any) into ``out/html`` and
    ``out/results.json``."""
    from ketamine_ptsd.parameters import resolve

    params = resolve(params)
    data, out = Path(data).absolute(), Path(out).absolute()
    report = BuildReport(out=out)
    if not data.is_file() or (columns is not None and not Path(columns).is_file()):
        from ketamine_ptsd.data.validate import ValidationFailed, validate_file

        raise ValidationFailed(validate_file(data, columns).errors)
    data_sha256 = sha256_file(data)
    # What the notebooks read: the data file, and the mapping that renames and recodes it.
    input_key = data_sha256 if columns is None else _sha(data_sha256 + sha256_file(Path(columns)))
    bundled = paths.BUNDLED_COHORT.exists() and data_sha256 == sha256_file(paths.BUNDLED_COHORT)
    state = _State(out)
    names = toc_notebooks()
    pool = {
        **params,
        "cohort_path": paths.COHORT_FILENAME,
        "assessments_path": paths.ASSESSMENTS_FILENAME,
        "data_origin": "synthetic" if bundled else "user",
        "data_sha256": data_sha256,
        "git_commit": git_commit(),
        "parameters": params,
    }
    plan = plan_notebooks(names, pool, input_key, state, echo, report)
    # What the rendering depends on: the notebooks, the book's sources, this module, the Sphinx hooks, the lock.
    renderer_files = [
        Path(__file__),
        Path(__file__).with_name("sphinx_ext.py"),
        Path(__file__).with_name("render_worker.py"),
        *([LOCK_FILE] if LOCK_FILE.exists() else []),
    ]
    render_key = _sha(
        json.dumps(plan.keys, sort_keys=True) + "".join(sha256_file(p) for p in _book_sources() + renderer_files)
    )
    html = out / paths.HTML_DIRNAME
    unchanged = state.read("render.key") == render_key and html.exists() and (out / paths.RESULTS_FILENAME).exists()
    renderer: Renderer | None = None

    def validate_then_start_renderer() -> None:
        nonlocal renderer
        report.warnings = prepare_cohort(data, state, input_key, echo, columns)
        if not unchanged:
            renderer = Renderer(state)

    try:
        execute_notebooks(
            plan,
            state,
            jobs or os.cpu_count() or 1,
            echo,
            report,
            out / "failed",
            meanwhile=validate_then_start_renderer,
        )
        if renderer is None:
            echo("render: unchanged, not rendered")
            return report
        from ketamine_ptsd.presentation.results import gather

        renderer.start(names, state.notebooks)
        results = gather({name: state.notebooks / f"{name}.ipynb" for name in names})
        new_html = renderer.wait(echo)
    finally:
        if renderer is not None:
            renderer.close()
    publish(new_html, results, out, state)
    state.write("render.key", render_key)
    shutil.rmtree(state.dir / "render", ignore_errors=True)
    # Copies kept from an earlier failed build describe a book that has now been built.
    shutil.rmtree(out / "failed", ignore_errors=True)
    report.rendered = True
    echo(f"published: {html} and {out / paths.RESULTS_FILENAME}")
    return report
