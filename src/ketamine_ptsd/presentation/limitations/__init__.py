"""The limitations chapter in words: its sentences and its summary table, written from computed values.

One module per limitation, mirroring :mod:`ketamine_ptsd.analysis.limitations`, writes both the limitation's
row of the summary table (``summary_row``) and its paragraphs, so the two cannot drift apart:

- :mod:`.benchmarks`: no control group (placebo and expectancy response);
- :mod:`.regression`: regression to the mean;
- :mod:`.followup`: follow-up time and the natural course;
- :mod:`.missing`: dropout;
- :mod:`.representativeness`: who the patients were;
- :mod:`.multiplicity`: many tests;
- :mod:`.safety`: what a record without adverse events cannot exclude;
- :mod:`.self_report`: the self-reported, unblinded outcome (a row only: nothing to compute);

This package only puts numbers into sentences, and says so when a value could not be computed or was
suppressed. :func:`summary_table` assembles the rows in the chapter's order; :func:`headline` opens the
chapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.analysis.values import plain_frame
from ketamine_ptsd.parameters import DEFAULTS

# Imported under other names: summary_table's keyword arguments (benchmarks=, followup=, safety=, ...)
# keep the names their callers use, and would hide the modules inside it.
from ketamine_ptsd.presentation.limitations import benchmarks as _benchmarks
from ketamine_ptsd.presentation.limitations import followup as _followup
from ketamine_ptsd.presentation.limitations import missing as _missing
from ketamine_ptsd.presentation.limitations import multiplicity as _multiplicity
from ketamine_ptsd.presentation.limitations import regression as _regression
from ketamine_ptsd.presentation.limitations import representativeness as _representativeness
from ketamine_ptsd.presentation.limitations import safety as _safety
from ketamine_ptsd.presentation.limitations import self_report as _self_report
from ketamine_ptsd.presentation.limitations._common import markdown, sentence

__all__ = ["headline", "sentence", "summary_table"]


def headline(outcome: Mapping, ci_level: float, min_cell: int):
    """The number under scrutiny: the completers' mean change and d_av, or why they are not shown.

    Parameters
    ----------
    outcome : mapping
        From :func:`ketamine_ptsd.analysis.stats.suppressed_outcome`.
    ci_level : float
        Confidence level of the interval passed in, for the sentence.
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    IPython.display.Markdown
    """
    if outcome[SUPPRESSED_KEY]:
        missing = (
            f"The number under scrutiny, the completers' within-group effect d_av, is suppressed: it would rest on "
            f"fewer than {min_cell} completers, so the comparisons below that rest on it are left out."
        )
    else:
        missing = (
            "The number under scrutiny, the completers' within-group effect d_av, could not be computed from these "
            "data (it needs at least two completers whose scores vary), so the comparisons below that rest on it "
            "are left out."
        )
    return markdown(
        sentence(
            "The number under scrutiny: among the {n:,d} completers the PCL-5 total fell by {change:.2f} points on "
            "average, a within-group effect of d_av = {d:.2f} ({level:.0%} CI {lo:.2f} to {hi:.2f}).",
            missing,
            n=outcome["n_completers"],
            change=outcome["mean_change"],
            d=outcome["d_av"],
            level=ci_level,
            lo=outcome["d_av_ci_low"],
            hi=outcome["d_av_ci_high"],
        )
    )


def summary_table(
    *,
    observed_mean_change: float | None,
    observed_d: float | None = None,
    placebo: pd.DataFrame | None = None,
    rtm: Mapping | None = None,
    followup: Mapping | None = None,
    change_followup: Mapping | None = None,
    itt: Mapping | None = None,
    mi: Mapping | None = None,
    represent: pd.DataFrame | None = None,
    tests: pd.DataFrame | None = None,
    safety: Mapping | None = None,
    benchmarks: Sequence[Mapping],
    ci_level: float = DEFAULTS["ci_level"],
    observed_suppressed: bool = False,
    min_cell: int = DEFAULTS["min_cell"],
) -> pd.DataFrame:
    """One row per limitation: what it could do to the headline effect, by how much, and what would settle it.

    Every number comes from the other functions' outputs passed in; a limitation whose input is missing
    keeps its row with ``quantity`` None and says so. Inputs suppressed by the small-cell rule (None, and
    named in their ``suppressed`` list or cells) are said to be suppressed, never shown. Each row is written
    by its limitation's module (``summary_row``).

    Parameters
    ----------
    observed_mean_change : float or None
        The completers' mean change in PCL-5 points.
    observed_d : float, optional
        The cohort's d_av.
    placebo : DataFrame, optional
        From :func:`ketamine_ptsd.analysis.limitations.placebo_sensitivity`.
    rtm : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.rtm_expected_change`.
    followup, change_followup : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.followup_summary` and :func:`~ketamine_ptsd.analysis.limitations.change_by_followup`.
    itt, mi : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.itt_summary` and :func:`~ketamine_ptsd.analysis.limitations.multiple_imputation`.
    represent : DataFrame, optional
        From :func:`~ketamine_ptsd.analysis.limitations.representativeness`.
    tests : DataFrame, optional
        From :func:`~ketamine_ptsd.analysis.limitations.multiplicity`.
    safety : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.zero_event_upper_bound`.
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`.
    ci_level : float
        Confidence level of the intervals passed in, for the sentences.
    observed_suppressed : bool
        Whether the observed mean change and d were suppressed (passed as None).
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    pandas.DataFrame
        ``limitation, could_do, quantity, unit, by_how_much, design_to_settle``. ``quantity`` is unrounded;
        ``by_how_much`` is the sentence shown in the book. ``attrs["suppressed"]`` lists the quantities
        hidden by the small-cell rule as ``(row, "quantity")``.
    """
    rows = [
        _benchmarks.summary_row(placebo, observed_d, observed_suppressed, min_cell),
        _regression.summary_row(rtm, observed_mean_change, observed_suppressed),
        _followup.summary_row(followup, change_followup, benchmarks, ci_level, min_cell),
        _missing.summary_row(itt, mi, ci_level, min_cell),
        _representativeness.summary_row(represent),
        _multiplicity.summary_row(tests),
        _safety.summary_row(safety, ci_level),
        _self_report.summary_row(),
    ]
    out = plain_frame(pd.DataFrame([row.cells() for row in rows]))
    out.attrs["suppressed"] = [(i, "quantity") for i, row in enumerate(rows) if row.suppressed]
    return out
