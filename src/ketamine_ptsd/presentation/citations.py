"""The book's one citation style, author-year, for the text, the tables' notes and the bibliography.

The text cites with sphinxcontrib-bibtex's ``author_year`` reference style in round brackets ("(Steegen et
al., 2016)"). The
bibliography is formatted by :class:`HouseStyle`, a pybtex style registered as ``house`` (the book's
``bibtex_default_style``): entries begin with their authors and year, as a reader looking up "Steegen et al.,
2016" expects ("Steegen, S., Tuerlinckx, F., Gelman, A., & Vanpaemel, W. (2016). ..."), and are sorted by
first author's surname, then year. Tables cite the same entries through :func:`short` and :func:`full`, so a
table's source reads as the text's citation and its note as the bibliography's entry.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as _Unsrt
from pybtex.style.formatting.unsrt import pages
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as _AuthorYearTitle
from pybtex.style.template import FieldIsMissing, field, join, node, optional, sentence, tag
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

from ketamine_ptsd import paths

#: The book's bibliography (``bibtex_bibfiles`` in _config.yml).
BIB_FILE = paths.BOOK / "references.bib"


def _is_others(person) -> bool:
    # BibTeX's "and others" (the list of authors is cut short), which pybtex reads as a person.
    return str(person) == "others"


@node
def names(children, context, role, **kwargs):
    """pybtex's ``names``, with BibTeX's "and others" written as "et al."."""
    persons = context["entry"].persons.get(role)
    if not persons:
        raise FieldIsMissing(role, context["entry"])
    style = context["style"]
    formatted = [style.format_name(p, style.abbreviate_names) for p in persons if not _is_others(p)]
    if _is_others(persons[-1]):
        return Text(join(sep=", ")[formatted].format_data(context), ", et al.")
    return join(**kwargs)[formatted].format_data(context)


@functools.cache
def _text():
    """pybtex's plain-text backend, looked up once (``render_as`` looks it up in the installed packages' entry
    points at every call: 17 ms, which made a table citing a few dozen sources take seconds)."""
    from pybtex.plugin import find_plugin

    return find_plugin("pybtex.backends", "text")()


def _surname(person) -> str:
    # Rendered from LaTeX, so "Ot{\\'a}lora" reads "Otálora".
    return " ".join(part.render(_text()) for part in person.rich_prelast_names + person.rich_last_names)


def author_year(entry) -> str:
    """``entry``'s citation as the text shows it: "Holm, 1979", "Jacobson and Truax, 1991", "Steegen et al.,
    2016" (sphinxcontrib-bibtex's ``author_year`` reference style)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [_surname(p) for p in persons]
    if len(surnames) > 2 or (len(persons) == 2 and _is_others(persons[1])):
        who = f"{surnames[0]} et al."
    else:
        who = " and ".join(surnames)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Labels that are the text's citations, so no entry is known by a code like [STGV16]."""

    def format_labels(self, sorted_entries):
        labels = [author_year(entry) for entry in sorted_entries]
        # Two works of one author and year become "2021a", "2021b", as author-year styles do.
        seen: dict[str, int] = {}
        for label in labels:
            if labels.count(label) == 1:
                yield label
            else:
                seen[label] = seen.get(label, 0) + 1
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"


class AuthorYearSorting(_AuthorYearTitle):
    """By first author's surname as the reader sees it (pybtex's own key would file "{Osmind}" after Z)."""

    def person_key(self, person):
        return f"{_surname(person)}  {' '.join(person.first_names + person.middle_names)}".lower()


