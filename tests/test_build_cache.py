"""The build's cache keys: everything that can change a notebook's output changes its key."""

import dataclasses
import json
import os
import re
import shutil
import uuid

import jupytext  # noqa: F401 - imported here, not in a test: where pandoc is installed, its import runs it
import nbformat
import pytest

from ketamine_ptsd import paths, project
from ketamine_ptsd.engine import kernel_state, output, plan

from .helpers import html_text, run, tree_digest

FRONT = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  name: python3
---
"""

NOTEBOOK = (
    FRONT
    + """
```{code-cell} ipython3
:tags: [parameters, remove-cell]

from PKG.parameters import DEFAULTS

cohort_path = "cohort.parquet"
mcid = DEFAULTS["mcid"]
```

```{code-cell} ipython3
---
tags: [hide-input]
---
%matplotlib inline
from PKG import alpha
import PKG.gamma
from PKG.sub import leaf
```
"""
)


@pytest.fixture
def package(tmp_path, monkeypatch):
    """An importable package with a unique name (the engine's lookups are cached by name): its name and folder."""
    name = f"pkg_{uuid.uuid4().hex[:12]}"
    pkg = tmp_path / name
    files = {
        "__init__.py": "",
        "alpha.py": "from .beta import thing\n",
        "beta.py": "from . import delta\nthing = 1\n",
        "gamma.py": "import json\n",
        "delta.py": "",
        "unused.py": "",
        "parameters.py": "DEFAULTS = {}\n",
        "sub/__init__.py": "",
        "sub/leaf.py": "from ..delta import *\nfrom . import twig\n",
        "sub/twig.py": "def f():\n    from .. import epsilon\n",
        "epsilon.py": "",
    }
    for path, text in files.items():
        (pkg / path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, pkg


@pytest.mark.parametrize(
    "cell",
    [
        ":tags: [parameters]\n",
        ':tags: ["remove-cell", "parameters"]\n',
        "---\ntags: [parameters]\n---\n",
        "---\ntags:\n  - remove-input\n  - parameters\n---\n",
    ],
)
def test_the_parameters_cell_is_found_however_it_is_tagged(cell):
    source = FRONT + f"\n```{{code-cell}} ipython3\n{cell}a = 1\nb: int = 2\nc, d = 3, 4\n```\n"
    assert plan.declared_parameters(source) == ["a", "b", "c", "d"]


def test_a_notebook_without_a_parameters_cell_is_an_error():
    with pytest.raises(plan.BuildFailed, match="no cell tagged 'parameters'"):
        plan.declared_parameters(FRONT + "\n```{code-cell} ipython3\n:tags: [remove-input]\na = 1\n```\n")


def test_the_toc_is_read_as_jupyter_book_reads_it(tmp_path):
    """Parts, chapters and sections, in order; a commented-out entry and a page that is not a notebook are
    not executed."""
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\n"
        "root: nb/intro\n"
        "parts:\n"
        "  - caption: One\n"
        "    chapters:\n"
        "      - file: nb/first.md\n"
        "        sections:\n"
        "          - file: nb/section\n"
        "      # - file: nb/commented\n"
        "      - file: pages/prose\n"
        "  - caption: Two\n"
        "    chapters:\n"
        "      - file: nb/last\n"
    )
    for name in ("intro", "first", "section", "commented", "last"):
        (tmp_path / "nb").mkdir(exist_ok=True)
        (tmp_path / "nb" / f"{name}.md").write_text(FRONT + "\n# A notebook\n")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "prose.md").write_text("# Only prose\n")
    toc = plan.read_toc(tmp_path)
    assert toc.root == "nb/intro"
    assert list(toc.notebooks) == ["intro", "first", "section", "last"]
    assert toc.notebooks["first"] == tmp_path / "nb" / "first.md"


def test_module_closure_follows_imports_transitively(package):
    name, pkg = package
    modules = plan.module_closure(NOTEBOOK.replace("PKG", name), name)
    assert {m.removeprefix(name) for m in modules} == {
        "",
        ".alpha",
        ".beta",
        ".delta",
        ".gamma",
        ".parameters",
        ".sub",
        ".sub.leaf",
        ".sub.twig",
        ".epsilon",
    }
    assert modules[f"{name}.sub.leaf"] == pkg / "sub" / "leaf.py"


