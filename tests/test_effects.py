"""Effect sizes and their intervals against R (tests/results/effect_intervals.R and its CSV) and against a
noncentral-t inversion written here by numerical integration, independent of scipy's nct code.

The R script computes each interval with R's own ``pt(t, df, ncp)`` and ``uniroot``, ``wilcox.test(exact =
TRUE)`` and ``binom.test``, so a wrong divisor (``sqrt(n - 1)`` for ``sqrt(n)``), a population SD (``ddof=0``)
or a wrong degrees of freedom moves the library's value away from the file's.
"""

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as sps

from ketamine_ptsd.analysis import effects, multiverse, stats

R = pd.read_csv(Path(__file__).parent / "results" / "effect_intervals.csv").set_index("statistic")["value"]

# The inputs of tests/results/effect_intervals.R, kept identical to it.
PRE = np.array([52, 61, 45, 70, 38, 55, 49, 66, 58, 41], dtype=float)
POST = np.array([30, 44, 40, 35, 36, 20, 45, 50, 22, 40], dtype=float)
WITH = [25, 30, 12, 18, 27, 22]
WITHOUT = [10, 16, 5, 20, 8, 14, 11]
W_PRE = [40, 52, 47, 61, 38, 55, 44]
W_POST = [41, 30, 44, 50, 45, 25, 40]


def test_paired_d_intervals_match_r():
    r = stats.paired_outcome(PRE, POST)
    for key in ("d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "d_av_ci_low", "d_av_ci_high"):
        assert r[key] == pytest.approx(R[key], rel=1e-6), key


def test_psychotherapy_d_interval_and_p_match_r():
    change = WITH + WITHOUT
    cohort = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(len(change))],
            "pcl5_pre": pd.array([60] * len(change), dtype="Int64"),
            "pcl5_post": pd.array([60 - c for c in change], dtype="Int64"),
            "psychotherapy": pd.array([True] * len(WITH) + [False] * len(WITHOUT), dtype="boolean"),
        }
    )
    r = stats.psychotherapy_contrast(cohort)
    for key in ("psychotherapy_d", "psychotherapy_d_ci_low", "psychotherapy_d_ci_high", "psychotherapy_p"):
        assert r[key] == pytest.approx(R[key], rel=1e-6), key


def test_wilcoxon_p_matches_r_and_an_exact_enumeration():
    r = stats.paired_outcome(W_PRE, W_POST)
    assert r["wilcoxon_p"] == pytest.approx(R["wilcoxon_p"], rel=1e-12)
    # Exact: under H0 each rank carries either sign with probability 1/2; the two-sided p is twice the share of
    # the 2^n sign patterns whose negative-rank sum is at most the observed smaller rank sum.
    change = np.array(W_PRE) - np.array(W_POST)
    ranks = sps.rankdata(np.abs(change))
    observed = min(ranks[change < 0].sum(), ranks[change > 0].sum())
    sums = [sum(s) for k in range(len(ranks) + 1) for s in itertools.combinations(ranks, k)]
    assert r["wilcoxon_p"] == pytest.approx(min(1.0, 2 * np.mean(np.array(sums) <= observed)), rel=1e-12)


def test_clopper_pearson_matches_r_binom_test():
    low, high = multiverse._clopper_pearson(np.array([0, 7, 20]), 20, 0.95)
    for i, k in enumerate((0, 7, 20)):
        assert low[i] == pytest.approx(100 * R[f"cp_{k}_low"], rel=1e-9, abs=1e-12)
        assert high[i] == pytest.approx(100 * R[f"cp_{k}_high"], rel=1e-9)


def nct_cdf_by_integration(t, df, ncp):
    """P(T <= t) for T = (Z + ncp) / sqrt(V / df), V ~ chi2(df): E_V[Phi(t sqrt(V / df) - ncp)]."""
    value, _ = integrate.quad(
        lambda v: sps.norm.cdf(t * math.sqrt(v / df) - ncp) * sps.chi2.pdf(v, df), 0, np.inf, epsabs=1e-13
    )
    return value


def ncp_interval_by_integration(t, df, level=0.95):
    a = 1 - level

    def solve(p):
        return optimize.brentq(lambda ncp: nct_cdf_by_integration(t, df, ncp) - p, t - 20, t + 20, xtol=1e-10)

    return solve(1 - a / 2), solve(a / 2)


