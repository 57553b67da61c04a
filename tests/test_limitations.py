"""Tests of the limitations library. Expected values come from formulas written out here, from scipy or
statsmodels, or from the published sources named beside them; never from the code under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import privacy
from ketamine_ptsd.analysis import stats as stats_module
from ketamine_ptsd.data import references
from ketamine_ptsd.parameters import DEFAULTS, SPEC
from ketamine_ptsd.presentation import limitation_text as LT


def make_cohort(pre, post, days=None, age=None, gender=None, race=None) -> pd.DataFrame:
    """A cohort frame in the contract's normalized dtypes; absent optional columns are all NA."""
    n = len(pre)

    def col(values, dtype):
        return pd.array([pd.NA] * n if values is None else list(values), dtype=dtype)

    return pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(n)],
            "pcl5_pre": col(pre, "Int64"),
            "pcl5_post": col(post, "Int64"),
            "days_between": col(days, "Int64"),
            "age": col(age, "Int64"),
            "gender": col(gender, "string"),
            "race_ethnicity": col(race, "string"),
            "n_infusions": col(None, "Int64"),
            "n_psych_meds": col(None, "Int64"),
            "suicidal_ideation": col(None, "boolean"),
            "psychotherapy": col(None, "boolean"),
        }
    )


def phi(z):  # standard normal density, written out
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def upper_tail(z):  # 1 - Phi(z) through the complementary error function
    return 0.5 * math.erfc(z / math.sqrt(2))


@pytest.fixture(scope="module")
def benchmarks():
    return references.load_benchmarks()


# ----------------------------------------------------------------------------------------------------
# benchmarks


def test_benchmark_file_has_every_field_unique_ids_and_known_instruments(benchmarks):
    assert len({b["id"] for b in benchmarks}) == len(benchmarks)
    for b in benchmarks:
        assert set(references.BENCHMARK_FIELDS) <= set(b)
        assert b["instrument"] in ("PCL-5", "CAPS-5", "mixed", "not stated")
        # A number, a range, or a test without an effect size; else null because the sources lack it, said so.
        assert (
            b["value"] is not None
            or b["range_low"] is not None
            or b["measure"] == "between_group_test"
            or "null" in b["note"]
        ), b["id"]
        if b["ci_low"] is not None:
            assert b["ci_low"] <= b["value"] <= b["ci_high"], b["id"]
        if b["range_low"] is not None:
            assert b["range_low"] < b["range_high"], b["id"]


# Transcribed by hand from the project's reference facts ("Benchmarks" and "PCL-5" sections).
FACTS = {
    "feder2021_ketamine_response": (67, None, None),
    "feder2021_midazolam_response": (20, None, None),
    "meta2024_overall": (0.27, 0.03, 0.51),
    "meta2024_bias_adjusted": (0.20, -0.08, 0.48),
    "meta2024_24h": (0.35, 0.06, 0.64),
    "meta2024_active_controls": (0.24, -0.30, 0.78),
    "almeida2024_end_of_course": (0.25, None, None),
    "osmind_mean_change": (18.6, None, None),
    "osmind_pre_mean": (47, None, None),
    "osmind_response": (70, None, None),
    "osmind_complete_data": (16.5, None, None),
    "osmind_female": (66, None, None),
    "osmind_white": (94, None, None),
    "osmind_age": (42.3, None, None),
    "mapp1_mdma_within": (2.1, None, None),
    "mapp1_placebo_within": (1.2, None, None),
    "mapp1_between": (0.91, None, None),
    "mapp2_mdma_change": (23.7, None, None),
    "mapp2_placebo_change": (14.8, None, None),
    "mapp2_between": (0.7, None, None),
    "brady2000_sertraline_within": (1.45, None, None),
    "brady2000_placebo_within": (1.0, None, None),
    "cochrane_ssri_response": (58, None, None),
    "cochrane_placebo_response": (35, None, None),
    "morina2014_untreated_remission": (44, None, None),
    "blevins2015_reliability": (0.82, None, None),
    "bovin2016_reliability": (0.84, None, None),
    "marx2022_clinically_significant_end_score": (28, None, None),
    "morina2014_observation_period": (40, None, None),
}


