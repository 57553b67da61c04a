"""No control group: what a placebo response as large as the published control arms' would leave of d_av.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.benchmarks`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ketamine_ptsd.analysis.limitations import placebo_at_largest_control
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.analysis.values import as_float
from ketamine_ptsd.presentation.limitations._common import Row, fmt, markdown, sentence, suppressed_text


def summary_row(
    placebo: pd.DataFrame | None, observed_d: float | None, observed_suppressed: bool, min_cell: int
) -> Row:
    """The summary table's row: the d_av left at the largest control-arm within-group d in the benchmarks.

    Parameters
    ----------
    placebo : DataFrame or None
        From :func:`ketamine_ptsd.analysis.limitations.placebo_sensitivity`.
    observed_d : float or None
        The cohort's d_av.
    observed_suppressed : bool
        Whether the cohort's d_av was suppressed (then so is what is left of it).
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    Row
    """
    q, text = None, suppressed_text(min_cell) if observed_suppressed else "not computed"
    row = placebo_at_largest_control(placebo) if placebo is not None else None
    if row is not None:
        q = row["remaining_d"]
        text = (
            f"if the placebo response equalled the largest control-arm within-group d in the benchmarks "
            f"({row['placebo_d']:.2f}), d_av {fmt(observed_d, 2)} would fall to {row['remaining_d']:.2f} "
            f"({fmt(as_float(row['pct_of_observed']), 0)}% of the observed)"
        )
    return Row(
        "no control group: placebo and expectancy response",
        "inflate",
        q,
        "d_av left over",
        text,
        "randomised trial against an active placebo (e.g. midazolam) with blinded outcome raters",
        q is None and observed_suppressed,
    )


def paragraph(at_max: Mapping | None, outcome: Mapping):
    """What would be left of d_av if the non-drug response were the largest control arm's.

    Parameters
    ----------
    at_max : mapping or None
        From :func:`ketamine_ptsd.analysis.limitations.placebo_at_largest_control`.
    outcome : mapping
        From :func:`ketamine_ptsd.analysis.stats.suppressed_outcome`.

    Returns
    -------
    IPython.display.Markdown
    """
    if outcome[SUPPRESSED_KEY]:
        missing = "The sensitivity table is suppressed with the cohort's d_av, which rests on too few completers."
    else:
        missing = (
            "The sensitivity table could not be computed: it needs the cohort's d_av and a control-arm "
            "within-group d in the benchmarks."
        )
    row = at_max if at_max is not None else {}
    return markdown(
        sentence(
            "If the non-drug response were as large as the largest control-arm within-group d in the benchmarks, "
            "{p:.2f}, this cohort's d_av of {d:.2f} would shrink to {rem:.2f}: {pct:.0f}% of what was observed, or "
            "{pts:.2f} of the {change:.2f} points.",
            missing,
            p=row.get("placebo_d"),
            d=outcome["d_av"],
            rem=row.get("remaining_d"),
            pct=row.get("pct_of_observed"),
            pts=row.get("remaining_points"),
            change=outcome["mean_change"],
        )
    )
