"""Dropout analyses at their edges: :mod:`ketamine_ptsd.analysis.limitations.missing` and the column reader of
:mod:`ketamine_ptsd.analysis.limitations._common`.

Rubin's rules are written out here (Rubin 1987; Barnard & Rubin 1999), t and normal quantiles come from scipy,
and each small cohort's figures are worked out in the comments; never from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis.limitations._common import _num

from .cohorts import make_cohort

COLUMNS = [
    "analysis",
    "n",
    "mean_change",
    "ci_low",
    "ci_high",
    "d_av",
    "pct_clinically_significant",
    "pct_remission",
]
#: The pooled figures of ``multiple_imputation``, as its docstring lists them.
MI_FIGURES = (
    "mi_mean_change",
    "mi_se",
    "mi_ci_low",
    "mi_ci_high",
    "mi_df",
    "fraction_missing_information",
    "mi_within_variance",
    "mi_between_variance",
)


def _t_interval(mean, se, df, level):
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return mean - half, mean + half


def test_a_column_is_read_as_float64_with_text_as_missing():
    """Whole numbers come back as float64; a value that is not a number is missing, not an error."""
    frame = pd.DataFrame({"whole": [1, 2, 3], "text": ["40", "n/a", "52.5"]})
    whole = _num(frame, "whole")
    assert whole.dtype == np.float64 and whole.tolist() == [1.0, 2.0, 3.0]
    text = _num(frame, "text")
    assert text[0] == 40.0 and math.isnan(text[1]) and text[2] == 52.5
    assert np.isnan(_num(frame, "absent")).all() and _num(frame, "absent").size == 3


def test_rubin_rules_with_two_imputations_and_within_variances_below_one():
    """m = 2, Q = (10, 12), U = (0.5, 0.5): Qbar 11, Ubar 0.5, B = 2, T = 0.5 + 1.5 * 2 = 3.5,
    lambda = 3 / 3.5 = 6/7, df = (m - 1) / lambda^2 = 49/36, r = (1 + 1/m) B / Ubar = 3 / 0.5 = 6."""
    out = L.rubin_combine([10.0, 12.0], [0.5, 0.5])
    assert out["m"] == 2 and out["estimate"] == 11 and out["between_variance"] == 2
    assert out["total_variance"] == pytest.approx(3.5)
    assert out["fraction_missing_information"] == pytest.approx(6 / 7)
    assert out["df"] == pytest.approx(49 / 36)
    assert out["relative_increase_variance"] == pytest.approx(6)
    # One complete-data df: df_obs = 2/4 * 1 * (1 - 6/7) = 1/14, below one but above zero, so it is used.
    br = L.rubin_combine([10.0, 12.0], [0.5, 0.5], df_complete=1)
    assert br["df"] == pytest.approx(1 / (36 / 49 + 14))


@pytest.mark.parametrize(
    ("estimates", "variances"), [([1.0], [1.0]), ([1.0, 2.0], [1.0]), ([1.0, 2.0, 3.0], [1.0, 1.0])]
)
def test_rubin_rules_need_two_imputations_and_a_variance_for_each(estimates, variances):
    with pytest.raises(ValueError, match=r"^need at least two imputations, with one variance per estimate$"):
        L.rubin_combine(estimates, variances)


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_rubin_rules_without_between_variance_give_a_normal_interval(level):
    """Equal estimates: B = 0, lambda = 0, Rubin's df is infinite (reported as None) and, without complete-data
    df, the interval is Qbar -/+ z * sqrt(Ubar)."""
    out = L.rubin_combine([5.0, 5.0, 5.0], [4.0, 4.0, 4.0], ci_level=level)
    z = stats.norm.ppf(0.5 + level / 2)
    assert out["df"] is None and out["fraction_missing_information"] == 0
    assert out["se"] == pytest.approx(2.0)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((5 - 2 * z, 5 + 2 * z), rel=1e-12)


def test_rubin_rules_when_nothing_varies_and_when_only_the_imputations_vary():
    """T = 0: lambda is 0, df infinite, the interval a point; Ubar = 0 leaves the relative increase undefined.
    Ubar = 0 with B > 0: lambda = 1, so df_obs = 0 and the df is Rubin's (m - 1) / 1 = 1."""
    still = L.rubin_combine([3.0, 3.0], [0.0, 0.0])
    assert still["fraction_missing_information"] == 0 and still["df"] is None
    assert (still["ci_low"], still["ci_high"]) == (3.0, 3.0) and still["relative_increase_variance"] is None
    spread = L.rubin_combine([1.0, 3.0], [0.0, 0.0], df_complete=10)
    assert spread["fraction_missing_information"] == 1 and spread["df"] == pytest.approx(1.0)
    assert (spread["ci_low"], spread["ci_high"]) == pytest.approx(_t_interval(2.0, math.sqrt(3.0), 1, 0.95))


