"""Who the patients were: race and gender of the cohort beside the Osmind records, and what non-reporting
leaves open.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.representativeness`.
"""

from __future__ import annotations

import pandas as pd

from ketamine_ptsd.analysis.privacy import SUPPRESSED_TEXT
from ketamine_ptsd.analysis.values import as_float
from ketamine_ptsd.presentation.limitations._common import Row, fmt, join, markdown, sentence


def summary_row(represent: pd.DataFrame | None) -> Row:
    """The summary table's row: the share whose race is not reported, and women against the Osmind records.

    Parameters
    ----------
    represent : DataFrame or None
        From :func:`ketamine_ptsd.analysis.limitations.representativeness`.

    Returns
    -------
    Row
    """
    q, text, q_hidden = None, "not computed", False
    if represent is not None and len(represent):
        by = represent.reset_index(drop=True)
        cells_hidden = set(represent.attrs.get("suppressed", ()))
        row_of = {c: i for i, c in enumerate(by["characteristic"])}

        def share(characteristic, column):
            i = row_of[characteristic]
            if (i, column) in cells_hidden:
                return f"a {SUPPRESSED_TEXT} share"
            return f"{fmt(as_float(by.loc[i, column]), 0)}%"

        parts = []
        if "white" in row_of:
            q = as_float(by.loc[row_of["white"], "cohort_pct_unreported"])
            q_hidden = (row_of["white"], "cohort_pct_unreported") in cells_hidden
            parts.append(f"race not reported for {share('white', 'cohort_pct_unreported')}")
        if "women" in row_of:
            parts.append(
                f"women {share('women', 'cohort_value')} of those reporting gender "
                f"(Osmind records {fmt(as_float(by.loc[row_of['women'], 'osmind_value']), 0)}% female)"
            )
        text = "; ".join(parts)
    return Row(
        "records of patients who reached treatment",
        "limit generalisation (direction unknown)",
        q,
        "% race unreported",
        text,
        "multi-site registry with consecutive enrolment and complete demographics",
        q_hidden,
    )


def paragraph(represent: pd.DataFrame):
    """Race and gender of the cohort beside the Osmind records, and what non-reporting leaves open.

    Parameters
    ----------
    represent : DataFrame
        From :func:`ketamine_ptsd.analysis.limitations.representativeness`.

    Returns
    -------
    IPython.display.Markdown
    """
    by_char = represent.set_index("characteristic")
    white, women = by_char.loc["white"], by_char.loc["women"]
    lines = []
    if white["cohort_n_reported"] == 0:
        lines.append(
            "The data file reports no race or ethnicity, so nothing can be said about who the cohort "
            "represents in that respect."
        )
    else:
        lines.append(
            sentence(
                "Race or ethnicity is not reported for {unrep:.1f}% of patients. Among those who reported it, "
                "{v:.1f}% were white, so among all patients the white share could lie anywhere from {lo:.1f}% to "
                "{hi:.1f}%, a span of {span:.1f} percentage points that no increase in sample size narrows: only "
                "asking the patients who did not answer would.",
                "Race or ethnicity is too sparsely or too rarely reported here to give shares without identifying "
                "small groups.",
                unrep=white["cohort_pct_unreported"],
                v=white["cohort_value"],
                lo=white["cohort_all_low"],
                hi=white["cohort_all_high"],
                span=None if white["cohort_all_low"] is None else white["cohort_all_high"] - white["cohort_all_low"],
            )
        )
    lines.append(
        sentence(
            "Women were {v:.1f}% of patients reporting gender (Osmind records: {o:.0f}% female).",
            "The share of women cannot be given from these data.",
            v=women["cohort_value"],
            o=women["osmind_value"],
        )
    )
    lines.append(
        sentence(
            "The Osmind records were {o:.0f}% white. Both samples are patients who reached ketamine treatment and "
            "stayed in the records; neither says how it works for people unlike them.",
            "",
            o=white["osmind_value"],
        )
    )
    return markdown(join(lines))
