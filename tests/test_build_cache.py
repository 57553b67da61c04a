"""The build's cache keys: everything that can change a notebook's output changes its key."""

import json
import os
import re
import shutil

import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.engine import build

from .helpers import run

NOTEBOOK = """\
```{code-cell} ipython3
:tags: [parameters, remove-cell]

from ketamine_ptsd.parameters import DEFAULTS

cohort_path = "cohort.parquet"
mcid = DEFAULTS["mcid"]
```

```{code-cell} ipython3
---
tags: [hide-input]
---
from ketamine_ptsd import alpha
import ketamine_ptsd.gamma
```
"""


@pytest.fixture
def package(tmp_path):
    pkg = tmp_path / "ketamine_ptsd"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "alpha.py").write_text("from .beta import thing\n")
    (pkg / "beta.py").write_text("from . import delta\nthing = 1\n")
    (pkg / "gamma.py").write_text("import json\n")
    (pkg / "delta.py").write_text("")
    (pkg / "unused.py").write_text("")
    (pkg / "parameters.py").write_text("")
    return pkg


def test_declared_parameters_are_read_from_the_parameters_cell():
    assert build.declared_parameters(NOTEBOOK) == ["cohort_path", "mcid"]


def test_module_closure_follows_imports_transitively(package):
    names = {p.name for p in build.module_closure(NOTEBOOK, package)}
    assert names == {"__init__.py", "alpha.py", "beta.py", "delta.py", "gamma.py", "parameters.py"}


def test_every_real_notebook_depends_on_the_modules_it_calls():
    stats_users = {
        name
        for name in build.toc_notebooks()
        if paths.PACKAGE / "analysis" / "stats.py" in build.module_closure((paths.NOTEBOOKS / f"{name}.md").read_text())
    }
    assert {"primary_outcome", "clinical_significance", "moderators"} <= stats_users
    provenance = build.module_closure((paths.NOTEBOOKS / "provenance.md").read_text())
    assert paths.PACKAGE / "analysis" / "stats.py" not in provenance


def test_key_changes_with_source_parameters_and_data():
    source = (paths.NOTEBOOKS / "primary_outcome.md").read_text()
    key = build.notebook_key(source, {"mcid": 10}, "a" * 64)
    assert key == build.notebook_key(source, {"mcid": 10}, "a" * 64)
    assert key != build.notebook_key(source, {"mcid": 15}, "a" * 64)
    assert key != build.notebook_key(source, {"mcid": 10}, "b" * 64)
    assert key != build.notebook_key(source + "\n", {"mcid": 10}, "a" * 64)


def test_key_changes_when_an_imported_module_changes(package, monkeypatch):
    real = build.module_closure
    monkeypatch.setattr(build, "module_closure", lambda source: real(source, package))
    before = build.notebook_key(NOTEBOOK, {}, "a" * 64)
    (package / "unused.py").write_text("x = 1\n")
    assert build.notebook_key(NOTEBOOK, {}, "a" * 64) == before
    (package / "delta.py").write_text("def f():\n    return 2\n")
    assert build.notebook_key(NOTEBOOK, {}, "a" * 64) != before


@pytest.mark.pipeline
def test_new_data_in_the_same_output_folder_reexecutes_everything(bundled, tmp_path):
    out, results, _ = bundled
    work = tmp_path / "out"
    shutil.copytree(out, work)
    data = tmp_path / "other.csv"
    data.write_text(
        "patient_id,pcl5_pre,pcl5_post\n" + "".join(f"Q{i},{40 + i},{30 + (i * 7) % 11}\n" for i in range(12))
    )
    report = build.build(data, work, echo=lambda line: None)
    assert set(report.executed) == set(build.toc_notebooks())
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


@pytest.mark.pipeline
def test_a_changed_library_function_reexecutes_its_readers_and_shows_the_new_number(tmp_path):
    """Edit a function of the library in a copy of the repository: the rebuild executes exactly the notebooks
    whose imports reach that module, and results.json carries the new value."""
    repo = tmp_path / "repo"
    shutil.copytree(
        paths.REPO,
        repo,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "_build", "test-artifacts", "__pycache__", ".pytest_cache", ".hypothesis"
        ),
    )
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    out = tmp_path / "out"

    def rebuild() -> set[str]:
        proc = run("build", "--out", out, env=env)
        assert proc.returncode == 0, proc.stderr
        return set(re.findall(r"^execute: (\w+): [\d.]+ s$", proc.stderr, re.M))

    assert rebuild() == set(build.toc_notebooks())
    before = json.loads((out / "results.json").read_text())["mean_age"]
    describe = repo / "src" / "ketamine_ptsd" / "analysis" / "describe.py"
    text = describe.read_text()
    assert text.count('_float(cohort["age"].mean())') == 1
    describe.write_text(text.replace('_float(cohort["age"].mean())', '_float(cohort["age"].mean() + 100)'))
    readers = {
        name
        for name in build.toc_notebooks()
        if describe in build.module_closure((repo / "notebooks" / f"{name}.md").read_text(), describe.parent.parent)
    }
    assert readers and readers != set(build.toc_notebooks())
    assert rebuild() == readers
    assert json.loads((out / "results.json").read_text())["mean_age"] == pytest.approx(before + 100)