def test_benchmark_values_match_reference_facts(benchmarks):
    by_id = {b["id"]: b for b in benchmarks}
    for id_, (value, lo, hi) in FACTS.items():
        b = by_id[id_]
        assert (b["value"], b["ci_low"], b["ci_high"]) == (value, lo, hi), id_
    assert (by_id["pcl5_cutoff"]["range_low"], by_id["pcl5_cutoff"]["range_high"]) == (31, 33)
    assert (by_id["mapp_placebo_therapy_change"]["range_low"], by_id["mapp_placebo_therapy_change"]["range_high"]) == (
        14,
        15,
    )
    assert (by_id["blanchard2023_mid"]["range_low"], by_id["blanchard2023_mid"]["range_high"]) == (8.5, 12.5)
    assert by_id["abdallah2022_group_by_time"]["n"] == 158
    assert by_id["meta2024_overall"]["n"] == 221
    assert by_id["osmind_complete_data"]["n"] == 8142
    # The quoted 16.5% is kept as published, but 1,306 / 8,142 is 16.04%: the entry must say so.
    assert round(100 * 1306 / 8142, 1) == 16.0
    assert "16.0%" in by_id["osmind_complete_data"]["note"]
    # CAPS-5 and PCL-5 are kept apart.
    assert by_id["mapp2_placebo_change"]["instrument"] == "CAPS-5"
    assert by_id["osmind_mean_change"]["instrument"] == "PCL-5"


def test_derived_benchmarks_recompute_from_published_counts(benchmarks):
    by_id = {b["id"]: b for b in benchmarks}
    # Abdallah 2022: completers 36/41/40 of arms 54/53/51.
    for id_, done, arm in [
        ("abdallah2022_completion_placebo", 36, 54),
        ("abdallah2022_completion_ketamine_02", 41, 53),
        ("abdallah2022_completion_ketamine_05", 40, 51),
    ]:
        assert by_id[id_]["value"] == pytest.approx(100 * done / arm, rel=1e-12)
        assert by_id[id_]["n_arm"] == arm
        assert by_id[id_]["derived"]
    assert 54 + 53 + 51 == 158
    transcribed = [b for b in benchmarks if b["derived"] is None]
    assert len(transcribed) > 25


@pytest.mark.parametrize(
    "bad, message",
    [
        ("- {id: a, label: x}\n", "missing fields"),
        ("bad instrument", "instrument must be"),
        ("duplicate", "duplicate id"),
    ],
)
def test_load_benchmarks_rejects_malformed_files(tmp_path, bad, message):
    entry = {f: None for f in references.BENCHMARK_FIELDS} | {"id": "a", "instrument": "PCL-5"}
    import yaml

    if bad == "bad instrument":
        text = yaml.safe_dump([entry | {"instrument": "PCL-4"}])
    elif bad == "duplicate":
        text = yaml.safe_dump([entry, entry])
    else:
        text = bad
    path = tmp_path / "b.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        references.load_benchmarks(path)


def test_forest_rows_put_the_cohort_first_and_separate_within_from_between(benchmarks):
    rows = L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks)
    first = rows.iloc[0]
    assert (first["kind"], first["value"], first["ci_low"], first["ci_high"]) == ("this cohort", 1.6, 1.3, 1.9)
    kinds = dict(zip(rows["id"], rows["kind"]))
    assert kinds["mapp1_placebo_within"] == "within-group control arm"
    assert kinds["brady2000_placebo_within"] == "within-group control arm"
    assert kinds["mapp1_mdma_within"] == "within-group active arm"
    assert kinds["meta2024_overall"] == "between-group"
    assert kinds["mapp2_between"] == "between-group"
    # Percentages, points and psychometrics are not standardised effects.
    for absent in (
        "feder2021_ketamine_response",
        "osmind_mean_change",
        "blevins2015_reliability",
        "abdallah2022_group_by_time",
    ):
        assert absent not in kinds
    order = [
        list(rows["kind"]).index(k)
        for k in ("this cohort", "within-group active arm", "within-group control arm", "between-group")
    ]
    assert order == sorted(order)
    meta = rows.set_index("id").loc["meta2024_bias_adjusted"]
    assert (meta["value"], meta["ci_low"], meta["ci_high"], meta["instrument"]) == (0.20, -0.08, 0.48, "mixed")
    assert rows.set_index("id").loc["mapp1_between", "ci_low"] is None


# ----------------------------------------------------------------------------------------------------
# placebo


