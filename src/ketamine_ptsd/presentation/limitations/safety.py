"""Safety and misuse: what a record of no serious adverse event could not exclude.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.safety`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketamine_ptsd.presentation.limitations._common import Row, markdown, sentence


def summary_row(safety: Mapping | None, ci_level: float) -> Row:
    """The summary table's row: the highest per-patient rate of serious events a record of none leaves open.

    Parameters
    ----------
    safety : mapping or None
        From :func:`ketamine_ptsd.analysis.limitations.zero_event_upper_bound`, per patient.
    ci_level : float
        Confidence level of the bound, for the sentence.

    Returns
    -------
    Row
    """
    q, text = None, "no adverse-event data: harms cannot be assessed"
    if safety is not None and safety.get("upper_pct") is not None:
        q = safety["upper_pct"]
        text = (
            f"no adverse-event data; even a record of zero serious events in {safety['n']} patients would "
            f"leave a rate up to {q:.1f}% per patient compatible ({ci_level:.0%} upper bound)"
        )
    return Row(
        "safety and misuse not recorded",
        "hide harms",
        q,
        "% of patients, upper bound with zero events",
        text,
        "prospective adverse-event and substance-use monitoring with follow-up after the course",
    )


def paragraph(per_patient: Mapping, per_infusion: Mapping | None, ci_level: float):
    """What a record of no serious adverse event could not exclude, per patient and per infusion.

    Parameters
    ----------
    per_patient, per_infusion : mapping
        From :func:`ketamine_ptsd.analysis.limitations.zero_event_upper_bound` over patients and over
        infusions (None when the infusions are not given).
    ci_level : float
        Confidence level of the bounds, for the sentence.

    Returns
    -------
    IPython.display.Markdown
    """
    text = sentence(
        "Even if no serious adverse event occurred among these {n:,d} patients, the exact {level:.0%} interval "
        "{cite} for a rate with zero events reaches {up:.2g}% of patients: a record of none cannot exclude a "
        "serious harm in as many as one patient in {one:,.0f}.",
        "With no patients there is no denominator for any safety statement.",
        n=per_patient["n"],
        level=ci_level,
        cite="{cite:p}`clopper1934`",
        up=per_patient["upper_pct"],
        one=None if not per_patient["upper"] else 1 / per_patient["upper"],
    )
    if per_infusion and per_infusion["upper_pct"] is not None:
        text += sentence(
            " Per infusion ({m:,d} recorded), the bound is {up:.2g}%, though infusions of one patient are not "
            "independent.",
            "",
            m=per_infusion["n"],
            up=per_infusion["upper_pct"],
        )
    return markdown(text)