@pytest.mark.parametrize(("t", "df"), [(2.5, 9), (-1.2, 4), (0.0, 30), (6.0, 116)])
def test_noncentral_t_ci_matches_an_inversion_by_integration(t, df):
    low, high = effects.noncentral_t_ci(t, df, 0.95)
    ref_low, ref_high = ncp_interval_by_integration(t, df)
    assert low == pytest.approx(ref_low, abs=1e-6)
    assert high == pytest.approx(ref_high, abs=1e-6)


def test_standard_deviations_are_sample_sds():
    # n - 1 in the denominator: the SD of [1, 2, 3, 4] is sqrt(5/3), not sqrt(5/4).
    r = stats.paired_outcome([1, 2, 3, 4], [0, 0, 0, 1])
    assert r["pre_sd"] == pytest.approx(math.sqrt(5 / 3), rel=1e-12)
    assert r["post_sd"] == pytest.approx(math.sqrt(0.75 / 3), rel=1e-12)  # mean 1/4: SS = 3/4
    assert r["change_sd"] == pytest.approx(math.sqrt(2.75 / 3), rel=1e-12)  # changes 1, 2, 3, 3: SS = 11/4
    assert effects.pooled_sd(np.array([1.0, 2, 3, 4]), np.array([0.0, 2])) == pytest.approx(math.sqrt(7 / 4))
    cohort = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "pcl5_pre": pd.array([1, 2, 3, 4], dtype="Int64"),
            "pcl5_post": pd.array([0, 0, 0, 1], dtype="Int64"),
        }
    )
    assert stats.baseline_sd(cohort) == pytest.approx(math.sqrt(5 / 3), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    t=st.floats(min_value=-8, max_value=8),
    df=st.integers(min_value=2, max_value=200),
)
def test_noncentral_interval_contains_t_and_shrinks_with_n(t, df):
    low, high = effects.noncentral_t_ci(t, df, 0.95)
    assert low < t < high
    # The same standardised effect d = t / sqrt(n) observed in four times the patients: a narrower d interval.
    n = df + 1
    d = t / math.sqrt(n)
    big_low, big_high = effects.noncentral_t_ci(d * math.sqrt(4 * n), 4 * n - 1, 0.95)
    assert (big_high - big_low) / math.sqrt(4 * n) < (high - low) / math.sqrt(n)


def test_intervals_need_a_finite_standard_error_and_positive_degrees_of_freedom():
    assert effects.t_interval(1.0, math.inf, 5, 0.95) == (None, None)
    assert effects.t_interval(1.0, 1.0, 0, 0.95) == (None, None)
    assert effects.noncentral_t_ci(math.inf, 5, 0.95) == (None, None)
    assert effects.noncentral_t_ci(2.0, 0, 0.95) == (None, None)
    assert effects.noncentral_t_ci(None, 5, 0.95) == (None, None)
    assert effects.noncentral_t_ci(2.0, None, 0.95) == (None, None)


def test_t_interval_with_one_degree_of_freedom():
    # t_{.975, 1} = tan(0.475 pi) = 12.7062047...
    low, high = effects.t_interval(10.0, 2.0, 1, 0.95)
    half = math.tan(0.475 * math.pi) * 2.0
    assert (low, high) == (pytest.approx(10.0 - half, rel=1e-12), pytest.approx(10.0 + half, rel=1e-12))


def test_noncentral_t_ci_with_one_degree_of_freedom_inverts_the_integral():
    low, high = effects.noncentral_t_ci(2.0, 1, 0.95)
    ref_low, ref_high = ncp_interval_by_integration(2.0, 1)
    assert low == pytest.approx(ref_low, abs=1e-5)
    assert high == pytest.approx(ref_high, abs=1e-5)


@pytest.mark.parametrize(("t", "df"), [(250.0, 50), (-200.5, 50), (2.0, 10_001)])
def test_noncentral_t_ci_uses_the_normal_approximation_beyond_its_switch(t, df):
    # |t| > 200 or df > 10 000: t -/+ z_.975 sqrt(1 + t^2 / (2 df)), written out.
    half = 1.959963984540054 * math.sqrt(1 + t**2 / (2 * df))
    low, high = effects.noncentral_t_ci(t, df, 0.95)
    assert low == pytest.approx(t - half, rel=1e-12)
    assert high == pytest.approx(t + half, rel=1e-12)