def test_an_import_of_the_package_that_cannot_be_resolved_is_an_error(package):
    name, pkg = package
    with pytest.raises(plan.UnresolvedImport, match=rf"`import {name}.nowhere`: no module named {name}.nowhere"):
        plan.module_closure(
            NOTEBOOK.replace("PKG", name) + f"\n```{{code-cell}} ipython3\nimport {name}.nowhere\n```\n", name
        )
    (pkg / "beta.py").write_text(f"from {name}.missing import thing\n")
    with pytest.raises(plan.UnresolvedImport, match=rf"{name}.beta: `from {name}.missing import thing`"):
        plan.module_closure(NOTEBOOK.replace("PKG", name), name)


@pytest.mark.spawns
def test_a_notebook_importing_a_missing_module_fails_the_build_naming_both(tmp_path, monkeypatch):
    source = paths.NOTEBOOKS / "cohort.md"
    monkeypatch.setattr(
        project.KetaminePtsd, "root", tmp_path
    )  # a copy of the book's sources in which one notebook imports a module that is not there
    shutil.copytree(paths.NOTEBOOKS, tmp_path / "notebooks")
    shutil.copy2(paths.REPO / "_toc.yml", tmp_path)
    (tmp_path / "notebooks" / "cohort.md").write_text(
        source.read_text()
        + "\n```{code-cell} ipython3\nfrom ketamine_ptsd.analysis import nosuch_module as m\nimport ketamine_ptsd.nosuch\n```\n"
    )
    with pytest.raises(plan.BuildFailed, match=r"^notebook cohort: `import ketamine_ptsd.nosuch`: no module named"):
        project.build(out=tmp_path / "out", echo=lambda line: None)
    assert not (tmp_path / "out" / "html").exists()


def test_every_real_notebook_depends_on_the_modules_it_calls():
    notebooks = plan.read_toc(paths.REPO).notebooks
    stats_users = {
        name
        for name, path in notebooks.items()
        if "ketamine_ptsd.analysis.stats" in plan.module_closure(path.read_text(), "ketamine_ptsd")
    }
    assert {"primary_outcome", "clinical_significance", "moderators"} <= stats_users
    assert "ketamine_ptsd.analysis.stats" not in plan.module_closure(
        notebooks["provenance"].read_text(), "ketamine_ptsd"
    )


def test_key_changes_with_source_parameters_input_modules_and_lock(package):
    name, pkg = package
    source = NOTEBOOK.replace("PKG", name)
    modules = plan.module_closure(source, name)

    def key(source=source, mcid=10, digest="a" * 64, lock="l"):
        return plan.notebook_key(source, {"mcid": mcid}, digest, modules, lock)

    before = key()
    assert before == key()
    assert before != key(mcid=15)
    assert before != key(digest="b" * 64)
    assert before != key(source=source.replace("%matplotlib inline", "%matplotlib agg"))
    assert before != key(lock="m")
    (pkg / "unused.py").write_text("x = 1\n")
    assert key() == before
    (pkg / "sub" / "twig.py").write_text("def f():\n    return 2\n")
    assert key() != before


PROSE = (
    FRONT
    + """
# Title

Some prose, gluing {glue:text}`answer`.

```{code-cell} ipython3
:tags: [parameters]

answer = 1
```

More prose.

```{code-cell} ipython3
:tags: [hide-input]

glue("answer", answer)
```

```{code-cell} ipython3
print(answer)
```

The end.
"""
)


def test_a_notebooks_key_covers_what_its_kernel_sees_and_not_its_prose():
    """Papermill runs the code cells in order, injects the parameters after the cell tagged ``parameters``
    and reads cell tags (``raises-exception``); the Markdown reaches no kernel."""

    def key(source):
        return plan.notebook_key(source, {"answer": 2}, "a" * 64, {}, "l")

    before = key(PROSE)
    prose_edits = [
        PROSE.replace("Some prose", "Other words"),
        PROSE.replace("{glue:text}`answer`", "{glue:text}`other`"),
        PROSE.replace("More prose.\n", "More prose.\n\n+++\n\nA Markdown cell of its own.\n"),
        # A code cell moved across prose: the kernel runs the same code in the same order.
        PROSE.replace("More prose.\n\n", "").replace("The end.", "More prose.\n\nThe end."),
    ]
    for edited in prose_edits:
        assert edited != PROSE and key(edited) == before, edited
    swapped = PROSE.replace('glue("answer", answer)', "@@").replace("print(answer)", 'glue("answer", answer)')
    code_edits = [
        PROSE.replace("print(answer)", "print(answer + 1)"),
        swapped.replace("@@", "print(answer)"),  # two code cells in the other order
        PROSE.replace(":tags: [hide-input]", ":tags: [hide-input, raises-exception]"),
        PROSE.replace(":tags: [parameters]", ":tags: []").replace(":tags: [hide-input]", ":tags: [parameters]"),
        PROSE.replace("  name: python3", "  name: python2"),  # the notebook's metadata: its kernel
    ]
    for edited in code_edits:
        assert key(edited) != before, edited


