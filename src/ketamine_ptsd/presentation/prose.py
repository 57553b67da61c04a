"""Sentences and notices the chapters show, written from computed values."""

from __future__ import annotations

import re

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT

#: The house style's signs: a true minus, an en dash between the ends of a range, a multiplication sign.
MINUS, EN_DASH, TIMES = "\u2212", "\u2013", "\u00d7"
#: Decimals per kind of quantity, wherever it is shown: a share of patients, PCL-5 points, a standardised effect.
DECIMALS = {"share": 1, "points": 2, "d": 2, "r": 2}
_SUPERSCRIPT = str.maketrans(
    "0123456789-\u2212", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b\u207b"
)


def number(x: float, decimals: int | str = 2, *, thousands: bool = False) -> str:
    """``x`` in the house style: ``decimals`` places (or those of a kind in :data:`DECIMALS`), a true minus for
    a negative, never a negative zero.

    >>> number(-0.204), number(-0.004), number(63.2478, "share"), number(12345.6, 0, thousands=True)
    ('−0.20', '0.00', '63.2', '12,346')
    """
    places = DECIMALS[decimals] if isinstance(decimals, str) else decimals
    text = f"{x:,.{places}f}" if thousands else f"{x:.{places}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0.00: rounded to zero, no sign left to show
    return text.replace("-", MINUS)


def percent(x: float, decimals: int | str = "share") -> str:
    """A percentage of patients: ``percent(63.2478)`` is "63.2%"."""
    return number(x, decimals) + "%"


def span(low: float, high: float, decimals: int | str = 2) -> str:
    """A range of two numbers, with an en dash, or "to" when a minus would stand beside the dash.

    >>> span(22, 47, 0), span(-3.55, 1.2)
    ('22–47', '−3.55 to 1.20')
    """
    sep = " to " if min(low, high) < 0 else EN_DASH
    return f"{number(low, decimals)}{sep}{number(high, decimals)}"


def spread(low: str, high: str) -> str:
    """A range of two values as shown, in words: "from 59.0% to 66.7%", or "61.5% throughout" when both ends
    read the same (never "from 61.5% to 61.5%").

    >>> spread("59.0%", "66.7%"), spread("61.5%", "61.5%")
    ('from 59.0% to 66.7%', '61.5% throughout')
    """
    return f"{low} throughout" if low == high else f"from {low} to {high}"


def scientific(x: float, digits: int = 2) -> str:
    """A very large or small number as "1.3 × 10³¹" (``digits`` significant decimals), never "1.3e+31".

    >>> scientific(1.33e31, 1), scientific(-4.2e-5, 1)
    ('1.3 × 10³¹', '−4.2 × 10⁻⁵')
    """
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{number(float(mantissa), digits)} {TIMES} 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def format_p(p: float | None) -> str:
    """A p-value as a reader expects it: "< .001" below a thousandth, else three decimals."""
    if p is None:
        return "not computed"
    if p < 0.001:
        return "< .001"
    return f"= {p:.3f}".replace("0.", ".", 1)


def p_value(p: float) -> str:
    """A p value standing alone, as in a table's p column (APA): ".027", "< .001"."""
    return format_p(p).removeprefix("= ")


# Text in the house style: what typeset() mends in a sentence or label written with ASCII signs.
_WORDS_AS_GIVEN = re.compile(r"\S*(?:://|doi\.org|doi:|\d{4}-\d{2}-\d{2})\S*", re.IGNORECASE)
_HYPHEN_MINUS = re.compile(r"(?<![\w.\-\u2013\u2212/])-(?=\.?\d)")
_HYPHEN_RANGE = re.compile(r"(?<![\w.\-])(\d+(?:\.\d+)?)-(?=\d)")
_E_NOTATION = re.compile(r"\b(\d(?:\.\d+)?)[eE]([+\-\u2212]?\d+)\b")
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])\u2212(0(?:\.0+)?)(?![\d.])")
_COMPARISONS = {">=": "\u2265", "<=": "\u2264"}
#: "Marx et al. 2022" as the book cites, author-year with a comma ("Marx et al., 2022").
_CITED_YEAR = re.compile(r"\bet al\. (\d{4}[a-z]?)\b(?!')")


def _typeset_words(text: str) -> str:
    for ascii_sign, sign in _COMPARISONS.items():
        text = text.replace(ascii_sign, sign)
    text = _E_NOTATION.sub(lambda m: scientific(float(m[0]), max(len(m[1]) - 2, 0)), text)
    text = _HYPHEN_RANGE.sub(lambda m: m[1] + EN_DASH, text)
    text = _HYPHEN_MINUS.sub(MINUS, text)
    text = _CITED_YEAR.sub(r"et al., \1", text)
    return _NEGATIVE_ZERO.sub(r"\1", text)