def test_mi_needs_two_imputations():
    cohort = make_cohort([50, 60, 40, 70, 55], [30, 40, 35, None, None])
    assert L.multiple_imputation(cohort, m=2, min_cell=0)["m"] == 2
    with pytest.raises(ValueError, match=r"^m must be at least 2$"):
        L.multiple_imputation(cohort, m=1, min_cell=0)


def test_mi_with_two_patients_and_no_dropouts_is_their_t_interval():
    """Changes 20 and 15: mean 17.5, SD sqrt(12.5), SE = sqrt(12.5) / sqrt(2) = 2.5, df 1."""
    out = L.multiple_imputation(make_cohort([50, 60], [30, 45]), min_cell=0)
    assert out["mi_mean_change"] == 17.5 and out["mi_se"] == pytest.approx(2.5)
    assert out["mi_df"] == 1.0 and out["mi_within_variance"] == pytest.approx(6.25)
    assert out["fraction_missing_information"] == 0.0 and out["mi_between_variance"] == 0.0
    assert (out["mi_ci_low"], out["mi_ci_high"]) == pytest.approx(_t_interval(17.5, 2.5, 1, 0.95))
    assert out["method"] == "no dropouts: nothing to impute; the completers' mean change and t interval"
    assert out["reason"] is None and out["n_imputed"] == 0


def test_mi_says_why_it_has_no_figures():
    """One patient without dropouts has no SD; two completers cannot fit a line and leave df for its noise."""
    alone = L.multiple_imputation(make_cohort([50], [30]), min_cell=0)
    assert alone["reason"] == "fewer than two completers" and alone["method"] is None
    assert all(alone[key] is None for key in MI_FIGURES) and (alone["n_patients"], alone["n_imputed"]) == (1, 0)
    two = L.multiple_imputation(make_cohort([50, 60, 40], [30, 45, None]), min_cell=0)
    assert two["reason"] == "too few completers (2) to impute" and two["method"] is None
    assert all(two[key] is None for key in MI_FIGURES) and (two["n_patients"], two["n_imputed"]) == (3, 1)


def test_mi_pools_its_imputations_by_rubin_rules_written_out():
    """The pooled figures are Rubin's rules applied by hand to the imputed scores: per imputation the mean
    change and its variance s^2 / n, then Barnard-Rubin df with n - 1 complete-data df, at a 90% level."""
    pre = np.array([50, 60, 40, 70, 55, 65, 45, 58, 62, 48], dtype=float)
    post = [30, 40, 35, 20, 25, 45, None, None, 38, None]
    post_f = np.array([np.nan if p is None else p for p in post], dtype=float)
    imputed = L.imputed_post_scores(pre, post_f, 6, 4)
    missing = np.isnan(post_f)
    q, u = [], []
    for row in imputed:
        filled = post_f.copy()
        filled[missing] = row
        change = pre - filled
        q.append(change.mean())
        u.append(change.var(ddof=1) / pre.size)
    m, n = 6, pre.size
    qbar, ubar, b = np.mean(q), np.mean(u), np.var(q, ddof=1)
    total = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / total
    df_obs = n / (n + 2) * (n - 1) * (1 - lam)  # (df_com + 1) / (df_com + 3) * df_com, df_com = n - 1
    df = 1 / (lam**2 / (m - 1) + 1 / df_obs)
    out = L.multiple_imputation(make_cohort(pre.astype(int), post), m=6, seed=4, ci_level=0.9, min_cell=0)
    assert out["mi_mean_change"] == pytest.approx(qbar, rel=1e-12)
    assert out["mi_within_variance"] == pytest.approx(ubar, rel=1e-12)
    assert out["mi_between_variance"] == pytest.approx(b, rel=1e-12)
    assert out["mi_se"] == pytest.approx(math.sqrt(total), rel=1e-12)
    assert out["fraction_missing_information"] == pytest.approx(lam, rel=1e-12)
    assert out["mi_df"] == pytest.approx(df, rel=1e-12)
    assert (out["mi_ci_low"], out["mi_ci_high"]) == pytest.approx(_t_interval(qbar, math.sqrt(total), df, 0.9))
    assert out["reason"] is None and "m = 6" in out["method"] and out["n_imputed"] == 3


