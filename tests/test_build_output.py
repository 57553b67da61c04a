"""The output folder: one build at a time, and nothing replaced that the build did not make."""

import fcntl
import json
import os
import shutil
import subprocess
import time

import pandas as pd
import pytest

from ketamine_ptsd import cli, paths, project
from ketamine_ptsd.engine import plan
from ketamine_ptsd.presentation import results

from .helpers import CLI, plant_cell, run, tree_digest


def one_line_without_traceback(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda out: (out / "html").mkdir() or (out / "html" / "index.html").write_text("my own page"),
        lambda out: (out / "results.json").write_text('{"mine": 1}'),
        lambda out: (out / "failed").mkdir() or (out / "failed" / "notes.txt").write_text("my notes"),
        lambda out: (out / "book.pdf").write_bytes(b"%PDF-1.7 my own"),
    ],
    ids=["html", "results.json", "failed", "book.pdf"],
)
@pytest.mark.spawns
def test_a_folder_or_file_the_build_did_not_make_is_refused_and_left_alone(make, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    make(out)
    before, names = tree_digest(out), sorted(os.listdir(out))
    proc = run("build", "--out", out)
    assert proc.returncode == 2
    assert "was not made by ketamine-ptsd build" in one_line_without_traceback(proc.stderr)
    assert tree_digest(out) == before and sorted(os.listdir(out)) == names


@pytest.mark.spawns
def test_invalid_data_into_a_new_folder_leaves_no_folder(tmp_path):
    data = tmp_path / "cohort.csv"
    data.write_text("patient_id,pcl5_pre,pcl5_post\nA,90,10\n")
    proc = run("build", "--data", data, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "column pcl5_pre" in proc.stderr, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["cohort.csv"]


@pytest.mark.pipeline
def test_a_published_file_changed_since_the_build_is_refused(bundled, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out)
    (out / "results.json").write_text(
        (out / "results.json").read_text().replace('"n_patients": 117', '"n_patients": 1')
    )
    before = tree_digest(out)
    proc = run("build", "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert f"{out / 'results.json'} was not made by" in one_line_without_traceback(proc.stderr)
    assert tree_digest(out) == before


@pytest.mark.spawns
def test_a_build_of_a_locked_folder_waits_or_with_no_wait_gives_up_at_once(tmp_path):
    """The folder held as a build holds it: ``--no-wait`` exits with the busy status and one line; without
    it, the build says it is waiting, and nothing happens until the folder is free."""
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = run("build", "--out", out, "--no-wait")
        assert proc.returncode == cli.EXIT_BUSY
        assert "another build of" in one_line_without_traceback(proc.stderr)
        assert os.listdir(out) == []
        waiting = subprocess.Popen([*CLI, "build", "--out", str(out)], stderr=subprocess.PIPE, text=True)
        try:
            assert waiting.stderr.readline().startswith(f"waiting for the other build of {out}")
            assert waiting.poll() is None and os.listdir(out) == []
        finally:
            waiting.kill()
            waiting.communicate()
    finally:
        os.close(fd)


@pytest.mark.pipeline
def test_two_builds_of_one_folder_run_one_after_the_other_and_publish_one_book(tmp_path):
    """Two real builds with different parameters into one folder: the second waits for the first, a third
    with ``--no-wait`` gives up, and the book published last is wholly the second's."""
    out = tmp_path / "out"
    first = subprocess.Popen(
        [*CLI, "build", "--out", str(out), "--param", "mcid=10"], stderr=subprocess.PIPE, text=True
    )
    # The first build holds the folder once it has written its first state.
    deadline = time.monotonic() + 120
    while not (out / paths.STATE_DIRNAME).exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.Popen(
        [*CLI, "build", "--out", str(out), "--param", "mcid=15"], stderr=subprocess.PIPE, text=True
    )
    third = run("build", "--out", out, "--no-wait")
    _, first_err = first.communicate()
    _, second_err = second.communicate()
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert third.returncode == cli.EXIT_BUSY, third.stderr
    assert second_err.startswith(f"waiting for the other build of {out}"), second_err
    results = json.loads((out / "results.json").read_text())
    cohort = pd.read_csv(paths.BUNDLED_COHORT).dropna(subset=["pcl5_post"])
    change = cohort["pcl5_pre"] - cohort["pcl5_post"]
    assert results["mcid"] == results["parameters"]["mcid"] == 15
    assert results["pct_clinically_significant"] == pytest.approx(100 * (change >= 15).mean())


@pytest.mark.pipeline
def test_the_schema_is_published_beside_the_results(bundled):
    assert project.KetaminePtsd().published_files() == {results.SCHEMA_PATH.name: results.SCHEMA_PATH}
    assert (bundled[0] / "results.schema.json").read_bytes() == results.SCHEMA_PATH.read_bytes()


@pytest.mark.pipeline
def test_results_that_break_the_schema_fail_the_build_and_publish_nothing(bundled, monkeypatch, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out)
    published = {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)}
    plant_cell(
        monkeypatch,
        "clinical_significance",
        "from ketamine_ptsd.presentation.results import record\nrecord('ae_planted_pct', 'many')",
    )
    # A parameter only this chapter (and the provenance appendix) reads, so only they execute again.
    with pytest.raises(plan.BuildFailed, match=r"would not match results.schema.json .*\n.*ae_planted_pct"):
        project.build(paths.BUNDLED_COHORT, out, {"change_thresholds_sensitivity": [5, 10, 20]}, echo=lambda _: None)
    assert {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)} == published


@pytest.mark.pipeline
def test_a_folder_built_before_the_marks_is_still_the_builds_own(bundled, tmp_path):
    """A book built by a version without ownership marks is recognised by its build state, not refused."""
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out)
    (out / "html" / ".made-by-build.json").unlink()
    proc = run("build", "--out", out, "--param", "mcid=11")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "results.json").read_text())["mcid"] == 11
    assert (out / "html" / ".made-by-build.json").is_file()
