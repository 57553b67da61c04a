"""Reader names: what the book calls each statistic, outcome and column a reader meets, in one place.

The code, the contract and ``results.json`` name things ``d_av`` or ``pcl5_post``; a reader meets *d* with a
subscript "av" and "PCL-5 after treatment". Tables (:mod:`~ketamine_ptsd.presentation.tables`), figure labels
and the chapters' prose (MyST substitutions such as ``{{ d_av }}``, set up by :func:`setup`) take their names
from :data:`TERMS`. A name a user types (a column of the data file, a parameter, a key of ``results.json``) is
not translated: it is shown as code.
"""

from __future__ import annotations

from html import escape
from typing import NamedTuple


class Term(NamedTuple):
    """A reader's name: ``words`` alone, or a statistical symbol (``symbol`` with its ``subscript``) that
    ``words`` describes."""

    words: str
    symbol: str | None = None
    subscript: str | None = None


TERMS: dict[str, Term] = {
    # Standardised effects: d with its standardiser as subscript (Lakens 2013's notation).
    "d_av": Term("standardised mean change over the average of the two SDs", "d", "av"),
    "d_z": Term("standardised mean change over the SD of the changes", "d", "z"),
    "d_s": Term("standardised difference between two groups", "d", "s"),
    "g_av": Term("Hedges-corrected standardised mean change", "g", "av"),
    "d_pre": Term("standardised mean change over the baseline SD", "d", "pre"),
    "d_post": Term("standardised mean change over the post-treatment SD", "d", "post"),
    # Outcomes, as the chapters define them.
    "mean_change": Term("mean change"),
    "effect_size": Term("effect size"),
    "clinically_significant": Term("clinically significant change"),
    "clinically_significant_marx": Term("clinically significant change with reliable change (Marx)"),
    "reliable_improvement": Term("reliable improvement"),
    "reliable_change_marx": Term("reliable change (Marx)"),
    "remission": Term("remission"),
    "response": Term("response"),
    # Published aggregates the paper's claims state (``result_key`` in data/published_claims.yml).
    "pre_mean": Term("mean PCL-5 before treatment"),
    "post_mean": Term("mean PCL-5 after treatment"),
    "pre_sd": Term("SD of PCL-5 before treatment"),
    "post_sd": Term("SD of PCL-5 after treatment"),
    "pct_clinically_significant": Term("clinically significant change (% of completers)"),
    "pct_remission": Term("remission (% of completers)"),
    # Columns of the data contract, as the text speaks of them.
    "pcl5_pre": Term("PCL-5 before treatment"),
    "pcl5_post": Term("PCL-5 after treatment"),
    "days_between": Term("days between assessments"),
    "n_psych_meds": Term("psychiatric medications"),
    "suicidal_ideation": Term("suicidal ideation"),
    "n_infusions": Term("infusions"),
    "age": Term("age"),
    "gender": Term("gender"),
    "psychotherapy": Term("psychotherapy"),
    "race_ethnicity": Term("race/ethnicity"),
}


def html(name: str) -> str:
    """The reader's name of ``name`` as HTML: a symbol in italics with its subscript, else the words.

    >>> html("d_av"), html("mean_change")
    ('<i>d</i><sub>av</sub>', 'mean change')
    """
    term = TERMS[name]
    if term.symbol is None:
        return escape(term.words)
    return f"<i>{term.symbol}</i><sub>{term.subscript}</sub>"


def markdown(name: str) -> str:
    """The reader's name as MyST Markdown (``*d*{sub}`av```), what the prose's ``{{ d_av }}`` becomes."""
    term = TERMS[name]
    return term.words if term.symbol is None else f"*{term.symbol}*{{sub}}`{term.subscript}`"


def mathtext(name: str) -> str:
    """The reader's name for a figure: Matplotlib mathtext for a symbol (``$d_{\\mathrm{av}}$``), else the words."""
    term = TERMS[name]
    return term.words if term.symbol is None else f"${term.symbol}_{{\\mathrm{{{term.subscript}}}}}$"


def claim_label(claim) -> str:
    """A published claim as a reader names it: what it states and where ("mean PCL-5 before treatment
    (preprint)"), not its id in data/published_claims.yml."""
    name = claim["result_key"]
    # A statistic stays its name, which a table sets as notation; anything else is said in words.
    return f"{name if TERMS[name].symbol else TERMS[name].words} ({claim['version']})"


def text(name: str) -> str:
    """The reader's name as plain text, where no markup can go (alt text, a tooltip): "d (av)" for a symbol."""
    term = TERMS[name]
    return term.words if term.symbol is None else f"{term.symbol} ({term.subscript})"


def setup(app):
    """Sphinx extension: the prose writes ``{{ d_av }}`` and reads *d* with a subscript "av"."""

    def substitutions(app, config):
        config.myst_substitutions = {
            **{k: markdown(k) for k, t in TERMS.items() if t.symbol},
            **config.myst_substitutions,
        }

    app.connect("config-inited", substitutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
