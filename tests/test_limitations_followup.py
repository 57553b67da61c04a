"""Follow-up time and the natural course: :mod:`ketamine_ptsd.analysis.limitations.followup` and its words,
:mod:`ketamine_ptsd.presentation.limitations.followup`.

Expected values come from formulas written out here, from scipy or statsmodels, or from the published
sources named beside them; never from the code under test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def test_followup_summary_counts_completers_only():
    c = make_cohort([50, 50, 50, 50, 50, 50, 50], [30, 30, 30, 30, 30, None, 30], days=[10, 20, 30, 40, 100, 5, None])
    out = L.followup_summary(c, min_cell=0)
    d = np.array([10, 20, 30, 40, 100])
    assert out["n"] == 5 and out["n_completers_missing"] == 1
    assert (out["median"], out["q1"], out["q3"]) == (30, 20, 40)
    # Linear interpolation at 0.05 * 4 = 0.2 and 0.95 * 4 = 3.8 positions: 10 + 0.2 * 10, 40 + 0.8 * 60.
    assert (out["p05"], out["p95"]) == pytest.approx((12, 88))
    assert (out["p05"], out["p95"]) == pytest.approx(tuple(np.percentile(d, [5, 95])))
    # The shortest and longest interval are single patients' values: not given at all.
    assert "min" not in out and "max" not in out
    assert out["iqr"] == 20 and out["mean"] == pytest.approx(d.mean())
    assert out["reason"] is None and out["suppressed"] == []


def test_followup_summary_shows_a_percentile_only_with_min_cell_patients_beyond_it():
    days = list(range(1, 41))  # 40 completers, one per day
    c = make_cohort([50] * 42, [30] * 41 + [None], days=days + [None, 99])
    out = L.followup_summary(c, min_cell=5)
    # Median 20.5 and quartiles 10.75 / 30.25 have 10 or more days on each side; the 5th percentile (2.95)
    # has 2 days at or below it, the 95th (38.05) 2 at or above: both suppressed. One completer lacks days.
    assert (out["median"], out["q1"], out["q3"]) == (20.5, 10.75, 30.25)
    assert out["p05"] is None and out["p95"] is None
    assert out["n_completers_missing"] is None
    assert out["suppressed"] == ["n_completers_missing", "p05", "p95"]
    assert out["n"] == 40 and out["mean"] == pytest.approx(20.5)
    # Ties: when at least min_cell completers share the shortest interval, the 5th percentile is theirs.
    tied = L.followup_summary(make_cohort([50] * 40, [30] * 40, days=[7] * 6 + list(range(8, 42))), min_cell=5)
    assert tied["p05"] == 7 and "p05" not in tied["suppressed"]
    # A tie counts on both sides of it. Sorted days 3, 7 x5, 8..35, 50 x5, 60: the 5th percentile (position
    # 0.05 * 39 = 1.95) is 7, with 6 days at or below it but 1 strictly below; the 95th (37.05) is 50, with 6
    # at or above it but 1 strictly above. Both are shown.
    tie_days = [3] + [7] * 5 + list(range(8, 36)) + [50] * 5 + [60]
    both = L.followup_summary(make_cohort([50] * 40, [30] * 40, days=tie_days), min_cell=5)
    assert (both["p05"], both["p95"]) == (7, 50) and both["suppressed"] == []
    # Fewer than min_cell completers with an interval: the count and every statistic are suppressed.
    few = L.followup_summary(make_cohort([50] * 6, [30] * 6, days=[10, 20, 30, 40, None, None]), min_cell=5)
    assert few["n"] is None and few["median"] is None and few["mean"] is None and few["n_completers_missing"] is None
    assert L.followup_summary(c, min_cell=0)["p05"] == pytest.approx(np.percentile(days, 5))


def test_followup_functions_without_days_return_reasons():
    c = make_cohort([50, 60, 70, 40], [30, 35, 50, 20])
    assert L.followup_summary(c, min_cell=0)["median"] is None
    assert "days_between" in L.followup_summary(c, min_cell=0)["reason"]
    res = L.change_by_followup(c, min_cell=0)
    assert res["difference"] is None and res["p"] is None and "days_between" in res["reason"]
    curve = L.lowess_curve(c)
    assert curve.empty and "days_between" in curve.attrs["reason"]
    no_column = c.drop(columns="days_between")
    assert L.change_by_followup(no_column, min_cell=0)["reason"]


def test_followup_points_keep_completers_with_known_days():
    c = make_cohort([50, 60, 40, 70], [30, None, 35, 20], days=[10, 20, None, 40])
    points = L.followup_points(c)
    assert points["days"].tolist() == [10, 40]
    assert points["change"].tolist() == [20, 50]


def test_change_by_followup_is_welch():
    rng = np.random.default_rng(5)
    n = 60
    pre = rng.integers(35, 80, n)
    days = rng.integers(14, 200, n)
    post = np.clip(pre - rng.normal(20, 12, n).round() - (days > 100) * 5, 0, 80).astype(int)
    c = make_cohort(pre, post, days=days)
    out = L.change_by_followup(c, min_cell=0)
    change = (pre - post).astype(float)
    cut = np.median(days)
    short, long_ = change[days <= cut], change[days > cut]
    welch = stats.ttest_ind(long_, short, equal_var=False)
    cm = CompareMeans(DescrStatsW(long_), DescrStatsW(short))
    lo, hi = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    assert out["split_days"] == cut
    assert (out["n_short"], out["n_long"]) == (short.size, long_.size)
    assert out["difference"] == pytest.approx(long_.mean() - short.mean())
    assert out["t"] == pytest.approx(welch.statistic)
    assert out["p"] == pytest.approx(welch.pvalue)
    assert out["df"] == pytest.approx(welch.df)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((lo, hi))
    fixed = L.change_by_followup(c, split=1000, min_cell=0)
    assert fixed["n_long"] == 0 and fixed["difference"] is None and fixed["reason"]
    # With groups of min_cell or more nothing is suppressed.
    assert L.change_by_followup(c, min_cell=5) == out | {"suppressed": []}


def test_change_by_followup_suppresses_a_small_group_and_its_split():
    c = make_cohort([50] * 12, [30 - i for i in range(12)], days=[10] * 9 + [50, 60, 70])
    out = L.change_by_followup(c, min_cell=5)
    # Median 10: 9 completers at or below it, 3 above. The 3 are too few: their count, mean, the
    # comparison and the median that splits them off are suppressed, and the reason quotes no number.
    assert out["n_short"] == 9 and out["mean_change_short"] is not None
    for key in ("split_days", "n_long", "mean_change_long", "difference", "ci_low", "ci_high", "t", "df", "p"):
        assert out[key] is None, key
    assert "n_long" in out["suppressed"] and "split_days" in out["suppressed"]
    assert "suppressed" in out["reason"] and not any(ch.isdigit() for ch in out["reason"].replace("5", ""))
    # A fixed split is a parameter, not a patient's value: it is given.
    fixed = L.change_by_followup(c, split=40, min_cell=5)
    assert fixed["split_days"] == 40 and fixed["difference"] is None
    assert L.change_by_followup(c, min_cell=0)["difference"] is not None


def test_lowess_matches_statsmodels_on_equal_bins():
    # Every follow-up day has the same number of patients, so count weights are equal and the bin curve
    # must equal statsmodels' lowess without robustness iterations on the bin means.
    rng = np.random.default_rng(3)
    uniq = np.sort(rng.choice(np.arange(10, 300), 25, replace=False))
    days = np.repeat(uniq, 4)
    pre = rng.integers(40, 80, days.size)
    post = np.clip(pre - rng.integers(0, 40, days.size), 0, 80)
    c = make_cohort(pre, post, days=days)
    curve = L.lowess_curve(c, frac=0.5)
    means = pd.Series(pre - post, dtype=float).groupby(days).mean()
    expected = sm_lowess(means.to_numpy(), means.index.to_numpy(dtype=float), frac=0.5, it=0, return_sorted=False)
    assert curve["days"].tolist() == uniq.tolist()
    assert curve["n"].tolist() == [4] * 25
    np.testing.assert_allclose(curve["mean_change"], means.to_numpy())
    np.testing.assert_allclose(curve["change_smooth"], expected, rtol=1e-10, atol=1e-10)


def test_lowess_reproduces_a_straight_line_with_quantile_bins():
    # Local linear fits reproduce a linear trend exactly, whatever the bins and weights.
    rng = np.random.default_rng(4)
    days = rng.integers(0, 400, 5000)
    days = (days // 10) * 10  # multiples of 10, so change = 3 + days / 10 is a whole number of points
    change = 3 + days // 10
    pre = np.full(days.size, 80)
    c = make_cohort(pre, pre - change, days=days)
    curve = L.lowess_curve(c, n_bins=12)
    assert len(curve) <= 12 and curve["n"].sum() == 5000
    assert curve["days"].is_monotonic_increasing
    np.testing.assert_allclose(curve["change_smooth"], 3 + curve["days"] / 10, rtol=1e-9)
    few = make_cohort([50, 50, 50], [40, 40, 40], days=[7, 7, 14])
    assert L.lowess_curve(few).empty


def test_followup_paragraphs_say_why_a_number_is_missing():
    # Three completers: the follow-up statistics are suppressed, and so is every sentence built on them.
    few = make_cohort([50] * 3, [30, 25, 20], days=[10, 20, 30])
    follow = L.followup_summary(few, min_cell=5)
    assert LT.followup.paragraph(follow, 5).data.startswith("Fewer than 5 completers have a known interval")
    assert "suppressed" in LT.followup.natural_course_paragraph(40, follow).data
    # Without the column the section says the file lacks it; the comparison adds nothing to that.
    none = make_cohort([50] * 6, [30] * 6)
    assert LT.followup.paragraph(L.followup_summary(none, min_cell=0), 5).data.startswith(
        "**The data file gives no time"
    )
    assert (
        LT.followup.change_paragraph(L.change_by_followup(none, min_cell=0), L.followup_summary(none, min_cell=0), 0.95)
        is None
    )
