"""Regression to the mean: :mod:`ketamine_ptsd.analysis.limitations.regression` and its words,
:mod:`ketamine_ptsd.presentation.limitations.regression`.

Expected values come from formulas written out here, from scipy or statsmodels, or from the published
sources named beside them; never from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.parameters import SPEC
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def phi(z):  # standard normal density, written out
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def upper_tail(z):  # 1 - Phi(z) through the complementary error function
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_inverse_mills_ratio_is_the_truncated_normal_mean_and_stays_finite():
    z = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 6.0])
    np.testing.assert_allclose(L.inverse_mills_ratio(z), [phi(v) / upper_tail(v) for v in z], rtol=1e-10)
    # How far above the cut, in SDs, the mean of a standard normal truncated below at z lies.
    assert float(L.inverse_mills_ratio(1.3)) == pytest.approx(stats.truncnorm.mean(1.3, np.inf), rel=1e-10)
    # phi(60) and 1 - Phi(60) both underflow to 0; C(z) still follows its asymptote z + 1/z.
    assert phi(60) == 0 and upper_tail(60) == 0
    assert float(L.inverse_mills_ratio(60.0)) == pytest.approx(60 + 1 / 60, rel=1e-6)


def test_rtm_at_threshold_equal_to_population_mean():
    # z = 0: C(0) = phi(0) / 0.5 = 2 / sqrt(2 pi) = 0.7978845608.
    out = L.rtm_expected_change(entry_threshold=45, population_mean=45, population_sd=15, reliability=0.82)
    c0 = 2 / math.sqrt(2 * math.pi)
    assert out["z"] == 0
    assert out["mills_ratio"] == pytest.approx(c0, rel=1e-12)
    assert out["rtm_expected_change"] == pytest.approx(15 * 0.18 * c0, rel=1e-12)  # 2.15429
    assert out["expected_pre_mean"] == pytest.approx(45 + 15 * c0, rel=1e-12)


def test_rtm_barnett_formula_by_hand_and_truncated_normal_mean():
    # Barnett et al. 2005 (Int J Epidemiol 34:215): RTM = sigma_w^2 / sqrt(sigma_b^2 + sigma_w^2) * C(z),
    # with rho = sigma_b^2 / sigma^2, so sigma_w^2 / sigma = sigma (1 - rho).
    mu, sigma, rho, c = 47.0, 15.0, 0.82, 33.0
    sigma_w2 = (1 - rho) * sigma**2
    z = (c - mu) / sigma
    expected = sigma_w2 / math.sqrt(rho * sigma**2 + sigma_w2) * phi(z) / upper_tail(z)
    out = L.rtm_expected_change(c, mu, sigma, rho, observed_pre_mean=52.54)
    assert out["rtm_expected_change"] == pytest.approx(expected, rel=1e-10)
    assert out["z"] == pytest.approx(-14 / 15)
    # The selected group's mean is the mean of a normal truncated below at c.
    assert out["expected_pre_mean"] == pytest.approx(stats.truncnorm.mean(z, np.inf, loc=mu, scale=sigma), rel=1e-10)
    assert out["rtm_from_observed_pre_mean"] == pytest.approx(0.18 * (52.54 - 47.0))
    assert L.rtm_expected_change(c, mu, sigma, 1.0)["rtm_expected_change"] == 0
    # Far above the mean C(z) ~ z: stays finite where phi / (1 - Phi) would be 0 / 0.
    far = L.rtm_expected_change(80, 0, 1, 0.5)
    assert far["mills_ratio"] == pytest.approx(80, rel=1e-3)


def test_rtm_matches_simulated_retest():
    # True score T ~ N(mu, rho sigma^2); two measurements T + e, var(e) = (1 - rho) sigma^2, so their
    # correlation is rho. Select on the first >= c; the mean drop to the second is the RTM effect.
    rng = np.random.default_rng(11)
    mu, sigma, rho, c, n = 40.0, 15.0, 0.82, 55.0, 400_000
    true = rng.normal(mu, math.sqrt(rho) * sigma, n)
    noise_sd = math.sqrt(1 - rho) * sigma
    x1, x2 = true + rng.normal(0, noise_sd, n), true + rng.normal(0, noise_sd, n)
    sel = x1 >= c
    simulated = (x1[sel] - x2[sel]).mean()
    se = (x1[sel] - x2[sel]).std() / math.sqrt(sel.sum())
    out = L.rtm_expected_change(c, mu, sigma, rho)
    assert abs(out["rtm_expected_change"] - simulated) < 4 * se
    assert abs(out["expected_pre_mean"] - x1[sel].mean()) < 0.1


def test_rtm_rejects_impossible_inputs():
    with pytest.raises(ValueError):
        L.rtm_expected_change(33, 45, 0, 0.8)
    with pytest.raises(ValueError):
        L.rtm_expected_change(33, 45, 15, 1.2)


def test_rtm_defaults_are_the_build_parameters():
    # One place for the assumptions: the parameters module, with a reason for each.
    assumed = (SPEC["rtm_entry_threshold"][0], SPEC["rtm_population_mean"][0], SPEC["rtm_population_sd"][0])
    assert assumed == (33, 47.0, 15.0)
    assert SPEC["reliability"][0] == 0.82  # Blevins et al. 2015
    for name in ("rtm_entry_threshold", "rtm_population_mean", "rtm_population_sd"):
        assert SPEC[name][1], name
    assert not hasattr(L, "RTM_DEFAULTS")
    # The functions' defaults are those parameters: mu = 47, sigma = 15, c = 33, rho = .82 by hand.
    z = (33 - 47) / 15
    expected = 15 * 0.18 * phi(z) / upper_tail(z)
    assert L.rtm_expected_change()["rtm_expected_change"] == pytest.approx(expected, rel=1e-10)


def test_pct_change_explained_by_rtm():
    assert L.pct_change_explained_by_rtm(2.0, 25.0) == pytest.approx(8.0)
    assert L.pct_change_explained_by_rtm(2.0, 0) is None
    assert L.pct_change_explained_by_rtm(None, 20) is None


def test_rtm_grid_rows_follow_the_formula():
    grid = L.rtm_grid([40, 50], [0.8, 0.9], [10, 20], entry_threshold=33, observed_mean_change=20.0)
    assert len(grid) == 8
    row = grid[(grid.population_mean == 50) & (grid.population_sd == 10) & (grid.reliability == 0.9)].iloc[0]
    z = (33 - 50) / 10
    expected = 10 * 0.1 * phi(z) / upper_tail(z)
    assert row["rtm_expected_change"] == pytest.approx(expected, rel=1e-10)
    assert row["pct_of_observed_change"] == pytest.approx(100 * expected / 20)
    # Lower reliability, more regression; same population.
    sub = grid[(grid.population_mean == 40) & (grid.population_sd == 20)].sort_values("reliability")
    assert sub["rtm_expected_change"].iloc[0] > sub["rtm_expected_change"].iloc[1]


def test_baseline_below_threshold():
    out = L.baseline_below_threshold(make_cohort([30, 33, 40, 50], [20, 20, 20, 20]), 33, min_cell=0)
    # 33 itself is admitted; the lowest baseline, one patient's score, is not given.
    assert out == {"n": 4, "n_below": 1, "pct_below": 25.0, "suppressed": []}
    assert L.baseline_below_threshold(make_cohort([40, 50], [20, 20]), 33, min_cell=0)["n_below"] == 0
    hidden = L.baseline_below_threshold(make_cohort([30, 31] + [40] * 8, [20] * 10), 33, min_cell=5)
    assert hidden == {"n": 10, "n_below": None, "pct_below": None, "suppressed": ["n_below", "pct_below"]}
    none_below = L.baseline_below_threshold(make_cohort([40] * 6, [20] * 6), 33, min_cell=5)
    assert none_below["n_below"] == 0 and none_below["suppressed"] == []  # zero is no person
    few = L.baseline_below_threshold(make_cohort([40] * 3, [20] * 3), 33, min_cell=5)
    assert few["n_below"] == 0 and few["pct_below"] is None  # a share of three patients


def test_regression_paragraph_counts_the_patients_below_the_threshold_never_how_low():
    outcome = {"mean_change": 20.0, "pre_mean": 52.0, "suppressed": []}
    rtm = L.rtm_expected_change(observed_pre_mean=52.0)
    pct = L.pct_change_explained_by_rtm(rtm["rtm_expected_change"], 20.0)
    c = make_cohort([30, 31] + [40] * 8, [20] * 10)
    text = LT.regression.paragraph(rtm, pct, L.baseline_below_threshold(c, 33, min_cell=0), outcome, 5).data
    assert f"That is {100 * rtm['rtm_expected_change'] / 20:.1f}% of the observed mean drop of 20.00 points." in text
    assert f"gives {0.18 * (52 - 47):.2f} points" in text  # (1 - rho) times the distance above mu
    assert "2 of 10 patients (20.0%) started below the assumed threshold" in text and "30" not in text
    hidden = LT.regression.paragraph(rtm, pct, L.baseline_below_threshold(c, 33, min_cell=5), outcome, 5).data
    assert "Fewer than 5 patients (their number is suppressed)" in hidden and "2 of 10" not in hidden
