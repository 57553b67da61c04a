"""Sentences of the durability chapter, written from computed values (each says why when it cannot)."""

from __future__ import annotations

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT, too_few

#: What would settle durability, named wherever the data lack it.
NEEDED = (
    "PCL-5 totals from assessments after the end of treatment: a file with one row per assessment whose "
    "`followup` rows give each patient's later scores and their days (or dates)"
)


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def no_followup_note():
    """The one sentence the chapter shows for a file without follow-up assessments."""
    return _markdown(
        "This file has no assessment after the end of treatment, so whether the improvement lasted cannot be "
        f"examined here; what would settle it is {NEEDED} (see {{doc}}`../book/own_data`)."
    )


#: What each durability value is, in the reader's words (its ``results.json`` name beside it, as code).
LABELS = {
    "n_with_followup": "patients with a follow-up",
    "n_followup_assessments": "follow-up assessments",
    "durability_n_responders_followed": "responders at the end of treatment with a follow-up",
    "durability_n_lost_response": "of them, those who lost the response",
    "durability_median_days_to_loss": "median days to loss of response (Kaplan-Meier)",
    "durability_slope_per_month": "change in PCL-5 per month after treatment",
    "durability_slope_ci_low": "its confidence interval, lower end",
    "durability_slope_ci_high": "its confidence interval, upper end",
    "durability_slope_method": "the optimiser whose fit was kept",
    "durability_slope_reml_criterion": "the fit's REML criterion",
    "durability_slope_random_slope": "whether the model has a random slope",
    "durability_verdict": 'the verdict on "sustained"',
}


def not_computable(values: dict, keys) -> str:
    """Markdown list of the ``keys`` whose value is ``None`` (suppressed ones marked as such), each by its
    reader's name with its ``results.json`` name beside it."""
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    lines = [
        f"- {LABELS[key]} (`{key}`): " + (f"{SUPPRESSED_TEXT} (small-cell rule)" if key in hidden else "not computable")
        for key in keys
        if values.get(key) is None
    ]
    return "\n".join(lines)


def median_sentence(values: dict, benchmark: dict):
    """Kaplan-Meier median beside the published one (Feder et al. 2021)."""
    followed = values["durability_n_responders_followed"]
    median = values["durability_median_days_to_loss"]
    published = (
        f"In {benchmark['source']}, ketamine responders kept their response for a median of "
        f"{benchmark['value']:g} days after the primary outcome day ({benchmark['instrument']}, a trial)."
    )
    hidden = set(values.get(SUPPRESSED_KEY, ()))
    if "durability_median_days_to_loss" in hidden or "durability_n_responders_followed" in hidden:
        return _markdown(f"The median time to loss of response is {SUPPRESSED_TEXT} (too few patients). {published}")
    if followed is None:
        return _markdown(f"No responder at the end of treatment has a follow-up assessment. {published}")
    if median is None:
        return _markdown(
            f"Among the {followed} responders with a follow-up, fewer than half lost their response during "
            f"follow-up, so the Kaplan-Meier median is not reached. {published}"
        )
    return _markdown(
        f"Among the {followed} responders with a follow-up, half had lost their response by day {median:g} "
        f"after the end of treatment (Kaplan-Meier median). {published}"
    )


def slope_sentence(values: dict, ci_level: float, min_patients: int):
    """The mixed model's monthly slope in words: about X points worse (or better) per month, the model fitted
    and the optimiser kept."""
    slope = values["durability_slope_per_month"]
    if "durability_slope_per_month" in set(values.get(SUPPRESSED_KEY, ())):
        return _markdown(f"The monthly slope is {SUPPRESSED_TEXT}: too few patients have follow-up assessments.")
    if slope is None:
        return _markdown(
            "The mixed model could not be fitted: it needs at least two completers with follow-up assessments "
            "and an optimiser that reaches the optimum of the REML likelihood."
        )
    direction = "worse" if slope > 0 else "better"
    low, high = values["durability_slope_ci_low"], values["durability_slope_ci_high"]
    model = (
        "random intercept and random slope"
        if values["durability_slope_random_slope"]
        else f"random intercept only (fewer than {min_patients} patients have a follow-up, too few for a random slope)"
    )
    return _markdown(
        f"After the end of treatment, PCL-5 totals ran about {abs(slope):.1f} points {direction} per month "
        f"({ci_level:.0%} CI {low:+.2f} to {high:+.2f} points per month; positive = worse). Model: {model}; "
        f"optimiser kept: {values['durability_slope_method']}, REML criterion "
        f"{values['durability_slope_reml_criterion']:.2f}."
    )


def verdict_sentence(values: dict, margin: float):
    """The durability verdict (:func:`ketamine_ptsd.analysis.durability.verdict`) and what it rests on."""
    found = values["durability_verdict"]
    if "durability_verdict" in set(values.get(SUPPRESSED_KEY, ())):
        return _markdown(f"The verdict is {SUPPRESSED_TEXT}: too few patients have follow-up assessments.")
    if found is None:
        return _markdown("No verdict: without a fitted slope and its interval, these data cannot tell.")
    low, high = values["durability_slope_ci_low"], values["durability_slope_ci_high"]
    because = {
        "sustained": f"the interval's upper end, {high:+.2f}, lies below the margin of {margin:.2f}",
        "worsening": f"the interval's lower end, {low:+.2f}, lies above zero and its upper end, {high:+.2f}, "
        f"reaches the margin of {margin:.2f}",
        "not enough data to tell": f"the interval, {low:+.2f} to {high:+.2f}, takes in both no change and a "
        f"worsening of the margin, {margin:.2f}, or more",
    }[found]
    return _markdown(f"Verdict: **{found}**, because {because} points a month.")


def serious_events_sentence(check: dict, values: dict, min_cell: int):
    """The "no serious adverse events" claim, checked when the file records serious adverse events."""
    if not check["computable"]:
        return _markdown(
            "The file has no `serious_adverse_event` column, so the claim of no serious adverse events cannot be "
            "checked; {doc}`limitations` gives the most a sample this size could exclude."
        )
    n = values["n_serious_adverse_events"]
    if too_few(check["n_recorded"], min_cell):
        return _markdown(
            f"Serious adverse events are recorded for fewer than {min_cell} patients: not shown (small-cell rule)."
        )
    if n is None:
        return _markdown(
            f"Serious adverse events are recorded for {check['n_recorded']} patients; their number is "
            f"{SUPPRESSED_TEXT} (fewer than {min_cell}), and the claim of none does not hold."
        )
    verdict = "holds" if check["holds"] else "does not hold"
    return _markdown(
        f"Serious adverse events are recorded for {check['n_recorded']} patients: {n} had one, so the claim of "
        f"no serious adverse events {verdict} for this file."
    )
