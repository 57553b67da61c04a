import json
import multiprocessing.process
import os
import subprocess

import pytest

from ketamine_ptsd.data import references

from .helpers import run

#: Markers of the slow tier: `make test-fast` runs every test without one of them, `make test` everything.
SLOW_MARKERS = ("pipeline", "browser", "spawns", "scale")
#: What the unit tier may not do (``make test-fast`` sets the variable): a test that starts a process fails
#: with this message instead of quietly making the tier slow.
FAST_TIER = "KETAMINE_PTSD_FAST_TIER"
UNMARKED_SPAWN = "a test of the unit tier started a process: mark it @pytest.mark.spawns (or pipeline, browser)"


def pytest_collection_modifyitems(config, items):
    # A test that uses the built book is a pipeline test, whichever module it is in.
    for item in items:
        if "bundled" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pipeline)


@pytest.fixture(autouse=True)
def _no_processes_in_the_unit_tier(request, monkeypatch):
    if not os.environ.get(FAST_TIER) or any(request.node.get_closest_marker(m) for m in SLOW_MARKERS):
        return

    def refuse(*args, **kwargs):
        raise AssertionError(UNMARKED_SPAWN)

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory):
    """The book built from the bundled cohort through the command line: (out dir, results, stderr)."""
    out = tmp_path_factory.mktemp("bundled")
    proc = run("build", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "results.json").read_text()), proc.stderr


@pytest.fixture(scope="module")
def benchmarks():
    """The bundled ``data/benchmarks.yml``, as the chapters load it."""
    return references.load_benchmarks()


@pytest.fixture()
def plt():
    """pyplot drawing off screen; every figure is closed after the test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
