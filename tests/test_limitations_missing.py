"""Dropout: :mod:`ketamine_ptsd.analysis.limitations.missing` (intention to treat, multiple imputation) and its
words, :mod:`ketamine_ptsd.presentation.limitations.missing`.

Expected values come from formulas written out here, from scipy or statsmodels, or from the published
sources named beside them; never from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import privacy
from ketamine_ptsd.analysis import stats as stats_module
from ketamine_ptsd.parameters import DEFAULTS, SPEC
from ketamine_ptsd.presentation import limitations as LT

from .cohorts import make_cohort


def test_itt_counts_dropouts_as_unchanged():
    c = make_cohort([50, 60, 40, 70], [30, 40, None, None])
    out = L.itt_summary(c, min_cell=0)
    itt = np.array([20, 20, 0, 0], dtype=float)
    half = stats.t.ppf(0.975, 3) * itt.std(ddof=1) / 2
    assert (out["n_patients"], out["n_completers"], out["n_dropouts"]) == (4, 2, 2)
    assert out["pct_dropout"] == 50
    assert out["completer_mean_change"] == 20 and out["itt_mean_change"] == 10
    assert out["itt_change_sd"] == pytest.approx(math.sqrt(400 / 3))
    assert (out["itt_ci_low"], out["itt_ci_high"]) == pytest.approx((10 - half, 10 + half))
    assert out["itt_pct_of_completer_change"] == 50
    assert L.itt_summary(make_cohort([50], [None]), min_cell=0)["itt_mean_change"] is None


def test_rubin_rules_by_hand():
    # m = 3: Qbar = 11, Ubar = 1.5, B = var(10, 12, 11) = 1, T = 1.5 + (4/3) * 1 = 17/6.
    out = L.rubin_combine([10, 12, 11], [1.0, 1.5, 2.0])
    T = 1.5 + 4 / 3
    lam = (4 / 3) / T  # 8/17
    df = 2 / lam**2  # (m - 1) (1 + Ubar / ((1 + 1/m) B))^2 = 2 * 2.125^2 = 9.03125
    assert (out["estimate"], out["within_variance"], out["between_variance"]) == (11, 1.5, 1)
    assert out["total_variance"] == pytest.approx(17 / 6)
    assert out["df"] == pytest.approx(9.03125)
    assert out["df"] == pytest.approx(df)
    assert out["fraction_missing_information"] == pytest.approx(8 / 17)
    assert out["relative_increase_variance"] == pytest.approx((4 / 3) / 1.5)
    half = stats.t.ppf(0.975, 9.03125) * math.sqrt(17 / 6)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((11 - half, 11 + half))
    # Barnard & Rubin (1999) with 20 complete-data df: df_obs = 21/23 * 20 * (1 - 8/17).
    br = L.rubin_combine([10, 12, 11], [1.0, 1.5, 2.0], df_complete=20)
    df_obs = 21 / 23 * 20 * (9 / 17)
    assert br["df"] == pytest.approx(1 / (1 / 9.03125 + 1 / df_obs))
    with pytest.raises(ValueError):
        L.rubin_combine([1.0], [1.0])


def test_mi_without_dropouts_is_the_completer_t_interval():
    rng = np.random.default_rng(8)
    pre = rng.integers(35, 80, 40)
    post = np.clip(pre - rng.integers(-5, 40, 40), 0, 80)
    out = L.multiple_imputation(make_cohort(pre, post), min_cell=0)
    change = (pre - post).astype(float)
    ci = stats.ttest_1samp(change, 0).confidence_interval(0.95)
    assert out["mi_mean_change"] == change.mean()
    assert out["mi_se"] == pytest.approx(stats.sem(change), rel=1e-12)
    assert (out["mi_ci_low"], out["mi_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert out["n_imputed"] == 0 and "no dropouts" in out["method"]


def test_mi_recovers_an_exact_linear_relation():
    # Completers: post = pre / 2 + 10 exactly, so the residual variance is 0, every draw equals the fit and
    # every imputed post is pre / 2 + 10: the pooled mean is known exactly and B = 0.
    pre = np.arange(40, 80, 2)  # 20 patients
    post = (pre / 2 + 10).astype(int)
    post_obs = [p if i % 4 else None for i, p in enumerate(post)]
    out = L.multiple_imputation(make_cohort(pre, post_obs), m=5, seed=1, min_cell=0)
    change = pre - post
    n = pre.size
    assert out["n_imputed"] == 5
    assert out["mi_mean_change"] == pytest.approx(change.mean(), abs=1e-9)
    assert out["mi_se"] == pytest.approx(change.std(ddof=1) / math.sqrt(n), abs=1e-9)
    assert out["fraction_missing_information"] == pytest.approx(0, abs=1e-12)
    # lambda = 0: Barnard-Rubin df reduces to df_obs = (df_com + 1) / (df_com + 3) * df_com, df_com = n - 1.
    assert out["mi_df"] == pytest.approx(n / (n + 2) * (n - 1), rel=1e-9)
    assert "Rubin" in out["method"] and "m = 5" in out["method"]


def test_mi_under_missing_at_random_targets_the_regression_estimate():
    # Dropout depends on baseline only (MAR): the completer mean is biased, the regression estimate is not.
    rng = np.random.default_rng(21)
    n = 20_000
    pre = rng.integers(33, 81, n)
    post = np.clip(np.round(0.6 * pre + 5 + rng.normal(0, 8, n)), 0, 80).astype(int)
    drop = rng.random(n) < np.where(pre > 60, 0.5, 0.1)
    c = make_cohort(pre, np.where(drop, -1, post))
    c.loc[drop, "pcl5_post"] = pd.NA
    slope, intercept = np.polyfit(pre[~drop], post[~drop], 1)
    filled = np.where(drop, intercept + slope * pre, post)
    target = (pre - filled).mean()
    out = L.multiple_imputation(c, m=20, seed=3, min_cell=0)
    assert abs(out["mi_mean_change"] - target) < 0.05
    assert abs((pre - post)[~drop].mean() - target) > 0.5  # the completer mean really is biased here
    assert out["mi_se"] > (pre - filled).std(ddof=1) / math.sqrt(n)  # imputation adds uncertainty
    assert out["mi_ci_low"] < out["mi_mean_change"] < out["mi_ci_high"]
    again = L.multiple_imputation(c, m=20, seed=3, min_cell=0)
    assert again["mi_mean_change"] == out["mi_mean_change"]
    with pytest.raises(ValueError):
        L.multiple_imputation(c, m=1, min_cell=0)


def test_mi_draws_parameters_so_between_variance_has_its_theoretical_size():
    # Proper MI: sigma*^2 = SSR / chi2(df), beta* ~ N(beta_hat, sigma*^2 V), V = (X'X)^-1 over completers.
    # The pooled mean change moves between imputations only through the imputed posts, so
    #   B = E[sigma*^2] (s' V s + n_mis) / n^2,  s = sum of the missing rows of X,  E[sigma*^2] = SSR / (df - 2).
    # An imputation that plugged in SSR / df instead would give B 20% smaller with df = 10.
    rng = np.random.default_rng(9)
    pre_obs = rng.integers(35, 80, 12)
    post_obs = np.clip(np.round(0.7 * pre_obs + rng.normal(0, 6, 12)), 0, 80).astype(int)
    pre_mis = rng.integers(35, 80, 200)
    c = make_cohort(np.r_[pre_obs, pre_mis], list(post_obs) + [None] * 200)
    X = np.column_stack([np.ones(12), pre_obs])
    V = np.linalg.inv(X.T @ X)
    beta = V @ X.T @ post_obs
    ssr = ((post_obs - X @ beta) ** 2).sum()
    s = np.array([200, pre_mis.sum()])
    expected_b = ssr / (10 - 2) * (s @ V @ s + 200) / 212**2
    out = L.multiple_imputation(c, m=4000, seed=2, min_cell=0)
    assert out["mi_between_variance"] == pytest.approx(expected_b, rel=0.1)


def test_mi_defaults_are_the_build_parameters():
    # One place for the assumptions: the parameters module, with a reason for each.
    for name in ("mi_imputations", "mi_seed"):
        assert SPEC[name][1], name
    c = make_cohort([50, 60, 40, 70, 55], [30, 40, None, None, 20])
    assert L.multiple_imputation(c, min_cell=0) == L.multiple_imputation(
        c, m=DEFAULTS["mi_imputations"], seed=DEFAULTS["mi_seed"], min_cell=0
    )
    assert L.multiple_imputation(c, min_cell=0)["m"] == 20


def test_missing_data_comparison_by_hand():
    pre = np.array([50, 60, 40, 70, 55], dtype=float)
    post = np.array([30, 40, np.nan, np.nan, 20])
    c = make_cohort(pre.astype(int), [30, 40, None, None, 20])
    itt, mi = L.itt_summary(c, min_cell=0), L.multiple_imputation(c, min_cell=0)
    out = L.missing_data_comparison(c, itt, mi, mcid=10, remission_cutoff=33, min_cell=0).set_index("analysis")

    def d_av(a, b):  # mean change over the root mean square of the two SDs
        return (a - b).mean() / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)

    done = ~np.isnan(post)
    comp = out.loc["completers only"]
    change = pre[done] - post[done]  # 20, 20, 35
    half = stats.t.ppf(0.975, 2) * change.std(ddof=1) / math.sqrt(3)
    assert comp["n"] == 3 and comp["mean_change"] == pytest.approx(25)
    assert (comp["ci_low"], comp["ci_high"]) == pytest.approx((25 - half, 25 + half))
    assert comp["d_av"] == pytest.approx(d_av(pre[done], post[done]))
    assert comp["pct_clinically_significant"] == pytest.approx(100)  # all three dropped 10 or more
    assert comp["pct_remission"] == pytest.approx(200 / 3)  # post 30 and 20 are below 33, 40 is not

    unchanged = out.loc["all patients, dropouts unchanged"]
    bocf = np.where(done, post, pre)
    assert unchanged["n"] == 5 and unchanged["mean_change"] == pytest.approx(15)  # (20 + 20 + 0 + 0 + 35) / 5
    assert unchanged["d_av"] == pytest.approx(d_av(pre, bocf))
    assert unchanged["pct_clinically_significant"] == pytest.approx(60)
    assert unchanged["pct_remission"] == pytest.approx(40)  # dropouts count as not remitted

    imputed = out.loc["all patients, multiple imputation"]
    assert imputed["mean_change"] == mi["mi_mean_change"] and imputed["ci_low"] == mi["mi_ci_low"]
    assert imputed["d_av"] is None and imputed["pct_remission"] is None


def test_small_cell_rule_in_the_missing_data_analyses():
    # 6 completers, 2 dropouts. ITT rests on the completers: shown. MI and d_av with dropouts unchanged
    # also rest on the 2 dropouts' baselines: suppressed; so are shares of fewer than 5 patients.
    pre = [50, 60, 40, 70, 55, 65, 45, 58]
    post = [30, 40, 35, 20, 25, 45, None, None]
    c = make_cohort(pre, post)
    itt, mi = L.itt_summary(c, min_cell=5), L.multiple_imputation(c, min_cell=5)
    assert (
        itt["itt_mean_change"] == pytest.approx(L.itt_summary(c, min_cell=0)["itt_mean_change"])
        and itt["suppressed"] == []
    )
    assert itt["n_dropouts"] == 2 and itt["pct_dropout"] == 25  # the counts every chapter gives
    assert mi["mi_mean_change"] is None and mi["fraction_missing_information"] is None
    assert mi["n_imputed"] == 2 and "mi_mean_change" in mi["suppressed"]
    out = L.missing_data_comparison(c, itt, mi, mcid=10, remission_cutoff=33, min_cell=5)
    raw = L.missing_data_comparison(
        c, L.itt_summary(c, min_cell=0), L.multiple_imputation(c, min_cell=0), mcid=10, remission_cutoff=33, min_cell=0
    )
    # Remission (post below 33): 3 of 6 completers, too few; a drop of 10 or more: 5 of 6 (not 40 -> 35).
    assert out.loc[0, "pct_remission"] is None and out.loc[0, "pct_clinically_significant"] == pytest.approx(500 / 6)
    assert out.loc[1, "d_av"] is None and out.loc[0, "d_av"] == pytest.approx(raw.loc[0, "d_av"])
    assert out.loc[2, "mean_change"] is None and raw.loc[2, "mean_change"] is not None
    assert out.attrs["suppressed"] == [
        (0, "pct_remission"),
        (1, "d_av"),
        (1, "pct_remission"),
        (2, "mean_change"),
        (2, "ci_low"),
        (2, "ci_high"),
    ]
    assert raw.attrs["suppressed"] == []
    shown, paths = privacy.mark_suppressed(out, "missing")
    assert shown.loc[1, "d_av"] == "suppressed" and "missing[2].ci_low" in paths and len(paths) == 6
    # Fewer than min_cell completers: the ITT figures are suppressed too.
    few = L.itt_summary(make_cohort([50, 60, 40], [30, 40, None]), min_cell=5)
    assert few["itt_mean_change"] is None and few["completer_mean_change"] is None and few["n_completers"] == 2


def test_missing_paragraph_carries_the_itt_change_or_says_nothing_was_imputed():
    c = make_cohort([50, 60, 40, 70, 55], [30, 40, None, None, 20])
    itt, mi = L.itt_summary(c, min_cell=0), L.multiple_imputation(c, min_cell=0)
    missing = L.missing_data_comparison(c, itt, mi, min_cell=0)
    outcome = stats_module.suppressed_outcome(c, 0.95, min_cell=0)
    text = LT.missing.paragraph(itt, mi, missing, outcome, 0.95, 0).data
    # Completers (20 + 20 + 35) / 3 = 25; everyone, dropouts unchanged, 75 / 5 = 15: 60% of it.
    assert "moves the mean change from 25.00 to 15.00 points (60% of the completers' figure" in text
    assert f"multiple imputation gives {mi['mi_mean_change']:.2f} points" in text
    complete = make_cohort([50, 60], [30, 40])
    itt, mi = L.itt_summary(complete, min_cell=0), L.multiple_imputation(complete, min_cell=0)
    missing = L.missing_data_comparison(complete, itt, mi, min_cell=0)
    outcome = stats_module.suppressed_outcome(complete, 0.95, min_cell=0)
    assert LT.missing.paragraph(itt, mi, missing, outcome, 0.95, 0).data.startswith("Every patient in this file")