def executed_notebook(source: str) -> dict:
    """``source`` as papermill leaves it executed (its JSON): parameters injected after the cell tagged
    ``parameters``, each code cell with an output naming it, and tags on every cell."""
    notebook = jupytext.reads(source, fmt="md:myst")
    cells, count = [], 0
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", [])
        cells.append(cell)
        if cell.cell_type == "code":
            count += 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ran {cell.source}\n")]
            cell.execution_count = count
            if "parameters" in cell.metadata.tags:
                count += 1
                injected = nbformat.v4.new_code_cell("# Parameters\nanswer = 2\n", execution_count=count)
                injected.metadata["tags"] = ["injected-parameters", "hide-cell"]
                cells.append(injected)
    notebook.cells = cells
    return json.loads(nbformat.writes(notebook))


def test_a_notebook_whose_prose_alone_changed_takes_the_new_prose_and_keeps_its_outputs():
    executed = executed_notebook(PROSE)
    edited = (
        PROSE.replace("Some prose", "Other words")
        .replace("More prose.\n", "More prose.\n\n+++\n\nA Markdown cell of its own.\n")
        .replace("The end.\n", "")
    )
    assembled = plan.with_prose(executed, edited)
    nbformat.validate(nbformat.from_dict(assembled))
    assert assembled["metadata"] == executed["metadata"]
    current = jupytext.reads(edited, fmt="md:myst").cells
    ran = [c for c in executed["cells"] if c["cell_type"] == "code"]
    # The new source's cells in its order, the injected parameters after the parameters cell; each code cell
    # is the one that ran, with its output and count.
    expected = [*current[:2], ran[1], *current[2:]]
    assert [(c["cell_type"], "".join(c["source"])) for c in assembled["cells"]] == [
        (c["cell_type"], "".join(c["source"])) for c in expected
    ]
    assert [c for c in assembled["cells"] if c["cell_type"] == "code"] == ran
    assert "Other words" in "".join(assembled["cells"][0]["source"])
    # As executed notebooks store them: lines, and tags on every cell.
    assert all(isinstance(c["source"], list) and "tags" in c["metadata"] for c in assembled["cells"])
    # A code cell moved across prose keeps its output where it now stands.
    moved = plan.with_prose(
        executed, PROSE.replace("More prose.\n\n", "").replace("The end.", "More prose.\n\nThe end.")
    )
    assert [c["cell_type"] for c in moved["cells"]] == ["markdown", "code", "code", "code", "code", "markdown"]
    assert moved["cells"][-2] == ran[-1] and "More prose." in "".join(moved["cells"][-1]["source"])


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("print(answer)", "print(answer + 1)"),
        lambda s: s.replace("print(answer)", "print(answer)\n```\n\n```{code-cell} ipython3\nprint(0)"),
        lambda s: (
            s.replace('glue("answer", answer)', "@@")
            .replace("print(answer)", 'glue("answer", answer)')
            .replace("@@", "print(answer)")
        ),
    ],
    ids=["a code cell changed", "a code cell added", "two code cells swapped"],
)
def test_an_execution_of_other_code_takes_no_prose(edit):
    assert plan.with_prose(executed_notebook(PROSE), edit(PROSE)) is None


