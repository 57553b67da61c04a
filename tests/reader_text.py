"""What a reader reads, and the typographic defects a production editor would mark in it.

:func:`html_prose` extracts the visible text of a built chapter without its code cells, :func:`pdf_text` the
text of the PDF; :func:`defects` lists what breaks the house style in either. Text set as code (inline
``<code>``, which a reader sees as a name to type) may hold identifiers; everything else may not. The PDF loses
that formatting, so an identifier there is allowed only where the HTML sets the same word as code.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A name from the code: lower-case words joined by underscores (``d_av``, ``pcl5_post``), or a module's
#: function (``figures.paired_scores``).
IDENTIFIER = re.compile(r"(?<![\w./-])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+\.[a-z]+_[a-z_]+)(?![\w-])")
#: A hyphen-minus where a minus is meant: before a digit, not inside a word ("PCL-5") or a range ("0-80").
HYPHEN_MINUS = re.compile(r"(?<![\w.\-–−/])-(?=\.?\d)")
#: A hyphen between two numbers, where a range wants an en dash ("0-80", "22-47"); ISO dates are dates.
HYPHEN_RANGE = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?-\d")
ASCII_COMPARISON = re.compile(r"[<>]=")
E_NOTATION = re.compile(r"\b\d(?:\.\d+)?[eE][+−-]?\d+\b")
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-−]0(?:\.0+)?(?![\d.])")
#: Two words in a row on one line (words of two table cells or lines are apart by a newline).
DOUBLED_WORD = re.compile(r"\b([A-Za-z]{2,})[ \t\u00a0]+\1\b", re.IGNORECASE)
#: A citation that is not author-year: an alphabetic label ("[STGV16]", "[BOV+24]") or a year without its comma.
CITATION_LABEL = re.compile(r"\[[A-Z][A-Za-z]{1,5}\+?\d{2}[a-z]?\]|\bet al\. \d{4}\b")
#: Words that contain hyphen-digits legitimately: URLs, DOIs, ISBNs, ISO dates and times, file names.
_NOT_PROSE = re.compile(r"\S*(?:://|doi|/|\d{4}-\d{2}-\d{2}|ISBN)\S*|\b\d{1,2}:\d{2}(?::\d{2})?\b", re.IGNORECASE)
#: Where a doubled word is how English works ("that that", "had had").
_DOUBLED_OK = {"that", "had"}


def _prose(text: str) -> str:
    return _NOT_PROSE.sub(" ", text)


def defects(text: str, code_words: frozenset[str] = frozenset()) -> list[str]:
    """Every defect of ``text`` (prose with code removed), one line each with the offending stretch.

    ``code_words`` are identifiers the reader sees set as code, allowed in text that lost its formatting.

    >>> defects("d_av = -0.20 (0-80), p >= .05, 1.33e+31, -0.0 and the the cohort [STGV16]")  # doctest: +NORMALIZE_WHITESPACE
    ['identifier: d_av', 'hyphen for minus: = -0.20 (0', 'hyphen for range: 0-80', 'ASCII comparison: p >= .0',
     'e-notation: 1.33e+31', 'negative zero: -0.0', 'doubled word: the the', 'citation label: [STGV16]']
    """
    found = []
    prose = _prose(text)

    def around(m, width=4):
        return prose[max(0, m.start() - width) : m.end() + width].strip()

    found += [f"identifier: {m[0]}" for m in IDENTIFIER.finditer(prose) if m[0] not in code_words]
    found += [f"hyphen for minus: {around(m)}" for m in HYPHEN_MINUS.finditer(prose)]
    found += [f"hyphen for range: {m[0]}" for m in HYPHEN_RANGE.finditer(prose)]
    found += [f"ASCII comparison: {around(m)}" for m in ASCII_COMPARISON.finditer(prose)]
    found += [f"e-notation: {m[0]}" for m in E_NOTATION.finditer(prose)]
    found += [f"negative zero: {m[0]}" for m in NEGATIVE_ZERO.finditer(prose)]
    found += [f"doubled word: {m[0]}" for m in DOUBLED_WORD.finditer(text) if m[1].lower() not in _DOUBLED_OK]
    found += [f"citation label: {m[0]}" for m in CITATION_LABEL.finditer(text)]
    return found


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _article(soup):
    """The chapter's article without what is not read as prose: scripts, code cells, math (notation is
    typeset by MathJax), and the links that download a table or a notebook."""
    article = soup.select_one("article.bd-article") or soup.body
    for hidden in article.select(
        "script, style, div.cell_input, .highlight, pre, .MathJax, .math, mjx-container, p.table-download, "
        "span.headerlink, a.headerlink"
    ):
        hidden.decompose()
    return article


def html_prose(path: Path) -> tuple[str, frozenset[str]]:
    """The visible text of the chapter at ``path``, code cells and inline code left out, and the words its
    inline code holds. Block elements are separated by a newline, so words of two cells never run together."""
    article = _article(_soup(path))
    code_words = frozenset(word for c in article.select("code, kbd") for word in re.findall(r"[\w.]+", c.get_text()))
    for code in article.select("code, kbd"):
        code.replace_with(" ")
    for block in article.select("p, li, td, th, dt, dd, h1, h2, h3, h4, div, caption, figcaption, tr"):
        block.insert_after("\n")
    return article.get_text(""), code_words


def table_note_marks(path: Path) -> list[str]:
    """Each table of the chapter whose note marks (superscript numbers in its cells) and numbered notes do
    not match one to one, as "table id: marks {...}, notes {...}"."""
    problems = []
    for table in _soup(path).select("div.house-table"):
        marks = {sup.get_text() for sup in table.select("tbody sup")}
        notes = {
            m[1]
            for cell in table.select("tfoot td, .gt_sourcenote")
            if (m := re.match(r"\s*(\d+)\.\s", cell.get_text()))
        }
        if marks != notes:
            problems.append(f"{table.get('id')}: marks {sorted(marks)}, notes {sorted(notes)}")
    return problems


def pdf_text(path: Path) -> list[str]:
    """The text of each page of the PDF at ``path``, ligatures spelled out and hyphenated line ends joined."""
    import unicodedata

    from pypdf import PdfReader

    pages = [unicodedata.normalize("NFKC", page.extract_text() or "") for page in PdfReader(path).pages]
    return [re.sub(r"(\w)-\n(\w)", r"\1\2", page) for page in pages]
