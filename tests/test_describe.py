"""Table 1 and the cohort's key figures against values worked out by hand from their definitions.

Each expected cell is written out: counts and shares by hand, means and sample SDs (n - 1) from sums of
squares, quartiles by linear interpolation between order statistics (position (n - 1) p, numpy's and
R's type 7 default), the small-cell rule as the privacy module states it (1 to ``min_cell - 1`` is
suppressed, 0 is not a person).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis import describe
from ketamine_ptsd.data.contract import COHORT_DTYPES

COLUMNS = ["characteristic", "level", "value"]


def _cohort(n, **columns):
    """A cohort of ``n`` patients in the contract's dtypes; columns not given are all NA (not recorded)."""
    frame = pd.DataFrame({"patient_id": pd.array([f"p{i}" for i in range(n)], dtype="string")})
    for name, dtype in COHORT_DTYPES.items():
        if name != "patient_id":
            frame[name] = pd.array(columns.get(name, [None] * n), dtype=dtype)
    return frame


def _rows(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    assert list(table.columns) == COLUMNS
    return list(table.itertuples(index=False, name=None))


def _eight_patients():
    return _cohort(
        8,
        pcl5_pre=[50, 60, 40, 70, 55, 45, 65, 35],
        pcl5_post=[30, None, 20, 40, None, 25, 35, 15],
        days_between=[28, None, 30, 35, None, 39, None, None],
        age=[20, 30, None, 40, None, 50, None, None],
        gender=["woman", "woman", "man", "woman", None, "woman", "man", None],
        race_ethnicity=["A", "A", "B", "A", "C", None, "C", None],
        n_infusions=[6, 6, 6, 6, 4, 4, 8, 8],
        n_psych_meds=[2, None, None, None, None, None, None, None],
        suicidal_ideation=[True, False, False, True, True, None, False, True],
        psychotherapy=[True, True, False, False, False, False, False, False],
    )


def test_table_one_on_eight_patients_cell_by_cell():
    table = describe.table_one(_eight_patients(), min_cell=3)
    small = "< 3 (suppressed)"
    # Sample SDs from the sums of squared deviations, over n - 1:
    # age 20, 30, 40, 50: mean 35, SS = 225 + 25 + 25 + 225 = 500, SD = sqrt(500 / 3) = 12.91
    # pre: mean 420 / 8 = 52.5, SS = 2 (6.25 + 56.25 + 156.25 + 306.25) = 1050, SD = sqrt(150) = 12.25
    # post 15 .. 40 by 5: mean 27.5, SS = 2 (6.25 + 56.25 + 156.25) = 437.5, SD = sqrt(87.5) = 9.35
    # days 28, 30, 35, 39: mean 33, SS = 25 + 9 + 4 + 36 = 74, SD = sqrt(74 / 3) = 4.97 -> "5" at .0f
    # infusions 4, 4, 6 x4, 8, 8: mean 6, SS = 4 x 4 = 16, SD = sqrt(16 / 7) = 1.51
    assert [math.sqrt(500 / 3), math.sqrt(150), math.sqrt(87.5), math.sqrt(74 / 3), math.sqrt(16 / 7)] == pytest.approx(
        [12.91, 12.25, 9.35, 4.97, 1.51], abs=0.005
    )
    # Quartiles at positions (n - 1) x 0.25, 0.5, 0.75 of the sorted values, interpolated linearly:
    # age (n 4): 0.75 -> 20 + 0.75 x 10 = 27.5; 1.5 -> 35; 2.25 -> 40 + 0.25 x 10 = 42.5
    # pre 35 .. 70 by 5 (n 8): 1.75 -> 43.75; 3.5 -> 52.5; 5.25 -> 61.25
    # post 15 .. 40 by 5 (n 6): 1.25 -> 20 + 0.25 x 5 = 21.25; 2.5 -> 27.5; 3.75 -> 30 + 0.75 x 5 = 33.75
    # days (n 4): 0.75 -> 28 + 0.75 x 2 = 29.5; 1.5 -> 32.5; 2.25 -> 35 + 0.25 x 4 = 36
    # infusions 4, 4, 6, 6, 6, 6, 8, 8: 1.75 -> 4 + 0.75 x 2 = 5.5; 3.5 -> 6; 5.25 -> 6 + 0.25 x 2 = 6.5
    assert _rows(table) == [
        ("Patients", "", "8"),
        # Six have a post score: 6 / 8 = 75%, shown although the rule would not matter here.
        ("Completers (pre and post PCL-5)", "", "6 (75.0%)"),
        ("Age, years", "mean (SD)", "35.0 (12.9)"),
        ("Age, years", "median [IQR]", "35 [27.5, 42.5]"),
        ("Age, years", "not reported", "4 (50.0%)"),
        # The contract's four levels in its order, each counted, an empty one as 0.
        ("Gender", "woman", "4 (50.0%)"),
        ("Gender", "man", small),
        ("Gender", "nonbinary", "0 (0.0%)"),
        ("Gender", "other", "0 (0.0%)"),
        ("Gender", "not reported", small),
        # A: 3 = min_cell, shown; B (1) and C (2) are small: pooled, 1 + 2 = 3 patients, 37.5%.
        ("Race/ethnicity", "A", "3 (37.5%)"),
        ("Race/ethnicity", "2 smaller categories, pooled", "3 (37.5%)"),
        ("Race/ethnicity", "not reported", small),
        ("PCL-5 before treatment (pcl5_pre)", "mean (SD)", "52.5 (12.2)"),
        ("PCL-5 before treatment (pcl5_pre)", "median [IQR]", "52.5 [43.75, 61.25]"),
        ("PCL-5 after treatment (pcl5_post)", "mean (SD)", "27.5 (9.4)"),
        ("PCL-5 after treatment (pcl5_post)", "median [IQR]", "27.5 [21.25, 33.75]"),
        ("PCL-5 after treatment (pcl5_post)", "not reported", small),
        ("Days between assessments", "mean (SD)", "33 (5)"),
        ("Days between assessments", "median [IQR]", "32.5 [29.5, 36]"),
        ("Days between assessments", "not reported", "4 (50.0%)"),
        ("Ketamine infusions", "mean (SD)", "6.0 (1.5)"),
        ("Ketamine infusions", "median [IQR]", "6 [5.5, 6.5]"),
        # One value: below max(min_cell, 2) = 3, so no statistic; 7 of 8 missing = 87.5%.
        ("Psychiatric medications at baseline", "mean (SD)", "fewer than 3 values (suppressed)"),
        ("Psychiatric medications at baseline", "not reported", "7 (87.5%)"),
        # Four True of 8 (the None is unknown, not no).
        ("Suicidal ideation", "yes", "4 (50.0%)"),
        ("Suicidal ideation", "unknown", small),
        # Two True: a small cell. Nobody unknown: no "unknown" row.
        ("Concomitant psychotherapy", "yes", small),
    ]


def test_table_one_statistics_agree_with_numpy():
    # The same cells from numpy directly (ddof=1, type 7 quantiles), formatted as the table formats them.
    table = describe.table_one(_eight_patients(), min_cell=3)
    cells = {(c, lv): v for c, lv, v in _rows(table)}
    for label, values in [
        ("PCL-5 before treatment (pcl5_pre)", [50, 60, 40, 70, 55, 45, 65, 35]),
        ("PCL-5 after treatment (pcl5_post)", [30, 20, 40, 25, 35, 15]),
        ("Ketamine infusions", [6, 6, 6, 6, 4, 4, 8, 8]),
    ]:
        x = np.array(values, dtype=float)
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        assert cells[(label, "mean (SD)")] == f"{x.mean():.1f} ({x.std(ddof=1):.1f})"
        assert cells[(label, "median [IQR]")] == f"{med:g} [{q1:g}, {q3:g}]"


def test_table_one_default_min_cell_is_five():
    # The same eight patients at the default rule (min_cell 5): counts of 1-4 are suppressed, and four
    # ages (fewer than max(5, 2) = 5) give no statistic.
    table = describe.table_one(_eight_patients())
    small = "< 5 (suppressed)"
    cells = {(c, lv): v for c, lv, v in _rows(table)}
    assert cells[("Age, years", "mean (SD)")] == "fewer than 5 values (suppressed)"
    assert ("Age, years", "median [IQR]") not in cells
    assert cells[("Age, years", "not reported")] == small  # 4 missing
    assert cells[("Gender", "woman")] == small  # 4
    # Every race level (A 3, B 1, C 2) is now small: pooled, 6 patients = 75%.
    assert cells[("Race/ethnicity", "3 smaller categories, pooled")] == "6 (75.0%)"
    assert ("Race/ethnicity", "A") not in cells
    assert cells[("PCL-5 after treatment (pcl5_post)", "mean (SD)")] == "27.5 (9.4)"  # 6 values >= 5
    assert cells[("Ketamine infusions", "mean (SD)")] == "6.0 (1.5)"
    assert cells[("Completers (pre and post PCL-5)", "")] == "6 (75.0%)"


def test_table_one_without_the_rule_shows_every_count():
    # min_cell 0: nothing is suppressed; the statistics need max(0, 2) = 2 values.
    table = describe.table_one(_eight_patients(), min_cell=0)
    rows = _rows(table)
    cells = {(c, lv): v for c, lv, v in rows}
    assert cells[("Gender", "man")] == "2 (25.0%)"
    assert cells[("Gender", "not reported")] == "2 (25.0%)"
    # No category is small at 0: each level is its own row, by count, then the 2 not reported.
    assert [r for r in rows if r[0] == "Race/ethnicity"] == [
        ("Race/ethnicity", "A", "3 (37.5%)"),
        ("Race/ethnicity", "C", "2 (25.0%)"),
        ("Race/ethnicity", "B", "1 (12.5%)"),
        ("Race/ethnicity", "not reported", "2 (25.0%)"),
    ]
    # One value is fewer than 2: still no statistic of a single patient.
    assert cells[("Psychiatric medications at baseline", "mean (SD)")] == "fewer than 2 values (suppressed)"
    assert cells[("Suicidal ideation", "unknown")] == "1 (12.5%)"
    assert cells[("Concomitant psychotherapy", "yes")] == "2 (25.0%)"


@pytest.mark.parametrize("min_cell", [0, 1, 2])
def test_two_values_give_statistics_and_one_does_not(min_cell):
    # max(min_cell, 2) = 2 for min_cell 0, 1 and 2: two values are enough, one is not.
    frame = _cohort(
        3, pcl5_pre=[40, 50, 60], pcl5_post=[10, 20, None], age=[30, 40, None], n_psych_meds=[1, None, None]
    )
    cells = {(c, lv): v for c, lv, v in _rows(describe.table_one(frame, min_cell=min_cell))}
    # Ages 30, 40: mean 35, SD sqrt((25 + 25) / 1) = 7.07; quartiles at 0.25, 0.5, 0.75 of the way: 32.5, 35, 37.5.
    assert cells[("Age, years", "mean (SD)")] == "35.0 (7.1)"
    assert cells[("Age, years", "median [IQR]")] == "35 [32.5, 37.5]"
    assert cells[("Psychiatric medications at baseline", "mean (SD)")] == "fewer than 2 values (suppressed)"
    # 1 of 3 missing: a small cell only when min_cell is 2.
    assert cells[("Age, years", "not reported")] == ("< 2 (suppressed)" if min_cell == 2 else "1 (33.3%)")


def test_statistics_need_exactly_min_cell_values():
    # min_cell 4: four values give the statistics, three do not (and say how many are needed).
    frame = _cohort(
        5,
        pcl5_pre=[40, 44, 48, 52, 56],
        pcl5_post=[10, 20, 30, None, None],
        age=[20, 22, 24, 26, None],
    )
    cells = {(c, lv): v for c, lv, v in _rows(describe.table_one(frame, min_cell=4))}
    # Ages 20, 22, 24, 26: mean 23, SS = 9 + 1 + 1 + 9 = 20, SD = sqrt(20 / 3) = 2.58.
    assert cells[("Age, years", "mean (SD)")] == "23.0 (2.6)"
    assert cells[("PCL-5 after treatment (pcl5_post)", "mean (SD)")] == "fewer than 4 values (suppressed)"
    assert ("PCL-5 after treatment (pcl5_post)", "median [IQR]") not in cells
    # Two missing posts, a small cell at 4; the one missing age too.
    assert cells[("PCL-5 after treatment (pcl5_post)", "not reported")] == "< 4 (suppressed)"
    assert cells[("Age, years", "not reported")] == "< 4 (suppressed)"


def test_a_category_of_exactly_min_cell_patients_is_shown_and_one_below_is_pooled():
    # min_cell 2: "X" has 2 patients (shown), "Y" and "Z" one each (pooled: 2 patients, shown); the one
    # patient not reported is a small cell.
    frame = _cohort(5, pcl5_pre=[50] * 5, pcl5_post=[30] * 5, race_ethnicity=["X", "Y", "X", "Z", None])
    rows = [r for r in _rows(describe.table_one(frame, min_cell=2)) if r[0] == "Race/ethnicity"]
    assert rows == [
        ("Race/ethnicity", "X", "2 (40.0%)"),
        ("Race/ethnicity", "2 smaller categories, pooled", "2 (40.0%)"),
        ("Race/ethnicity", "not reported", "< 2 (suppressed)"),
    ]


def test_table_one_of_columns_not_in_the_data_file():
    # Every optional column the file did not have is named as such, once, with no count.
    frame = _cohort(4, pcl5_pre=[50, 60, 70, 80], pcl5_post=[40, 30, None, 20])
    absent = ["age", "gender", "race_ethnicity", "days_between", "n_infusions", "n_psych_meds"]
    frame.attrs["absent_columns"] = [*absent, "suicidal_ideation", "psychotherapy"]
    note = "not in the data file"
    # pre 50 .. 80 by 10: mean 65, SS = 225 + 25 + 25 + 225 = 500, SD = sqrt(500 / 3) = 12.9;
    # quartiles at 0.75, 1.5, 2.25: 57.5, 65, 72.5. post 40, 30, 20: mean 30, SD sqrt(200 / 2) = 10;
    # quartiles at 0.5, 1, 1.5 of 20, 30, 40: 25, 30, 35.
    assert _rows(describe.table_one(frame, min_cell=0)) == [
        ("Patients", "", "4"),
        ("Completers (pre and post PCL-5)", "", "3 (75.0%)"),
        ("Age, years", "", note),
        ("Gender", "", note),
        ("Race/ethnicity", "", note),
        ("PCL-5 before treatment (pcl5_pre)", "mean (SD)", "65.0 (12.9)"),
        ("PCL-5 before treatment (pcl5_pre)", "median [IQR]", "65 [57.5, 72.5]"),
        ("PCL-5 after treatment (pcl5_post)", "mean (SD)", "30.0 (10.0)"),
        ("PCL-5 after treatment (pcl5_post)", "median [IQR]", "30 [25, 35]"),
        ("PCL-5 after treatment (pcl5_post)", "not reported", "1 (25.0%)"),
        ("Days between assessments", "", note),
        ("Ketamine infusions", "", note),
        ("Psychiatric medications at baseline", "", note),
        ("Suicidal ideation", "", note),
        ("Concomitant psychotherapy", "", note),
    ]


def test_table_one_of_no_patients():
    # n = 0: every count is 0 and there is no share of nothing; no statistic, nothing missing.
    frame = _cohort(0)
    assert _rows(describe.table_one(frame, min_cell=5)) == [
        ("Patients", "", "0"),
        ("Completers (pre and post PCL-5)", "", "0"),
        ("Gender", "woman", "0"),
        ("Gender", "man", "0"),
        ("Gender", "nonbinary", "0"),
        ("Gender", "other", "0"),
        ("Gender", "not reported", "0"),
        ("Race/ethnicity", "not reported", "0"),
        ("Suicidal ideation", "yes", "0"),
        ("Concomitant psychotherapy", "yes", "0"),
    ]


def test_completers_are_counted_even_when_few():
    # One completer of six, at the default min_cell 5: the analysed sample's size is still printed.
    frame = _cohort(6, pcl5_pre=[50] * 6, pcl5_post=[20, None, None, None, None, None])
    cells = {(c, lv): v for c, lv, v in _rows(describe.table_one(frame))}
    assert cells[("Completers (pre and post PCL-5)", "")] == "1 (16.7%)"
    assert cells[("PCL-5 after treatment (pcl5_post)", "not reported")] == "5 (83.3%)"


def test_long_labels_are_cut_to_sixty_characters():
    exactly = "x" * 60
    longer = "y" * 61
    frame = _cohort(2, pcl5_pre=[50, 50], pcl5_post=[30, 30], race_ethnicity=[exactly, longer])
    levels = [lv for c, lv, _ in _rows(describe.table_one(frame, min_cell=0)) if c == "Race/ethnicity"]
    # 60 characters fit; 61 become the first 59 and an ellipsis: 60 characters in all.
    assert levels == [exactly, "y" * 59 + "…", "not reported"]
    assert [len(lv) for lv in levels[:2]] == [60, 60]


def test_cohort_summary_by_hand():
    frame = _cohort(
        10,
        pcl5_pre=[50, 60, 70, 40, 55, 65, 45, 50, None, 60],
        pcl5_post=[30, None, 40, 20, None, 35, 25, None, 30, 30],
        age=[30, 40, 50, 60, None, None, None, None, None, None],
        gender=["woman"] * 6 + ["man", "man", None, None],
        race_ethnicity=["A"] * 7 + [None] * 3,
        n_infusions=[4, 6] * 5,
    )
    # Completers: pre and post both given: 10 minus 3 without post minus 1 without pre = 6.
    # Dropouts: 3 without post. Ages 30..60: mean 45. Women 6 of 8 reporting = 75%.
    # Gender unreported 2 / 10 = 20%, race 3 / 10 = 30%. Infusions 4 and 6 five times each: mean 5.
    full = {
        "n_patients": 10,
        "n_completers": 6,
        "n_dropouts": 3,
        "mean_age": 45.0,
        "pct_women": 75.0,
        "pct_gender_unreported": 20.0,
        "pct_race_unreported": 30.0,
        "mean_infusions": 5.0,
        "suppressed": [],
    }
    # Every share here is exact in binary (75, 20, 30), so the values compare with ==.
    assert describe.cohort_summary(frame, 0) == full
    # min_cell 3: the 2 without gender are a small group.
    assert describe.cohort_summary(frame, 3) == {
        **full,
        "pct_gender_unreported": None,
        "suppressed": ["pct_gender_unreported"],
    }
    # Default (5): also the 4 ages and the 3 without race.
    assert describe.cohort_summary(frame) == {
        **full,
        "mean_age": None,
        "pct_gender_unreported": None,
        "pct_race_unreported": None,
        "suppressed": ["mean_age", "pct_gender_unreported", "pct_race_unreported"],
    }
    values = describe.cohort_summary(frame, 0)
    assert all(type(values[k]) is float for k in ("mean_age", "pct_women", "mean_infusions"))


def test_cohort_summary_hides_few_women_and_few_infusion_counts():
    frame = _cohort(
        8,
        pcl5_pre=[50] * 8,
        pcl5_post=[30] * 8,
        gender=["woman", "woman"] + ["man"] * 6,
        race_ethnicity=["A"] * 8,
        n_infusions=[3, 5, None, None, None, None, None, None],
    )
    # 2 women of 8: a share resting on 2 patients; 2 infusion counts (mean 4).
    assert describe.cohort_summary(frame, 0)["pct_women"] == pytest.approx(25.0)
    assert describe.cohort_summary(frame, 0)["mean_infusions"] == pytest.approx(4.0)
    s = describe.cohort_summary(frame, 3)
    assert s["pct_women"] is None and s["mean_infusions"] is None
    assert s["suppressed"] == ["pct_women", "mean_infusions"]
    # Nobody unreported: 0% is shown (0 is not a person).
    assert s["pct_gender_unreported"] == 0.0 and s["pct_race_unreported"] == 0.0


def test_cohort_summary_hides_a_share_of_few_reporting_even_with_no_women():
    # 0 women of 2 reporting: the share rests on its denominator, 2 patients.
    frame = _cohort(6, pcl5_pre=[50] * 6, pcl5_post=[30] * 6, gender=["man", "man", None, None, None, None])
    assert describe.cohort_summary(frame, 0)["pct_women"] == 0.0
    s = describe.cohort_summary(frame, 3)
    assert s["pct_women"] is None and "pct_women" in s["suppressed"]
    # 4 of 6 without gender: 66.7%, shown at 3.
    assert s["pct_gender_unreported"] == pytest.approx(100 * 4 / 6)


def test_cohort_summary_without_values_or_columns():
    # No ages, genders or infusion counts: no mean, no share. Columns the file lacked: no missing share.
    frame = _cohort(4, pcl5_pre=[50] * 4, pcl5_post=[30, None, 20, 10])
    frame.attrs["absent_columns"] = ["gender", "race_ethnicity"]
    assert describe.cohort_summary(frame, 0) == {
        "n_patients": 4,
        "n_completers": 3,
        "n_dropouts": 1,
        "mean_age": None,
        "pct_women": None,
        "pct_gender_unreported": None,
        "pct_race_unreported": None,
        "mean_infusions": None,
        "suppressed": [],
    }
    # The same columns present (all empty): 100% unreported.
    frame.attrs["absent_columns"] = []
    s = describe.cohort_summary(frame, 0)
    assert s["pct_gender_unreported"] == 100.0 and s["pct_race_unreported"] == 100.0


def test_cohort_summary_of_no_patients():
    assert describe.cohort_summary(_cohort(0), 5) == {
        "n_patients": 0,
        "n_completers": 0,
        "n_dropouts": 0,
        "mean_age": None,
        "pct_women": None,
        "pct_gender_unreported": None,
        "pct_race_unreported": None,
        "mean_infusions": None,
        "suppressed": [],
    }
