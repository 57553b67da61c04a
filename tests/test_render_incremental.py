"""Rendering reads only what changed, yet a page never shows a stale value glued from another notebook."""

import subprocess
import sys

import nbformat
import pytest

pytestmark = pytest.mark.pipeline

PAGE = """# Summary

The value from the other notebook: {glue}`values.ipynb::answer`.
"""


def values_notebook(answer: str) -> nbformat.NotebookNode:
    """A notebook whose one cell glued ``answer`` as myst-nb's ``glue`` stores it."""
    glued = nbformat.v4.new_output(
        "display_data",
        data={"application/papermill.record/text/plain": repr(answer)},
        metadata={"scrapbook": {"name": "answer", "mime_prefix": "application/papermill.record/"}},
    )
    cell = nbformat.v4.new_code_cell("glue('answer', ...)", outputs=[glued])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Values"), cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def render(src, out) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("hooked", [True, False])
def test_a_page_gluing_from_a_changed_notebook_is_rendered_again(tmp_path, hooked):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    extensions = ["myst_nb", *(["ketamine_ptsd.engine.sphinx_ext"] if hooked else [])]
    (src / "conf.py").write_text(f"extensions = {extensions!r}\nnb_execution_mode = 'off'\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\nsummary\nvalues\nother\n```\n")
    (src / "summary.md").write_text(PAGE)
    (src / "other.md").write_text("# Other\n\nNothing glued here.\n")
    nbformat.write(values_notebook("first"), src / "values.ipynb")
    render(src, out)
    assert "first" in (out / "summary.html").read_text()
    other = (out / "other.html").stat().st_mtime_ns
    nbformat.write(values_notebook("second"), src / "values.ipynb")
    render(src, out)
    summary = (out / "summary.html").read_text()
    # Without the hook Sphinx keeps the page as it was: the failure the hook exists for.
    assert ("second" in summary) is hooked and ("first" in summary) is not hooked
    # A page that glues nothing from it is not written again.
    assert (out / "other.html").stat().st_mtime_ns == other
