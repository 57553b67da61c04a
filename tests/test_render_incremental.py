"""Rendering reads only what changed, yet a page never shows a stale value glued from another notebook; the
bibliography is formatted again only when it changed."""

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


#: A pybtex style that logs each entry it formats (to the file named by FORMAT_LOG), so a test can count them.
COUNTING_STYLE = """
import os

from pybtex.style.formatting.unsrt import Style


class Counting(Style):
    def format_entry(self, label, entry, bib_data=None):
        with open(os.environ["FORMAT_LOG"], "a") as log:
            log.write(entry.key + "\\n")
        return super().format_entry(label, entry, bib_data)


def setup(app):
    from pybtex.plugin import register_plugin

    register_plugin("pybtex.style.formatting", "counting", Counting, force=True)
    return {"parallel_read_safe": True}
"""

BIB = """@book{first,
  author = {Doe, Jane},
  title = {A First Book},
  publisher = {Press},
  year = {2001},
}

@book{second,
  author = {Roe, Richard},
  title = {A Second Book},
  publisher = {Press},
  year = {2002},
}
"""


@pytest.mark.parametrize("hooked", [True, False])
def test_the_bibliography_is_formatted_again_only_when_it_changed(tmp_path, monkeypatch, hooked):
    """sphinxcontrib-bibtex formats every entry whenever any page is read; with the hook, a render that changed
    another page formats none and writes the same bibliography, and a changed entry is formatted and shown, on
    the bibliography and in the citations of the pages that cite it."""
    src, out, log = tmp_path / "src", tmp_path / "out", tmp_path / "formatted.log"
    src.mkdir()
    monkeypatch.setenv("FORMAT_LOG", str(log))
    (src / "counting_style.py").write_text(COUNTING_STYLE)
    extensions = [
        "myst_nb",
        "sphinxcontrib.bibtex",
        *(["ketamine_ptsd.engine.sphinx_ext"] if hooked else []),
        "counting_style",
    ]
    (src / "conf.py").write_text(
        f"import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\nextensions = {extensions!r}\n"
        "nb_execution_mode = 'off'\nbibtex_bibfiles = ['references.bib']\nbibtex_default_style = 'counting'\n"
    )
    (src / "references.bib").write_text(BIB)
    (src / "index.md").write_text("# Book\n\n```{toctree}\ntext\nother\nbibliography\n```\n")
    (src / "text.md").write_text("# Text\n\nAs {cite}`first` and {cite}`second` found.\n")
    (src / "other.md").write_text("# Other\n\nNothing cited.\n")
    (src / "bibliography.md").write_text("# References\n\n```{bibliography}\n```\n")
    render(src, out)
    # Each entry once for the list and once for its tooltip.
    assert sorted(log.read_text().split()) == ["first", "first", "second", "second"]
    bibliography = (out / "bibliography.html").read_text()
    assert "A First Book" in bibliography and "A Second Book" in bibliography
    log.write_text("")
    (src / "other.md").write_text("# Other\n\nStill nothing cited.\n")
    render(src, out)
    # Without the hook every entry is formatted again: the cost the hook exists to spare.
    assert (log.read_text() == "") is hooked and (out / "bibliography.html").read_text() == bibliography
    assert "A Second Book" in (out / "text.html").read_text()  # a citation's tooltip: the entry as formatted
    (src / "references.bib").write_text(BIB.replace("A Second Book", "A Second Book, Revised"))
    render(src, out)
    assert "second" in log.read_text().split()
    assert "A Second Book, Revised" in (out / "bibliography.html").read_text()
    # The page that cites it is read again too; without the hook it keeps the old tooltip.
    assert ("A Second Book, Revised" in (out / "text.html").read_text()) is hooked
