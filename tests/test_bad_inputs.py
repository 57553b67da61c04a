"""Bad input through the command line, after a good build: rejected, explained, and nothing touched.

Each malformed file is given to ``ketamine-ptsd build`` over the output folder of a good build. It must exit
with status 2 and no traceback, say what is wrong in a line ``FILE: row N: column C: ...`` at the right row
and column (or ``FILE: ...`` when no row applies), and leave the previous book, ``results.json`` and the
build state byte for byte as they were, and the input file too. Row numbers are counted by hand from the
file text each case writes (header = row 1). A build that fails while executing a notebook must likewise
leave the last good book, and keep the failed notebook in ``OUT/failed/``.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass

import nbformat
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ketamine_ptsd import paths, project
from ketamine_ptsd.engine import plan

from .helpers import plant_cell, run, tree_digest

pytestmark = pytest.mark.pipeline

HEADER = "patient_id,pcl5_pre,pcl5_post"
PRE = [f"pcl5_pre_{i:02d}" for i in range(1, 21)]
GOOD_ROWS = "P01,50,30\nP02,60,41\nP03,45,\n"


def with_items(items: list[str], total: str = "") -> str:
    """A two-patient file with the 20 baseline items; the second row is written from ``items``."""
    header = ",".join(["patient_id", "pcl5_pre", "pcl5_post", *PRE])
    first = ",".join(["P01", "40", "20", *["2"] * 20])
    return f"{header}\n{first}\nP02,{total},25,{','.join(items)}\n"


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet(columns: dict) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


@dataclass
class Case:
    id: str
    content: bytes | str | None  # None: the file does not exist
    row: int | None  # the row the message must name, None when the problem is the whole file
    column: str | None
    says: str  # a phrase the message must contain: for a bad cell, the value seen, as "(value)"
    name: str = "cohort.csv"


CASES = [
    # The file as a whole.
    Case("missing file", None, None, None, "not found"),
    Case("empty file", b"", None, None, "empty"),
    Case("blank lines only", "\n\n\n", None, None, "empty"),
    Case("header only", HEADER + "\n", None, None, "no data rows"),
    Case("binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", None, None, "binary"),
    Case("wrong delimiter", HEADER.replace(",", ";") + "\nP01;50;30\n", None, None, "not commas: save it as"),
    Case("tab delimiter", HEADER.replace(",", "\t") + "\nP01\t50\t30\n", None, None, "not commas: save it as"),
    Case(
        "wrong encoding, Latin-1",
        (HEADER + ",race_ethnicity\nP01,50,30,Fran\xe7aise\n").encode("latin-1"),
        None,
        None,
        "UTF-8",
    ),
    Case("wrong encoding, UTF-16", (HEADER + "\nP01,50,30\n").encode("utf-16"), None, None, "UTF-16"),
    Case(
        "old Excel extension", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), None, None, ".xls", name="cohort.xls"
    ),
    Case("corrupt workbook", b"PK\x03\x04 not really a workbook", None, None, "not a readable", name="cohort.xlsx"),
    Case("missing required column", "patient_id,pcl5_pre\nP01,50\n", None, "pcl5_post", "missing required column"),
    Case("duplicate column", HEADER + ",age,AGE\nP01,50,30,40,41\n", None, "age", "duplicate column"),
    Case("no completers", HEADER + "\nP01,50,\nP02,60,\n", None, "pcl5_post", "no completers"),
    # One cell.
    Case("text for an integer", HEADER + "\nP01,50,30\nP02,fifty,20\n", 3, "pcl5_pre", "(fifty)"),
    Case("fraction for an integer", HEADER + "\nP01,50,30.5\n", 2, "pcl5_post", "(30.5)"),
    Case("exponent for an integer", HEADER + "\nP01,50,30\nP02,5e1,20\n", 3, "pcl5_pre", "(5e1)"),
    Case("a number too large to represent", HEADER + "\nP01,50,30\nP02,1e309,20\n", 3, "pcl5_pre", "(1e309)"),
    Case("infinity", HEADER + ",age\nP01,50,30,inf\n", 2, "age", "(inf)"),
    Case("total above 80", GOOD_ROWS.join([HEADER + "\n", "P04,81,30\n"]), 5, "pcl5_pre", "(81)"),
    Case("negative total", HEADER + "\nP01,50,-1\n", 2, "pcl5_post", "(-1)"),
    Case("item above 4", with_items(["2"] * 6 + ["5"] + ["2"] * 13), 3, "pcl5_pre_07", "(5)"),
    Case("negative item", with_items(["-1"] + ["2"] * 19), 3, "pcl5_pre_01", "(-1)"),
    Case("items and total disagree", with_items(["2"] * 20, total="50"), 3, "pcl5_pre", "(50)"),
    Case("items partly filled", with_items(["2"] * 17 + [""] * 3), 3, "pcl5_pre_18", "more than 2"),
    Case("duplicate id", HEADER + "\nP01,50,30\nP02,60,41\nP01,45,20\n", 4, "patient_id", "(P01)"),
    Case("empty id", HEADER + "\nP01,50,30\n,60,41\n", 3, "patient_id", "empty"),
    Case("id of spaces only", HEADER + "\nP01,50,30\n   ,60,41\n", 3, "patient_id", "empty"),
    Case(
        "impossible date",
        HEADER + ",date_pre,date_post\nP01,50,30,2023-02-30,2023-04-01\n",
        2,
        "date_pre",
        "(2023-02-30)",
    ),
    Case(
        "day/month date",
        HEADER + ",date_pre,date_post\nP01,50,30,2023-01-02,15/03/2023\n",
        2,
        "date_post",
        "(15/03/2023)",
    ),
    Case(
        "dates in wrong order",
        HEADER + ",date_pre,date_post\nP01,50,30,2023-01-02,2023-03-01\nP02,60,41,2023-05-01,2023-03-01\n",
        3,
        "date_post",
        "before date_pre",
    ),
    Case("negative days", HEADER + ",days_between\nP01,50,30,40\nP02,60,41,-3\n", 3, "days_between", "(-3)"),
    Case(
        "days disagree with dates",
        HEADER + ",days_between,date_pre,date_post\nP01,50,30,10,2023-01-01,2023-01-31\n",
        2,
        "days_between",
        "(10)",
    ),
    Case("unknown boolean", HEADER + ",psychotherapy\nP01,50,30,yes\nP02,60,41,maybe\n", 3, "psychotherapy", "(maybe)"),
    Case("unknown boolean abbreviation", HEADER + ",suicidal_ideation\nP01,50,30,y\n", 2, "suicidal_ideation", "(y)"),
    Case("age out of range", HEADER + ",age\nP01,50,30,17\n", 2, "age", "(17)"),
    Case("unknown gender", HEADER + ",gender\nP01,50,30,robot\n", 2, "gender", "(robot)"),
    Case("zero infusions", HEADER + ",n_infusions\nP01,50,30,0\n", 2, "n_infusions", "(0)"),
    Case("spreadsheet error value", HEADER + "\nP01,#N/A,30\n", 2, "pcl5_pre", "(#N/A)"),
    Case("row longer than the header", HEADER + "\nP01,50,30\nP02,60,41,7\n", 3, None, "fields"),
    Case(
        "Excel: text for an integer",
        xlsx([["patient_id", "pcl5_pre", "pcl5_post"], ["P01", 50, 30], ["P02", 60, "forty"]]),
        3,
        "pcl5_post",
        "(forty)",
        name="cohort.xlsx",
    ),
    Case(
        "Parquet: total above 80",
        parquet({"patient_id": ["P01", "P02"], "pcl5_pre": [50, 95], "pcl5_post": [30, 20]}),
        3,
        "pcl5_pre",
        "(95)",
        name="cohort.parquet",
    ),
]


@pytest.fixture(scope="module")
def good_build(bundled, tmp_path_factory):
    """A copy of the session's good build of the bundled cohort: rejections must leave it exactly so."""
    out = tmp_path_factory.mktemp("bad_inputs") / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    return out, tree_digest(out)