def test_a_recorded_read_is_unchanged_only_while_the_file_is(tmp_path):
    (tmp_path / "a.yml").write_text("x: 1\n")
    (tmp_path / "run.ipynb").write_text("{}")
    digests = {"a.yml": kernel_state.file_digest(str(tmp_path / "a.yml")), "later.yml": ""}
    record = plan.Record("k", digests, output.sha256_file(tmp_path / "run.ipynb"), "source")
    assert record.unchanged("k", tmp_path) and not record.unchanged("other", tmp_path)
    # The notebook as rendered is another when its prose is, though its execution is the same.
    assert record.full_key() != dataclasses.replace(record, source="other source").full_key()
    # The executed notebook it vouches for: intact while its bytes are those recorded, not once cut short.
    assert record.intact(tmp_path / "run.ipynb")
    (tmp_path / "run.ipynb").write_text("{")
    assert not record.intact(tmp_path / "run.ipynb") and not record.intact(tmp_path / "gone.ipynb")
    (tmp_path / "a.yml").write_text("x: 2\n")
    assert not record.unchanged("k", tmp_path)
    (tmp_path / "a.yml").write_text("x: 1\n")
    (tmp_path / "later.yml").write_text("")  # a file the notebook looked for and did not find, now there
    assert not record.unchanged("k", tmp_path)


@pytest.mark.pipeline
def test_new_data_in_the_same_output_folder_reexecutes_everything(bundled, tmp_path):
    out, results, _ = bundled
    work = tmp_path / "out"
    shutil.copytree(out, work)
    data = tmp_path / "other.csv"
    data.write_text(
        "patient_id,pcl5_pre,pcl5_post\n" + "".join(f"Q{i},{40 + i},{30 + (i * 7) % 11}\n" for i in range(12))
    )
    report = project.build(data, work, echo=lambda line: None)
    assert set(report.executed) == set(plan.read_toc(paths.REPO).notebooks)
    new = json.loads((work / "results.json").read_text())
    pre = [40 + i for i in range(12)]
    post = [30 + (i * 7) % 11 for i in range(12)]
    assert new["n_patients"] == 12
    assert new["pre_mean"] == pytest.approx(sum(pre) / 12) and new["post_mean"] == pytest.approx(sum(post) / 12)
    assert new["data_sha256"] != results["data_sha256"]
    # Back to the bundled data: the cache holds one copy per notebook, so everything runs again, correctly.
    proc = run("build", "--out", work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "results.json").read_text())["pre_mean"] == results["pre_mean"]


#: The reference files the notebooks may read, whoever reads them (or none does): every YAML file under data/,
#: and the bibliography, which tables cite their sources from (relative to the repository).
REFERENCE_FILES = [*sorted(f"data/{p.name}" for p in paths.DATA.glob("*.yml")), "book/references.bib"]


class RepoCopy:
    """A copy of the repository, whose library and data a test may edit, and a book built from it."""

    def __init__(self, folder):
        self.repo = folder / "repo"
        shutil.copytree(
            paths.REPO,
            self.repo,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "_build", "test-artifacts", "__pycache__", ".pytest_cache", ".hypothesis"
            ),
        )
        self.env = {**os.environ, "PYTHONPATH": str(self.repo / "src")}
        self.out = folder / "out"

    def build(self, out=None) -> tuple[set[str], str]:
        """Build with the CLI, as a user would: (the notebooks it executed, what it printed)."""
        proc = run("build", "--out", out or self.out, env=self.env)
        assert proc.returncode == 0 or out is not None, proc.stderr
        return set(re.findall(r"^execute: (\w+): [\d.]+ s$", proc.stderr, re.M)), proc.stderr

    def results(self) -> dict:
        return json.loads((self.out / "results.json").read_text())


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    copy = RepoCopy(tmp_path_factory.mktemp("repo-copy"))
    assert copy.build()[0] == set(plan.read_toc(paths.REPO).notebooks)
    return copy


@pytest.mark.pipeline
def test_a_changed_library_function_reexecutes_its_readers_and_shows_the_new_number(repo_copy):
    """Edit a function of the library in a copy of the repository: the rebuild executes exactly the notebooks
    whose imports reach that module, and results.json carries the new value."""
    repo_copy.build()  # settles whatever an earlier test changed
    before = repo_copy.results()["mean_age"]
    describe = repo_copy.repo / "src" / "ketamine_ptsd" / "analysis" / "describe.py"
    text = describe.read_text()
    assert text.count('_float(cohort["age"].mean())') == 1
    describe.write_text(text.replace('_float(cohort["age"].mean())', '_float(cohort["age"].mean() + 100)'))
    try:
        notebooks = plan.read_toc(repo_copy.repo).notebooks
        readers = {
            name
            for name, path in notebooks.items()
            if "ketamine_ptsd.analysis.describe" in plan.module_closure(path.read_text(), "ketamine_ptsd")
        }
        assert readers and readers != set(notebooks)
        assert repo_copy.build()[0] == readers
        assert repo_copy.results()["mean_age"] == pytest.approx(before + 100)
    finally:
        describe.write_text(text)


