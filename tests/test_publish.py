"""``ketamine-ptsd publish``: the built book onto a git remote's gh-pages branch, here a local bare repository."""

import fcntl
import os
import shutil
import subprocess
import time

import pytest

from ketamine_ptsd import paths

from .helpers import CLI, run

pytestmark = pytest.mark.pipeline


def git(*args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def remote(tmp_path):
    bare = tmp_path / "site.git"
    git("init", "--quiet", "--bare", str(bare))
    return bare


@pytest.fixture
def built(bundled, tmp_path):
    """A copy of the bundled build, with a decoy in every place the build's state could be published from."""
    out = tmp_path / "out"
    shutil.copytree(bundled[0], out, symlinks=True)
    for decoy in (out / "html" / ".state", out / "html" / "failed"):
        decoy.mkdir()
        (decoy / "cohort.csv").write_text("patient_id\nQZXDECOYVWK\n")
    return out


def branch_files(bare) -> list[str]:
    return git("ls-tree", "-r", "--name-only", "gh-pages", cwd=bare).splitlines()


def test_publishes_the_landing_page_and_never_the_build_state(built, remote):
    proc = run("publish", "--out", built, "--remote", remote)
    assert proc.returncode == 0, proc.stderr
    files = branch_files(remote)
    assert "index.html" in files and "notebooks/introduction.html" in files and ".nojekyll" in files
    assert not [f for f in files if f.split("/")[0] in (".state", "failed") or "/.state/" in f or "/failed/" in f]
    assert not subprocess.run(["git", "grep", "-q", "QZXDECOYVWK", "gh-pages"], cwd=remote).returncode == 0
    assert sum(1 for f in files if f.endswith(".ipynb")) > 0  # the executed notebooks behind each page
    # A second publication is the branch's next commit: earlier ones stay in its history.
    assert run("publish", "--out", built, "--remote", remote).returncode == 0
    assert len(git("log", "--format=%H", "gh-pages", cwd=remote).split()) == 2


def test_a_failed_build_is_refused(built, remote):
    (built / "failed").mkdir()
    proc = run("publish", "--out", built, "--remote", remote)
    assert proc.returncode == 1 and "failed" in proc.stderr
    assert git("branch", "--list", cwd=remote) == ""


def test_a_build_older_than_its_sources_is_refused(built, remote):
    # As if the notebooks had been edited after this build: the build's stamp predates them.
    stamp = built / paths.STATE_DIRNAME / "built"
    os.utime(stamp, (0, 0))
    proc = run("publish", "--out", built, "--remote", remote)
    assert proc.returncode == 1 and "build it again" in proc.stderr
    assert git("branch", "--list", cwd=remote) == ""


def test_a_folder_without_a_build_is_refused(tmp_path, remote):
    proc = run("publish", "--out", tmp_path / "nothing", "--remote", remote)
    assert proc.returncode == 1 and "no finished build" in proc.stderr


def test_publishing_waits_for_a_build_of_the_folder(built, remote):
    """A build holds OUT while it swaps the new book in: publish waits for it rather than copy a half-swapped
    book, and publishes once the build has let go."""
    fd = os.open(built, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running build does
    try:
        proc = subprocess.Popen(
            [*CLI, "publish", "--out", str(built), "--remote", str(remote)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr.readline().startswith(f"waiting for the build of {built}")
        time.sleep(1)
        assert proc.poll() is None and git("branch", "--list", cwd=remote) == ""
    finally:
        os.close(fd)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "index.html" in branch_files(remote)