def typeset(text: str) -> str:
    """``text`` in the house style: a minus sign for a hyphen before a number ("−0.20"), an en dash between the
    ends of a range ("0–80"), ≥ and ≤ for ">=" and "<=", "1.3 × 10³¹" for e-notation, no negative zero, a
    comma between "et al." and the year. Words
    that are not prose (a web address, a DOI, an ISO date) and names inside a word ("PCL-5") stay as written.

    The book's Sphinx transform (:func:`setup`) passes every text a reader sees outside code through here; tables
    (:mod:`~ketamine_ptsd.presentation.tables`) and figures (:func:`~ketamine_ptsd.presentation.figures.fitted`)
    pass theirs.

    >>> typeset("change >= 30%, CI -3.55 to 1.2, range 0-80, 1.33e+31, -0.0, PCL-5 on 2024-01-08")
    'change ≥ 30%, CI −3.55 to 1.2, range 0–80, 1.33 × 10³¹, 0.0, PCL-5 on 2024-01-08'
    """
    out, last = [], 0
    for kept in _WORDS_AS_GIVEN.finditer(text):
        out += [_typeset_words(text[last : kept.start()]), kept[0]]
        last = kept.end()
    return "".join(out) + _typeset_words(text[last:])


#: A name from the code in running text: lower-case words joined by underscores (``pcl5_post``, ``d_av``), not
#: part of a file name (``example_cohort.csv``) or a longer word.
NAME = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-]|\.\w)")


def names(text: str) -> list[tuple[str, str]]:
    """``text`` cut into pieces ``(kind, text)``: ``"text"``, a statistic the glossary writes as notation
    (``"symbol"``: its name), or a name a user types (``"code"``), which is shown as code.

    >>> names("d_av = 1.6 where pcl5_post < 33")
    [('symbol', 'd_av'), ('text', ' = 1.6 where '), ('code', 'pcl5_post'), ('text', ' < 33')]
    """
    from ketamine_ptsd.presentation import glossary

    pieces, last = [], 0
    for m in NAME.finditer(text):
        pieces += [("text", text[last : m.start()])] if m.start() > last else []
        term = glossary.TERMS.get(m[0])
        pieces.append(("symbol" if term is not None and term.symbol else "code", m[0]))
        last = m.end()
    return pieces + ([("text", text[last:])] if last < len(text) else [])


