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
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import paths

#: Book sources copied into every render, besides the executed notebooks (and book/). The example cohort
#: is offered for download by the page on running the book on one's own data.
BOOK_FILES = ("_config.yml", "_toc.yml", "data/example_cohort.csv")
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


def _package_imports(text: str, package_dir: Path) -> set[Path]:
    """Modules of this package that Python ``text`` imports, directly."""
    found: set[Path] = set()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or node.module and node.module.split(".")[0] == "ketamine_ptsd":
                sub = (node.module or "").removeprefix("ketamine_ptsd").lstrip(".") if node.level == 0 else node.module or ""
                if sub:
                    found.add(package_dir / (sub.split(".")[0] + ".py"))
                for alias in node.names:
                    found.add(package_dir / (alias.name + ".py"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "ketamine_ptsd" and len(parts) > 1:
                    found.add(package_dir / (parts[1] + ".py"))
    return {p for p in found if p.exists()}


def module_closure(notebook_source: str, package_dir: Path = paths.PACKAGE) -> list[Path]:
    """Every package module a notebook can run: its imports and theirs, transitively, plus ``__init__``."""
    code = "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(?:(?::[^\n]*\n)|(?:---\n.*?---\n))*(.*?)```", notebook_source, re.S))
    return _closure(_package_imports(code, package_dir) | {package_dir / "__init__.py"}, package_dir)


def _closure(todo: set[Path], package_dir: Path = paths.PACKAGE) -> list[Path]:
    seen: set[Path] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo |= _package_imports(module.read_text(encoding="utf-8"), package_dir) - seen
    return sorted(seen)


def notebook_key(source: str, params: dict[str, Any], data_sha256: str) -> str:
    modules = {p.name: sha256_file(p) for p in module_closure(source)}
    lock = sha256_file(LOCK_FILE) if LOCK_FILE.exists() else ""
    payload = {"source": _sha(source), "modules": modules, "data": data_sha256, "params": params, "lock": lock}
    return _sha(json.dumps(payload, sort_keys=True, default=str))


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True, timeout=10)
        if head.returncode:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
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
    return _sha("".join(sha256_file(p) for p in _closure({paths.PACKAGE / "validate.py"})))


def prepare_cohort(data: Path, state: _State, data_sha256: str, echo: Callable[[str], None]) -> list[str]:
    """Validate ``data`` and store the validated cohort for the notebooks; reuse it when nothing changed.

    Returns the validation warnings. Raises :class:`ketamine_ptsd.validate.ValidationFailed` with every
    problem, before anything is written.
    """
    key = _sha(data_sha256 + _validator_key())
    cohort_file = state.dir / paths.COHORT_FILENAME
    if state.read("cohort.key") == key and cohort_file.exists():
        warnings = json.loads(state.read("cohort.warnings.json") or "[]")
        echo(f"validate: unchanged data file, {len(warnings)} warning(s)")
        return warnings
    from .validate import ValidationFailed, validate_file

    result = validate_file(data)
    if not result.ok:
        raise ValidationFailed(result.errors)
    warnings = [str(w) for w in result.warnings]
    state.dir.mkdir(parents=True, exist_ok=True)
    tmp = cohort_file.with_suffix(".tmp")
    result.cohort.to_parquet(tmp)
    os.replace(tmp, cohort_file)
    state.write("cohort.warnings.json", json.dumps(warnings))
    state.write("cohort.key", key)
    echo(f"validate: {len(result.cohort)} patients, {len(warnings)} warning(s)")
    return warnings


def _quiet_kernel_manager(log: Path, cwd: Path):
    """A kernel manager for this interpreter, its kernel started in ``cwd`` and logging to ``log``.

    The kernel gets its working folder here rather than through papermill's ``cwd``, which changes the
    folder of the whole process and, from parallel threads, can leave it changed.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            # Unix sockets in a private folder: TCP ports picked by parallel kernels can collide.
            self.transport = "ipc"
            self.ip = str(Path(tempfile.mkdtemp(prefix="kp-")) / "k")

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            # The kernel must be this interpreter, which has the package; a user-level kernelspec may name another.
            return [sys.executable, *cmd[1:]] if "ipykernel_launcher" in cmd else cmd

        async def start_kernel(self, **kw):
            kw.setdefault("stderr", open(log, "ab"))  # noqa: SIM115 - the kernel process owns it
            kw["cwd"] = str(cwd)
            return await super().start_kernel(**kw)

    return QuietKernelManager


def _failed_cell(path: Path) -> str:
    """"cell N (first line of its code)" for the cell of an executed notebook that raised."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"cell {index} of {len(nb.cells)} (`{first[:80]}`)"
    return "a cell"


