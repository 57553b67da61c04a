"""Sentences and notices the chapters show, written from computed values."""

from __future__ import annotations

from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT


def format_p(p: float | None) -> str:
    """A p-value as a reader expects it: "< .001" below a thousandth, else three decimals."""
    if p is None:
        return "not computed"
    if p < 0.001:
        return "< .001"
    return f"= {p:.3f}".replace("0.", ".", 1)


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
        "PTSD symptoms measured by the PTSD Checklist for DSM-5 (PCL-5; {cite:t}`blevins2015`) before the first "
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
