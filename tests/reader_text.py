"""What a reader reads, and the typographic defects a production editor would mark in it.

:func:`html_prose` extracts the visible text of a built chapter without its code cells, :func:`pdf_text` the
text of the PDF; :func:`defects` lists what breaks the house style in either. Text set as code (inline
``<code>``, which a reader sees as a name to type) may hold identifiers; everything else may not. The PDF loses
that formatting, so what the HTML sets as code is taken out of it before it is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A name from the code: lower-case words joined by underscores (``d_av``, ``pcl5_post``), or a module's
#: function (``figures.paired_scores``); a file name (``example_cohort.csv``) is none.
IDENTIFIER = re.compile(r"(?<![\w./-])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-]|\.\w)|[a-z]+\.[a-z]+_[a-z_]+(?![\w-]))")
#: A hyphen-minus where a minus is meant: before a digit, not inside a word ("PCL-5") or a range ("0-80").
HYPHEN_MINUS = re.compile(r"(?<![\w.\-–−/])-(?=\.?\d)")
#: A hyphen between two numbers, where a range wants an en dash ("0-80", "22-47"); ISO dates are dates.
HYPHEN_RANGE = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?-\d")
ASCII_COMPARISON = re.compile(r"[<>]=")
#: A pointer that means nothing on paper, where no code cell is shown ("Made by ... in the cell above").
CELL_ABOVE = re.compile(r"\bin the cell above\b", re.IGNORECASE)
#: Parentheses doubled by nesting ("(PCL-5; Blevins et al. (2015))", "(press coverage))").
DOUBLED_PARENTHESES = re.compile(r"\(\(|\)\)")
E_NOTATION = re.compile(r"\b\d(?:\.\d+)?[eE][+−-]?\d+\b")
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-−]0(?:\.0+)?(?![\d.])")
#: Two words in a row on one line (words of two table cells or lines are apart by a newline).
DOUBLED_WORD = re.compile(r"\b([A-Za-z]{2,})[ \t\u00a0]+\1\b", re.IGNORECASE)
#: A citation that is not author-year: an alphabetic label ("[STGV16]", "[BOV+24]") or a year without its comma.
CITATION_LABEL = re.compile(r"\[[A-Z][A-Za-z]{1,5}\+?\d{2}[a-z]?\]|\bet al\. \d{4}\b")
#: Words that contain hyphen-digits legitimately: URLs, DOIs, ISBNs, ISO dates and times, file names.
#: A value printed at more places than any house kind has (4 or more, beyond a small threshold such as .0083),
#: except in the consistency checks' worked rounding ("gives 28.77778, which rounds to 28.78"), which must show it.
RAW_DECIMALS = re.compile(r"(?<![\w.])(?:[1-9]\d*\.\d{4,}|0?\.[1-9]\d{3,})(?![\d.])(?!, which round)")
_NOT_PROSE = re.compile(r"\S*(?:://|doi|/|\d{4}-\d{2}-\d{2}|ISBN)\S*|\b\d{1,2}:\d{2}(?::\d{2})?\b", re.IGNORECASE)
#: Where a doubled word is how English works ("that that", "had had").
_DOUBLED_OK = {"that", "had"}


def _prose(text: str) -> str:
    return _NOT_PROSE.sub(" ", text)


def defects(text: str, code: frozenset[str] = frozenset(), *, doubled: bool = True) -> list[str]:
    """Every defect of ``text`` (prose with code removed), one line each with the offending stretch.

    ``code`` holds what the reader sees set as code: its words are allowed in text that lost its formatting
    (the PDF's). ``doubled`` checks doubled words, which needs table cells on lines of their own.

    >>> [d.split(":")[0] for d in defects("d_av = 1.6 (0-80), p >= .05, 1.33e+31, -0.0, 1.5955 and the the [STGV16]")]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['identifier', 'hyphen for minus', 'hyphen for range', 'ASCII comparison', 'e-notation', 'negative zero',
     'raw decimals', 'doubled word', 'citation label']
    """
    found = []
    prose = _prose(text)
    code_words = {word for snippet in code for word in re.findall(r"[\w.]+", snippet)}

    def around(m, width=4):
        return prose[max(0, m.start() - width) : m.end() + width].strip()

    found += [f"identifier: {m[0]}" for m in IDENTIFIER.finditer(prose) if m[0] not in code_words]
    found += [f"hyphen for minus: {around(m)}" for m in HYPHEN_MINUS.finditer(prose)]
    found += [f"hyphen for range: {m[0]}" for m in HYPHEN_RANGE.finditer(prose)]
    found += [f"ASCII comparison: {around(m)}" for m in ASCII_COMPARISON.finditer(prose)]
    found += [f"e-notation: {m[0]}" for m in E_NOTATION.finditer(prose)]
    found += [f"doubled parentheses: {around(m, 30)}" for m in DOUBLED_PARENTHESES.finditer(prose)]
    found += [f"code pointer: {around(m, 30)}" for m in CELL_ABOVE.finditer(text)]
    found += [f"negative zero: {m[0]}" for m in NEGATIVE_ZERO.finditer(prose)]
    found += [f"raw decimals: {around(m, 12)}" for m in RAW_DECIMALS.finditer(prose)]
    if doubled:
        found += [f"doubled word: {m[0]}" for m in DOUBLED_WORD.finditer(text) if m[1].lower() not in _DOUBLED_OK]
    found += [f"citation label: {m[0]}" for m in CITATION_LABEL.finditer(text)]
    return found


def without_code(text: str, code: frozenset[str]) -> str:
    """``text`` (the PDF's, which keeps no formatting) without the stretches the HTML sets as code, longest first
    (a command line quoting "0-80" is the program's output, not the book's typography)."""
    folded = re.sub(r"\s+", " ", text)
    for snippet in sorted(code, key=len, reverse=True):
        if len(snippet) > 3:
            folded = folded.replace(snippet, " ")
    return folded


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _article(soup):
    """The chapter's article without what is not read as prose: scripts, code cells, math (notation is
    typeset by MathJax), and the links that download a table or a notebook."""
    article = soup.select_one("article.bd-article") or soup.body
    for hidden in article.select(
        "script, style, div.cell_input, .MathJax, .math, mjx-container, p.table-download, span.headerlink, a.headerlink"
    ):
        hidden.decompose()
    return article


def html_prose(path: Path) -> tuple[str, frozenset[str]]:
    """The visible text of the chapter at ``path`` without code (code cells, code blocks, inline code), and the
    text of that code, whitespace folded. Block elements end with a newline, so two cells never run together."""
    article = _article(_soup(path))
    snippets = article.select("code, kbd, pre")
    code = frozenset(re.sub(r"\s+", " ", c.get_text()).strip() for c in snippets)
    for snippet in snippets:
        snippet.replace_with(" ")
    for block in article.select("p, li, td, th, dt, dd, h1, h2, h3, h4, div, caption, figcaption, tr"):
        block.insert_after("\n")
    return article.get_text(""), code


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


def share_columns_past_one_place(path: Path) -> list[str]:
    """Each table cell under a header (or spanner) that says "%" whose value has more than the house's one
    place for a share, as "header: value"."""
    problems = []
    for table in _soup(path).select("div.house-table"):
        header = {th.get("id"): th.get_text(" ", strip=True) for th in table.select("thead th")}
        for cell in table.select("tbody td[headers]"):
            label = " ".join(header.get(h, "") for h in cell["headers"])
            text = cell.get_text(" ", strip=True)
            if "%" in label and re.fullmatch(r"[−-]?\d+\.\d{2,}", text):
                problems.append(f"{label}: {text}")
    return problems


def pdf_text(path: Path) -> list[str]:
    """The text of each page of the PDF at ``path``, ligatures spelled out and hyphenated line ends joined."""
    import unicodedata

    from pypdf import PdfReader

    pages = [unicodedata.normalize("NFKC", page.extract_text() or "") for page in PdfReader(path).pages]
    return [re.sub(r"(\w)-\n(\w)", r"\1\2", page) for page in pages]