@pytest.mark.pipeline
def test_a_configuration_sphinx_cannot_load_fails_the_render_and_keeps_the_last_book(repo_copy):
    """Sphinx is set up while the notebooks run, before it is told to build: an extension that cannot be
    imported ends that process early, and the build reports Sphinx's own words, publishing nothing."""
    repo_copy.build()
    published = {k: v for k, v in tree_digest(repo_copy.out).items() if not k.startswith(paths.STATE_DIRNAME)}
    config = repo_copy.repo / "_config.yml"
    text = config.read_text()
    extension = "    - ketamine_ptsd.engine.sphinx_tables\n"
    assert text.count(extension) == 1
    config.write_text(text.replace(extension, extension + "    - no_such_sphinx_extension\n"))
    try:
        proc = run("build", "--out", repo_copy.out, env=repo_copy.env)
    finally:
        config.write_text(text)
    assert proc.returncode != 0
    assert "rendering the book failed" in proc.stderr and "no_such_sphinx_extension" in proc.stderr, proc.stderr
    assert "\x1b[" not in proc.stderr  # Sphinx's words, without terminal colour codes
    assert {k: v for k, v in tree_digest(repo_copy.out).items() if not k.startswith(paths.STATE_DIRNAME)} == published


@pytest.mark.pipeline
@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_an_edited_reference_file_reexecutes_exactly_its_readers(repo_copy, name, tmp_path):
    """Its readers, found independently of the build's records: the notebooks that fail in a clean build
    without the file."""
    reference = repo_copy.repo / name
    text = reference.read_text()
    repo_copy.build()
    reference.write_text(text + "\n# edited by a test\n")
    try:
        executed, _ = repo_copy.build()
        reference.unlink()
        _, err = repo_copy.build(out=tmp_path / "without")
    finally:
        reference.write_text(text)
    # Exactly the notebooks that fail once the file is gone executed again. A file no notebook reads re-executes
    # none: the book either builds without it or names it (example_columns.yml, a download of a page).
    readers = set(re.findall(r"notebook (\w+) failed in cell", err))
    assert executed == readers, err
    if not readers:
        assert reference.name in err or "published:" in err, err


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "name, old, new, published",
    [
        # MAPP1's within-group d, as in the issue that found the stale number.
        (
            "benchmarks.yml",
            "  measure: within_group_d\n  value: 2.1\n",
            "  measure: within_group_d\n  value: 3.7\n",
            lambda r: next(row["value"] for row in r["benchmark_comparison"] if row["id"] == "mapp1_mdma_within"),
        ),
        (
            "published_claims.yml",
            "    value: 117\n    decimals: 0\n    kind: number\n    result_key: n_patients\n",
            "    value: 118\n    decimals: 0\n    kind: number\n    result_key: n_patients\n",
            lambda r: next(row["published"] for row in r["claims"] if row["id"] == "n_patients"),
        ),
    ],
)
def test_a_changed_reference_value_is_published(repo_copy, name, old, new, published):
    reference = repo_copy.repo / "data" / name
    text = reference.read_text()
    assert text.count(old) == 1
    repo_copy.build()
    before = published(repo_copy.results())
    reference.write_text(text.replace(old, new))
    try:
        executed, _ = repo_copy.build()
        after = published(repo_copy.results())
    finally:
        reference.write_text(text)
    assert executed and str(before) in old and str(after) in new


def code_cell(text: str, marker: str) -> str:
    """The whole ``{code-cell}`` block of MyST ``text`` that holds ``marker``."""
    at = text.index(marker)
    start = text.rindex("```{code-cell}", 0, at)
    return text[start : text.index("\n```\n", at) + len("\n```\n")]


@pytest.fixture
def chapter(repo_copy):
    """The cohort chapter of the copy, settled (built as it is) and put back after the test."""
    path = repo_copy.repo / "notebooks" / "cohort.md"
    text = path.read_text(encoding="utf-8")
    repo_copy.build()
    yield path, text
    path.write_text(text, encoding="utf-8")


def page(repo_copy) -> str:
    return html_text(repo_copy.out / "html" / "notebooks" / "cohort.html")


