"""The rendered book as files: links resolve, images have alt text, prose holds no typed numbers."""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ketamine_ptsd import paths

from .helpers import toc_chapters


def pages(html_dir: Path):
    from bs4 import BeautifulSoup

    for page in sorted(html_dir.rglob("*.html")):
        if page.relative_to(html_dir).parts[0] in ("_static", "_sources"):
            continue  # theme templates and page sources, not pages
        yield page, BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.pipeline
def test_every_internal_link_and_anchor_resolves(bundled):
    html = bundled[0] / "html"
    ids = {page: {el["id"] for el in soup.select("[id]")} for page, soup in pages(html)}
    broken = []
    for page, soup in pages(html):
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
            for el in soup.find_all(tag):
                url = el.get(attr)
                if not url or url.startswith(("http:", "https:", "mailto:", "data:", "javascript:")):
                    continue
                parts = urlsplit(url)
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(html)}: {url}")
                elif (
                    parts.fragment
                    and target.suffix == ".html"
                    and unquote(parts.fragment) not in ids.get(target, set())
                ):
                    broken.append(f"{page.relative_to(html)}: {url} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


@pytest.mark.pipeline
def test_every_image_has_alt_text(bundled):
    missing = [
        f"{page.name}: {img.get('src', '')[:60]}"
        for page, soup in pages(bundled[0] / "html")
        for img in soup.find_all("img")
        if not (img.get("alt") or "").strip()
    ]
    assert not missing, missing


@pytest.mark.pipeline
def test_the_bibliography_reads_by_author_and_year_sorted_by_surname(bundled):
    """What a reader sees: no alphabetic labels ([STGV16]), each entry opening "Surname, I. ... (year).", filed by
    first author; the text's citations are "(Surname et al., year)", so each leads to its entry by eye."""
    from bs4 import BeautifulSoup

    html = bundled[0] / "html"
    page = BeautifulSoup((html / "book" / "bibliography.html").read_text(encoding="utf-8"), "html.parser")
    entries = page.select("div.citation")
    assert len(entries) > 20
    texts = [" ".join(e.select_one("p").get_text(" ").split()) for e in entries]
    for text in texts:
        assert re.match(r"[\w' -]+, (?:[A-Z]\. ?)+.*?\(\d{4}\)\.", text) or re.match(r"\w+ \(\d{4}\)\.", text), text
    surnames = [re.match(r"(.+?)[,(]", t)[1].strip().lower() for t in texts]
    assert surnames == sorted(surnames)
    for label in page.select("div.citation > span.label"):
        assert re.fullmatch(r"\[?\D+, \d{4}[a-z]?\]?", label.get_text(strip=True)), label
    chapter = (html / "notebooks" / "limitations.html").read_text(encoding="utf-8")
    assert re.search(r"\(<a[^>]*>Feder <em>et al\.</em>, 2021</a>\)", chapter)


@pytest.mark.pipeline
def test_every_tables_note_marks_are_its_notes(bundled):
    """In every table, the marks in its cells are exactly its notes' numbers, 1 to n, each note once."""
    checked = 0
    for page, soup in pages(bundled[0] / "html"):
        for table in soup.select(".house-table"):
            marks = {int(sup.get_text()) for sup in table.select("tbody sup")}
            notes = [" ".join(n.get_text(" ").split()) for n in table.select(".gt_sourcenote")]
            numbered = [n for n in notes if re.match(r"\d+\. ", n)]
            where = f"{page.name}: {table.get('id')}"
            assert marks == set(range(1, len(numbered) + 1)), where
            assert [int(n.split(".")[0]) for n in numbered] == list(range(1, len(numbered) + 1)), where
            assert len({n.split(". ", 1)[1] for n in numbered}) == len(numbered), where
            checked += bool(marks)
    assert checked >= 3


def prose(markdown: str) -> str:
    """The text a reader sees of a MyST notebook, minus code, roles, literals and citations."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)  # code cells and directives
    text = re.sub(r"^---\n.*?\n---\n", " ", text, flags=re.S)  # front matter
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)  # {glue:text}`key:.2f`, {cite:p}`key`, {doc}`page`
    text = re.sub(r"`[^`]*`", " ", text)  # inline code names columns and keys
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.S)  # formulas state definitions, not results
    return text


# Names that contain digits but state no result.
ALLOWED = re.compile(r"PCL-5|DSM-5|CAPS-5|DSM-IV|\b0-80\b|\b0-4\b|SHA-256|\bUTF-8\b|Table 1\b|MAPP[12]\b|²")


# Needs no build: in the fast tier.
def test_no_number_is_typed_into_the_prose():
    typed = []
    for source in sorted(paths.NOTEBOOKS.glob("*.md")) + sorted(paths.BOOK.glob("*.md")):
        text = ALLOWED.sub(" ", prose(source.read_text(encoding="utf-8")))
        for line in text.splitlines():
            if re.search(r"\d", line):
                typed.append(f"{source.name}: {line.strip()[:100]}")
    assert not typed, "\n".join(typed)


def test_every_notebook_is_a_chapter_of_the_toc():
    # A notebook left out of _toc.yml is never executed, and nothing else would say so.
    assert {p.stem for p in paths.NOTEBOOKS.glob("*.md")} == set(toc_chapters())
