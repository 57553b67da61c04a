"""Follow-up time and the natural course: how long after the first assessment the second came, whether a
longer interval went with a larger change, and how that interval compares with untreated remission.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations.followup` and, for the natural course, the
benchmarks (Morina et al. 2014).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ketamine_ptsd.analysis.limitations import benchmark
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.presentation.limitations._common import (
    Row,
    fmt,
    is_suppressed,
    markdown,
    sentence,
    suppressed_text,
)
from ketamine_ptsd.presentation.prose import format_p


def summary_row(
    followup: Mapping | None,
    change_followup: Mapping | None,
    benchmarks: Sequence[Mapping],
    ci_level: float,
    min_cell: int,
) -> Row:
    """The summary table's row: long minus short follow-up, the median interval and untreated remission.

    Parameters
    ----------
    followup, change_followup : mapping or None
        From :func:`ketamine_ptsd.analysis.limitations.followup_summary` and
        :func:`ketamine_ptsd.analysis.limitations.change_by_followup`.
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`.
    ci_level : float
        Confidence level of the interval passed in, for the sentence.
    min_cell : int
        The small-cell rule's threshold, for the sentence.

    Returns
    -------
    Row
    """
    morina = benchmark(benchmarks, "morina2014_untreated_remission")
    q, text = None, "days_between not available"
    if change_followup is not None and change_followup.get("difference") is not None:
        q = change_followup["difference"]
        text = (
            f"mean drop of completers followed more than {change_followup['split_days']:g} days minus the "
            f"rest: {q:+.1f} points ({ci_level:.0%} CI {fmt(change_followup['ci_low'])} to "
            f"{fmt(change_followup['ci_high'])})"
        )
    elif is_suppressed(change_followup, "difference"):
        text = f"long against short follow-up: {suppressed_text(min_cell)}"
    elif change_followup is not None and change_followup.get("reason"):
        text = change_followup["reason"]
    if followup is not None and followup.get("median") is not None:
        text += f"; median follow-up {followup['median']:g} days"
        if followup.get("q1") is not None and followup.get("q3") is not None:
            text += f" (IQR {followup['q1']:g}-{followup['q3']:g})"
    period = benchmark(benchmarks, "morina2014_observation_period")
    if morina is not None and morina["value"] is not None:
        text += f"; untreated PTSD remits in {morina['value']:g}%"
        if period is not None and period["value"] is not None:
            text += f" over a mean of {period['value']:g} months"
        text += " (Morina et al. 2014)"
    return Row(
        "natural course over the follow-up",
        "inflate",
        q,
        "PCL-5 points, long minus short follow-up",
        text,
        "waiting-list or treatment-as-usual arm assessed on the same schedule",
        is_suppressed(change_followup, "difference"),
    )


def paragraph(follow: Mapping, min_cell: int):
    """How long after the first assessment the second was made, or that the file does not say.

    Parameters
    ----------
    follow : mapping
        From :func:`ketamine_ptsd.analysis.limitations.followup_summary`.
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    IPython.display.Markdown
    """
    if follow["n"] == 0:
        return markdown(
            "**The data file gives no time between the two assessments** (neither `days_between` nor the "
            "two dates), so nothing in this section can be computed: whether the change was measured after "
            "days or after years, whether it lasted, and how much of it the natural course could explain are "
            "all unknown for this cohort."
        )
    if follow["n"] is None:
        text = (
            f"Fewer than {min_cell} completers have a known interval between the assessments, so how long "
            "it was is suppressed."
        )
    else:
        text = sentence(
            "The {n:,d} completers with a known interval were reassessed a median of {med:.0f} days after their "
            "first assessment",
            f"For the {follow['n']:,d} completers with a known interval, the median time "
            f"between the assessments is suppressed: fewer than {min_cell} of them lie on one side of it",
            n=follow["n"],
            med=follow["median"],
        )
        spread = [
            sentence("interquartile range {q1:.0f} to {q3:.0f}", "", q1=follow["q1"], q3=follow["q3"]),
            sentence(
                "nine in ten between {lo:.0f} and {hi:.0f} days, the 5th and 95th percentiles",
                "",
                lo=follow["p05"],
                hi=follow["p95"],
            ),
        ]
        if follow["median"] is not None and any(spread):
            text += " (" + "; ".join(part for part in spread if part) + ")"
        text += "."
        if follow["median"] is not None and set(follow[SUPPRESSED_KEY]) & {"q1", "q3", "p05", "p95"}:
            text += f" Percentiles with fewer than {min_cell} completers beyond them are suppressed."
    if "n_completers_missing" in follow[SUPPRESSED_KEY]:
        text += f" For fewer than {min_cell} completers the interval is not recorded."
    elif follow["n_completers_missing"]:
        text += f" For {follow['n_completers_missing']:,d} completers the interval is not recorded."
    return markdown(text)


def change_paragraph(by_time: Mapping, follow: Mapping, ci_level: float):
    """Short against long follow-up, or why they could not be compared.

    Parameters
    ----------
    by_time : mapping
        From :func:`ketamine_ptsd.analysis.limitations.change_by_followup`.
    follow : mapping
        From :func:`ketamine_ptsd.analysis.limitations.followup_summary`.
    ci_level : float
        Confidence level of the interval passed in, for the sentence.

    Returns
    -------
    IPython.display.Markdown or None
        None when the section's opening already says the interval is unknown.
    """
    if by_time["difference"] is not None and by_time["p"] is not None:
        return markdown(
            sentence(
                "Completers followed for more than {cut:.0f} days (the median; n = {nl:,d}) improved by {ml:.2f} "
                "points on average, those followed for {cut:.0f} days or fewer (n = {ns:,d}) by {ms:.2f}: a "
                "difference of {diff:+.2f} points ({level:.0%} CI {lo:.2f} to {hi:.2f}; Welch's t test, p {p}). A "
                "change that kept growing with time without treatment would show as a positive difference, an effect "
                "that faded as a negative one; with one assessment per patient the two cannot be told apart.",
                "",
                cut=by_time["split_days"],
                nl=by_time["n_long"],
                ml=by_time["mean_change_long"],
                ns=by_time["n_short"],
                ms=by_time["mean_change_short"],
                diff=by_time["difference"],
                level=ci_level,
                lo=by_time["ci_low"],
                hi=by_time["ci_high"],
                p=format_p(by_time["p"]),
            )
        )
    if follow["n"] != 0 and by_time["reason"]:
        return markdown("Short and long follow-up could not be compared: " + by_time["reason"] + ".")
    return None


def natural_course_paragraph(months: float | None, follow: Mapping):
    """The natural course's observation period against this cohort's median follow-up.

    Parameters
    ----------
    months : float or None
        The observation period of the natural-course benchmark (``morina2014_observation_period``).
    follow : mapping
        From :func:`ketamine_ptsd.analysis.limitations.followup_summary`.

    Returns
    -------
    IPython.display.Markdown
    """
    ratio = None if months is None or not follow["median"] else months * 365.25 / 12 / follow["median"]
    if "median" in follow[SUPPRESSED_KEY]:
        text = "This cohort's median follow-up is suppressed, so the natural course cannot be set against it."
    elif ratio is None:
        text = "Without the time between assessments, the natural course cannot be set against this cohort's change."
    elif ratio > 1:
        text = sentence(
            "That period is about {ratio:.1f} times this cohort's median follow-up: over this cohort's follow-up "
            "the natural course has had less time, and what happened after the second assessment is not in the "
            "data.",
            "",
            ratio=ratio,
        )
    else:
        text = sentence(
            "This cohort's median follow-up is {inv:.1f} times that period: long enough for the natural course, in "
            "which untreated PTSD remits, to account for part of the change.",
            "",
            inv=1 / ratio,
        )
    return markdown(text)
