"""The smoothed follow-up curve at the edges of its bins and of its local fits:
:func:`ketamine_ptsd.analysis.limitations.lowess_curve` with a single bin, a quantile bin that holds no patient,
a first follow-up time that its rounded edge passes, and a local fit whose spread sits just above or just below
the slope guard's cut-off (1e-12 of the squared range of the bin days, and never less than 1e-12).

Every expected value is worked out in the tests' docstrings and comments from the rule written in
``lowess_curve``'s docstring (bins, counts, means, tricube weights, weighted least squares), never by calling
the code under test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ketamine_ptsd.analysis import limitations as L

from .cohorts import completers_with_days, make_cohort


def test_one_bin_is_the_overall_mean_and_two_bins_are_their_means():
    """Days 7, 14, 30, 30 with changes 8, 20, 30, 40. With one bin (more distinct days than bins) every patient
    is in it: its day is (7 + 14 + 30 + 30) / 4 = 20.25, its change (8 + 20 + 30 + 40) / 4 = 24.5, and a local
    fit of one point is that point. With two bins the edges are the minimum, median and maximum, 7, 22, 30:
    days 7 and 14 (mean change 14) and the two on day 30 (mean change 35); each fit has int(2/3 * 2) -> at least
    2 points, the neighbour at tricube weight 0, so the curve is each bin's mean."""
    cohort = make_cohort([80] * 4, [72, 60, 50, 40], days=[7, 14, 30, 30])
    one = L.lowess_curve(cohort, n_bins=1)
    assert one["days"].tolist() == [20.25] and one["n"].tolist() == [4]
    assert one["mean_change"].tolist() == [24.5]
    assert one["change_smooth"].tolist() == pytest.approx([24.5], abs=1e-12)
    two = L.lowess_curve(cohort, n_bins=2)
    assert two["days"].tolist() == [10.5, 30] and two["n"].tolist() == [2, 2]
    assert two["mean_change"].tolist() == [14, 35]
    assert two["change_smooth"].tolist() == pytest.approx([14, 35], abs=1e-12)


def test_a_quantile_bin_without_patients_is_left_out():
    """Days 10, 11, 12, 12, 13 in three quantile bins: numpy's linear quantiles at ranks 0, 4/3, 8/3 and 4 are
    10, 11 + 1/3, 12 + 2/3 * (12 - 12) = 12 and 13, so [10, 11.33) holds days 10 and 11, [11.33, 12) nobody, and
    [12, 13] days 12, 12 and 13. The curve has the two bins that hold patients, with no missing values: days
    10.5 and 37 / 3, changes (2 + 4) / 2 = 3 and (6 + 8 + 10) / 3 = 8; two bins are each their own fit."""
    cohort = make_cohort([80] * 5, [78, 76, 74, 72, 70], days=[10, 11, 12, 12, 13])
    curve = L.lowess_curve(cohort, n_bins=3)
    assert curve["n"].tolist() == [2, 3]
    assert curve["days"].tolist() == pytest.approx([10.5, 37 / 3], rel=1e-12)
    assert curve["mean_change"].tolist() == pytest.approx([3, 8], rel=1e-12)
    assert curve["change_smooth"].tolist() == pytest.approx([3, 8], rel=1e-12)
    assert not curve.isna().any().any()


def test_follow_up_times_a_hair_inside_their_rounded_edges_stay_in_the_end_bins():
    """Days 9.9999999996, 11, 12 and 13.0000000004 (4e-10 of a day, 35 microseconds, off a whole day, as a
    difference of timestamps gives) in two quantile bins: the edges, rounded to 9 decimals, are 10, 11.5 and 13,
    so the first day lies below the first edge and the last above the last. They still count in the first and
    the last bin: [10, 11.5) has the first two patients (changes 2 and 4), [11.5, 13] the last two (6 and 8)."""
    days = [9.9999999996, 11.0, 12.0, 13.0000000004]
    curve = L.lowess_curve(completers_with_days([2, 4, 6, 8], days), n_bins=2)
    assert curve["n"].tolist() == [2, 2]
    assert curve["days"].tolist() == pytest.approx([(9.9999999996 + 11) / 2, (12 + 13.0000000004) / 2], rel=1e-15)
    assert curve["mean_change"].tolist() == [3, 7]


