"""Who the patients were, at the edges: :mod:`ketamine_ptsd.analysis.limitations.representativeness` on labels as
clinics write them, columns that are not there, no patients, and counts either side of the small-cell rule.
Every expected share is counted by hand in the comments; never from the code under test."""

from __future__ import annotations

import pandas as pd
import pytest

from ketamine_ptsd.analysis import limitations as L

from .cohorts import make_cohort

COLUMNS = [
    "characteristic",
    "unit",
    "cohort_value",
    "cohort_n_reported",
    "cohort_pct_unreported",
    "cohort_all_low",
    "cohort_all_high",
    "suppressed",
    "osmind_value",
    "reference_population_value",
    "reference_population_note",
]


def test_labels_are_compared_in_lower_case_with_punctuation_as_spaces():
    """Gender: Woman, FEMALE, f, F and 'female ' are women; man and Male are not; '', '  ' and a missing value
    are not reported: 5 of 7 reported, 3 of 10 unreported, 50% to 80% of all patients. Race: 'White,
    non-Hispanic', 'Non-Hispanic White' and 'CAUCASIAN' are white, 'Black' and 'Asian' not, 5 unreported."""
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        gender=["Woman", "FEMALE", "f", "F", "female ", "man", "Male", "", "  ", None],
        race=["White, non-Hispanic", "Non-Hispanic White", "CAUCASIAN", "Black", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, [], min_cell=0)
    assert list(out.columns) == COLUMNS
    women, white = out.iloc[0], out.iloc[1]
    assert (women["characteristic"], women["unit"]) == ("women", "% of reported")
    assert women["cohort_value"] == pytest.approx(500 / 7) and women["cohort_n_reported"] == 7
    assert women["cohort_pct_unreported"] == pytest.approx(30)
    assert (women["cohort_all_low"], women["cohort_all_high"]) == pytest.approx((50, 80))
    assert (white["characteristic"], white["unit"]) == ("white", "% of reported")
    assert white["cohort_value"] == pytest.approx(60) and white["cohort_n_reported"] == 5
    assert out["osmind_value"].tolist() == [None, None, None]  # no benchmarks given
    assert (
        out["reference_population_note"].tolist()
        == ["not available: the project's sources give no figure for US adults with PTSD"] * 3
    )


def test_mean_age_of_those_who_gave_it():
    """Ages 30, 50 and two missing: mean 40 of 2 reported, 50% unreported, and no bounds (a mean has none)."""
    out = L.representativeness(make_cohort([50] * 4, [30] * 4, age=[30, None, 50, None]), [], min_cell=0)
    age = out.iloc[2]
    assert (age["characteristic"], age["unit"]) == ("mean age", "years")
    assert age["cohort_value"] == 40 and age["cohort_n_reported"] == 2
    assert age["cohort_pct_unreported"] == 50
    assert age["cohort_all_low"] is None and age["cohort_all_high"] is None


def test_columns_that_are_not_in_the_file_and_a_file_without_patients():
    """A cohort of scores alone has reported nothing: 0 reported, 100% unreported, no share. With no patients
    at all there is no share of unreported either."""
    scores = pd.DataFrame({"pcl5_pre": [50, 60, 45], "pcl5_post": [30, 20, 25]})
    out = L.representativeness(scores, [], min_cell=0)
    assert out["cohort_value"].tolist() == [None, None, None]
    assert out["cohort_n_reported"].tolist() == [0, 0, 0]
    assert out["cohort_pct_unreported"].tolist() == [100, 100, 100]
    assert out["cohort_all_low"].tolist() == [None, None, None]
    assert out["cohort_all_high"].tolist() == [None, None, None]
    empty = L.representativeness(make_cohort([], []), [], min_cell=0)
    assert empty["cohort_pct_unreported"].tolist() == [None, None, None]
    assert empty["cohort_n_reported"].tolist() == [0, 0, 0]


def test_small_counts_hide_exactly_the_cells_that_rest_on_them():
    """Twenty patients, 17 reporting gender (10 women, 7 not) and 3 not: the share of reported rests on 17,
    10 and 7 and is shown; the unreported share and both bounds rest on the 3 and are hidden. Ages of 3
    patients: the mean, the count and the unreported share all rest on 3 and are hidden."""
    gender = ["woman"] * 10 + ["man"] * 7 + [None] * 3
    race = ["White"] * 10 + ["Black"] * 10
    age = [40, 50, 60] + [None] * 17
    out = L.representativeness(make_cohort([50] * 20, [30] * 20, age=age, gender=gender, race=race), [], min_cell=5)
    assert out.loc[0, "cohort_value"] == pytest.approx(1000 / 17)
    assert out.attrs["suppressed"] == [
        (0, "cohort_pct_unreported"),
        (0, "cohort_all_low"),
        (0, "cohort_all_high"),
        (2, "cohort_value"),
        (2, "cohort_n_reported"),
        (2, "cohort_pct_unreported"),
    ]
    assert out["suppressed"].tolist() == [True, False, True]