def test_mi_is_hidden_when_the_completers_are_few_though_the_dropouts_are_not():
    """The pooled figures rest on the completers (the fit) and the dropouts: 4 completers hide them at a
    minimum cell of 5 even with 6 dropouts; 6 completers and 5 dropouts show them."""
    few = make_cohort([50, 60, 40, 70, 55, 65, 45, 58, 62, 48], [30, 40, 35, 20] + [None] * 6)
    hidden = L.multiple_imputation(few, min_cell=5)
    assert hidden["mi_mean_change"] is None and "mi_mean_change" in hidden["suppressed"]
    many = make_cohort([50, 60, 40, 70, 55, 65, 45, 58, 62, 48, 52], [30, 40, 35, 20, 25, 45] + [None] * 5)
    assert L.multiple_imputation(many, min_cell=5)["mi_mean_change"] is not None


def test_imputation_follows_an_exact_line_even_when_the_baselines_differ_by_one():
    """Completers on post = 10 + pre / 2 with baselines 40 and 41: the fit has no residual, so every imputed
    score is the line's value at the dropout's baseline of 50, 35 (the slope is used: a mean alone gives 30.17)."""
    pre = np.array([40.0, 41.0, 40.0, 41.0, 50.0])
    post = np.array([30.0, 30.5, 30.0, 30.5, np.nan])
    imputed = L.imputed_post_scores(pre, post, 8, 1)
    assert imputed.shape == (8, 1)
    assert imputed == pytest.approx(np.full((8, 1), 35.0), abs=1e-9)


def test_imputation_with_one_baseline_among_completers_uses_their_mean():
    """Every completer started at 40 (posts 28, 30, 32): the slope is not identified, so each dropout is drawn
    around the completers' mean, 30, whatever their own baseline (60 or 30). The draws are symmetric about it."""
    pre = np.array([40.0, 40.0, 40.0, 60.0, 30.0])
    post = np.array([28.0, 30.0, 32.0, np.nan, np.nan])
    imputed = L.imputed_post_scores(pre, post, 2001, 5)
    assert imputed.shape == (2001, 2) and np.isfinite(imputed).all()
    assert np.median(imputed, axis=0) == pytest.approx([30.0, 30.0], abs=0.5)


def test_itt_edges_no_patients_no_completers_no_change_two_patients():
    """No patients: no share of dropouts. All dropouts: no completers. Completers unchanged: the ITT change is
    0 and its share of a zero completer change undefined. Two patients (changes 20 and 0): the SD is sqrt(200)."""
    empty = L.itt_summary(make_cohort([], []), min_cell=0)
    assert empty["n_patients"] == 0 and empty["pct_dropout"] is None and empty["reason"] == "no completers"
    gone = L.itt_summary(make_cohort([50, 60], [None, None]), min_cell=0)
    assert gone["reason"] == "no completers" and gone["pct_dropout"] == 100
    flat = L.itt_summary(make_cohort([50, 60, 40], [50, 60, None]), min_cell=0)
    assert flat["itt_mean_change"] == 0 and flat["itt_pct_of_completer_change"] is None and flat["reason"] is None
    two = L.itt_summary(make_cohort([50, 60], [30, None]), min_cell=0)
    assert two["itt_change_sd"] == pytest.approx(math.sqrt(200))
    assert (two["itt_ci_low"], two["itt_ci_high"]) == pytest.approx(_t_interval(10, 10, 1, 0.95))


