"""A PDF of the book, from the notebooks the HTML build executed: nothing is executed again.

Jupyter Book's own routes do not work here: ``pdfhtml`` downloads a browser (offline it fails), and
``pdflatex`` prints HTML tables and glued values as ``<... object>``. Instead Jupyter Book renders the
same sources as one HTML page (``singlehtml``), which is reshaped for print (a title page with the book's
opening notice, a table of contents, numbered chapters, no code and no navigation) and printed by the
system's Chromium through Playwright's ``page.pdf``, with running page numbers and a PDF outline. The
contents give each entry's page: the book is printed, where each heading landed is read back from the PDF's
named destinations, and it is printed again with those numbers, until the numbers stand.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ketamine_ptsd.engine.render import STRICT

#: How a reader gets the browser the PDF is printed with (Debian's package; a downloaded one fails offline).
INSTALL_CHROMIUM = "apt-get install chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]

#: Print layout. The theme's own print rules hide most of its chrome; these hide the rest, keep code out,
#: and number chapters and their sections with CSS counters, as the HTML book numbers them.
#: A4, with side margins of 17 mm: the width, in CSS pixels, that the printed text has.
PRINTED_WIDTH_PX = round((210 - 2 * 17) / 25.4 * 96)
PRINT_CSS = """
@page { size: A4; margin: 18mm 17mm 20mm 17mm; }
html, body { background: white !important; }
body { font-size: 10.5pt; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article, .bd-footer-content,
.bd-header-article, .header-article-items, .prev-next-area, .headerlink, #pst-skip-link, .skip-link,
.bd-search, .search-button-field, .back-to-top, #pst-back-to-top, .theme-switch-button, .bd-header-announcement,
details.hide, .cell_input, .tag_remove-cell, .tag_injected-parameters, .table-download { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-article, .bd-page-width, .bd-container, .bd-container__inner {
  display: block !important; max-width: none !important; width: auto !important; padding: 0 !important;
  margin: 0 !important; overflow: visible !important; }
.pdf-title-page { break-after: page; padding-top: 28vh; }
.pdf-title-page h1 { font-size: 22pt; line-height: 1.25; margin-bottom: 1.2em; }
h1, h2, h3, h4, .pdf-contents { hyphens: manual !important; }
.pdf-nobreak { white-space: nowrap; }
.pdf-title-page .pdf-byline { font-size: 12pt; margin-bottom: 3em; }
.pdf-contents { break-after: page; }
.pdf-contents ol { list-style: none; padding-left: 0; }
.pdf-contents > ol { columns: 2; column-gap: 2.5em; font-size: 9.5pt; }
.pdf-contents > ol > li { break-inside: avoid; }
.pdf-contents ol ol { padding-left: 1.6em; margin-bottom: 0.4em; }
.pdf-contents a { text-decoration: none; color: inherit; display: flex; gap: 0.6em; }
.pdf-contents a > :first-child { flex: 1; }
.pdf-contents .pdf-page { font-variant-numeric: tabular-nums; min-width: 1.8em; text-align: right; }
body { counter-reset: chapter; }
.pdf-chapter { break-before: page; counter-increment: chapter; counter-reset: section; }
.pdf-chapter > h2::before { content: counter(chapter) "  "; }
.pdf-chapter > section { counter-increment: section; }
.pdf-chapter > section > h3::before { content: counter(chapter) "." counter(section) "  "; }
h2, h3, h4 { break-after: avoid; }
/* No line of a paragraph or list item alone at the foot or the head of a page. */
p, li, dd, blockquote { orphans: 3; widows: 3; }
/* A figure stays whole with its caption; a table may run over pages (its header repeats), its caption kept
   with its first rows by the book's stylesheet (house.css), so no page is left half empty by a long table. */
figure, img, .admonition { break-inside: avoid; }
figure.numbered-table { break-inside: auto; }
img { max-width: 100% !important; height: auto !important; }
table { max-width: 100% !important; }
.cell_output { overflow: visible !important; }
a { color: inherit; }
"""
PDF_FILENAME = "book.pdf"
#: Prints after the first, with the contents' page numbers, before giving up on their settling.
CONTENTS_PRINTS = 3
#: Tables, figures and formulas whose right edge is past the printed text's (by their caption or tag).
WIDER_THAN_THE_PAGE = """() => [...document.querySelectorAll('table, img, svg, pre, mjx-container')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                 && !e.closest('.table-download, .pdf-title-page'))
    .map(e => (e.closest('figure')?.querySelector('.caption-text')?.textContent || e.tagName).slice(0, 80))"""
FOOTER = (
    '<div style="font-size:8pt;width:100%;text-align:center;color:#555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


class PdfFailed(RuntimeError):
    """The PDF could not be made; the message says why (and, without Chromium, how to install it)."""


@dataclass
class PdfReport:
    path: Path
    pages: int
    seconds: float


def find_chromium() -> str | None:
    """The system's Chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_single_page(source: Path, work: Path) -> Path:
    """Jupyter Book's one-page HTML of ``source`` (a book folder with executed notebooks, execution off),
    built strictly like the HTML book; returns the page."""
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jupyter_book.cli.main import main; main(sys.argv[1:])",
            "build",
            str(source),
            "--builder",
            "singlehtml",
            "--path-output",
            str(work),
            *STRICT,
        ],
        capture_output=True,
        text=True,
    )
    if process.returncode:
        lines = [ln for ln in (process.stdout + process.stderr).splitlines() if "WARNING" in ln or "ERROR" in ln]
        raise PdfFailed("the single-page book failed to render:\n" + "\n".join(lines[-20:] or [process.stderr[-2000:]]))
    pages = list((work / "_build" / "singlehtml").rglob("*.html"))
    # The root document is the page with content; index.html only redirects to it.
    return max(pages, key=lambda p: p.stat().st_size)