def write_case(case: Case, folder) -> tuple:
    path = folder / case.name
    if case.content is not None:
        data = case.content.encode("utf-8") if isinstance(case.content, str) else case.content
        path.write_bytes(data)
    return path, path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_and_changes_nothing(case, good_build, tmp_path):
    out, digest = good_build
    path, original = write_case(case, tmp_path)
    proc = run("build", "--data", path, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    prefix = f"{path}: "
    if case.row is not None:
        prefix += f"row {case.row}: "
    if case.column is not None:
        prefix += f"column {case.column}: "
    named = [ln for ln in lines if ln.startswith(prefix) and case.says in ln]
    assert named, f"no line starting {prefix!r} and saying {case.says!r}:\n{proc.stderr}"
    if case.row is None:
        assert not [ln for ln in lines if re.match(rf"{re.escape(str(path))}: row \d+", ln)], proc.stderr
    assert tree_digest(out) == digest
    assert (path.read_bytes() if path.exists() else None) == original


def test_every_kind_the_issue_names_is_tried():
    kinds = " | ".join(c.id for c in CASES)
    for kind in (
        "missing file",
        "empty file",
        "header only",
        "missing required column",
        "text for an integer",
        "fraction",
        "total above 80",
        "item above 4",
        "items and total disagree",
        "items partly filled",
        "duplicate id",
        "empty id",
        "impossible date",
        "dates in wrong order",
        "negative days",
        "unknown boolean",
        "1e309",
        "no completers",
        "binary file",
        "wrong delimiter",
        "wrong encoding",
    ):
        assert kind in kinds or any(kind in c.says for c in CASES), kind


def test_a_failing_notebook_leaves_the_last_good_book(bundled, monkeypatch, tmp_path):
    """A build that fails while executing: the notebook raises in its kernel, the build stops before
    rendering, the published book is untouched and the failed notebook is kept for reading."""
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    published = {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)}
    plant_cell(monkeypatch, "clinical_significance", "raise RuntimeError('planted failure')")
    # A parameter only this chapter (and the provenance appendix) reads, so only they execute again.
    with pytest.raises(plan.BuildFailed, match=r"clinical_significance failed .*planted failure"):
        project.build(paths.BUNDLED_COHORT, out, {"change_thresholds_sensitivity": [5, 10, 20]}, echo=lambda line: None)
    after = tree_digest(out)
    assert {k: v for k, v in after.items() if not k.startswith((paths.STATE_DIRNAME, "failed"))} == published
    failed = nbformat.read(out / "failed" / "clinical_significance.ipynb", as_version=4)
    errors = [o for c in failed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["evalue"] == "planted failure"
    # The cells before the failure ran, so the kept copy shows how far it got.
    assert any(o.get("output_type") == "display_data" for c in failed.cells for o in c.get("outputs", []))


def test_a_failing_render_leaves_the_last_good_book_and_the_next_render_starts_afresh(bundled, monkeypatch, tmp_path):
    """Rendering fails (a warning is an error): nothing is published, and the render folder the next build
    would update is not trusted: every page is read and written again, not only the changed ones."""
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    published = {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)}
    plant_cell(
        monkeypatch, "clinical_significance", 'from IPython.display import Markdown\nMarkdown("{ref}`no-label`")'
    )
    changed = {"change_thresholds_sensitivity": [5, 10, 20]}
    with pytest.raises(plan.BuildFailed, match="rendering the book failed"):
        project.build(paths.BUNDLED_COHORT, out, changed, echo=lambda line: None)
    assert {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)} == published
    monkeypatch.undo()
    pages = sorted((out / "html" / "notebooks").glob("*.html"))
    written = [page.stat().st_mtime_ns for page in pages]
    # Another value, so the chapter runs again without the planted cell (which is not part of its key).
    changed = {"change_thresholds_sensitivity": [5, 10, 25]}
    report = project.build(paths.BUNDLED_COHORT, out, changed, echo=lambda line: None)
    # The chapters that declare the parameter (or all of them, the provenance appendix) run again, no others.
    readers = {
        nb.stem
        for nb in paths.NOTEBOOKS.glob("*.md")
        if {"change_thresholds_sensitivity", "parameters"} & set(plan.declared_parameters(nb.read_text()))
    }
    assert "clinical_significance" in readers and set(report.executed) == readers
    assert all(page.stat().st_mtime_ns != when for page, when in zip(pages, written))
