import json

import pytest

from .helpers import run


@pytest.fixture(scope="session")
def bundled(tmp_path_factory):
    """The book built from the bundled cohort through the command line: (out dir, results, stderr)."""
    out = tmp_path_factory.mktemp("bundled")
    proc = run("build", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "results.json").read_text()), proc.stderr