def shape_for_print(html: str, today: date | None = None) -> str:
    """The one-page book as the PDF shows it: title page, contents, then the root page's text and one
    chapter per document of the table of contents. Text is moved, never rewritten."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article.bd-article")
    # Sphinx numbers the headings as the HTML pages show them; print numbers them again with CSS counters
    # (the same numbers: chapters in the contents' order), which also number the contents.
    for number in article.select("span.section-number"):
        number.decompose()
    root = article.find("section", recursive=False)
    title = root.find("h1")
    for link in title.select("a.headerlink"):
        link.decompose()
    # The root page's first admonition (not a hidden code cell's toggle) is the book's notice to readers.
    notice = next((a for a in root.select(".admonition") if a.name != "details"), None)
    byline = soup.select_one(".footer-item p, .bd-footer-content p")

    # A hyphenated word of the title stays on one line ("re-analysis", never "re-" and "analysis").
    for text in list(title.find_all(string=True)):
        words = re.split(r"(\S+-\S+)", str(text))
        if len(words) > 1:
            pieces = []
            for k, word in enumerate(words):
                if k % 2:
                    span = soup.new_tag("span", attrs={"class": "pdf-nobreak"})
                    span.string = word
                    pieces.append(span)
                elif word:
                    pieces.append(word)
            text.replace_with(*pieces)
    title_page = soup.new_tag("section", attrs={"class": "pdf-title-page"})
    title_page.append(title.extract())
    if byline is not None:
        line = soup.new_tag("p", attrs={"class": "pdf-byline"})
        line.string = " ".join(byline.get_text(" ").split()) + f" · {(today or date.today()).isoformat()}"
        title_page.append(line)
    if notice is not None:
        title_page.append(notice.extract())

    contents = soup.new_tag("nav", attrs={"class": "pdf-contents"})
    heading = soup.new_tag("h2")
    heading.string = "Contents"
    contents.append(heading)
    chapters = soup.new_tag("ol")
    contents.append(chapters)
    for number, chapter in enumerate(article.select("div.toctree-wrapper > section"), start=1):
        chapter["class"] = [*chapter.get("class", []), "pdf-chapter"]
        chapters.append(_contents_entry(soup, chapter, str(number)))
        sections = soup.new_tag("ol")
        for k, section in enumerate(chapter.find_all("section", recursive=False), start=1):
            sections.append(_contents_entry(soup, section, f"{number}.{k}"))
        if sections.contents:
            chapters.contents[-1].append(sections)
    article.insert(0, contents)
    article.insert(0, title_page)
    # Nothing but the book: the page's navigation, header and footer go, the article stays.
    body = soup.body
    for child in list(body.children):
        if getattr(child, "name", None) not in ("script", None):
            child.extract()
    body.insert(0, article.extract())
    style = soup.new_tag("style")
    style.string = PRINT_CSS
    soup.head.append(style)
    return str(soup)


def _contents_entry(soup, section, number: str):
    heading = section.find(["h1", "h2", "h3", "h4"])
    entry = soup.new_tag("li")
    link = soup.new_tag("a", href=f"#{section['id']}")
    text = heading.get_text(" ", strip=True).rstrip("#").strip()
    title = soup.new_tag("span")
    title.string = f"{number}  {text}"
    # Three digits' room before the pages are known, so the numbers do not move the text when they come.
    page = soup.new_tag("span", attrs={"class": "pdf-page"})
    page.string = "000"
    link.extend([title, page])
    entry.append(link)
    return entry


def number_contents(html: str, pages: dict[str, int]) -> str:
    """``html`` (from :func:`shape_for_print`) with each contents entry's page: ``pages`` maps a section's id
    to the page (from 1) its heading is on."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for link in soup.select(".pdf-contents a"):
        link.select_one(".pdf-page").string = str(pages.get(link["href"][1:], ""))
    return str(soup)