class HouseStyle(_Unsrt):
    """Entries in APA order: authors (surname, initials), year, title, where it appeared, DOI."""

    default_label_style = AuthorYearLabels
    default_name_style = "lastfirst"
    default_sorting_style = AuthorYearSorting

    def __init__(self, **kwargs):
        kwargs.setdefault("abbreviate_names", True)
        super().__init__(**kwargs)

    def format_names(self, role, as_sentence=True):
        formatted = names(role, sep=", ", sep2=", & ", last_sep=", & ")
        return sentence[formatted] if as_sentence else formatted

    def _by(self, role="author"):
        # "Steegen, S., ... (2016)." A name ending in an initial keeps its one full stop.
        return join(sep=" ")[self.format_names(role, as_sentence=False), join["(", field("year"), ")."]]

    def _edition(self):
        return optional[join["(", field("edition"), " ed.)"]]

    def get_article_template(self, e):
        volume = optional[join[tag("em")[field("volume")], optional["(", field("number"), ")"]]]
        return join(sep=" ")[
            self._by(),
            self.format_title(e, "title"),
            sentence[tag("em")[field("journal")], volume, optional[pages]],
            self.format_web_refs(e),
        ]

    def get_book_template(self, e):
        return join(sep=" ")[
            self._by(),
            sentence(sep=" ")[tag("em")[field("title")], self._edition()],
            sentence[field("publisher")],
            self.format_web_refs(e),
        ]

    def get_incollection_template(self, e):
        editors = join(sep=" ")[
            "In",
            names("editor", sep=", ", sep2=" & ", last_sep=", & "),
            "(Eds.),",
            tag("em")[field("booktitle")],
            join["(pp. ", pages, ")"],
        ]
        return join(sep=" ")[
            self._by(),
            self.format_title(e, "title"),
            sentence[editors],
            sentence[field("publisher")],
            self.format_web_refs(e),
        ]

    def get_misc_template(self, e):
        return join(sep=" ")[
            self._by(),
            self.format_title(e, "title"),
            sentence[optional[field("howpublished")]],
            self.format_web_refs(e),
        ]


def _entries():
    """The bibliography's entries. The file is read at every call: a build runs notebook after notebook in one
    kernel and records the files each reads, so a read kept from an earlier notebook would hide the file from
    the next, which would not run again when it changed. Only its parsing is kept, for its text."""
    return _parsed(BIB_FILE.read_text(encoding="utf-8")).entries


@functools.lru_cache(maxsize=1)
def _parsed(text: str):
    from pybtex.database import parse_string

    return parse_string(text, "bibtex")


@functools.cache
def _house_style() -> HouseStyle:
    return HouseStyle()  # its plugins are looked up when it is made


def find(source: str) -> str | None:
    """The key of the bibliography entry a table's source text cites: by its DOI, or else by first author's
    surname and the year after it ("Blevins et al. 2015, J Trauma Stress ..." is ``blevins2015``); None when
    it cites none."""
    doi = re.search(r"doi:\s*(10\.\S+?)\.?(?:\s|$)", source)
    match = re.match(r"(?P<surname>[^\W\d][\w'’ -]*?)(?: et al\.?| and [^,\d]+)?,? (?P<year>\d{4})\b", source)
    for key, entry in _entries().items():
        if doi and entry.fields.get("doi", "").lower() == doi[1].lower():
            return key
    if not match:
        return None
    for key, entry in _entries().items():
        persons = entry.persons.get("author") or []
        if persons and _surname(persons[0]) == match["surname"] and entry.fields.get("year") == match["year"]:
            return key
    return None


def short(key: str) -> str:
    """The text's citation of ``key``, without parentheses ("Blevins et al., 2015")."""
    return author_year(_entries()[key])


def full(key: str) -> str:
    """The bibliography's entry for ``key``, as plain text."""
    entry = _entries()[key]
    return _house_style().format_entry(short(key), entry).text.render(_text())


def _round_brackets() -> BracketStyle:
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class RoundAuthorYear(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` in round brackets, several works separated by semicolons:
    "(Feder et al., 2021; Williams et al., 2022)", "Feder et al. (2021)", as the field cites. At module level,
    so Sphinx can pickle its environment."""

    bracket_parenthetical: BracketStyle = dataclass_field(default_factory=_round_brackets)
    bracket_textual: BracketStyle = dataclass_field(default_factory=_round_brackets)


def setup(app):
    """Sphinx extension: makes the house styles available to sphinxcontrib-bibtex as ``house``, the
    bibliography's to pybtex (``bibtex_default_style``) and the text's to sphinxcontrib-bibtex's own plugin
    registry (``bibtex_reference_style``)."""
    from pybtex.plugin import register_plugin
    from sphinxcontrib.bibtex.plugin import register_plugin as register_referencing

    register_plugin("pybtex.style.formatting", "house", HouseStyle, force=True)
    register_referencing("sphinxcontrib.bibtex.style.referencing", "house", RoundAuthorYear, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