def test_placebo_sensitivity_by_hand(benchmarks):
    out = L.placebo_sensitivity(1.6, [1.2], benchmarks=benchmarks, observed_change=23.76, sd_pre=11.90, sd_post=16.52)
    row = out.iloc[0]
    assert row["remaining_d"] == pytest.approx(0.4)
    assert row["pct_of_observed"] == pytest.approx(25.0)
    sd_av = math.sqrt((11.90**2 + 16.52**2) / 2)  # the d_av denominator, 14.3965
    assert row["placebo_points"] == pytest.approx(1.2 * sd_av)
    assert row["remaining_points"] == pytest.approx(23.76 - 1.2 * sd_av)
    assert row["in_benchmark_range"]
    assert row["benchmark_id"] == "mapp1_placebo_within"
    assert row["benchmark_label"] == "MAPP1 placebo + therapy (within)"
    assert L.placebo_sensitivity(1.6, [0.5], benchmarks=benchmarks)["benchmark_label"].tolist() == [None]


def test_placebo_default_range_comes_from_control_arms(benchmarks):
    out = L.placebo_sensitivity(1.6, benchmarks=benchmarks)
    # Control-arm within-group ds in the benchmarks: Brady placebo 1.0, MAPP1 placebo with therapy 1.2 and
    # MAPP2's, derived as 14.8 / ((23.7 - 14.8) / 0.7), each also a row of its own.
    assert out["placebo_d"].min() == 0
    assert out["placebo_d"].max() == pytest.approx(1.2)
    flagged = out.loc[out["in_benchmark_range"].astype(bool), "placebo_d"].tolist()
    assert flagged == pytest.approx([1.0, 1.1, 14.8 / ((23.7 - 14.8) / 0.7), 1.2])
    assert "placebo_points" not in out  # no SDs given
    own = [{"id": "x", "measure": "within_group_d", "arm_kind": "control", "value": 0.45}]
    assert L.placebo_sensitivity(1.0, benchmarks=own, step=0.2)["placebo_d"].tolist() == pytest.approx(
        [0, 0.2, 0.4, 0.45]
    )


# ----------------------------------------------------------------------------------------------------
# regression to the mean


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


def test_rtm_and_mi_defaults_are_the_build_parameters():
    # One place for the assumptions: the parameters module, with a reason for each.
    assumed = (SPEC["rtm_entry_threshold"][0], SPEC["rtm_population_mean"][0], SPEC["rtm_population_sd"][0])
    assert assumed == (33, 47.0, 15.0)
    assert SPEC["reliability"][0] == 0.82  # Blevins et al. 2015
    for name in ("rtm_entry_threshold", "rtm_population_mean", "rtm_population_sd", "mi_imputations", "mi_seed"):
        assert SPEC[name][1], name
    assert not hasattr(L, "RTM_DEFAULTS")
    # The functions' defaults are those parameters: mu = 47, sigma = 15, c = 33, rho = .82 by hand.
    z = (33 - 47) / 15
    expected = 15 * 0.18 * phi(z) / upper_tail(z)
    assert L.rtm_expected_change()["rtm_expected_change"] == pytest.approx(expected, rel=1e-10)
    c = make_cohort([50, 60, 40, 70, 55], [30, 40, None, None, 20])
    assert L.multiple_imputation(c, min_cell=0) == L.multiple_imputation(
        c, m=DEFAULTS["mi_imputations"], seed=DEFAULTS["mi_seed"], min_cell=0
    )
    assert L.multiple_imputation(c, min_cell=0)["m"] == 20


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


# ----------------------------------------------------------------------------------------------------
# follow-up


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


# ----------------------------------------------------------------------------------------------------
# missing data


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


# ----------------------------------------------------------------------------------------------------
# representativeness


def test_representativeness_shares_of_reported(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=0).set_index("characteristic")
    assert out.loc["women", "cohort_value"] == pytest.approx(100 * 5 / 8)
    assert out.loc["women", "cohort_n_reported"] == 8
    assert out.loc["women", "cohort_pct_unreported"] == pytest.approx(20)
    assert out.loc["white", "cohort_value"] == pytest.approx(100 * 3 / 5)
    assert out.loc["white", "cohort_pct_unreported"] == pytest.approx(50)
    assert out.loc["mean age", "cohort_value"] == pytest.approx(np.mean([30, 40, 50, 20, 60, 35, 45, 55]))
    assert out["osmind_value"].tolist() == [66, 94, 42.3]
    assert out["reference_population_value"].isna().all()
    assert out["reference_population_note"].str.startswith("not available").all()


