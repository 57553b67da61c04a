"""Regression to the mean at its edges: :mod:`ketamine_ptsd.analysis.limitations.regression`.

The truncated normal's mean comes from scipy's ``truncnorm``; the regression from Barnett, van der Pols & Dobson
(2005) written out here; never from the code under test."""

from __future__ import annotations

import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L

from .cohorts import make_cohort


def _truncated_mean(threshold, mean, sd):
    """Mean of a normal(mean, sd) truncated below at ``threshold``, by scipy."""
    return stats.truncnorm.mean((threshold - mean) / sd, float("inf"), loc=mean, scale=sd)


def test_the_grid_names_its_columns_and_gives_the_selected_mean():
    """Each row's expected baseline mean is the truncated normal's, and its expected drop (1 - rho) times
    that mean's distance from the population mean."""
    grid = L.rtm_grid([40.5, 50.0], [0.8], [12.0], entry_threshold=33)
    assert list(grid.columns) == [
        "population_mean",
        "population_sd",
        "reliability",
        "z",
        "expected_pre_mean",
        "rtm_expected_change",
    ]
    for _, row in grid.iterrows():
        selected = _truncated_mean(33, row["population_mean"], 12.0)
        assert row["z"] == pytest.approx((33 - row["population_mean"]) / 12.0)
        assert row["expected_pre_mean"] == pytest.approx(selected, rel=1e-10)
        assert row["rtm_expected_change"] == pytest.approx(0.2 * (selected - row["population_mean"]), rel=1e-10)


def test_a_retest_with_no_correlation_regresses_all_the_way():
    """rho = 0 is allowed: the retest expects the population mean, so the whole selection gap is the drop.
    Without an observed baseline mean there is no regression implied by it."""
    out = L.rtm_expected_change(entry_threshold=33, population_mean=45, population_sd=10, reliability=0.0)
    assert out["rtm_expected_change"] == pytest.approx(_truncated_mean(33, 45, 10) - 45, rel=1e-10)
    assert out["rtm_from_observed_pre_mean"] is None
    assert out["reliability"] == 0.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"population_sd": 0}, "population_sd must be positive"),
        ({"population_sd": -3}, "population_sd must be positive"),
        ({"reliability": -0.01}, r"reliability must lie in \[0, 1\]"),
        ({"reliability": 1.01}, r"reliability must lie in \[0, 1\]"),
    ],
)
def test_impossible_assumptions_are_refused_by_name(arguments, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        L.rtm_expected_change(**arguments)


def test_baselines_below_the_threshold_with_none_or_one_patient():
    """No baseline: nothing is counted and no share is given. One patient below: counted (no small-cell rule
    at a minimum cell of 0), 100%."""
    empty = L.baseline_below_threshold(make_cohort([None, None], [20, 20]), 33, min_cell=0)
    assert empty == {"n": 0, "n_below": 0, "pct_below": None, "suppressed": []}
    one = L.baseline_below_threshold(make_cohort([30], [20]), 33, min_cell=0)
    assert one == {"n": 1, "n_below": 1, "pct_below": 100.0, "suppressed": []}