@pytest.mark.pipeline
def test_a_prose_edit_is_rendered_without_executing_anything(repo_copy, chapter):
    path, text = chapter
    results = repo_copy.results()
    old = "Every characteristic is given for all patients"
    assert text.count(old) == 1 and "Every single characteristic" not in page(repo_copy)
    path.write_text(text.replace(old, "Every single characteristic is given for all patients"), encoding="utf-8")
    executed, err = repo_copy.build()
    assert executed == set() and "execute: cohort: only its prose changed, not executed" in err, err
    assert "Every single characteristic is given for all patients" in page(repo_copy)
    assert repo_copy.results() == results


@pytest.mark.pipeline
def test_a_published_file_is_never_written_again_and_the_unchanged_ones_are_linked(repo_copy, chapter, tmp_path):
    """The book is staged by hard-linking the files neither the render nor anyone changed since it was
    published: a page of the last book keeps its bytes (no build writes into a published file), a changed
    page is a new file, an unchanged one is the same file, and one edited by hand in the book is replaced."""
    path, text = chapter
    html = repo_copy.out / "html"
    cohort, css = html / "notebooks" / "cohort.html", next((html / "_static").glob("*.css"))
    other = html / "notebooks" / "durability.html"
    last_cohort, last_css = cohort.read_bytes(), css.read_bytes()
    os.link(cohort, tmp_path / "last-cohort.html")  # the last book's page, whatever happens to the folder
    css.write_bytes(last_css + b"/* edited by hand in the published book */\n")
    unchanged_inode = other.stat().st_ino
    path.write_text(text.replace("Every characteristic", "Every single characteristic"), encoding="utf-8")
    repo_copy.build()
    assert (tmp_path / "last-cohort.html").read_bytes() == last_cohort
    assert (
        "Every single characteristic" in page(repo_copy)
        and cohort.stat().st_ino != tmp_path.joinpath("last-cohort.html").stat().st_ino
    )
    assert other.stat().st_ino == unchanged_inode and other.stat().st_nlink == 1
    assert css.read_bytes() == last_css


@pytest.mark.pipeline
def test_a_glue_reference_edited_in_prose_shows_its_value_or_fails_the_build(repo_copy, chapter):
    path, text = chapter
    n_patients = repo_copy.results()["n_patients"]
    old = "{glue:text}`n_dropouts` have no assessment after treatment."
    assert text.count(old) == 1
    path.write_text(text.replace(old, old + " Glued anew: {glue:text}`n_patients` patients."), encoding="utf-8")
    executed, _ = repo_copy.build()
    assert executed == set() and f"Glued anew: {n_patients} patients." in page(repo_copy)
    published = {k: v for k, v in tree_digest(repo_copy.out).items() if not k.startswith(paths.STATE_DIRNAME)}
    path.write_text(text.replace(old, old + " {glue:text}`no_such_key`"), encoding="utf-8")
    proc = run("build", "--out", repo_copy.out, env=repo_copy.env)
    assert proc.returncode == 1 and "rendering the book failed" in proc.stderr and "no_such_key" in proc.stderr
    assert {k: v for k, v in tree_digest(repo_copy.out).items() if not k.startswith(paths.STATE_DIRNAME)} == published
    path.write_text(text, encoding="utf-8")
    executed, _ = repo_copy.build()  # the prose as it was, on the same execution
    assert executed == set() and "Glued anew" not in page(repo_copy)


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "edit, shown",
    [
        (
            lambda t: t.replace(
                "data_origin_note(data_origin)\n", 'data_origin_note(data_origin)\nprint("a code edit")\n'
            ),
            "a code edit",
        ),
        (lambda t: t.replace(":tags: [hide-input]\n\nsummary =", ":tags: [hide-input, a-new-tag]\n\nsummary ="), None),
        (
            lambda t: (
                t.replace(data := code_cell(t, "contract.data_dictionary()"), "@@")
                .replace(clinic := code_cell(t, "contract.clinic_dictionary()"), data)
                .replace("@@", clinic)
            ),
            None,
        ),
    ],
    ids=["a code cell changed", "a tag added", "two code cells swapped"],
)
def test_an_edit_the_kernel_sees_executes_the_notebook(repo_copy, chapter, edit, shown):
    path, text = chapter
    assert edit(text) != text
    path.write_text(edit(text), encoding="utf-8")
    executed, _ = repo_copy.build()
    assert executed == {"cohort"}
    assert shown is None or shown in page(repo_copy)