def test_representativeness_with_absent_columns(benchmarks):
    out = L.representativeness(make_cohort([50, 60], [30, 20]), benchmarks, min_cell=0).set_index("characteristic")
    assert out["cohort_value"].tolist() == [None, None, None]
    assert out["cohort_pct_unreported"].tolist() == [100, 100, 100]


# ----------------------------------------------------------------------------------------------------
# multiplicity


def test_multiplicity_matches_statsmodels():
    p = {
        "age": 0.01,
        "gender": 0.04,
        "days_between": 0.03,
        "n_psych_meds": 0.20,
        "psychotherapy": 0.004,
        "suicidal_ideation": None,
    }
    out = L.multiplicity(p).set_index("test")
    raw = np.array([0.01, 0.04, 0.03, 0.20, 0.004])
    names = ["age", "gender", "days_between", "n_psych_meds", "psychotherapy"]
    holm = multipletests(raw, alpha=0.05, method="holm")
    bonf = multipletests(raw, alpha=0.05, method="bonferroni")
    np.testing.assert_allclose(out.loc[names, "p_holm"].astype(float), holm[1])
    np.testing.assert_allclose(out.loc[names, "p_bonferroni"].astype(float), bonf[1])
    assert out.loc[names, "significant_holm"].tolist() == holm[0].tolist()
    assert out.loc[names, "significant_raw"].tolist() == (raw < 0.05).tolist()
    assert out.loc["suicidal_ideation", "p_holm"] is None
    # The book counts p strictly below alpha; statsmodels' Bonferroni also rejects 0.01 * 5 = alpha itself.
    counts = {"raw": 4, "holm": int(holm[0].sum()), "bonferroni": int((raw * 5 < 0.05).sum())}
    assert counts["bonferroni"] == 1
    assert out.attrs["n_significant"] == counts
    assert out.loc["suicidal_ideation", "significant_raw"] is None
    assert out.attrs["k"] == 5
    assert out.attrs["fwer_uncorrected"] == pytest.approx(1 - 0.95**5)  # 0.2262
    assert L.familywise_error_rate(1, 0.05) == pytest.approx(0.05)


def test_multiplicity_ties_and_empty():
    out = L.multiplicity({"a": 0.02, "b": 0.02, "c": 0.9})
    np.testing.assert_allclose(out["p_holm"], multipletests([0.02, 0.02, 0.9], method="holm")[1])
    empty = L.multiplicity({"a": None})
    assert empty.attrs["k"] == 0 and empty.attrs["fwer_uncorrected"] == 0
    assert empty.attrs["n_significant"] == {"raw": 0, "holm": 0, "bonferroni": 0}


# ----------------------------------------------------------------------------------------------------
# summary


def test_summary_table_takes_its_numbers_from_the_inputs(benchmarks):
    c = make_cohort(
        [50, 60, 40, 70, 55],
        [30, 40, None, None, 20],
        days=[30, 60, None, None, 90],
        gender=["woman", "man", None, "woman", "woman"],
    )
    itt = L.itt_summary(c, min_cell=0)
    rtm = L.rtm_expected_change()
    tests = L.multiplicity({"a": 0.01, "b": 0.03})
    table = LT.summary_table(
        observed_mean_change=25.0,
        observed_d=1.6,
        placebo=L.placebo_sensitivity(1.6, benchmarks=benchmarks),
        rtm=rtm,
        followup=L.followup_summary(c, min_cell=0),
        change_followup=L.change_by_followup(c, min_cell=0),
        itt=itt,
        mi=L.multiple_imputation(c, min_cell=0),
        represent=L.representativeness(c, benchmarks, min_cell=0),
        tests=tests,
        benchmarks=benchmarks,
        min_cell=0,
    ).set_index("limitation")
    # Completer mean (20 + 20 + 35) / 3 = 25; ITT (20 + 20 + 0 + 0 + 35) / 5 = 15.
    assert table.loc["dropout (completer analysis)", "quantity"] == pytest.approx(10)
    assert table.loc["no control group: placebo and expectancy response", "quantity"] == pytest.approx(1.6 - 1.2)
    assert table.loc["regression to the mean", "quantity"] == rtm["rtm_expected_change"]
    assert table.loc["many moderator tests", "quantity"] == pytest.approx(1 - 0.95**2)
    assert table.loc["records of patients who reached treatment", "quantity"] == pytest.approx(100)
    assert table["design_to_settle"].map(bool).all()
    bare = LT.summary_table(observed_mean_change=25.0, benchmarks=benchmarks, min_cell=0)
    assert bare["quantity"].isna().all() and len(bare) == len(table)


