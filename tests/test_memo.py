"""Results kept between builds (engine/memo.py): computed once per arguments and code, never stale."""

import os
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import reconstruction
from ketamine_ptsd.engine import kernel_state, memo


@pytest.fixture()
def searches(monkeypatch):
    """Counts the cohorts ``reconstruct_many`` searches for."""
    calls = []
    search = reconstruction.reconstruct_cohort

    def counted(*args, **kwargs):
        calls.append(args)
        return search(*args, **kwargs)

    monkeypatch.setattr(reconstruction.many, "reconstruct_cohort", counted)
    return calls


def test_a_result_is_computed_once_per_arguments(tmp_path, searches):
    targets = reconstruction.Targets()
    first = memo.cached(reconstruction.reconstruct_many, 3, 7, targets, folder=tmp_path)
    assert len(searches) == 3
    again = memo.cached(reconstruction.reconstruct_many, 3, 7, targets, folder=tmp_path)
    assert len(searches) == 3  # kept: not searched again
    assert (again.pcl5_pre == first.pcl5_pre).all() and (again.psychotherapy == first.psychotherapy).all()
    direct = reconstruction.reconstruct_many(3, 7, targets)
    assert (direct.pcl5_post == first.pcl5_post).all()
    searches.clear()
    # Any argument, a dataclass field included, is part of the key.
    memo.cached(reconstruction.reconstruct_many, 3, 7, replace(targets, mcid=15), folder=tmp_path)
    memo.cached(reconstruction.reconstruct_many, 3, 8, targets, folder=tmp_path)
    assert len(searches) == 6


def test_changed_code_is_computed_again(tmp_path, searches, monkeypatch):
    memo.cached(reconstruction.reconstruct_many, 2, 7, folder=tmp_path)
    monkeypatch.setattr(memo, "code_key", lambda module: "other code")
    memo.cached(reconstruction.reconstruct_many, 2, 7, folder=tmp_path)
    assert len(searches) == 4


@pytest.mark.spawns
def test_the_code_key_covers_every_module_the_function_can_run(tmp_path):
    """In a copy of the package, imported in a process of its own (modules are found as ``import`` finds them)."""
    package = tmp_path / paths.PACKAGE.name
    shutil.copytree(paths.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))

    def code_key(module: str = "ketamine_ptsd.analysis.reconstruction") -> str:
        code = f"from ketamine_ptsd.engine import memo\nprint(memo.code_key({module!r}))"
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 or "ValueError" in proc.stderr, proc.stderr
        return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]

    key = code_key()
    assert key == code_key()
    # A module the reconstruction does not import: the same key.
    with open(package / "presentation" / "figures.py", "a") as fh:
        fh.write("\n# edited\n")
    assert code_key() == key
    # One it imports through another (reconstruction.bundled -> analysis.stats): a new key.
    with open(package / "analysis" / "stats.py", "a") as fh:
        fh.write("\n# edited\n")
    assert code_key() != key
    assert code_key("ketamine_ptsd.no_such_module").startswith(
        "ValueError: ketamine_ptsd.no_such_module is not a module"
    )


def test_only_the_most_recent_results_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "KEEP", 2)
    for seed in (1, 2, 3):
        memo.cached(reconstruction.reconstruct_many, 1, seed, folder=tmp_path)
    assert len(list(tmp_path.rglob("output.pkl"))) == 2


def test_the_key_changes_with_the_builds_lock_file(monkeypatch):
    # The engine sets the lock file's digest in each kernel; a new environment must not reuse kept results.
    monkeypatch.setattr(kernel_state, "lock_digest_of_build", "")
    before = memo.code_key("ketamine_ptsd.analysis.outcomes")
    monkeypatch.setattr(kernel_state, "lock_digest_of_build", "0" * 64)
    assert memo.code_key("ketamine_ptsd.analysis.outcomes") != before