def setup(app):
    """Sphinx extension: every text node a reader sees, except code, math and raw HTML, in the house style, its
    statistics as notation and the names a user types as code."""
    from docutils import nodes
    from sphinx.transforms import SphinxTransform

    from ketamine_ptsd.presentation import glossary

    skip = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw, nodes.reference)

    def node(kind, text):
        if kind == "code":
            return nodes.literal(text, text)
        if kind == "symbol":
            term = glossary.TERMS[text]
            return [nodes.emphasis(term.symbol, term.symbol), nodes.subscript(term.subscript, term.subscript)]
        return nodes.Text(text)

    class HouseStyle(SphinxTransform):
        default_priority = 900  # after glue values and citations are in the tree

        def apply(self):
            for text in list(self.document.findall(nodes.Text)):
                if any(isinstance(a, skip) for a in _ancestors(text)):
                    continue
                styled = typeset(str(text))
                if styled == str(text) and not NAME.search(styled):
                    continue
                parts = [n for kind, piece in names(styled) for n in _flat(node(kind, piece))]
                text.parent.replace(text, parts)

    app.add_post_transform(HouseStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _flat(node_or_nodes):
    return node_or_nodes if isinstance(node_or_nodes, list) else [node_or_nodes]


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


ORIGIN_NOTES = {
    "synthetic": (
        "```{admonition} Synthetic data\n:class: warning\n"
        "The numbers on this page come from the **bundled synthetic reconstruction**, not from patient "
        "records: the study's raw data are not public. The reconstruction was generated to reproduce the "
        "published aggregates (means, SDs, percentages), so it can check the paper's arithmetic and show "
        "what the analyses do, but nothing on this page is new evidence about patients.\n```"
    ),
    "user": (
        "```{admonition} Data\n:class: note\n"
        "The numbers on this page come from the cohort file this book was built on; its SHA-256 is given in "
        "the provenance appendix. They are not the published study's data.\n```"
    ),
}


def data_origin_note(data_origin: str):
    """The notice every page with numbers opens with: where its numbers come from."""
    from IPython.display import Markdown

    return Markdown(ORIGIN_NOTES[data_origin])


#: Optional columns and what goes missing from the book without them.
NEEDED_BY = {
    "days_between": "the moderator test of days between assessments",
    "age": "the moderator test of age and the age rows of Table 1",
    "gender": "the moderator test of gender, the share of women and the gender rows of Table 1",
    "race_ethnicity": "the race/ethnicity rows of Table 1 and the unreported share",
    "n_infusions": "the mean number of infusions",
    "n_psych_meds": "the moderator test of psychiatric medications",
    "suicidal_ideation": "the moderator test of suicidal ideation",
    "psychotherapy": "the psychotherapy contrast and its moderator test",
}


def absent_columns_note(cohort):
    """Markdown naming the optional columns the file lacks and the analyses that are therefore off."""
    from IPython.display import Markdown

    absent = [c for c in cohort.attrs.get("absent_columns", []) if c in NEEDED_BY]
    if not absent:
        return Markdown("Every optional column of the data contract is present, so every analysis runs.")
    lines = [f"- `{c}`: turns off {NEEDED_BY[c]}." for c in absent]
    return Markdown("The data file lacks these optional columns, so some analyses do not run:\n\n" + "\n".join(lines))


def prorated_note(values: dict, limit: int, min_cell: int, has_items: bool):
    """How many PCL-5 totals were prorated from items a patient skipped, and by which rule; nothing for a file
    without items (its totals are as given)."""
    from IPython.display import Markdown

    if not has_items:
        return None
    if limit == 0:
        return Markdown(
            "PCL-5 totals are not prorated (`pcl5_items_missing_max` is 0): an assessment with an "
            "empty item has no total."
        )
    n = values["n_prorated_totals"]
    if n == 0:
        return Markdown("No PCL-5 total was prorated: every assessment gives its total or all 20 items.")
    # Hidden by the patients it rests on, not by the number of totals (one patient may have several).
    count = f"Some ({SUPPRESSED_TEXT}: from fewer than {min_cell} patients)" if n is None else f"{n:,}"
    return Markdown(
        f"{count} PCL-5 totals were prorated: an assessment with at most {limit} of its 20 items empty "
        "(`pcl5_items_missing_max`) has as its total the mean of the answered items x 20, rounded to a whole "
        "number, the person-mean replacement {cite:t}`downey1998` found accurate with up to a fifth of a scale's "
        "items missing. An assessment with more items empty has no total."
    )


def suppressed_note(min_cell: int, group: str):
    """The notice a page shows when its statistics are suppressed because ``group`` are too few."""
    from IPython.display import Markdown

    return Markdown(
        f"```{{admonition}} Suppressed\n:class: note\nThe data hold fewer than {min_cell} {group}. Statistics of so "
        "few patients would describe identifiable people, so they are suppressed here and `null` in "
        "`results.json` (the small-cell rule, parameter `min_cell`).\n```"
    )


def psychotherapy_sentence(contrast: dict, ci_level: float, min_cell: int):
    """The psychotherapy result in words, or why it could not be computed or is not shown."""
    from IPython.display import Markdown

    if contrast.get(SUPPRESSED_KEY):
        return Markdown(
            f"Not shown: fewer than {min_cell} completers with, or fewer than {min_cell} without, psychotherapy. "
            "A mean or a contrast of so few patients is suppressed (`min_cell`)."
        )
    if contrast["psychotherapy_d"] is None:
        return Markdown(
            "Not computed: the data need at least two completers with and two without psychotherapy "
            f"(found {contrast['n_psychotherapy']} and {contrast['n_no_psychotherapy']})."
        )
    c = contrast
    return Markdown(
        f"Completers with psychotherapy (n = {c['n_psychotherapy']}) improved by "
        f"{c['mean_change_psychotherapy']:.2f} points on average, those without (n = {c['n_no_psychotherapy']}) "
        f"by {c['mean_change_no_psychotherapy']:.2f}: d = {c['psychotherapy_d']:.2f} "
        f"({ci_level:.0%} CI {c['psychotherapy_d_ci_low']:.2f} to {c['psychotherapy_d_ci_high']:.2f}), "
        f"p {format_p(c['psychotherapy_p'])}."
    )


def opening(data_origin: str):
    """The landing page's first paragraph: the paper's cohort for the bundled reconstruction of it, the
    data file's cohort for anyone else's data."""
    from IPython.display import Markdown

    measured = (
        "PTSD symptoms measured by the PTSD Checklist for DSM-5 (PCL-5; {cite:alp}`blevins2015`) before the first "
        "infusion and after treatment"
    )
    if data_origin == "synthetic":
        return Markdown(
            "This book re-analyses the cohort reported by {cite:t}`macconnel2024`: outpatients of one New York "
            "City clinic with treatment-resistant post-traumatic stress disorder (PTSD) who received a course of "
            f"intravenous ketamine in a psychedelic-style setting, with {measured}. The paper reported a large "
            "drop in symptoms and that most patients no longer scored above the threshold for a PTSD diagnosis."
        )
    return Markdown(
        "This book applies the analyses of {cite:t}`macconnel2024`, a study of intravenous ketamine for "
        "treatment-resistant post-traumatic stress disorder (PTSD), to the patients of the data file it was built "
        f"from, with {measured}. Who they are, where they were treated and how they were chosen are what the "
        "file and its source say, not what the paper reported."
    )