def test_a_million_patients_give_the_same_answers_as_numpy_and_scipy():
    # Vectorised over patients: a million still run (the benchmarks measure how fast), and agree with
    # the direct computations.
    rng = np.random.default_rng(0)
    n = 1_000_000
    pre = rng.integers(33, 81, n)
    post = np.clip(pre - rng.integers(-5, 45, n), 0, 80).astype(float)
    post[rng.random(n) < 0.25] = np.nan
    days = rng.integers(7, 365, n)
    c = pd.DataFrame(
        {
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(pd.Series(post).round(), dtype="Int64"),
            "days_between": pd.array(days, dtype="Int64"),
        }
    )
    done = ~np.isnan(post)
    change = pre - post
    assert L.itt_summary(c, min_cell=0)["itt_mean_change"] == pytest.approx(np.where(done, change, 0).mean())
    by_time = L.change_by_followup(c, min_cell=0)
    cut = np.median(days[done])
    short, long_ = change[done & (days <= cut)], change[done & (days > cut)]
    assert by_time["difference"] == pytest.approx(long_.mean() - short.mean())
    assert by_time["p"] == pytest.approx(stats.ttest_ind(long_, short, equal_var=False).pvalue, rel=1e-6)
    assert L.multiple_imputation(c, m=20, min_cell=0)["n_imputed"] == int((~done).sum())
    assert L.lowess_curve(c)["n"].sum() == int(done.sum())


# ----------------------------------------------------------------------------------------------------
# helpers for the chapter's prose


def test_chapter_sentences_say_why_a_number_is_missing(benchmarks):
    few = make_cohort([50] * 3, [30, 25, 20], days=[10, 20, 30])
    # Three completers: the outcome is suppressed, and so is every sentence built on it.
    outcome = stats_module.suppressed_outcome(few, 0.95, min_cell=5)
    assert "is suppressed: it would rest on fewer than 5 completers" in LT.headline(outcome, 0.95, 5).data
    placebo = L.placebo_sensitivity(outcome["d_av"], benchmarks=benchmarks)
    assert "suppressed with the cohort's d_av" in LT.placebo(L.placebo_at_largest_control(placebo), outcome).data
    follow = L.followup_summary(few, min_cell=5)
    assert LT.followup(follow, 5).data.startswith("Fewer than 5 completers have a known interval")
    assert "suppressed" in LT.natural_course(40, follow).data
    # Without the column the section says the file lacks it; the comparison adds nothing to that.
    none = make_cohort([50] * 6, [30] * 6)
    assert LT.followup(L.followup_summary(none, min_cell=0), 5).data.startswith("**The data file gives no time")
    assert (
        LT.change_by_followup(L.change_by_followup(none, min_cell=0), L.followup_summary(none, min_cell=0), 0.95)
        is None
    )
    no_tests = L.multiplicity({"age": None})
    text = LT.multiplicity(no_tests, 2, {"psychotherapy_p": None, "suppressed": []}, 0.05, 5).data
    assert text.startswith("The data allow no moderator test") and "fewer than 5 completers" in text


def test_chapter_sentences_carry_the_numbers(benchmarks):
    outcome = {"n_completers": 117, "mean_change": 23.76, "d_av": 1.65, "d_av_ci_low": 1.37, "d_av_ci_high": 1.93}
    assert "fell by 23.76 points" in LT.headline(outcome | {"suppressed": []}, 0.95, 5).data
    tests = L.multiplicity({"a": 0.01, "b": 0.03, "c": 0.5})
    text = LT.multiplicity(tests, 0, {"psychotherapy_p": 0.02, "suppressed": []}, 0.05, 5).data
    # 1 - 0.95^3 = 14.3%; Holm: 0.03, 0.06, 0.5; Bonferroni: 0.03, 0.09, 1.
    assert "would be 14%" in text and "2 of 3 before adjustment, 1 after Holm's" in text
    assert "1 after Bonferroni's (which needs p below 0.0167)" in text and "p = .020" in text
    safety = LT.safety(L.zero_event_upper_bound(100), None, 0.95).data
    assert "reaches 3.6% of patients" in safety and "one patient in 28" in safety


