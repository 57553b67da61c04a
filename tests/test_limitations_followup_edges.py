"""Follow-up time at its edges: :mod:`ketamine_ptsd.analysis.limitations.followup` with no follow-up times, groups
without variation, the small-cell rule on each side of a split, and the smoothed curve's bins and neighbourhoods.

The smooth is checked against statsmodels' lowess and against weighted least squares by numpy's polyfit; Welch's
test against scipy; bins and counts by hand in the comments. Never against the code under test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess

from ketamine_ptsd.analysis import limitations as L

from .cohorts import completers_with_days, make_cohort

SUMMARY = ("mean", "median", "q1", "q3", "iqr", "p05", "p95")
COMPARISON = (
    "split_days",
    "n_short",
    "n_long",
    "mean_change_short",
    "mean_change_long",
    "difference",
    "ci_low",
    "ci_high",
    "t",
    "df",
    "p",
)
NO_DAYS = "days_between is not available for any completer"


def test_without_follow_up_times_every_figure_is_missing_with_its_reason():
    cohort = make_cohort([50, 60, 70], [30, 40, None])
    summary = L.followup_summary(cohort, min_cell=0)
    assert summary == {"n": 0, "n_completers_missing": 2} | dict.fromkeys(SUMMARY) | {
        "reason": NO_DAYS,
        "suppressed": [],
    }
    comparison = L.change_by_followup(cohort, min_cell=0)
    assert comparison == dict.fromkeys(COMPARISON) | {"reason": NO_DAYS, "suppressed": []}
    curve = L.lowess_curve(cohort)
    assert list(curve.columns) == ["days", "n", "mean_change", "change_smooth"] and curve.empty
    assert curve.attrs["reason"] == NO_DAYS
    two = L.lowess_curve(make_cohort([50] * 3, [40] * 3, days=[7, 7, 14]))
    assert list(two.columns) == ["days", "n", "mean_change", "change_smooth"]
    assert two.attrs["reason"] == "fewer than three distinct follow-up times"


def test_the_iqr_is_hidden_with_the_quartile_it_rests_on():
    """Eight completers with days 10 to 80: the lower quartile (27.5) has only 2 at or below it, fewer than 5,
    so it is hidden, and the IQR built on it is hidden too; the median (45) has 4 each side: hidden as well."""
    cohort = make_cohort([50] * 8, [30] * 8, days=[10, 20, 30, 40, 50, 60, 70, 80])
    out = L.followup_summary(cohort, min_cell=5)
    assert out["q1"] is None and out["iqr"] is None and "iqr" in out["suppressed"]
    assert out["mean"] == 45 and out["n"] == 8
    shown = L.followup_summary(cohort, min_cell=0)
    assert shown["iqr"] == pytest.approx(np.quantile([10, 20, 30, 40, 50, 60, 70, 80], 0.75) - 27.5)


def test_welch_comparison_names_every_value_and_agrees_with_scipy():
    """Short (days <= 30): changes 10, 12, 14; long: 20, 26, 29, 33. Welch's t from scipy."""
    cohort = completers_with_days([10, 12, 14, 20, 26, 29, 33], [10, 20, 30, 40, 50, 60, 70])
    out = L.change_by_followup(cohort, split=30, min_cell=0)
    assert set(out) == {*COMPARISON, "reason", "suppressed"}
    welch = stats.ttest_ind([20, 26, 29, 33], [10, 12, 14], equal_var=False)
    assert out["mean_change_short"] == 12 and out["mean_change_long"] == 27
    assert (out["t"], out["df"], out["p"]) == pytest.approx((welch.statistic, welch.df, welch.pvalue))
    assert out["reason"] is None and out["suppressed"] == []


def test_a_standard_error_of_one_is_a_test_and_of_zero_is_not():
    """Short changes 0 and 2 (variance 2, over 2 patients 1) and long 5, 5: SE exactly 1, t = 4, df = 1.
    Both groups constant: no SE, no test, and the reason says so."""
    one = L.change_by_followup(completers_with_days([0, 2, 5, 5], [1, 2, 3, 4]), split=2, min_cell=0)
    assert one["t"] == pytest.approx(4.0) and one["df"] == pytest.approx(1.0)
    assert one["p"] == pytest.approx(2 * stats.t.sf(4.0, 1))
    flat = L.change_by_followup(completers_with_days([3, 3, 7, 7], [1, 2, 3, 4]), split=2, min_cell=0)
    assert flat["difference"] == 4 and flat["t"] is None and flat["ci_low"] is None
    assert flat["reason"] == "no variation in change within either group"


def test_a_small_short_group_hides_its_count_and_mean():
    """Three short (days <= 10) and six long at a fixed split: the short group's count and mean are hidden,
    the long group's shown."""
    cohort = make_cohort([50] * 9, [30, 31, 32, 20, 21, 22, 23, 24, 25], days=[5, 8, 10, 20, 30, 40, 50, 60, 70])
    out = L.change_by_followup(cohort, split=10, min_cell=5)
    assert out["n_short"] is None and out["mean_change_short"] is None
    assert out["n_long"] == 6 and out["mean_change_long"] == pytest.approx(27.5)
    assert {"n_short", "mean_change_short"} <= set(out["suppressed"])


