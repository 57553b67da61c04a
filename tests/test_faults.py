"""Faults a researcher's machine has: a full disk, a damaged cache, a build killed midway. After each is
removed, the next plain build succeeds, equals a clean one, and nothing the user made was touched."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.engine import output
from ketamine_ptsd.engine.plan import BuildFailed

from .helpers import CLI, run, tree_digest

#: Keys that differ between two builds of the same inputs.
VOLATILE = {"build_time", "git_commit", "python_version", "package_versions"}


def results(out: Path) -> dict:
    return {k: v for k, v in json.loads((out / "results.json").read_text()).items() if k not in VOLATILE}


def published(out: Path) -> dict:
    return {k: v for k, v in tree_digest(out).items() if not k.startswith(paths.STATE_DIRNAME)}


# --- unit: the words of a fault, and marks that cannot be left half made ---------------------------------


def test_a_full_disk_is_named_with_its_path_and_what_to_do(tmp_path):
    fault = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "x"))
    assert output.machine_fault(fault, tmp_path / "out") == (
        f"no space left on device while writing {tmp_path / 'out' / 'x'}: free some space and build again; "
        "the last good book is unchanged"
    )
    # A copy names its source first and its destination second: the destination is what could not be written.
    copy = OSError(errno.ENOSPC, "No space left on device", "/src/file", None, str(tmp_path / "dst"))
    assert f"while writing {tmp_path / 'dst'}:" in output.machine_fault(copy, tmp_path)
    # From another process (a kernel, the render) only text arrives; inside a chain of causes too.
    try:
        try:
            raise RuntimeError("notebook x failed: OSError: [Errno 30] Read-only file system: '/o'")
        except RuntimeError as inner:
            raise BuildFailed("gathering the results") from inner
    except BuildFailed as outer:
        line = output.machine_fault(outer, tmp_path)
    assert line.startswith("read-only file system while writing ") and "choose another --out" in line
    denied = output.machine_fault(PermissionError(errno.EACCES, "Permission denied", "/o/html"), tmp_path)
    assert denied.startswith("permission denied while writing /o/html: make it writable")
    # Anything else, on a disk with room, is no fault of the machine.
    assert output.machine_fault(BuildFailed("notebook x failed: ZeroDivisionError"), tmp_path) is None
    # Words, no exception names.
    assert all("Error" not in text for text in (output.machine_fault(fault, tmp_path), line, denied))


def test_a_failed_folder_whose_mark_could_not_be_written_is_not_left_behind(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_mark = output.mark

    def disk_full(folder, made_by, files=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / output.MARK))

    with output.OutputFolder(out, "test", [], wait=True, echo=print) as folder:
        monkeypatch.setattr(output, "mark", disk_full)
        with pytest.raises(OSError):
            folder.failed_dir()
    # No unmarked failed/ in OUT: the next build accepts the folder, and clears what was half made.
    assert not (out / output.FAILED_DIRNAME).exists() and (out / paths.STATE_DIRNAME / output.FAILED_MAKING).exists()
    monkeypatch.setattr(output, "mark", real_mark)
    with output.OutputFolder(out, "test", [], wait=True, echo=print) as folder:
        assert not (out / paths.STATE_DIRNAME / output.FAILED_MAKING).exists()
        assert output._marked(folder.failed_dir()) == {"made_by": "test", "files": {}}


# --- a damaged cache: every kind of entry ----------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble(path: Path) -> None:
    path.write_bytes(b"\x00not what was written\xff" * 8)


@pytest.mark.pipeline
@pytest.mark.parametrize(
    "entry, damage, message",
    [
        (
            "notebooks/primary_outcome.ipynb",
            _truncate,
            "cache: primary_outcome.ipynb damaged or missing, executing again",
        ),
        ("notebooks/robustness.ipynb", _garble, "cache: robustness.ipynb damaged or missing, executing again"),
        ("notebooks/cohort.key", _garble, None),  # an unreadable record: the notebook simply runs again
        ("cohort.parquet", _garble, "cache: cohort.parquet damaged or missing, validating again"),
        ("assessments.parquet", _truncate, "cache: cohort.parquet damaged or missing, validating again"),
        ("cohort.key", _truncate, None),
        ("parsed.json", _truncate, None),
    ],
)
def test_a_damaged_cache_entry_is_made_again_not_trusted(bundled, tmp_path, entry, damage, message):
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    damage(out / paths.STATE_DIRNAME / entry)
    proc = run("build", "--out", out)
    assert proc.returncode == 0, proc.stderr
    if message:
        assert message in proc.stderr
    assert results(out) == results(bundled[0])


# --- a full disk, then space freed ------------------------------------------------------------------------


@pytest.fixture()
def small_disk(tmp_path):
    """A 160 MB file system of its own (tmpfs), unmounted afterwards; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160M", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({proc.stderr.decode().strip() or 'mount failed'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave_kb: int = 900) -> Path:
    filler = disk / "filler"
    free_kb = shutil.disk_usage(disk).free // 1024
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1k", f"count={free_kb - leave_kb}"], check=True,
                   capture_output=True)  # fmt: skip
    return filler