def test_sentence_fills_numbers_and_falls_back_only_on_none():
    assert LT.sentence("{a:.1f} and {b:d}", "missing", a=2.345, b=0) == "2.3 and 0"  # zero is a value
    assert LT.sentence("{a:.1f} and {b:d}", "missing", a=2.345, b=None) == "missing"


def test_benchmark_numbers_name_every_published_number(benchmarks):
    numbers = L.benchmark_numbers(benchmarks)
    assert (
        numbers["meta2024_overall"],
        numbers["meta2024_overall_ci_low"],
        numbers["meta2024_overall_ci_high"],
        numbers["meta2024_overall_n"],
    ) == (0.27, 0.03, 0.51, 221)
    assert (numbers["pcl5_cutoff_range_low"], numbers["pcl5_cutoff_range_high"]) == (31, 33)
    assert numbers["morina2014_observation_period"] == 40
    assert "almeida2024_end_of_course_ci_low" not in numbers  # the source gives no standardised interval
    assert "pcl5_cutoff" not in numbers  # a range, not a point


def test_benchmarks_table_selects_by_measure_in_file_order(benchmarks):
    table = L.benchmarks_table(benchmarks, ["response_pct"])
    assert table["id"].tolist() == [
        "feder2021_ketamine_response",
        "feder2021_midazolam_response",
        "osmind_response",
        "cochrane_ssri_response",
        "cochrane_placebo_response",
    ]
    assert table["value"].tolist() == [67, 20, 70, 58, 35]
    assert L.benchmarks_table(benchmarks, ["no_such_measure"]).empty


# ----------------------------------------------------------------------------------------------------
# additions: entry threshold, follow-up points, missing-data comparison, representativeness bounds, safety


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


def test_followup_points_keep_completers_with_known_days():
    c = make_cohort([50, 60, 40, 70], [30, None, 35, 20], days=[10, 20, None, 40])
    points = L.followup_points(c)
    assert points["days"].tolist() == [10, 40]
    assert points["change"].tolist() == [20, 50]


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


def test_representativeness_bounds_on_all_patients(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=0).set_index("characteristic")
    # Women: 5 of 8 reporting, 2 not reporting -> 5/10 if none of them is a woman, 7/10 if both are.
    assert (out.loc["women", "cohort_all_low"], out.loc["women", "cohort_all_high"]) == pytest.approx((50, 70))
    # White: 3 of 5 reporting, 5 not reporting -> 3/10 to 8/10.
    assert (out.loc["white", "cohort_all_low"], out.loc["white", "cohort_all_high"]) == pytest.approx((30, 80))
    assert out.loc["mean age", "cohort_all_low"] is None
    assert not out["suppressed"].any()


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


def test_renamed_and_suppressed_with_carry_the_suppressed_names():
    values = {"n": None, "median": 30.0, "suppressed": ["n"]}
    assert privacy.renamed(values, {"n": "followup_n", "median": "followup_median_days"}) == {
        "followup_n": None,
        "followup_median_days": 30.0,
        "suppressed": ["followup_n"],
    }
    assert privacy.renamed({"a": 1}, {"a": "b"}) == {"b": 1, "suppressed": []}
    source = {"d_av": None, "pre_mean": 50.0, "suppressed": ["d_av"]}
    out = privacy.suppressed_with({"left": 0.4, "from_pre": 1.0}, source, {"left": ["d_av"], "from_pre": ["pre_mean"]})
    assert out == {"left": None, "from_pre": 1.0, "suppressed": ["left"]}


def test_forest_rows_mark_a_suppressed_cohort_effect(benchmarks):
    rows = L.forest_rows(
        {"d_av": None, "ci_low": None, "ci_high": None, "suppressed": ["d_av", "ci_low", "ci_high"]}, benchmarks
    )
    assert rows.attrs["suppressed"] == [(0, "value"), (0, "ci_low"), (0, "ci_high")]
    shown, paths = privacy.mark_suppressed(rows, "benchmark_comparison")
    assert shown.loc[0, "value"] == "suppressed" and paths[0] == "benchmark_comparison[0].value"
    assert L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks).attrs["suppressed"] == []


