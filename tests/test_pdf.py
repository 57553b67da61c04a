"""The PDF of the book (``build --pdf``), read back with pypdf, built on the privacy tests' canary cohort.

Its pages are saved as PNG files under ``test-artifacts/pdf/`` (pdftoppm, from Debian's poppler-utils) so a
person can look at them.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import unicodedata

import pytest

from ketamine_ptsd import paths

from .helpers import run, toc_pages, tree_digest
from .test_privacy import CANARIES, canary_frame

pytestmark = [pytest.mark.pipeline, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = paths.REPO / "test-artifacts" / "pdf"

if CHROMIUM is None:
    pytest.skip("Chromium is not installed; install it with: apt-get install chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def canary_pdf(tmp_path_factory):
    from pypdf import PdfReader

    folder = tmp_path_factory.mktemp("canary-pdf")
    data = folder / "cohort.csv"
    canary_frame().to_csv(data, index=False, quoting=csv.QUOTE_NONNUMERIC)
    out = folder / "out"
    proc = run("build", "--data", data, "--out", out, "--pdf")
    assert proc.returncode == 0, proc.stderr
    reader = PdfReader(out / "book.pdf")
    texts = [page.extract_text() for page in reader.pages]
    return out, reader, texts, json.loads((out / "results.json").read_text())


def folded(text: str) -> str:
    """Whitespace folded and typographic ligatures ("ﬁ", which Chromium's fonts use) spelled out."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def squeezed(text: str) -> str:
    """Text without spaces or hyphens, so a title the page breaks over two lines ("re-\nanalysis") is found."""
    return re.sub(r"[\s\-]", "", folded(text))


def test_title_page_has_the_title_and_the_data_origin_notice(canary_pdf):
    out, _, texts, _ = canary_pdf
    from bs4 import BeautifulSoup

    first = folded(texts[0])
    landing = BeautifulSoup(
        (out / "html" / "notebooks" / "introduction.html").read_text(encoding="utf-8"), "html.parser"
    )
    assert squeezed(landing.h1.get_text().rstrip("#")) in squeezed(first)
    # Built on a cohort file, not the bundled one: the notice says where the numbers come from.
    assert squeezed("come from the cohort file this book was built on") in squeezed(first)
    assert "Contents" in texts[1]


def test_every_chapter_is_there_numbered_and_listed_in_the_contents(canary_pdf):
    out, _, texts, _ = canary_pdf
    from bs4 import BeautifulSoup

    html = out / "html"
    pages = [html / f"{name}.html" for name in toc_pages()]
    titles = [
        BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").h1.get_text().rstrip("#").strip() for p in pages
    ]
    contents, body = squeezed(texts[1]), squeezed(" ".join(texts[2:]))
    for number, title in enumerate(titles, start=1):
        assert squeezed(f"{number} {title}") in contents, title
        assert squeezed(f"{number} {title}") in body, title


def test_html_chapters_and_sections_are_numbered_as_in_the_pdf(canary_pdf):
    """Each HTML chapter shows the number the PDF gives it (its place in the contents), and each of its
    sections the PDF's chapter.section; the PDF's contents list the same numbers before the same titles."""
    out, _, texts, _ = canary_pdf
    from bs4 import BeautifulSoup

    contents = squeezed(texts[1])
    for chapter, name in enumerate(toc_pages(), start=1):
        soup = BeautifulSoup((out / "html" / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
        top = soup.select_one("article.bd-article > section")
        title = top.find("h1")
        assert title.select_one("span.section-number").get_text().strip() == f"{chapter}.", name
        for k, section in enumerate(top.find_all("section", recursive=False), start=1):
            heading = section.find(["h2", "h3"])
            number = heading.select_one("span.section-number")
            assert number is not None and number.get_text().strip() == f"{chapter}.{k}.", (name, heading.get_text())
            number.decompose()
            assert squeezed(f"{chapter}.{k} {heading.get_text().rstrip('#')}") in contents, (name, k)


def test_the_contents_give_the_page_each_chapter_begins_on(canary_pdf):
    """The contents list a page for every chapter, and that page (numbered as the footers number them) is the one
    with the chapter's numbered title."""
    out, _, texts, _ = canary_pdf
    from bs4 import BeautifulSoup

    titles = [
        BeautifulSoup((out / "html" / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
        .h1.get_text()
        .rstrip("#")
        .strip()
        for name in toc_pages()
    ]
    layout = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-layout", str(out / "book.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for number, title in enumerate(titles, start=1):
        # In the two-column layout, an entry is its number, its title, and its page, right-aligned.
        found = re.search(rf"(?:^|\s){number} {re.escape(title)}\s+(\d+)(?:\s|$)", layout, re.M)
        assert found, f"no page for chapter {number} {title}"
        page = int(found[1])
        assert squeezed(f"{number} {title}") in squeezed(texts[page - 1]), (title, page)


def test_headline_numbers_equal_results_json(canary_pdf):
    _, _, texts, results = canary_pdf
    text = folded(" ".join(texts))
    for key in ("pre_mean", "post_mean", "mean_change", "change_ci_low", "change_ci_high", "d_av"):
        assert format(results[key], ".2f") in text, key
    assert f"{results['n_patients']} patients" in text


def test_every_figure_of_the_html_book_is_in_the_pdf(canary_pdf):
    """Figures are SVG, drawn as vector paths rather than embedded images; the tagged PDF marks each one as a
    Figure with the image's alternative text, so each HTML figure is found by its text."""
    from bs4 import BeautifulSoup

    out, reader, _, _ = canary_pdf
    html = out / "html"
    figures = [
        img["alt"]
        for page in [*html.glob("notebooks/*.html"), *html.glob("book/*.html")]
        for img in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select("img[src*='_images/']")
    ]
    tagged = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif hasattr(node, "get"):
            if node.get("/S") == "/Figure" and node.get("/Alt") is not None:
                tagged.append(str(node["/Alt"]))
            if node.get("/K") is not None:
                walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"]["/K"])
    assert figures
    assert sorted(tagged) == sorted(figures)


def test_no_code_no_navigation_and_running_page_numbers(canary_pdf):
    _, reader, texts, _ = canary_pdf
    text = " ".join(texts)
    for code in ("import pandas", "results.record", "tables.show_table", "cohort_path =", "Skip to main content"):
        assert code not in text, code
    total = len(texts)
    for number, page in enumerate(texts, start=1):
        assert f"{number} / {total}" in page, number


def test_internal_links_lead_to_named_places_in_the_pdf(canary_pdf):
    _, reader, _, _ = canary_pdf
    destinations = set(reader.named_destinations)
    links = [
        annot.get_object()
        for page in reader.pages
        for annot in page.get("/Annots") or []
        if annot.get_object().get("/Subtype") == "/Link" and "/Dest" in annot.get_object()
    ]
    assert len(links) > 20
    assert all(str(link["/Dest"]) in destinations for link in links)
    # The contents page links to every chapter.
    contents_links = [a for a in reader.pages[1].get("/Annots") or [] if "/Dest" in a.get_object()]
    assert len(contents_links) >= len(toc_pages())


def test_no_identifier_or_free_text_value_is_in_the_pdf(canary_pdf):
    out, _, texts, _ = canary_pdf
    text = "".join(texts)
    raw = (out / "book.pdf").read_bytes().decode("latin-1")
    assert not [c for c in CANARIES if c in text or c in raw]


def test_pages_are_saved_as_png_for_a_person_to_look_at(canary_pdf):
    out, reader, _, _ = canary_pdf
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(out / "book.pdf"), str(ARTIFACTS / "page")], check=True)
    pngs = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pngs) == len(reader.pages)
    assert all(p.stat().st_size > 2_000 for p in pngs)


def test_without_chromium_the_pdf_is_refused_with_the_install_command_and_the_book_stays(canary_pdf, tmp_path):
    out, _, _, _ = canary_pdf
    before = tree_digest(out / "html")
    # Only git on the path besides Python: no Chromium to be found.
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git"))
    env = {**os.environ, "PATH": str(tools)}
    (out / "book.pdf").unlink()  # an up-to-date PDF would not be printed again
    proc = run("build", "--data", out.parent / "cohort.csv", "--out", out, "--pdf", env=env)
    assert proc.returncode == 1
    assert "apt-get install chromium" in proc.stderr
    assert tree_digest(out / "html") == before
    assert (out / "results.json").is_file()


def test_a_table_wider_than_the_printed_page_is_refused_not_cut(tmp_path):
    from ketamine_ptsd.engine import pdf

    page = tmp_path / "print.html"
    cells = "".join(f"<td>{'x' * 40}</td>" for _ in range(12))
    page.write_text(
        f"<html><head><style>td {{ white-space: nowrap }}</style></head><body><figure>"
        f'<p class="caption"><span class="caption-text">A very wide table</span></p>'
        f"<table><tr>{cells}</tr></table></figure></body></html>"
    )
    with pytest.raises(pdf.PdfFailed, match="A very wide table"):
        pdf.print_page(page, tmp_path / "book.pdf", CHROMIUM)
    assert not (tmp_path / "book.pdf").exists()
    # The same table, narrow enough, prints.
    page.write_text(page.read_text().replace("x" * 40, "x"))
    pdf.print_page(page, tmp_path / "book.pdf", CHROMIUM)
    assert (tmp_path / "book.pdf").read_bytes().startswith(b"%PDF")


def test_the_pdf_is_the_builds_own_and_printed_again_only_for_a_new_book(canary_pdf):
    out = canary_pdf[0]
    data = out.parent / "cohort.csv"
    proc = run("build", "--data", data, "--out", out, "--pdf")
    assert proc.returncode == 0 and (out / "book.pdf").is_file(), proc.stderr
    # Made inside the build's lock and marked as its own: a later build keeps it instead of refusing it.
    proc = run("build", "--data", data, "--out", out)
    assert proc.returncode == 0, proc.stderr
    proc = run("build", "--data", data, "--out", out, "--pdf")
    assert proc.returncode == 0, proc.stderr
    assert "render: unchanged" in proc.stderr and "pdf:" not in proc.stderr