def test_three_follow_up_times_give_a_curve_through_the_points():
    """Three distinct days and the default frac: each local fit has int(2/3 * 3) = 2 points, and the tricube
    weight of the second is 0, so the curve passes through each bin mean. One patient is a bin of its own."""
    cohort = make_cohort([50] * 4, [40, 44, 30, 20], days=[7, 7, 14, 30])
    curve = L.lowess_curve(cohort)
    assert curve["days"].tolist() == [7, 14, 30] and curve["n"].tolist() == [2, 1, 1]
    assert curve["mean_change"].tolist() == [8, 20, 30]
    assert curve["change_smooth"].tolist() == pytest.approx([8, 20, 30])
    assert curve["n"].dtype.kind == "i"


@pytest.mark.parametrize("n_days", [6, 9])
def test_the_curve_is_statsmodels_lowess_on_one_patient_a_day(n_days):
    """Fractional days a fifth apart, one patient each: statsmodels' lowess (no robustness iterations) on the
    points, where frac * n is a whole number (4 of 6, 6 of 9) so the neighbourhood's size is exact."""
    days = 0.2 * np.arange(n_days)
    change = np.array([3.0, 9.0, 4.0, 12.0, 7.0, 15.0, 10.0, 18.0, 14.0])[:n_days]
    curve = L.lowess_curve(completers_with_days(change, days))
    expected = sm_lowess(change, days, frac=2 / 3, it=0, delta=0.0, return_sorted=False)
    np.testing.assert_allclose(curve["change_smooth"], expected, rtol=1e-9, atol=1e-9)


def test_bins_weight_the_local_fit_by_their_patients():
    """Five days with 1, 4, 1, 3, 1 patients: each local fit is a weighted least-squares line (numpy's polyfit
    with weights sqrt(tricube x count)) over the int(0.8 * 5) = 4 nearest bins."""
    days = np.repeat([10.0, 20.0, 35.0, 50.0, 70.0], [1, 4, 1, 3, 1])
    change = np.array([5.0, 8.0, 10.0, 12.0, 14.0, 20.0, 18.0, 25.0, 23.0, 22.0])
    curve = L.lowess_curve(completers_with_days(change, days), frac=0.8)
    x = curve["days"].to_numpy()
    y = curve["mean_change"].to_numpy()
    counts = curve["n"].to_numpy()
    assert counts.tolist() == [1, 4, 1, 3, 1]
    expected = []
    for x0 in x:
        distance = np.abs(x - x0)
        radius = np.sort(distance)[3]
        tricube = np.clip(1 - (distance / radius) ** 3, 0, None) ** 3
        slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(tricube * counts))
        expected.append(intercept + slope * x0)
    np.testing.assert_allclose(curve["change_smooth"], expected, rtol=1e-9)


def test_quantile_bins_split_at_the_quartiles():
    """Days 1 to 101, change twice the day, 4 bins: edges at the quartiles 1, 26, 51, 76, 101, a day on an
    edge opening the next bin: 1-25, 26-50, 51-75 and 76-101 (25, 25, 25, 26 patients)."""
    days = np.arange(1, 102)
    curve = L.lowess_curve(make_cohort([300] * 101, 300 - 2 * days, days=days), n_bins=4)
    assert curve["n"].tolist() == [25, 25, 25, 26]
    assert curve["days"].tolist() == [13, 38, 63, 88.5]
    assert curve["mean_change"].tolist() == [26, 76, 126, 177]
    # Days 1 to 100: the quartiles 25.75, 50.5 and 75.25 fall between days and are kept as they are (rounded
    # to whole days they would move a day from one bin to the next): 25 days in each bin.
    days = np.arange(1, 101)
    curve = L.lowess_curve(make_cohort([300] * 100, 300 - 2 * days, days=days), n_bins=4)
    assert curve["n"].tolist() == [25, 25, 25, 25]
    assert curve["days"].tolist() == [13, 38, 63, 88]


@pytest.mark.parametrize(("n_days", "bins"), [(40, 40), (41, 40)])
def test_up_to_forty_days_each_day_is_a_bin(n_days, bins):
    """By default (40 bins) 40 distinct days are 40 bins; 41 are 40 quantile bins, the last holding two days.
    The edges are the days 1 to 41 themselves: unrounded, some came out a hair above their day (7.000000000000001),
    which put day 7 in day 6's bin and left 5 of the 40 bins empty."""
    days = np.arange(1, n_days + 1)
    curve = L.lowess_curve(make_cohort([80] * n_days, [40] * n_days, days=days))
    assert len(curve) == bins
    assert curve["n"].iloc[-1] == n_days - bins + 1


def test_forty_days_stay_forty_bins_however_the_patients_crowd_one_day():
    """100 patients on day 1 and one on each of days 2 to 40: still a bin a day (quantile bins of these 139
    patients would have only 12 distinct edges, merging the sparse days)."""
    days = np.r_[np.ones(100, dtype=int), np.arange(2, 41)]
    curve = L.lowess_curve(make_cohort([80] * days.size, [40] * days.size, days=days))
    assert curve["days"].tolist() == list(range(1, 41))
    assert curve["n"].tolist() == [100] + [1] * 39
