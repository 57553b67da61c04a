import json

import pytest

from ketamine_ptsd.data import references

from .helpers import run


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
