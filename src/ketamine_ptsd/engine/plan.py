"""Planning a build: what the engine asks of a project (:class:`Project`), the book's table of contents and
notebooks as parsed, each notebook's import closure and key, the build's state in ``OUT/.state``, and which
notebooks must execute because their key or a file they read changed."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ketamine_ptsd.engine.kernel_state import file_digest
from ketamine_ptsd.engine.output import STATE_DIRNAME, sha256_file

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

    def failure_message(self, exc: BaseException) -> str | None:
        """A build refused for its input, in the user's words (every problem on its line); None for any other
        failure, which is shown as it is."""


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
    #: SHA-256 of what its kernel can see (:func:`kernel_view`): its execution is keyed on this, not on its prose.
    kernel: str


def kernel_view(notebook) -> list:
    """What executing a notebook (jupytext's) depends on: its metadata (the kernel), and its code cells in
    order with their metadata (the ``parameters`` tag places the injected parameters; papermill and nbclient
    read other tags, such as ``raises-exception``). Its Markdown cells only the rendering reads."""
    return [notebook.metadata, [[c.source, c.metadata] for c in notebook.cells if c.cell_type == "code"]]


def parse(source: str, cache: dict[str, dict] | None = None) -> Parsed:
    """Read MyST Markdown ``source``; ``cache`` (by the source's SHA-256) spares a rebuild importing jupytext."""
    digest = sha_text(source)
    if cache is not None and cache.get(digest, {}).keys() == Parsed.__dataclass_fields__.keys():
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
    parsed = Parsed(
        "kernelspec" in notebook.metadata,
        parameters,
        "\n".join(transform(c.source) for c in cells),
        sha_text(json.dumps(kernel_view(notebook), sort_keys=True)),
    )
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


def notebook_key(
    source: str,
    params: dict[str, Any],
    input_digest: str,
    modules: dict[str, Path],
    lock: str,
    cache: dict[str, dict] | None = None,
) -> str:
    """The key of a notebook's execution, before the files it reads (:class:`Record`) are added: of its
    source, only what the kernel sees (:func:`kernel_view`)."""
    # kernel_state runs before every notebook, in the kernel, so it belongs to every notebook's code.
    hashes = {name: sha256_file(path) for name, path in modules.items()} | {"(kernel state)": sha256_file(KERNEL_STATE)}
    kernel = parse(source, cache).kernel
    payload = {"kernel": kernel, "modules": hashes, "input": input_digest, "params": params, "lock": lock}
    return sha_text(json.dumps(payload, sort_keys=True, default=str))


class State:
    """The build's memory inside ``OUT/.state``."""

    def __init__(self, out: Path):
        self.dir = out / STATE_DIRNAME
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
class Record:
    """What a notebook's last execution depended on: its key, and the files it read with their SHA-256; the
    SHA-256 of the executed notebook it left, so a copy cut short or changed is not trusted; and the SHA-256
    of the source whose Markdown that notebook carries (:func:`with_prose`)."""

    key: str
    reads: dict[str, str]
    output: str
    source: str

    def full_key(self) -> str:
        """The key of the executed notebook as rendered: its execution's, and its prose."""
        return sha_text(json.dumps([self.key, self.reads, self.source], sort_keys=True))

    @classmethod
    def load(cls, text: str | None) -> Record | None:
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


@dataclass
class Item:
    name: str
    source: str
    params: dict[str, Any]
    key: str
    modules: dict[str, Path]
    #: For a notebook whose code is unchanged and whose prose is not: its last execution with the prose of
    #: ``source`` (:func:`with_prose`) and its record, to be written once the input is checked.
    prose: tuple[str, Record] | None = None


@dataclass
class Plan:
    items: dict[str, Item]  # every notebook, in the book's order
    keys: dict[str, str]  # every notebook's full key (for those to execute: known once they have run)
    todo: list[Item]  # those to execute
    lock: str  # SHA-256 of the lock file ("" without one)
    prose: list[Item] = field(default_factory=list)  # those not to execute whose prose changed


def plan_notebooks(
    project: Project,
    toc: Toc,
    values: dict[str, Any],
    input_digest: str,
    state: State,
    echo,
    report: BuildReport,
    cache: dict[str, dict] | None = None,
) -> Plan:
    """Every notebook's key, and which notebooks must execute because it changed or a file they read did."""
    lock = sha256_file(project.lock_file) if project.lock_file.exists() else ""
    _spec.cache_clear()  # a module may have been added or removed since an earlier build in this process
    plan = Plan({}, {}, [], lock)
    for name, path in toc.notebooks.items():
        source = path.read_text(encoding="utf-8")
        try:
            params = {p: values[p] for p in declared_parameters(source, cache) if p in values}
            modules = module_closure(source, project.package, cache)
        except (BuildFailed, SyntaxError) as exc:
            raise BuildFailed(f"notebook {name}: {exc}") from None
        item = plan.items[name] = Item(
            name, source, params, notebook_key(source, params, input_digest, modules, lock, cache), modules
        )
        record = Record.load(state.read(f"notebooks/{name}.key"))
        if record and record.unchanged(item.key, project.root):
            executed = state.notebooks / f"{name}.ipynb"
            if not record.intact(executed):
                echo(f"cache: {name}.ipynb damaged or missing, executing again")
            elif record.source == sha_text(source):
                plan.keys[name] = record.full_key()
                report.cached.append(name)
                echo(f"execute: {name}: unchanged, not executed")
                continue
            elif (notebook := with_prose(json.loads(executed.read_text(encoding="utf-8")), source)) is not None:
                text = notebook_text(notebook)
                record = replace(record, output=sha_text(text), source=sha_text(source))
                item.prose = text, record
                plan.prose.append(item)
                plan.keys[name] = record.full_key()
                report.cached.append(name)
                echo(f"execute: {name}: only its prose changed, not executed")
                continue
        plan.todo.append(item)
    return plan


def notebook_text(notebook: dict) -> str:
    """An executed notebook (its JSON) as the build stores it."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def with_prose(executed: dict, source: str) -> dict | None:
    """The ``executed`` notebook (its JSON) with the Markdown and raw cells of MyST ``source`` in place of its
    own: its code cells, with their outputs and the parameters papermill injected after them, stand where
    ``source`` has them. None when ``source``'s code cells are not those that ran."""
    import jupytext

    current = jupytext.reads(source, fmt="md:myst")
    ran: list[dict] = []
    injected: dict[int, list[dict]] = {}  # by the number of code cells before them
    for cell in executed["cells"]:
        if "injected-parameters" in cell["metadata"].get("tags", []):
            injected.setdefault(len(ran), []).append(cell)
        elif cell["cell_type"] == "code":
            ran.append(cell)
    code = [cell.source for cell in current.cells if cell.cell_type == "code"]
    if code != ["".join(cell["source"]) for cell in ran]:
        return None
    cells, done = list(injected.get(0, [])), 0
    for cell in current.cells:
        if cell.cell_type == "code":
            done += 1
            cells += [ran[done - 1], *injected.get(done, [])]
        else:
            # As the build stores an executed notebook's cells: the source in lines, tags always present.
            metadata = {"tags": [], **cell.metadata}
            lines = cell.source.splitlines(True)
            cells.append({"cell_type": cell.cell_type, "id": cell.id, "metadata": metadata, "source": lines})
    return {**executed, "cells": cells}