def test_summary_table_says_suppressed_and_shows_no_hidden_number(benchmarks):
    pre = [50, 60, 40, 70, 55, 65, 45, 58, 62, 49]
    post = [30, 40, 35, 20, 25, 45, 30, 33, None, None]
    days = [10] * 5 + [50, 60, 70, None, None]  # median 30: five completers below, three above
    c = make_cohort(pre, post, days=days, gender=["woman"] * 7 + ["man"] * 3)
    itt, mi = L.itt_summary(c, min_cell=5), L.multiple_imputation(c, min_cell=5)
    by_time = L.change_by_followup(c, min_cell=5)
    table = LT.summary_table(
        observed_mean_change=None,
        observed_d=None,
        placebo=L.placebo_sensitivity(None, benchmarks=benchmarks),
        rtm=L.rtm_expected_change(),
        followup=L.followup_summary(c, min_cell=5),
        change_followup=by_time,
        itt=itt,
        mi=mi,
        represent=L.representativeness(c, benchmarks, min_cell=5),
        benchmarks=benchmarks,
        observed_suppressed=True,
        min_cell=5,
    )
    rows = table.set_index("limitation")["by_how_much"]
    assert rows["no control group: placebo and expectancy response"].startswith("suppressed")
    assert "of the suppressed mean drop" in rows["regression to the mean"]
    assert "long against short follow-up: suppressed" in rows["natural course over the follow-up"]
    assert "multiple imputation suppressed" in rows["dropout (completer analysis)"]
    assert "women a suppressed share" in rows["records of patients who reached treatment"]
    hidden = [table.loc[i, "limitation"] for i, _ in table.attrs["suppressed"]]
    assert hidden == ["no control group: placebo and expectancy response", "natural course over the follow-up"]
    assert table.loc[[i for i, _ in table.attrs["suppressed"]], "quantity"].isna().all()
    # The numbers it does show are those that rest on enough patients: the ITT change, the counts.
    assert f"{itt['itt_mean_change']:.1f}" in rows["dropout (completer analysis)"]


def test_representativeness_suppresses_small_counts(benchmarks):
    c = make_cohort(
        [50] * 10,
        [30] * 10,
        age=[30, 40, 50, None, None, 20, 60, 35, 45, 55],
        gender=["woman"] * 5 + ["man"] * 2 + ["nonbinary"] + [None] * 2,
        race=["White", "white ", "Black", "Caucasian", "Asian"] + [None] * 5,
    )
    out = L.representativeness(c, benchmarks, min_cell=5).set_index("characteristic")
    # Gender: 3 reporting patients are not women and 2 did not report: both below 5, so share and
    # unreported share are hidden; the 8 reporting may be shown.
    women = out.loc["women"]
    assert women["cohort_value"] is None and women["cohort_pct_unreported"] is None and women["suppressed"]
    assert women["cohort_n_reported"] == 8
    # Race: 3 white of 5 reporting -> hidden; 5 not reporting is not below 5.
    white = out.loc["white"]
    assert white["cohort_value"] is None and white["cohort_pct_unreported"] == pytest.approx(50)
    assert white["cohort_all_low"] is None and white["suppressed"]
    # Age: 8 reporting -> mean shown; 2 missing -> their share hidden.
    age = out.loc["mean age"]
    assert age["cohort_value"] == pytest.approx(np.mean([30, 40, 50, 20, 60, 35, 45, 55]))
    assert age["cohort_pct_unreported"] is None
    few = L.representativeness(
        make_cohort([50] * 6, [30] * 6, gender=["woman"] * 3 + [None] * 3), benchmarks, min_cell=5
    ).set_index("characteristic")
    assert few.loc["women", "cohort_n_reported"] is None  # 3 reporting is itself a small count
    # Each hidden cell is listed (not the bounds of mean age, which are never computed).
    cells = L.representativeness(c, benchmarks, min_cell=5).attrs["suppressed"]
    assert cells == [
        (0, "cohort_value"),
        (0, "cohort_pct_unreported"),
        (0, "cohort_all_low"),
        (0, "cohort_all_high"),
        (1, "cohort_value"),
        (1, "cohort_all_low"),
        (1, "cohort_all_high"),
        (2, "cohort_pct_unreported"),
    ]
    assert L.representativeness(c, benchmarks, min_cell=0).attrs["suppressed"] == []


