"""Regression to the mean, value by value: :mod:`ketamine_ptsd.analysis.limitations.regression`.

Expected values come from the formula of Barnett, van der Pols & Dobson (2005) written out here with the
normal density and tail written by hand (``math.erfc``), from scipy's ``truncnorm`` and ``norm``, from
``itertools.product`` for the grid's rows, or from counts made by hand; never a call to the library."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L

from .cohorts import make_cohort


def _mills(z):
    """phi(z) / (1 - Phi(z)), written out."""
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / (0.5 * math.erfc(z / math.sqrt(2)))


def test_the_grid_is_the_same_for_whole_number_and_decimal_assumptions():
    """Means 40 and 50, SD 10, reliabilities 0 and 1 written as integers give the table that 40.0, 50.0, 10.0,
    0.0 and 1.0 give, with float columns; by hand, reliability 1 leaves no regression and reliability 0 all of
    sd * C(z), with z = (33 - mu) / 10."""
    whole = L.rtm_grid([40, 50], [0, 1], [10], entry_threshold=33)
    decimal = L.rtm_grid([40.0, 50.0], [0.0, 1.0], [10.0], entry_threshold=33)
    pd.testing.assert_frame_equal(whole, decimal)
    for column in ("population_mean", "population_sd", "reliability"):
        assert str(whole[column].dtype) == "float64", column
    records = whole.to_dict(orient="records")
    assert all(type(r[c]) is float for r in records for c in ("population_mean", "population_sd", "reliability"))
    for r in records:
        z = (33 - r["population_mean"]) / 10
        expected = 0.0 if r["reliability"] == 1 else 10 * _mills(z)
        assert r["rtm_expected_change"] == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert r["expected_pre_mean"] == pytest.approx(r["population_mean"] + 10 * _mills(z), rel=1e-10)


def test_the_default_grid_has_float_columns_and_every_combination():
    """The default grid (6 means, 3 SDs, 5 reliabilities, all written as numbers in the module) has 90 rows,
    its assumptions as floats, and each row follows sd * (1 - rho) * C(z) with the default threshold 33."""
    grid = L.rtm_grid()
    assert len(grid) == 6 * 3 * 5
    assert [str(grid[c].dtype) for c in grid.columns] == ["float64"] * 6
    assert sorted(set(grid["population_mean"])) == [35.0, 40.0, 45.0, 47.0, 50.0, 55.0]
    assert sorted(set(grid["population_sd"])) == [10.0, 15.0, 20.0]
    for r in grid.itertuples():
        z = (33 - r.population_mean) / r.population_sd
        assert r.z == pytest.approx(z)
        assert r.rtm_expected_change == pytest.approx(r.population_sd * (1 - r.reliability) * _mills(z), rel=1e-10)


def test_the_grid_rows_run_by_mean_then_sd_then_reliability():
    """Rows in the order of the columns: population means outermost, then SDs, then reliabilities, each in the
    order given (the order of ``itertools.product``), so a printed grid reads by population mean."""
    means, rhos, sds = [50.0, 40.0], [0.9, 0.7, 0.8], [15.0, 10.0]
    grid = L.rtm_grid(means, rhos, sds, entry_threshold=33)
    expected = list(itertools.product(means, sds, rhos))
    got = list(zip(grid["population_mean"], grid["population_sd"], grid["reliability"]))
    assert got == expected
    assert grid.index.tolist() == list(range(12))


@pytest.mark.parametrize(("change", "has_column"), [(None, False), (0, False), (0.0, False), (-8.0, True)])
def test_the_share_of_the_observed_change_needs_a_change_other_than_zero(change, has_column):
    """No observed change, or a change of 0 (a share of nothing), gives no share column; a rise of 8 points
    (change -8) gives 100 * RTM / -8, a negative share. By hand for mu 40, SD 10, rho 0.8, c 33."""
    grid = L.rtm_grid([40.0], [0.8], [10.0], entry_threshold=33, observed_mean_change=change)
    assert ("pct_of_observed_change" in grid) is has_column
    if has_column:
        rtm = 10 * 0.2 * _mills(-0.7)
        assert grid["pct_of_observed_change"].tolist() == pytest.approx([100 * rtm / -8.0], rel=1e-10)


def test_the_expected_change_against_scipy_on_both_sides_of_the_mean():
    """Thresholds below, at and above the population mean: the selected mean is scipy's truncated normal mean,
    the drop (1 - rho) times its distance from mu, and z = (c - mu) / sigma."""
    for c in (20.0, 47.0, 60.0):
        out = L.rtm_expected_change(entry_threshold=c, population_mean=47.0, population_sd=12.0, reliability=0.75)
        a = (c - 47.0) / 12.0
        selected = stats.truncnorm.mean(a, np.inf, loc=47.0, scale=12.0)
        assert out["z"] == pytest.approx(a)
        assert out["mills_ratio"] == pytest.approx(stats.norm.pdf(a) / stats.norm.sf(a), rel=1e-10)
        assert out["expected_pre_mean"] == pytest.approx(selected, rel=1e-10)
        assert out["rtm_expected_change"] == pytest.approx(0.25 * (selected - 47.0), rel=1e-9)
        assert (out["entry_threshold"], out["population_mean"], out["population_sd"], out["reliability"]) == (
            c,
            47.0,
            12.0,
            0.75,
        )


@pytest.mark.parametrize(("reliability", "accepted"), [(-1e-9, False), (0.0, True), (1.0, True), (1 + 1e-9, False)])
def test_reliability_at_and_beside_the_ends_of_zero_to_one(reliability, accepted):
    """0 and 1 are allowed; a hair outside either is refused. At 1 nothing regresses; at 0 all of sigma * C(z)."""
    if not accepted:
        with pytest.raises(ValueError, match="reliability"):
            L.rtm_expected_change(33, 45, 10, reliability)
        return
    out = L.rtm_expected_change(33, 45, 10, reliability)
    assert out["rtm_expected_change"] == pytest.approx((1 - reliability) * 10 * _mills(-1.2), rel=1e-10)


@pytest.mark.parametrize(("sd", "accepted"), [(-1e-9, False), (0.0, False), (1e-9, True)])
def test_population_sd_at_and_beside_zero(sd, accepted):
    """An SD of 0 or below is refused; a tiny positive SD is accepted. With the threshold at mu, z = 0 and
    C(0) = 2 / sqrt(2 pi), so the selected mean lies sd * C(0) above mu and half of that regresses."""
    if not accepted:
        with pytest.raises(ValueError, match="population_sd"):
            L.rtm_expected_change(45, 45, sd, 0.5)
        return
    out = L.rtm_expected_change(45, 45, sd, 0.5)
    c0 = 2 / math.sqrt(2 * math.pi)
    assert out["z"] == 0.0
    assert out["expected_pre_mean"] - 45 == pytest.approx(1e-9 * c0, rel=1e-6)
    assert out["rtm_expected_change"] == pytest.approx(0.5e-9 * c0, rel=1e-10)


def test_the_regression_implied_by_the_observed_baseline_mean():
    """(1 - rho)(observed mean - mu): 0.1 * (40 - 50) = -1 below mu (a rise), 0 at mu."""
    below = L.rtm_expected_change(33, 50, 10, 0.9, observed_pre_mean=40.0)
    assert below["rtm_from_observed_pre_mean"] == pytest.approx(-1.0)
    at = L.rtm_expected_change(33, 50, 10, 0.9, observed_pre_mean=50.0)
    assert at["rtm_from_observed_pre_mean"] == 0.0


def test_the_inverse_mills_ratio_keeps_the_shape_of_its_input():
    """A 2 x 2 array in, a 2 x 2 array out, each cell phi / (1 - Phi) by hand."""
    z = np.array([[-2.0, 0.0], [1.0, 3.0]])
    out = L.inverse_mills_ratio(z)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, [[_mills(v) for v in row] for row in z], rtol=1e-10)


def test_the_share_explained_of_a_rise_and_of_no_regression():
    """100 * RTM / change: a rise (change -4) gives a negative share, no regression a share of 0 (not None);
    an unknown RTM or change gives None."""
    assert L.pct_change_explained_by_rtm(2.0, -4.0) == pytest.approx(-50.0)
    assert L.pct_change_explained_by_rtm(0.0, 10.0) == 0.0
    assert L.pct_change_explained_by_rtm(2.0, None) is None
    assert L.pct_change_explained_by_rtm(None, None) is None


@pytest.mark.parametrize(("threshold", "n_below"), [(32.5, 1), (33, 1), (33.5, 2), (34, 2), (34.5, 3)])
def test_baselines_at_and_beside_the_threshold(threshold, n_below):
    """Baselines 32, 33, 34 and a missing one: a baseline equal to the threshold is admitted, so the count
    below is the baselines strictly under it; the missing baseline is not a patient with a baseline."""
    out = L.baseline_below_threshold(make_cohort([32, 33, 34, None], [20] * 4), threshold, min_cell=0)
    assert out == {"n": 3, "n_below": n_below, "pct_below": 100 * n_below / 3, "suppressed": []}


@pytest.mark.parametrize(
    ("pre", "n_below", "pct_below", "hidden"),
    [
        # 2 below of 10 at a minimum cell of 3: 2 is a small cell, both the count and its share are hidden.
        ([30, 31] + [40] * 8, None, None, ["n_below", "pct_below"]),
        # 3 below of 10: exactly the minimum cell, both shown.
        ([30, 31, 32] + [40] * 7, 3, 30.0, []),
        # 0 below of 2: zero is no one, but the share rests on 2 patients, under the minimum cell.
        ([40, 41], 0, None, ["pct_below"]),
        # 0 below of 3: nothing hidden.
        ([40, 41, 42], 0, 0.0, []),
    ],
)
def test_the_small_cell_rule_at_and_beside_its_minimum(pre, n_below, pct_below, hidden):
    """With a minimum cell of 3, a count of 1 or 2 and a share resting on 1 or 2 patients are hidden; 3 and 0
    are shown."""
    out = L.baseline_below_threshold(make_cohort(pre, [20] * len(pre)), 33, min_cell=3)
    assert out == {"n": len(pre), "n_below": n_below, "pct_below": pct_below, "suppressed": hidden}
