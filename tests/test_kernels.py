"""The build's reused kernels: a notebook's output must not depend on which notebooks ran before it in
the same kernel, and a kernel that dies fails only its own notebook."""

import json
import os
import re
import shutil
import subprocess
import time

import jupytext
import nbformat
import papermill
import psutil
import pytest

from ketamine_ptsd import paths, project
from ketamine_ptsd.engine import plan
from ketamine_ptsd.parameters import resolve

from .helpers import CLI, plant_cell, tree_digest

pytestmark = pytest.mark.pipeline

#: Outputs that legitimately differ between two runs: the build time the provenance appendix records.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def outputs(notebook) -> list[str]:
    return [
        TIMESTAMP.sub("<time>", json.dumps([cell.get("execution_count"), cell.get("outputs")], sort_keys=True))
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


def test_one_reused_kernel_gives_every_notebook_what_a_fresh_kernel_gives_it(tmp_path):
    """Every notebook of the book, run one after another in a single kernel (``jobs=1``), against the same
    notebook run by plain papermill in a kernel of its own: cell by cell, every output and execution count
    (figures included, byte for byte) is the same."""
    out = tmp_path / "out"
    report = project.build(paths.BUNDLED_COHORT, out, jobs=1, echo=lambda line: None)
    notebooks = plan.read_toc(paths.REPO).notebooks
    assert sorted(report.executed) == sorted(notebooks)
    state = out / paths.STATE_DIRNAME
    for name in notebooks:
        reused = nbformat.read(state / "notebooks" / f"{name}.ipynb", as_version=4)
        source = jupytext.reads(notebooks[name].read_text(encoding="utf-8"), fmt="md:myst")
        params = dict(reused.metadata.papermill.parameters)
        if "parameters" in params:
            # The .ipynb stores dictionaries with sorted keys; the build passes them in the parameters' order.
            params["parameters"] = resolve(params["parameters"])
        fresh = papermill.execute_notebook(
            source, None, parameters=params, kernel_name="python3", progress_bar=False, cwd=str(state)
        )
        assert outputs(reused) == outputs(fresh), name


def test_a_kernel_that_dies_fails_its_notebook_and_the_next_notebook_gets_a_new_one(bundled, monkeypatch, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    published = {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)}
    plant_cell(monkeypatch, "clinical_significance", "import os\nos._exit(1)")
    lines = []
    # Only this chapter and the provenance appendix read the parameter; one worker runs both, in turn.
    with pytest.raises(plan.BuildFailed, match=r"clinical_significance: its kernel died"):
        project.build(
            paths.BUNDLED_COHORT, out, {"change_thresholds_sensitivity": [5, 10, 20]}, jobs=1, echo=lines.append
        )
    assert any(line.startswith("execute: provenance:") and "unchanged" not in line for line in lines), lines
    after = {k: v for k, v in tree_digest(out).items() if not k.startswith((paths.STATE_DIRNAME, "failed"))}
    assert after == published


def test_a_build_killed_midway_leaves_no_process_behind(tmp_path):
    """Kill -9 the build while its kernels run: the zygote, the kernels and the render process all exit
    (the zygote and the render process read the end of their input, the kernels watch their parent)."""
    proc = subprocess.Popen(
        [*CLI, "build", "--out", str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    build_process = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    descendants: list[psutil.Process] = []
    # The zygote, its kernels (one per core) and the render process.
    expected = 2 + min(os.cpu_count() or 1, len(plan.read_toc(paths.REPO).notebooks))
    while time.monotonic() < deadline and len(descendants) < expected and proc.poll() is None:
        time.sleep(0.2)
        try:
            descendants = build_process.children(recursive=True)
        except psutil.NoSuchProcess:
            break
    assert len(descendants) >= expected, "the build ended before its kernels and render process were all running"
    proc.kill()
    proc.wait()

    def gone(p: psutil.Process) -> bool:
        try:
            return p.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(p) for p in descendants):
        time.sleep(0.2)
    assert all(gone(p) for p in descendants), [p.cmdline() for p in descendants if not gone(p)]