def test_zero_event_upper_bound_is_clopper_pearson():
    for n in (1, 30, 117, 5000):
        out = L.zero_event_upper_bound(n, 0.95)
        exact = stats.binomtest(0, n).proportion_ci(confidence_level=0.95, method="exact").high
        assert out["upper"] == pytest.approx(exact, rel=1e-9)
        # At the bound, seeing no event in n has probability (1 - ci_level) / 2.
        assert (1 - out["upper"]) ** n == pytest.approx(0.025)
        assert out["upper_pct"] == pytest.approx(100 * exact, rel=1e-9)
    assert L.zero_event_upper_bound(117, 0.90)["upper"] < L.zero_event_upper_bound(117, 0.95)["upper"]
    assert L.zero_event_upper_bound(0)["upper"] is None


def test_summary_table_uses_the_confidence_level_and_reports_safety(benchmarks):
    c = make_cohort([50, 60, 40, 70], [30, 40, 35, 20], days=[10, 20, 30, 40])
    table = LT.summary_table(
        observed_mean_change=23.75,
        change_followup=L.change_by_followup(c, ci_level=0.9, min_cell=0),
        itt=L.itt_summary(c, min_cell=0),
        safety=L.zero_event_upper_bound(4, 0.9),
        benchmarks=benchmarks,
        ci_level=0.9,
        min_cell=0,
    ).set_index("limitation")
    assert "90% CI" in table.loc["natural course over the follow-up", "by_how_much"]
    assert "40 months" in table.loc["natural course over the follow-up", "by_how_much"]  # from the benchmarks
    assert table.loc["safety and misuse not recorded", "quantity"] == pytest.approx(100 * (1 - 0.05 ** (1 / 4)))
    # No dropouts: the completer and ITT means agree, and the row says so instead of "lowers ... to".
    dropout = table.loc["dropout (completer analysis)"]
    assert dropout["quantity"] == 0 and "all 4 patients" in dropout["by_how_much"]


# ----------------------------------------------------------------------------------------------------
# figures


@pytest.fixture()
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_forest_plot_labels_every_effect_with_its_instrument(benchmarks, plt):
    from ketamine_ptsd.presentation import limitation_figures as LF

    rows = L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks)
    ax = LF.forest_plot(rows).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "This cohort (d_av) [PCL-5]"
    assert "MAPP1 placebo + therapy (within) [CAPS-5]" in labels and len(labels) == len(rows)
    markers = {(ln.get_xdata()[0], ln.get_marker()) for ln in ax.get_lines() if len(ln.get_xdata()) == 1}
    assert (1.2, "s") in markers and (1.6, "o") in markers and (0.27, "D") in markers


def test_change_vs_followup_draws_summaries_above_the_point_limit(plt):
    from ketamine_ptsd.presentation import figures
    from ketamine_ptsd.presentation import limitation_figures as LF

    rng = np.random.default_rng(2)
    for n in (50, figures.MAX_POINTS + 1):
        days = rng.integers(7, 200, n)
        pre = rng.integers(40, 80, n)
        c = make_cohort(pre, pre - rng.integers(0, 40, n), days=days)
        points, curve = L.followup_points(c), L.lowess_curve(c)
        ax = LF.change_vs_followup(points, curve, 100).axes[0]
        drawn = len(ax.collections[0].get_offsets())
        assert drawn == (n if n <= figures.MAX_POINTS else len(curve))


def test_rtm_grid_plot_has_a_panel_per_sd_and_a_line_per_reliability(plt):
    from ketamine_ptsd.presentation import limitation_figures as LF

    grid = L.rtm_grid([40, 47, 50], [0.8, 0.82], [10, 15], observed_mean_change=20)
    fig = LF.rtm_grid_plot(grid, 47, 15, 0.82)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if ln.get_marker() != "*"]
        assert len(lines) == 2
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "*"]  # SD 10 is not the build's
    star = [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == "*"][0]
    expected = grid[(grid.population_mean == 47) & (grid.population_sd == 15) & (grid.reliability == 0.82)]
    assert star.get_ydata()[0] == pytest.approx(expected["pct_of_observed_change"].iloc[0])