def heading_pages(pdf: Path, html: str) -> dict[str, int]:
    """Where each heading the contents of ``html`` lists landed in ``pdf``: section id to page (from 1), read
    from the PDF's named destinations (Chromium names one for each target of an internal link)."""
    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    # pypdf keys them as PDF names, with a leading slash.
    destinations = {name.lstrip("/"): d for name, d in reader.named_destinations.items()}
    ids = [a["href"][1:] for a in BeautifulSoup(html, "html.parser").select(".pdf-contents a")]
    return {i: reader.get_destination_page_number(destinations[i]) + 1 for i in ids if i in destinations}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_page(page: Path, target: Path, chromium: str) -> None:
    """Print ``page`` (served over HTTP from its folder, so fonts and MathJax load) to ``target``."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(page.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                # Laid out at the printed width, so what would be cut at the margin can be found before printing.
                tab = browser.new_page(viewport={"width": PRINTED_WIDTH_PX, "height": 1000})
                tab.goto(f"http://127.0.0.1:{server.server_address[1]}/{page.name}", wait_until="networkidle")
                # Formulas are typeset by MathJax after loading; print only once it has finished.
                tab.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
                tab.emulate_media(media="print")
                cut = tab.evaluate(WIDER_THAN_THE_PAGE)
                if cut:
                    raise PdfFailed("wider than the printed page, so cut at its margin: " + "; ".join(cut))
                tab.pdf(
                    path=str(target),
                    prefer_css_page_size=True,
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=FOOTER,
                    outline=True,
                    tagged=True,
                )
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


def print_build(
    source: Path, out: Path, echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)
) -> PdfReport:
    """``out/book.pdf`` from ``source``, the folder the HTML book in ``out`` was just rendered from (its book
    files and executed notebooks), so the PDF is that book (see :func:`build_pdf`)."""
    from ketamine_ptsd.engine.output import STATE_DIRNAME

    out = Path(out).absolute()
    work = out / STATE_DIRNAME / "pdf"
    chromium = find_chromium()
    if chromium is None:
        raise PdfFailed(f"the PDF needs Chromium, which is not installed; install it with: {INSTALL_CHROMIUM}")
    report = build_pdf(source, out / PDF_FILENAME, work, chromium, echo)
    shutil.rmtree(work, ignore_errors=True)
    return report


def build_pdf(
    source: Path,
    target: Path,
    work: Path,
    chromium: str | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> PdfReport:
    """Print the book in ``source`` (executed notebooks, Jupyter Book execution off) to ``target``.

    ``target`` is replaced only when the new PDF is complete. Raises :class:`PdfFailed` without Chromium
    (naming the command that installs it) or when rendering fails.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise PdfFailed(f"the PDF needs Chromium, which is not installed; install it with: {INSTALL_CHROMIUM}")
    started = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    page = render_single_page(source, work)
    # Sphinx writes the root document's links relative to the output folder, wherever the page itself is.
    printable = work / "_build" / "singlehtml" / "print.html"
    shaped = shape_for_print(page.read_text(encoding="utf-8"))
    partial = target.with_name(target.name + ".partial")
    printable.write_text(shaped, encoding="utf-8")
    print_page(printable, partial, chromium)
    # The numbers take the room reserved for them, so a second print normally confirms them; a third settles
    # a contents that still moved a heading.
    for _ in range(CONTENTS_PRINTS):
        pages = heading_pages(partial, shaped)
        printable.write_text(number_contents(shaped, pages), encoding="utf-8")
        print_page(printable, partial, chromium)
        if heading_pages(partial, shaped) == pages:
            break
    else:
        raise PdfFailed("the contents' page numbers did not settle: headings moved at every print")
    from pypdf import PdfReader

    pages = len(PdfReader(partial).pages)
    os.replace(partial, target)
    seconds = time.perf_counter() - started
    echo(f"pdf: {target} ({pages} pages, {seconds:.1f} s)")
    return PdfReport(target, pages, seconds)