def _guard_layout(d1, sxx_target):
    """Five days, one patient each: 1, 1 + d1, 1 + d2, 1 + 3 d1, 1 + 4 d1, with d2 a little above d1 so that, in
    the local fit at the first day over its k = int(0.6 * 5) = 3 nearest bins, the radius is d2, the day at d2
    has tricube weight 0 and the one at d1 has weight b = (1 - (d1 / d2)^3)^3 next to the first day's 1.
    d2 is chosen so that the fit's weighted spread of days, b / (1 + b)^2 * d1^2, is about ``sxx_target``."""
    b = sxx_target / d1**2
    d2 = d1 / (1 - b ** (1 / 3)) ** (1 / 3)
    return np.array([1.0, 1.0 + d1, 1.0 + d2, 1.0 + 3 * d1, 1.0 + 4 * d1])


@pytest.mark.parametrize(
    ("d1", "factor"),
    [(10.0, 2.0), (10.0, 0.5), (0.2, 1.5), (0.2, 0.5)],
    ids=["range-40-above", "range-40-below", "range-0.8-above", "range-0.8-below"],
)
def test_the_slope_is_fitted_only_above_the_guard_on_the_spread(d1, factor):
    """The local fit at the first of five days whose only weighted neighbour has a tiny tricube weight b.
    The guard on the weighted spread of days is 1e-12 * max(range^2, 1): 1.6e-9 for days spanning 40, 1e-12
    for days spanning 0.8 (under one day the floor of 1 applies). With a spread just above it the fit is the
    weighted least-squares line through the two weighted points, which passes through the first one: the
    curve there is its change, 0. Just below it the slope is taken as 0 and the curve is the weighted mean of
    the changes, (1 * 0 + b * 80) / (1 + b), between 2e-10 and 3e-9 here: far above rounding at this scale."""
    span = 4 * d1
    guard = 1e-12 * max(span**2, 1.0)
    days = _guard_layout(d1, factor * guard)
    change = np.array([0.0, 80.0, 10.0, 30.0, 50.0])
    # The spread and weight from the days as stored, by hand from the tricube rule.
    u = (days[1] - days[0]) / (days[2] - days[0])
    b = (1 - u**3) ** 3
    spread = b / (1 + b) ** 2 * (days[1] - days[0]) ** 2
    assert spread == pytest.approx(factor * guard, rel=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a zero spread, no unset slope: a clean curve
        curve = L.lowess_curve(completers_with_days(change, days), frac=0.6)
    assert curve["days"].tolist() == days.tolist() and curve["n"].tolist() == [1] * 5
    first = curve["change_smooth"].iloc[0]
    if factor > 1:
        assert first == pytest.approx(0.0, abs=1e-13)
    else:
        weighted_mean = b * 80.0 / (1 + b)
        assert weighted_mean > 1e-10
        assert first == pytest.approx(weighted_mean, rel=1e-6, abs=1e-14)


def test_fits_of_two_bins_are_the_bin_means_even_beside_a_nearly_tied_neighbour():
    """frac = 0.4 of five bins is int(2) = 2 bins a fit: each bin and its nearest, which lies on the radius and
    has tricube weight 0, so the curve is exactly the bin means. The first day's second-nearest neighbour is
    only a hair farther than its nearest (the layout of the guard test above, with a weight of about 8e-12 had
    it been in the fit): a fit of three bins would move the first value off 0 by about b * 80 = 6e-10."""
    days = _guard_layout(10.0, 0.5 * 1e-12 * 40.0**2)
    change = np.array([0.0, 80.0, 10.0, 30.0, 50.0])
    curve = L.lowess_curve(completers_with_days(change, days), frac=0.4)
    assert curve["mean_change"].tolist() == change.tolist()
    assert curve["change_smooth"].tolist() == pytest.approx(change.tolist(), rel=0, abs=1e-12)