@pytest.mark.pipeline
def test_a_full_disk_fails_in_words_keeps_the_book_and_the_next_build_succeeds(small_disk, bundled):
    out = small_disk / "out"
    assert run("build", "--out", out).returncode == 0
    before = published(out)
    filler = _fill(small_disk)
    for args in (["--param", "mcid=12"], []):
        proc = run("build", "--out", out, *args)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("ketamine-ptsd build:")]
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert "no space left on device while writing " in lines[0] and str(out) in lines[0]
        assert "Error" not in proc.stderr.splitlines()[-1]
        assert published(out) == before  # byte for byte
    # A clean build into the full disk fails the same way and leaves no folder behind.
    fresh = small_disk / "fresh"
    proc = run("build", "--out", fresh)
    assert proc.returncode == 1 and "no space left on device while writing" in proc.stderr
    assert not fresh.exists() or not (fresh / "html").exists()
    filler.unlink()
    for target in (out, fresh):
        proc = run("build", "--out", target)
        assert proc.returncode == 0, proc.stderr
        assert results(target) == results(bundled[0])
    assert run("build", "--out", out, "--param", "mcid=12").returncode == 0


@pytest.mark.pipeline
def test_a_read_only_output_folder_fails_in_words_and_the_next_build_succeeds(small_disk, bundled):
    """The file system holding OUT turns read-only (as a full or failing disk, or a mount option, makes it):
    a fault even root meets, so the test needs no unprivileged user."""
    out = small_disk / "out"
    assert run("build", "--out", out).returncode == 0
    before = published(out)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        proc = run("build", "--out", out, "--param", "mcid=12")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ketamine-ptsd build:")]
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "read-only file system while writing " + str(out) in lines[0] and "choose another --out" in lines[0]
    assert published(out) == before
    assert run("build", "--out", out).returncode == 0
    assert results(out) == results(bundled[0])


# --- killed at random moments ------------------------------------------------------------------------------


@pytest.mark.pipeline
def test_builds_killed_at_random_moments_are_followed_by_a_build_equal_to_a_clean_one(bundled, tmp_path):
    out = tmp_path / "out"
    rng = random.Random(20261204)
    for attempt in range(4):
        # A new parameter each time, so every build has work to be killed in the middle of.
        proc = subprocess.Popen(
            [*CLI, "build", "--out", str(out), "--param", f"mi_seed={attempt + 1}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.3, 6.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        done = run("build", "--out", out)
        assert done.returncode == 0, (attempt, done.stderr)
        assert results(out) == results(bundled[0]), attempt


def test_a_failed_folder_left_unmarked_by_an_earlier_full_disk_is_cleared_and_a_users_is_refused(tmp_path):
    out = tmp_path / "out"
    (out / output.FAILED_DIRNAME).mkdir(parents=True)
    (out / output.FAILED_DIRNAME / output.MARK).write_text('{"made_by": "te')  # cut short by a full disk
    with output.OutputFolder(out, "test", [], wait=True, echo=print):
        pass
    assert not (out / output.FAILED_DIRNAME).exists()
    # A failed/ holding anything else may be the user's: refused, and left as it was.
    (out / output.FAILED_DIRNAME).mkdir()
    (out / output.FAILED_DIRNAME / "notes.txt").write_text("mine")
    with pytest.raises(output.NotMadeByBuild):
        with output.OutputFolder(out, "test", [], wait=True, echo=print):
            pass
    assert (out / output.FAILED_DIRNAME / "notes.txt").read_text() == "mine"
