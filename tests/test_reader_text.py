"""The text a reader reads, held to the house style: every HTML chapter without its code, and the PDF.

Three builds, as readers get them: the bundled cohort, a user's cohort file (``data/example_cohort.csv``) and a
clinic's REDCap export through its column mapping (``data/example_redcap_export.csv`` with
``data/example_redcap_columns.yml``). The checks themselves are tested first, on text made to fail them.
"""

from __future__ import annotations

import shutil

import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.presentation import prose

from .helpers import run
from .reader_text import (
    defects,
    html_prose,
    pdf_text,
    share_columns_past_one_place,
    table_note_marks,
    without_code,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

BUILDS = {
    "bundled": (),
    "user file": ("--data", paths.DATA / "example_cohort.csv"),
    "clinic export": (
        "--data",
        paths.DATA / "example_redcap_export.csv",
        "--columns",
        paths.DATA / "example_redcap_columns.yml",
    ),
}


@pytest.mark.parametrize(
    "text,kind",
    [
        ("a within-group effect of d_av = 1.65", "identifier"),
        ("Made by figures.paired_scores in the cell above", "identifier"),
        ("CI -3.55 to 1.20", "hyphen for minus"),
        ("estimate (-0.08)", "hyphen for minus"),
        ("PCL-5 totals 0-80", "hyphen for range"),
        ("a change >= 30% of baseline", "ASCII comparison"),
        ("p <= .05", "ASCII comparison"),
        ("cohorts: 1.33e+31", "e-notation"),
        ("an estimate of -0.0 (0.0 to 0.0)", "negative zero"),
        ("The The cohort chapter", "doubled word"),
        ("(PCL-5; Blevins et al. (2015))", "doubled parentheses"),
        ("Made by `figures.paired_scores` in the cell above", "code pointer"),
        ("as the multiverse shows [STGV16]", "citation label"),
        ("(Blevins et al. 2015)", "citation label"),
        ("computed from the reported means: d_av 1.5955", "raw decimals"),
        ("a share of .2483 of the patients", "raw decimals"),
    ],
)
def test_each_check_finds_its_defect(text, kind):
    assert [d for d in defects(text) if d.startswith(kind)], (text, defects(text))


@pytest.mark.parametrize(
    "text",
    [
        "PCL-5 and DSM-5, on 2024-01-08, doi:10.1016/S0140-6736(20)30185-4, at https://osf.io/abc-123",
        "d = 1.65 (95% CI 1.37 to 1.93), p < .001, change ≥ 30%, range 0–80, −0.20, 1.3 × 10³¹",
        "(Steegen et al., 2016); the data file example_cohort.csv",
        "Analysis that that requires",
    ],
)
def test_house_style_text_passes(text):
    assert defects(text) == []


def test_what_typeset_mends_passes_the_checks():
    """The house style's one formatter mends every sign the checks look for."""
    raw = "change >= 30%, CI -3.55 to 1.2, range 0-80, 1.33e+31 cohorts, -0.0 points (Marx et al. 2022)"
    assert defects(raw) and defects(prose.typeset(raw)) == []


def test_house_numbers_have_a_true_minus_and_no_negative_zero():
    assert prose.number(-0.2049, 2) == "\u22120.20"
    assert prose.number(-0.0004, 2) == prose.number(0.0004, 2) == "0.00"
    assert prose.percent(63.2478) == "63.2%"
    assert prose.scientific(1.33e31, 1) == "1.3 \u00d7 10\u00b3\u00b9"


@pytest.fixture(scope="module", params=list(BUILDS))
def reader_build(request, tmp_path_factory):
    """A build as readers get it, with its PDF when Chromium can print one: (label, out dir)."""
    out = tmp_path_factory.mktemp(request.param.replace(" ", "-")) / "out"
    proc = run("build", *BUILDS[request.param], "--out", out, *(("--pdf",) if CHROMIUM else ()))
    assert proc.returncode == 0, proc.stderr
    return request.param, out


def _pages(out):
    html = out / "html"
    return sorted(html.glob("notebooks/*.html")) + sorted(html.glob("book/*.html"))


@pytest.mark.pipeline
def test_every_html_chapter_reads_in_the_house_style(reader_build):
    label, out = reader_build
    found = {}
    for page in _pages(out):
        text, code_words = html_prose(page)
        problems = (
            defects(text, code_words)
            + [f"note mark: {p}" for p in table_note_marks(page)]
            + [f"share past one place: {p}" for p in share_columns_past_one_place(page)]
        )
        if problems:
            found[page.name] = sorted(set(problems))
    assert found == {}, f"{label} build: {found}"


@pytest.mark.pipeline
@pytest.mark.browser
def test_the_pdf_reads_in_the_house_style(reader_build):
    label, out = reader_build
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed; install it with: apt-get install chromium")
    # The PDF keeps no formatting: what any page sets as code is taken out first. Its table rows run their cells
    # together on one line, so doubled words are the HTML test's to find.
    code = frozenset().union(*(html_prose(page)[1] for page in _pages(out)))
    found = {
        n: sorted(set(d))
        for n, text in enumerate(pdf_text(out / "book.pdf"), 1)
        if (d := defects(without_code(text, code), code, doubled=False))
    }
    assert found == {}, f"{label} build, defects by PDF page: {found}"


@pytest.mark.pipeline
def test_one_code_toggle_per_computation(bundled):
    """A cell whose code shows nothing shares the next cell's "Show code" toggle: no two toggles follow each other
    with nothing for the reader between them."""
    from bs4 import BeautifulSoup

    doubled = []
    for page in _pages(bundled[0]):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for cell in soup.select("div.cell.tag_hide-input"):
            output = cell.select_one("div.cell_output")
            following = cell.find_next_sibling()
            if (output is None or not output.get_text(strip=True) and not output.select("img, svg")) and (
                following is not None and "tag_hide-input" in following.get("class", [])
            ):
                doubled.append(f"{page.name}: {cell.get_text(' ', strip=True)[:60]}")
    assert doubled == []


@pytest.mark.pipeline
def test_every_figure_opens_full_size_from_its_image(bundled):
    """On a phone a figure is drawn at a third of its size: each figure's image links to its own file."""
    from bs4 import BeautifulSoup

    figures = 0
    for page in _pages(bundled[0]):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for image in soup.select("figure img"):
            figures += 1
            link = image.parent
            assert link.name == "a" and "house-figure-open" in link.get("class", []), (page.name, image["src"])
            assert link["href"] == image["src"] and (page.parent / image["src"]).is_file()
    assert figures >= 10  # the bundled book draws figures in six chapters