def test_the_comparison_takes_its_rows_from_the_itt_and_mi_it_is_given():
    """Rows 1 and 2 carry the ``itt`` and ``mi`` values passed in, and a value hidden upstream (listed under
    ``suppressed``) is marked hidden in its own row, even when this table's own rule would show it; a mapping
    without a ``suppressed`` list hides nothing. The columns are the documented ones, in order."""
    cohort = make_cohort([50, 60, 40, 70, 55, 65], [30, 40, 35, 20, None, None])
    itt = {"itt_mean_change": None, "itt_ci_low": None, "itt_ci_high": None, "suppressed": ["itt_mean_change"]}
    itt["suppressed"] += ["itt_ci_low", "itt_ci_high"]
    mi = {"mi_mean_change": 1.0, "mi_ci_low": 0.0, "mi_ci_high": 2.0}
    out = L.missing_data_comparison(cohort, itt, mi, min_cell=0)
    assert list(out.columns) == COLUMNS
    assert out.attrs["suppressed"] == [(1, "mean_change"), (1, "ci_low"), (1, "ci_high")]
    assert out.loc[2, ["n", "mean_change", "ci_low", "ci_high"]].tolist() == [6, 1.0, 0.0, 2.0]
    assert out.loc[2, ["d_av", "pct_clinically_significant", "pct_remission"]].tolist() == [None, None, None]
    shown = {"itt_mean_change": 7.0, "itt_ci_low": 3.0, "itt_ci_high": 11.0}
    row = L.missing_data_comparison(cohort, shown, mi, min_cell=0).loc[1]
    assert (row["n"], row["mean_change"], row["ci_low"], row["ci_high"]) == (6, 7.0, 3.0, 11.0)


def test_the_comparison_uses_the_level_and_cutoff_it_is_given():
    """Completer changes 20, 20, 5, 50: mean 23.75, a 90% t interval on 3 df. Remission below 36: posts 30,
    35 and 20 of the four completers (75%; below the default 33, two), and of all six patients (50%). A drop of
    at least 10: 3 of the 4 completers, 3 of all 6 patients."""
    cohort = make_cohort([50, 60, 40, 70, 55, 65], [30, 40, 35, 20, None, None])
    itt, mi = L.itt_summary(cohort, min_cell=0), L.multiple_imputation(cohort, min_cell=0)
    out = L.missing_data_comparison(cohort, itt, mi, remission_cutoff=36, ci_level=0.9, min_cell=0)
    change = np.array([20.0, 20.0, 5.0, 50.0])
    low, high = _t_interval(change.mean(), change.std(ddof=1) / 2, 3, 0.9)
    assert (out.loc[0, "ci_low"], out.loc[0, "ci_high"]) == pytest.approx((low, high))
    assert out.loc[0, "pct_remission"] == pytest.approx(75) and out.loc[1, "pct_remission"] == pytest.approx(50)
    assert out.loc[0, "pct_clinically_significant"] == pytest.approx(75)
    assert out.loc[1, "pct_clinically_significant"] == pytest.approx(50)


def test_a_seed_gives_the_same_imputations_in_every_version():
    """A pin, not a check of correctness (the tests above are that): the imputed scores the build's seed gives for
    a cohort with two dropouts, as this version of the draws makes them. A researcher's multiple-imputation
    figures rest on them, so a change to the order or sign of the draws changes every such report and must
    change these numbers with a commit that says why."""
    pre = np.array([50.0, 60.0, 40.0, 70.0, 55.0, 65.0])
    post = np.array([30.0, 40.0, 35.0, 20.0, np.nan, np.nan])
    imputed = L.imputed_post_scores(pre, post, 3, 20240917)
    expected = [[29.9795416343, 25.7550150545], [87.454846247, 52.9756512388], [29.2123291344, 29.2961428512]]
    np.testing.assert_allclose(imputed, expected, atol=1e-9)
