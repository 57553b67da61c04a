"""The report's statistics against values computed independently: formulas by hand, scipy, statsmodels."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as sps

from ketamine_ptsd.analysis import effects, outcomes, stats

PRE = np.array([52, 61, 45, 70, 38, 55, 49, 66, 58, 41], dtype=float)
POST = np.array([30, 44, 40, 35, 36, 20, 45, 50, 22, 40], dtype=float)


def cohort_from(pre, post, **extra):
    frame = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(len(pre))],
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(post, dtype="Int64"),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def test_paired_outcome_matches_scipy_and_hand_formulas():
    r = stats.paired_outcome(PRE, POST)
    change = PRE - POST
    ref = sps.ttest_rel(PRE, POST)
    assert r["t"] == pytest.approx(ref.statistic, rel=1e-10)
    assert r["p"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert r["df"] == 9
    assert r["mean_change"] == pytest.approx(change.sum() / 10)
    # 95% t interval: mean +- t_{.975, 9} * sd / sqrt(n), with t_{.975, 9} = 2.262157.
    half = 2.2621571627409915 * change.std(ddof=1) / math.sqrt(10)
    assert r["change_ci_low"] == pytest.approx(change.mean() - half, rel=1e-9)
    assert r["change_ci_high"] == pytest.approx(change.mean() + half, rel=1e-9)
    s_av = math.sqrt((PRE.var(ddof=1) + POST.var(ddof=1)) / 2)
    assert r["d_av"] == pytest.approx(change.mean() / s_av, rel=1e-9)
    # pingouin's paired Cohen's d is d_av too (PITFALLS); it reports |d|.
    import pingouin as pg

    assert abs(r["d_av"]) == pytest.approx(pg.compute_effsize(PRE, POST, paired=True, eftype="cohen"), rel=1e-12)
    assert r["d_z"] == pytest.approx(change.mean() / change.std(ddof=1), rel=1e-12)
    # d_z's interval is the noncentral-t interval of t over sqrt(n): at its limits, ncp = d sqrt(n), scipy's
    # P(T <= t) is .975 and .025. d_av's is the same interval times d_av / d_z = SD_change / s_av.
    for key, p in (("d_z_ci_low", 0.975), ("d_z_ci_high", 0.025)):
        assert sps.nct.cdf(r["t"], 9, r[key] * math.sqrt(10)) == pytest.approx(p, abs=1e-8), key
    for end in ("low", "high"):
        assert r[f"d_av_ci_{end}"] == pytest.approx(r[f"d_z_ci_{end}"] * change.std(ddof=1) / s_av, rel=1e-9)
    assert r["wilcoxon_p"] == pytest.approx(sps.wilcoxon(PRE, POST).pvalue)
    assert r["r_pre_post"] == pytest.approx(sps.pearsonr(PRE, POST)[0])


def test_paired_outcome_reproduces_the_preprint_d_from_its_aggregates():
    # Preprint: 52.39 (SD 11.90) -> 29.42 (SD 16.52), d = 1.60, which is d_av. Build two samples with exactly
    # those moments and check d_av.
    rng = np.random.default_rng(0)

    def exact(mean, sd, n=117):
        z = rng.normal(size=n)
        return mean + sd * (z - z.mean()) / z.std(ddof=1)

    r = stats.paired_outcome(exact(52.39, 11.90), exact(29.42, 16.52))
    assert round(r["d_av"], 2) == 1.60


def test_bayes_factor_equals_the_jzs_integral():
    # Rouder et al. (2009), eq. 1, one-sample/paired JZS Bayes factor with Cauchy scale r = 0.707.
    r = stats.paired_outcome(PRE, POST)
    t, n, scale = r["t"], 10, 0.707
    nu = n - 1

    def integrand(g):
        return (
            (1 + n * g * scale**2) ** -0.5
            * (1 + t**2 / ((1 + n * g * scale**2) * nu)) ** (-(nu + 1) / 2)
            * (2 * math.pi) ** -0.5
            * g**-1.5
            * math.exp(-1 / (2 * g))
        )

    bf10 = integrate.quad(integrand, 0, np.inf)[0] / (1 + t**2 / nu) ** (-(nu + 1) / 2)
    assert r["bf10"] == pytest.approx(bf10, rel=1e-3)


def test_noncentral_interval_inverts_the_noncentral_t():
    lo, hi = effects.noncentral_t_ci(3.0, 20, 0.95)
    assert sps.nct.cdf(3.0, 20, lo) == pytest.approx(0.975, abs=1e-8)
    assert sps.nct.cdf(3.0, 20, hi) == pytest.approx(0.025, abs=1e-8)
    # Large samples fall back to the normal approximation t +- 1.96 sqrt(1 + t^2 / 2df).
    lo, hi = effects.noncentral_t_ci(500.0, 1_000_000, 0.95)
    assert hi - 500 == pytest.approx(1.959964 * math.sqrt(1 + 500**2 / 2e6), rel=1e-6)


def test_degenerate_inputs_give_none_not_errors():
    r = stats.paired_outcome([50], [30])
    assert r["n_completers"] == 1 and r["t"] is None and r["pre_sd"] is None
    r = stats.paired_outcome([50, 40], [40, 30])  # every change is 10: SD of change is 0
    assert r["mean_change"] == 10 and r["d_z"] is None and r["p"] is None


def test_reliable_change_threshold_by_hand():
    # 1.96 * 11.90 * sqrt(2 * (1 - .82)) = 1.96 * 11.90 * 0.6 = 13.9944
    assert outcomes.reliable_change_threshold(11.90, 0.82) == pytest.approx(13.9944)


def test_clinical_significance_counts_by_hand():
    pre = [40, 50, 60, 70, 45, 52]
    post = [35, 25, 32, 20, 45, None]
    cohort = cohort_from(pre, post)
    r = stats.clinical_significance(cohort, mcid=10, reliability=0.82, response_fraction=0.30, remission_cutoff=33)
    # changes of completers: 5, 25, 28, 50, 0; post: 35, 25, 32, 20, 45
    assert r["n_clinically_significant"] == 3
    assert r["pct_clinically_significant"] == pytest.approx(60.0)
    assert r["pct_clinically_significant_itt"] == pytest.approx(50.0)
    # response: change >= .3 * pre -> 5>=12 no, 25>=15 yes, 28>=18 yes, 50>=21 yes, 0 no
    assert r["n_response"] == 3
    assert r["n_remission"] == 3  # 25, 32, 20 are below 33
    assert r["pct_remission_itt"] == pytest.approx(50.0)
    sd_pre = np.std([40, 50, 60, 70, 45], ddof=1)
    threshold = 1.96 * sd_pre * math.sqrt(0.36)
    assert r["reliable_change_threshold"] == pytest.approx(threshold)
    assert r["n_reliable_improvement"] == sum(c > threshold for c in [5, 25, 28, 50, 0])
    assert r["reliable_change_sd"] == pytest.approx(sd_pre)
    # Marx et al. 2022: drops of 15 or more are 25, 28, 50; of those, end scores of 28 or less are 25 and 20.
    assert r["n_reliable_change_marx"] == 3 and r["pct_reliable_change_marx"] == pytest.approx(60.0)
    assert r["n_clinically_significant_marx"] == 2 and r["pct_clinically_significant_marx_itt"] == pytest.approx(
        100 * 2 / 6
    )


def test_marx_definitions_at_their_thresholds():
    # Changes 15, 15, 14, 16 with end scores 28, 29, 20, 28: reliable change is a drop of at least 15 (15 counts,
    # 14 does not); the combined criterion also needs an end score of at most 28 (28 counts, 29 does not).
    cohort = cohort_from([43, 44, 34, 44], [28, 29, 20, 28])
    r = stats.clinical_significance(cohort, marx_reliable_change=15, marx_end_score=28)
    assert r["n_reliable_change_marx"] == 3
    assert r["n_clinically_significant_marx"] == 2


def test_reliable_change_from_a_normative_sd():
    # rci_sd replaces the completers' baseline SD: 1.96 * 10 * sqrt(2 * (1 - 0.82)) = 11.76 points.
    cohort = cohort_from([40, 50, 60, 70], [28, 38, 49, 58])  # changes 12, 12, 11, 12
    r = stats.clinical_significance(cohort, reliability=0.82, rci_sd=10.0)
    assert r["reliable_change_threshold"] == pytest.approx(1.96 * 10 * math.sqrt(0.36))
    assert r["reliable_change_sd"] == 10.0 and r["n_reliable_improvement"] == 3


def test_sensitivity_table_by_hand():
    cohort = cohort_from([40, 50, 60, 70], [31, 32, 33, 62])
    table = stats.sensitivity_table(cohort, [31, 33], [5, 10, 15]).set_index("definition")
    assert table.loc["pcl5_post < 31", "n"] == 0
    assert table.loc["pcl5_post < 33", "n"] == 2
    assert table.loc["change >= 5", "n"] == 4  # changes 9, 18, 27, 8
    assert table.loc["change >= 10", "n"] == 2
    assert table.loc["change >= 15", "pct"] == pytest.approx(50.0)
    # Reliable change from the completers' baseline SD, sd([40, 50, 60, 70]) = 12.91: 1.96 * 12.91 * sqrt(0.36)
    # = 15.18 points, which the changes 18 and 27 exceed.
    assert table.loc["change > 15.2 (completers' baseline SD 12.91)", "n"] == 2
    # Marx et al. 2022: a drop of 15 or more (18 and 27), and with an end score of 28 or less: neither (33, 62).
    assert table.loc["change >= 15 (Marx et al. 2022)", "n"] == 2
    assert table.loc["change >= 15 and pcl5_post <= 28 (Marx et al. 2022)", "n"] == 0
    with_sd = stats.sensitivity_table(cohort, [], [], rci_sd=5.0).set_index("definition")
    # A normative SD of 5: 1.96 * 5 * 0.6 = 5.88 points, which all four changes exceed.
    assert with_sd.loc["change > 5.9 (normative SD 5.00)", "n"] == 4


def test_ols_and_moderator_test_agree_with_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 60
    pre = rng.integers(33, 80, n)
    age = rng.integers(18, 70, n)
    post = np.clip(pre - rng.normal(20, 10, n) + 0.2 * (age - 40), 0, 80).round()
    gender = rng.choice(["woman", "man", "nonbinary"], n)
    cohort = cohort_from(pre, post, age=pd.array(age, dtype="Int64"), gender=pd.array(gender, dtype="string"))
    done = stats.completers(cohort)
    X = sm.add_constant(np.column_stack([done["pcl5_pre"].astype(float), done["age"].astype(float)]))
    fit = sm.OLS(done["change"].to_numpy(), X).fit()
    r = stats.moderator_test(done, "age", min_cell=0)
    assert r["estimate"] == pytest.approx(fit.params[2], rel=1e-9)
    assert r["p"] == pytest.approx(fit.pvalues[2], rel=1e-7)
    lo, hi = fit.conf_int()[2]
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # A three-level category: nested-model F test against statsmodels' compare_f_test.
    dummies = pd.get_dummies(done["gender"], drop_first=True).astype(float).to_numpy()
    base = sm.add_constant(done["pcl5_pre"].astype(float).to_numpy())
    full = sm.OLS(done["change"].to_numpy(), np.column_stack([base, dummies])).fit()
    reduced = sm.OLS(done["change"].to_numpy(), base).fit()
    f, p, _ = full.compare_f_test(reduced)
    r = stats.moderator_test(done, "gender", min_cell=0)
    assert r["statistic"] == pytest.approx(f) and r["p"] == pytest.approx(p)


def test_moderator_without_data_is_reported_not_raised():
    cohort = cohort_from([40, 50, 60], [30, 30, 30], age=pd.array([None, None, None], dtype="Int64"))
    r = stats.moderator_test(stats.completers(cohort), "age", min_cell=0)
    assert r["p"] is None and "not reported" in r["note"]


def test_holm_matches_statsmodels():
    from statsmodels.stats import multitest

    p = [0.01, 0.04, 0.03, 0.5, 0.002]
    expected = multitest.multipletests(p, method="holm")[1]
    assert stats.holm(p) == pytest.approx(list(expected))
    assert stats.holm([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]


def test_psychotherapy_contrast_matches_scipy():
    with_ = np.array([30, 25, 28, 35, 22, 31], dtype=float)
    without = np.array([20, 18, 26, 15, 24, 19, 21], dtype=float)
    pre = np.full(13, 60)
    post = pre - np.concatenate([with_, without])
    cohort = cohort_from(pre, post, psychotherapy=pd.array([True] * 6 + [False] * 7, dtype="boolean"))
    r = stats.psychotherapy_contrast(cohort)
    pooled = math.sqrt((5 * with_.var(ddof=1) + 6 * without.var(ddof=1)) / 11)
    assert r["psychotherapy_d"] == pytest.approx((with_.mean() - without.mean()) / pooled)
    assert r["psychotherapy_p"] == pytest.approx(sps.ttest_ind(with_, without).pvalue)
    assert r["psychotherapy_d_ci_low"] < r["psychotherapy_d"] < r["psychotherapy_d_ci_high"]


def test_noncentral_interval_survives_scipy_nan_region():
    # scipy's nct.cdf(-2, 5, ncp) is NaN for ncp >= 10, inside the search bracket of t = -2 with df = 5.
    assert math.isnan(sps.nct.cdf(-2.0, 5, 10.0))
    lo, hi = effects.noncentral_t_ci(-2.0, 5, 0.95)
    assert math.isfinite(lo) and math.isfinite(hi) and lo < -2.0 < hi


def test_paired_outcome_against_r():
    # R's t.test, cor and BayesFactor::ttestBF on PRE and POST (tests/results/paired_outcome.R writes the CSV).
    r_values = pd.read_csv(Path(__file__).parent / "results" / "paired_outcome.csv").set_index("statistic")["value"]
    r = stats.paired_outcome(PRE, POST)
    for key in ("mean_change", "change_sd", "change_ci_low", "change_ci_high", "t", "df", "p", "r_pre_post"):
        assert r[key] == pytest.approx(r_values[key], rel=1e-9, abs=1e-12), key
    # BayesFactor integrates numerically to its own tolerance (about 1e-5 relative here).
    assert r["bf10"] == pytest.approx(r_values["bf10"], rel=1e-4)


#: paired_outcome's keys, in the contract's order.
OUTCOME_KEYS = [
    "n_completers",
    "pre_mean",
    "pre_sd",
    "post_mean",
    "post_sd",
    "mean_change",
    "change_sd",
    "change_ci_low",
    "change_ci_high",
    "t",
    "df",
    "p",
    "d_av",
    "d_av_ci_low",
    "d_av_ci_high",
    "d_z",
    "d_z_ci_low",
    "d_z_ci_high",
    "wilcoxon_p",
    "bf10",
    "r_pre_post",
]


def test_paired_outcome_gives_what_few_patients_allow():
    empty = stats.paired_outcome([], [])
    assert list(empty) == OUTCOME_KEYS and empty == dict.fromkeys(OUTCOME_KEYS) | {"n_completers": 0}
    one = stats.paired_outcome([50], [30])
    assert (one["pre_mean"], one["post_mean"], one["mean_change"]) == (50.0, 30.0, 20.0)
    assert one["pre_sd"] is one["post_sd"] is one["change_sd"] is None
    # Two patients are enough for every statistic: changes 20 and 5, mean 12.5, SD 15 / sqrt(2).
    two = stats.paired_outcome([50, 40], [30, 35])
    sd = 15 / math.sqrt(2)
    assert two["change_sd"] == pytest.approx(sd) and two["pre_sd"] == pytest.approx(math.sqrt(50))
    assert two["t"] == pytest.approx(12.5 / (sd / math.sqrt(2))) and two["df"] == 1
    assert two["p"] == pytest.approx(2 * sps.t.sf(12.5 / (sd / math.sqrt(2)), 1))
    assert two["wilcoxon_p"] == pytest.approx(0.5)  # both changes positive: 2 x 1/4 of the sign patterns
    assert two["r_pre_post"] == pytest.approx(-1.0)
    assert all(two[key] is not None for key in OUTCOME_KEYS)
    # Every change the same: no t, no interval; the correlation still exists.
    same = stats.paired_outcome([50, 40, 30], [40, 30, 20])
    assert same["change_sd"] == 0 and same["t"] is None and same["wilcoxon_p"] is None and same["d_av"] is None
    # A constant post-treatment total has no correlation with the baseline.
    flat = stats.paired_outcome([50, 40, 45], [30, 30, 30])
    assert flat["r_pre_post"] is None and flat["t"] is not None


PSY_KEYS = [
    "n_psychotherapy",
    "n_no_psychotherapy",
    "mean_change_psychotherapy",
    "mean_change_no_psychotherapy",
    "psychotherapy_d",
    "psychotherapy_d_ci_low",
    "psychotherapy_d_ci_high",
    "psychotherapy_p",
]


def _psy(with_, without):
    change = with_ + without
    return cohort_from(
        [60] * len(change),
        [60 - c for c in change],
        psychotherapy=pd.array([True] * len(with_) + [False] * len(without), dtype="boolean"),
    )


def test_psychotherapy_contrast_with_small_and_flat_groups():
    one = stats.psychotherapy_contrast(_psy([10], [4, 6]))
    assert one == dict.fromkeys(PSY_KEYS) | {
        "n_psychotherapy": 1,
        "n_no_psychotherapy": 2,
        "mean_change_psychotherapy": 10.0,
        "mean_change_no_psychotherapy": 5.0,
    }
    assert list(one) == PSY_KEYS
    assert stats.psychotherapy_contrast(_psy([10, 12], [4]))["psychotherapy_d"] is None
    # Two and two: pooled SD sqrt((2 + 2) / 2) = sqrt(2), d = (11 - 5) / sqrt(2), Student's t on 2 df.
    two = stats.psychotherapy_contrast(_psy([10, 12], [4, 6]))
    assert two["psychotherapy_d"] == pytest.approx(6 / math.sqrt(2))
    assert two["psychotherapy_p"] == pytest.approx(sps.ttest_ind([10, 12], [4, 6]).pvalue)
    assert two["psychotherapy_d_ci_low"] < two["psychotherapy_d"] < two["psychotherapy_d_ci_high"]
    # Both groups without spread: no pooled SD, no d; one patient's spread is enough (pooled SD 1).
    assert stats.psychotherapy_contrast(_psy([10, 10], [4, 4]))["psychotherapy_d"] is None
    assert stats.psychotherapy_contrast(_psy([10, 10], [3, 5]))["psychotherapy_d"] == pytest.approx(6.0)


def test_ols_keys_and_its_degrees_of_freedom_at_zero_and_one():
    import statsmodels.api as sm

    X = np.column_stack([np.ones(3), [1.0, 2.0, 4.0]])
    y = np.array([2.0, 3.5, 8.0])
    fit, ref = stats.ols(y, X), sm.OLS(y, X).fit()
    assert list(fit) == ["coef", "se", "t", "p", "rss", "df_resid"] and fit["df_resid"] == 1
    np.testing.assert_allclose(fit["t"], ref.tvalues, rtol=1e-10)
    np.testing.assert_allclose(fit["p"], ref.pvalues, rtol=1e-10)
    exact = stats.ols(y[:2], X[:2])  # two points, two coefficients: no residual degrees of freedom
    assert exact["df_resid"] == 0 and np.isnan(exact["p"]).all() and len(exact["p"]) == 2


def test_sensitivity_table_names_each_outcome_and_shares_of_all_patients():
    # Four completers (changes 9, 18, 27, 8) and one dropout: shares of the completers and of all five.
    cohort = cohort_from([40, 50, 60, 70, 55], [31, 32, 33, 62, None])
    table = stats.sensitivity_table(cohort, [33], [10])
    assert list(table.columns) == ["outcome", "definition", "n", "pct", "pct_itt"]
    assert table["outcome"].tolist() == [
        "remission",
        "clinically_significant",
        "reliable_improvement",
        "reliable_change_marx",
        "clinically_significant_marx",
    ]
    assert table["n"].tolist()[:2] == [2, 2]
    assert table["pct_itt"].tolist()[:2] == pytest.approx([100 * 2 / 5, 100 * 2 / 5])


MODERATOR_ROW = ["moderator", "n", "estimate", "ci_low", "ci_high", "statistic", "p", "note", "suppressed"]


def test_moderator_rows_say_why_they_have_no_result():
    done = stats.completers(
        cohort_from(
            [50, 60, 40, 55, 45, 70],
            [30, 45, 35, 20, 44, 25],
            age=pd.array([None] * 6, dtype="Int64"),
            n_psych_meds=pd.array([2] * 6, dtype="Int64"),
            days_between=pd.array([10, 20, 30, None, None, None], dtype="Int64"),
            psychotherapy=pd.array([True, True, False, False, True, False], dtype="boolean"),
        )
    )
    none = stats.moderator_test(done, "age", min_cell=0)
    assert list(none) == MODERATOR_ROW
    assert none == dict.fromkeys(MODERATOR_ROW) | {
        "moderator": "age",
        "n": 0,
        "note": "not reported for any completer",
        "suppressed": False,
    }
    assert stats.moderator_test(done, "n_psych_meds", min_cell=0)["note"] == "takes a single value"
    # Three completers for intercept, baseline and moderator: no residual degrees of freedom.
    assert stats.moderator_test(done, "days_between", min_cell=0)["note"] == "too few patients"
    # A yes/no moderator with 3 and 3: a result, which min_cell 4 hides.
    shown = stats.moderator_test(done, "psychotherapy", min_cell=3)
    hidden = stats.moderator_test(done, "psychotherapy", min_cell=4)
    assert shown["p"] is not None and shown["n"] == 6 and not shown["suppressed"]
    assert hidden == dict.fromkeys(MODERATOR_ROW) | {
        "moderator": "psychotherapy",
        "n": 6,
        "note": "suppressed: a group of fewer than 4 completers",
        "suppressed": True,
    }
