"""Regression to the mean: its share of the observed drop, what the entry threshold implies, and the grid.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.regression`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ketamine_ptsd.analysis.limitations import pct_change_explained_by_rtm
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.presentation.limitations._common import Row, fmt, join, markdown, sentence


def summary_row(rtm: Mapping | None, observed_mean_change: float | None, observed_suppressed: bool) -> Row:
    """The summary table's row: the points regression to the mean alone would take off.

    Parameters
    ----------
    rtm : mapping or None
        From :func:`ketamine_ptsd.analysis.limitations.rtm_expected_change`.
    observed_mean_change : float or None
        The completers' mean change in PCL-5 points.
    observed_suppressed : bool
        Whether that change was suppressed (then no share of it is given).

    Returns
    -------
    Row
    """
    q, text = None, "not computed"
    if rtm is not None:
        q = rtm["rtm_expected_change"]
        pct = pct_change_explained_by_rtm(q, observed_mean_change)
        of = (
            "the suppressed mean drop"
            if observed_suppressed
            else f"the {fmt(observed_mean_change, 2)}-point mean drop ({fmt(pct)}%)"
        )
        text = (
            f"{q:.2f} points of {of} if patients "
            f"entered at PCL-5 >= {rtm['entry_threshold']:g} from a population with mean "
            f"{rtm['population_mean']:g}, SD {rtm['population_sd']:g}, test-retest r {rtm['reliability']:g}"
        )
    return Row(
        "regression to the mean",
        "inflate",
        q,
        "PCL-5 points",
        text,
        "a second baseline PCL-5 after selection, or a concurrent comparison group selected the same way",
    )


def paragraph(rtm: Mapping, pct_rtm: float | None, entry: Mapping, outcome: Mapping, min_cell: int):
    """Regression to the mean against the observed change, and how many patients started below the assumed
    entry threshold (never how low: the lowest baseline is one patient's score).

    Parameters
    ----------
    rtm : mapping
        From :func:`ketamine_ptsd.analysis.limitations.rtm_expected_change`.
    pct_rtm : float or None
        From :func:`ketamine_ptsd.analysis.limitations.pct_change_explained_by_rtm`.
    entry : mapping
        From :func:`ketamine_ptsd.analysis.limitations.baseline_below_threshold`.
    outcome : mapping
        From :func:`ketamine_ptsd.analysis.stats.suppressed_outcome`.
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    IPython.display.Markdown
    """
    hide_outcome = bool(outcome[SUPPRESSED_KEY])
    lines = [
        sentence(
            "That is {pct:.1f}% of the observed mean drop of {change:.2f} points.",
            "The observed mean change is suppressed, so no share of it is given."
            if hide_outcome
            else "The observed mean change is zero or unknown, so no share of it can be attributed.",
            pct=pct_rtm,
            change=outcome["mean_change"],
        ),
        sentence(
            "A second route uses the cohort's own mean baseline, {pre:.2f}: (1 - rho) times its distance above the "
            "assumed population mean gives {alt:.2f} points.",
            "",
            pre=outcome["pre_mean"],
            alt=rtm["rtm_from_observed_pre_mean"],
        ),
    ]
    follows = (
        "so the clinic did not select patients by it; a lower threshold selects less and predicts less regression."
    )
    if "n_below" in entry[SUPPRESSED_KEY]:
        lines.append(
            f"Fewer than {min_cell} patients (their number is suppressed) started below the assumed threshold, "
            f"{follows}"
        )
    elif entry["n_below"]:
        lines.append(
            sentence(
                "{k:,d} of {n:,d} patients ({pct:.1f}%) started below the assumed threshold, " + follows,
                "",
                k=entry["n_below"],
                n=entry["n"],
                pct=entry["pct_below"],
            )
        )
    elif entry["n"]:
        lines.append(
            "No patient started below the assumed threshold, which is consistent with selection by it but "
            "does not show it."
        )
    return markdown(join(lines))


def grid_paragraph(grid: pd.DataFrame):
    """How far regression to the mean reaches over the grid of assumptions.

    Parameters
    ----------
    grid : DataFrame
        From :func:`ketamine_ptsd.analysis.limitations.rtm_grid`.

    Returns
    -------
    IPython.display.Markdown
    """
    has_pct = "pct_of_observed_change" in grid
    return markdown(
        sentence(
            "Across the grid (population means {m0:.0f} to {m1:.0f}, SDs {s0:.0f} to {s1:.0f}, test-retest r "
            "{r0:.2f} to {r1:.2f}), regression to the mean explains between {lo:.1f}% and {hi:.1f}% of the observed "
            "change: at most {pts:.2f} points.",
            "Across the grid, regression to the mean predicts a drop of at most {pts:.2f} points.".format(
                pts=grid["rtm_expected_change"].max()
            ),
            m0=grid["population_mean"].min(),
            m1=grid["population_mean"].max(),
            s0=grid["population_sd"].min(),
            s1=grid["population_sd"].max(),
            r0=grid["reliability"].min(),
            r1=grid["reliability"].max(),
            lo=grid["pct_of_observed_change"].min() if has_pct else None,
            hi=grid["pct_of_observed_change"].max() if has_pct else None,
            pts=grid["rtm_expected_change"].max(),
        )
    )
