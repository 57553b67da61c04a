"""Dropout: the completers' figures against intention to treat and multiple imputation.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.missing`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ketamine_ptsd.presentation.limitations._common import (
    Row,
    fmt,
    is_suppressed,
    markdown,
    sentence,
    suppressed_text,
)


def summary_row(itt: Mapping | None, mi: Mapping | None, ci_level: float, min_cell: int) -> Row:
    """The summary table's row: how much counting dropouts as unchanged lowers the mean drop.

    Parameters
    ----------
    itt, mi : mapping or None
        From :func:`ketamine_ptsd.analysis.limitations.itt_summary` and
        :func:`ketamine_ptsd.analysis.limitations.multiple_imputation`.
    ci_level : float
        Confidence level of the interval passed in, for the sentence.
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    Row
    """
    q, text = None, "not computed"
    if is_suppressed(itt, "itt_mean_change"):
        text = suppressed_text(min_cell)
    elif itt is not None and itt.get("itt_mean_change") is not None and not itt["n_dropouts"]:
        q = 0.0
        text = (
            f"all {itt['n_patients']} patients in the file have a post score; patients who left before a "
            f"second assessment may never have become records"
        )
    elif itt is not None and itt.get("itt_mean_change") is not None:
        q = itt["completer_mean_change"] - itt["itt_mean_change"]
        text = (
            f"{itt['n_dropouts']} of {itt['n_patients']} patients have no post score; counting them as "
            f"unchanged lowers the mean drop from {itt['completer_mean_change']:.1f} to "
            f"{itt['itt_mean_change']:.1f} points"
        )
        if mi is not None and mi.get("mi_mean_change") is not None:
            text += (
                f"; multiple imputation from baseline gives {mi['mi_mean_change']:.1f} "
                f"({ci_level:.0%} CI {fmt(mi['mi_ci_low'])} to {fmt(mi['mi_ci_high'])})"
            )
        elif is_suppressed(mi, "mi_mean_change"):
            text += f"; multiple imputation {suppressed_text(min_cell)}"
    return Row(
        "dropout (completer analysis)",
        "inflate",
        q,
        "PCL-5 points, completer minus ITT",
        text,
        "follow every patient who starts treatment and analyse by intention to treat, with reasons for leaving",
        is_suppressed(itt, "itt_mean_change"),
    )


def paragraph(itt: Mapping, mi: Mapping, missing: pd.DataFrame, outcome: Mapping, ci_level: float, min_cell: int):
    """The completers' figures against intention to treat and multiple imputation.

    Parameters
    ----------
    itt, mi : mapping
        From :func:`ketamine_ptsd.analysis.limitations.itt_summary` and
        :func:`ketamine_ptsd.analysis.limitations.multiple_imputation`.
    missing : DataFrame
        From :func:`ketamine_ptsd.analysis.limitations.missing_data_comparison`.
    outcome : mapping
        From :func:`ketamine_ptsd.analysis.stats.suppressed_outcome`.
    ci_level : float
        Confidence level of the intervals passed in, for the sentence.
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    IPython.display.Markdown
    """
    if itt["n_dropouts"] == 0:
        return markdown(
            "Every patient in this file has an assessment after treatment, so the three analyses agree: "
            "nothing is imputed. What the file cannot show is who never became a record: patients who stopped "
            "before a second assessment might not have been entered at all."
        )
    return markdown(
        sentence(
            "Counting dropouts as unchanged moves the mean change from {comp:.2f} to {itt:.2f} points "
            "({pct:.0f}% of the completers' figure; {level:.0%} CI {lo:.2f} to {hi:.2f}) and d_av from {d:.2f} "
            "to {ditt:.2f}; multiple imputation gives {mi:.2f} points ({level:.0%} CI {mlo:.2f} to {mhi:.2f}; "
            "fraction of missing information {fmi:.2f}).",
            f"Some of these figures rest on fewer than {min_cell} patients and are suppressed; the table shows the "
            "others."
            if missing.attrs["suppressed"]
            else "With these data not every missing-data analysis could be computed; the table shows those that could.",
            comp=outcome["mean_change"],
            itt=itt["itt_mean_change"],
            pct=itt["itt_pct_of_completer_change"],
            level=ci_level,
            lo=itt["itt_ci_low"],
            hi=itt["itt_ci_high"],
            d=outcome["d_av"],
            ditt=missing.loc[1, "d_av"],
            mi=mi["mi_mean_change"],
            mlo=mi["mi_ci_low"],
            mhi=mi["mi_ci_high"],
            fmi=mi["fraction_missing_information"],
        )
    )