def _execute(name: str, source: str, params: dict, target: Path, cwd: Path) -> None:
    import jupytext
    import nbformat
    import papermill

    notebook = jupytext.reads(source, fmt="md:myst")
    try:
        papermill.execute_notebook(
            notebook, str(target), parameters=params, kernel_name="python3",
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            kernel_manager_class=_quiet_kernel_manager(cwd / f"kernel-{name}.log", cwd),
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildFailed(f"notebook {name} failed in {_failed_cell(target)}: {exc.ename}: {exc.evalue}") from None
    executed = nbformat.read(target, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.setdefault("tags", [])
        # The parameters actually used are shown, collapsed; the defaults they replaced are not.
        if "injected-parameters" in tags:
            tags.append("hide-cell")
    nbformat.write(executed, target)


def execute_notebooks(
    names: list[str], pool: dict[str, Any], data_sha256: str, state: _State, jobs: int, echo, report: BuildReport,
    failed_dir: Path,
) -> dict[str, str]:
    """Execute the notebooks whose key changed, ``jobs`` at a time; return every notebook's key."""
    state.notebooks.mkdir(parents=True, exist_ok=True)
    keys: dict[str, str] = {}
    todo: list[tuple[str, str, dict]] = []
    for name in names:
        source = (paths.NOTEBOOKS / f"{name}.md").read_text(encoding="utf-8")
        params = {p: pool[p] for p in declared_parameters(source) if p in pool}
        keys[name] = notebook_key(source, params, data_sha256)
        cached = state.notebooks / f"{name}.ipynb"
        if state.read(f"notebooks/{name}.key") == keys[name] and cached.exists():
            report.cached.append(name)
            echo(f"execute: {name}: unchanged, not executed")
        else:
            todo.append((name, source, params))
    if not todo:
        return keys

    def run(item):
        name, source, params = item
        target = state.notebooks / f"{name}.running.ipynb"
        started = time.perf_counter()
        try:
            _execute(name, source, params, target, state.dir)
        except BaseException:
            if target.exists():
                failed_dir.mkdir(parents=True, exist_ok=True)
                shutil.move(str(target), failed_dir / f"{name}.ipynb")
            raise
        os.replace(target, state.notebooks / f"{name}.ipynb")
        state.write(f"notebooks/{name}.key", keys[name])
        echo(f"execute: {name}: {time.perf_counter() - started:.1f} s")
        return name

    errors = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as executor:
        for future in [executor.submit(run, item) for item in todo]:
            try:
                report.executed.append(future.result())
            except BuildFailed as exc:
                errors.append(str(exc))
    if errors:
        raise BuildFailed("; ".join(errors) + f"; executed copies kept in {failed_dir}")
    return keys


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


def render(names: list[str], state: _State, echo) -> Path:
    """Jupyter Book over the executed notebooks, warnings as errors; returns the new HTML folder."""
    work = state.dir / "render"
    shutil.rmtree(work, ignore_errors=True)
    src = work / "src"
    for path in _book_sources():
        target = src / path.relative_to(paths.REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    _copy_mathjax(src / "_mathjax" / "mathjax")
    (src / "notebooks").mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(state.notebooks / f"{name}.ipynb", src / "notebooks" / f"{name}.ipynb")
    started = time.perf_counter()
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(src), "--path-output", str(work), "--warningiserror", "--nitpick", "--keep-going",
         "--quiet"],
        capture_output=True, text=True,
    )
    if proc.returncode:
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
                 if re.search(r"WARNING|ERROR|[Ee]rror:", ln) and not ln.startswith(("Traceback", "  "))]
        detail = "\n".join(lines[-20:]) or (proc.stdout + proc.stderr)[-3000:]
        raise BuildFailed(f"rendering the book failed (warnings are errors):\n{detail}")
    echo(f"render: {time.perf_counter() - started:.1f} s")
    html = work / "_build" / "html"
    # Jupyter Book's landing redirect has no icon link, so browsers ask for a /favicon.ico that is not there.
    root = re.search(r"^root:\s*(\S+)", (paths.REPO / "_toc.yml").read_text(encoding="utf-8"), re.M).group(1)
    (html / "index.html").write_text(REDIRECT.format(target=f"{root}.html"), encoding="utf-8")
    return html


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
) -> BuildReport:
    """Build the book for ``data`` into ``out/html`` and ``out/results.json``."""
    from .parameters import resolve

    params = resolve(params)
    data, out = Path(data).absolute(), Path(out).absolute()
    report = BuildReport(out=out)
    if not data.is_file():
        from .validate import ValidationFailed, validate_file

        raise ValidationFailed(validate_file(data).errors)
    data_sha256 = sha256_file(data)
    bundled = paths.BUNDLED_COHORT.exists() and data_sha256 == sha256_file(paths.BUNDLED_COHORT)
    state = _State(out)
    report.warnings = prepare_cohort(data, state, data_sha256, echo)

    names = toc_notebooks()
    pool = {
        **params,
        "cohort_path": paths.COHORT_FILENAME,
        "data_origin": "synthetic" if bundled else "user",
        "data_sha256": data_sha256,
        "git_commit": git_commit(),
        "parameters": params,
    }
    keys = execute_notebooks(names, pool, data_sha256, state, jobs or os.cpu_count() or 1, echo, report,
                             out / "failed")
    # What the rendering itself depends on: the book's sources, this module, the Sphinx hooks, the lock.
    renderer = [Path(__file__), paths.PACKAGE / "sphinx_ext.py", *([LOCK_FILE] if LOCK_FILE.exists() else [])]
    render_key = _sha(json.dumps(keys, sort_keys=True) + "".join(sha256_file(p) for p in _book_sources() + renderer))
    html = out / paths.HTML_DIRNAME
    if state.read("render.key") == render_key and html.exists() and (out / paths.RESULTS_FILENAME).exists():
        echo("render: unchanged, not rendered")
        return report
    from .report import gather

    results = gather({name: state.notebooks / f"{name}.ipynb" for name in names})
    new_html = render(names, state, echo)
    publish(new_html, results, out, state)
    state.write("render.key", render_key)
    shutil.rmtree(state.dir / "render", ignore_errors=True)
    # Copies kept from an earlier failed build describe a book that has now been built.
    shutil.rmtree(out / "failed", ignore_errors=True)
    report.rendered = True
    echo(f"published: {html} and {out / paths.RESULTS_FILENAME}")
    return report
