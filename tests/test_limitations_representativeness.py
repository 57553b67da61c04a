"""Who the patients were: :mod:`ketamine_ptsd.analysis.limitations.representativeness` and its words,
:mod:`ketamine_ptsd.presentation.limitations.representativeness`.

Expected values are counted by hand from the cohorts written out here; never from the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def test_representativeness_shares_of_reported(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=0).set_index("characteristic")
    assert out.loc["women", "cohort_value"] == pytest.approx(100 * 5 / 8)
    assert out.loc["women", "cohort_n_reported"] == 8
    assert out.loc["women", "cohort_pct_unreported"] == pytest.approx(20)
    assert out.loc["white", "cohort_value"] == pytest.approx(100 * 3 / 5)
    assert out.loc["white", "cohort_pct_unreported"] == pytest.approx(50)
    assert out.loc["mean age", "cohort_value"] == pytest.approx(np.mean([30, 40, 50, 20, 60, 35, 45, 55]))
    assert out["osmind_value"].tolist() == [66, 94, 42.3]
    assert out["reference_population_value"].isna().all()
    assert out["reference_population_note"].str.startswith("not available").all()


def test_representativeness_with_absent_columns(benchmarks):
    out = L.representativeness(make_cohort([50, 60], [30, 20]), benchmarks, min_cell=0).set_index("characteristic")
    assert out["cohort_value"].tolist() == [None, None, None]
    assert out["cohort_pct_unreported"].tolist() == [100, 100, 100]


def test_representativeness_bounds_on_all_patients(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=0).set_index("characteristic")
    # Women: 5 of 8 reporting, 2 not reporting -> 5/10 if none of them is a woman, 7/10 if both are.
    assert (out.loc["women", "cohort_all_low"], out.loc["women", "cohort_all_high"]) == pytest.approx((50, 70))
    # White: 3 of 5 reporting, 5 not reporting -> 3/10 to 8/10.
    assert (out.loc["white", "cohort_all_low"], out.loc["white", "cohort_all_high"]) == pytest.approx((30, 80))
    assert out.loc["mean age", "cohort_all_low"] is None
    assert not out["suppressed"].any()


def test_representativeness_suppresses_small_counts(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=5).set_index("characteristic")
    # Gender: 3 reporting patients are not women and 2 did not report: both below 5, so share and
    # unreported share are hidden; the 8 reporting may be shown.
    women = out.loc["women"]
    assert women["cohort_value"] is None and women["cohort_pct_unreported"] is None and women["suppressed"]
    assert women["cohort_n_reported"] == 8
    # Race: 3 white of 5 reporting -> hidden; 5 not reporting is not below 5.
    white = out.loc["white"]
    assert white["cohort_value"] is None and white["cohort_pct_unreported"] == pytest.approx(50)
    assert white["cohort_all_low"] is None and white["suppressed"]
    # Age: 8 reporting -> mean shown; 2 missing -> their share hidden.
    age = out.loc["mean age"]
    assert age["cohort_value"] == pytest.approx(np.mean([30, 40, 50, 20, 60, 35, 45, 55]))
    assert age["cohort_pct_unreported"] is None
    few = L.representativeness(
        make_cohort([50] * 6, [30] * 6, gender=["woman"] * 3 + [None] * 3), benchmarks, min_cell=5
    ).set_index("characteristic")
    assert few.loc["women", "cohort_n_reported"] is None  # 3 reporting is itself a small count
    # Each hidden cell is listed (not the bounds of mean age, which are never computed).
    cells = L.representativeness(c, benchmarks, min_cell=5).attrs["suppressed"]
    assert cells == [
        (0, "cohort_value"),
        (0, "cohort_pct_unreported"),
        (0, "cohort_all_low"),
        (0, "cohort_all_high"),
        (1, "cohort_value"),
        (1, "cohort_all_low"),
        (1, "cohort_all_high"),
        (2, "cohort_pct_unreported"),
    ]
    assert L.representativeness(c, benchmarks, min_cell=0).attrs["suppressed"] == []


def test_representativeness_paragraph_gives_the_bounds_non_reporting_leaves(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    text = LT.representativeness.paragraph(L.representativeness(c, benchmarks, min_cell=0)).data
    # White: 3 of 5 reporting, 5 not reporting -> 3/10 to 8/10 of all patients. Women: 5 of 8 reporting.
    assert "not reported for 50.0% of patients" in text and "60.0% were white" in text
    assert "from 30.0% to 80.0%, a span of 50.0 percentage points" in text
    assert "Women were 62.5% of patients reporting gender (Osmind records: 66% female)." in text
    bare = LT.representativeness.paragraph(
        L.representativeness(make_cohort([50, 60], [30, 20]), benchmarks, min_cell=0)
    )
    assert bare.data.startswith("The data file reports no race or ethnicity")
    assert "The share of women cannot be given from these data." in bare.data
