"""The multiverse at its edges: what each row names, the fewest patients that give an estimate, Rubin's rules
by hand on imputations written out here, and the bookkeeping of repeats, ranges and the summary on tables
made by hand. The expected values are written out or come from scipy and statsmodels, never from the module.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import multiverse as M

from .test_multiverse import HAND, POST, PRE, cohort, rows, run

EMPTY = {"estimate": None, "ci_low": None, "ci_high": None}

# Each family's definitions in the table's words, with the decision columns each sets (GRID, r 0.82 and
# 0.84, rci_sd 12); every other decision column of the row is empty.
DEFINITIONS = {
    "remission": [(f"pcl5_post < {c}", {"remission_cutoff": c}) for c in (29, 31, 32, 33)],
    "clinically_significant": [(f"change >= {m}", {"mcid": m}) for m in (5, 10, 15, 20)]
    + [("change >= 15 and pcl5_post <= 28 (Marx et al. 2022)", {"mcid": 15})],
    "response": [
        ("change >= 30% of pcl5_pre", {"response_fraction": 0.3}),
        ("change >= 50% of pcl5_pre", {"response_fraction": 0.5}),
    ],
    "reliable_improvement": [
        ("change > RCI (r = 0.82, completers' SD)", {"reliability": 0.82}),
        ("change > RCI (r = 0.82, SD 12)", {"reliability": 0.82, "rci_sd": 12}),
        ("change > RCI (r = 0.84, completers' SD)", {"reliability": 0.84}),
        ("change > RCI (r = 0.84, SD 12)", {"reliability": 0.84, "rci_sd": 12}),
        ("change >= 15 (Marx et al. 2022)", {"mcid": 15}),
    ],
    "mean_change": [
        ("mean change", {"baseline_adjusted": False}),
        ("mean change at the file's mean baseline", {"baseline_adjusted": True}),
    ],
    "effect_size": [(name, {"effect_size": name}) for name in ("d_av", "d_z", "g_av")],
}
DECISION_COLUMNS = (
    "remission_cutoff",
    "mcid",
    "response_fraction",
    "reliability",
    "rci_sd",
    "baseline_adjusted",
    "effect_size",
)


def test_every_row_names_its_definition_decisions_and_sample():
    table = run(cohort(), rci_sd=12)
    assert list(table.columns) == list(M.COLUMNS)
    # Counts and row numbers are whole numbers, never floats such as 4.0 (the table is shown and published).
    for column in ("k", "duplicate_of"):
        assert all(isinstance(v, (int, np.integer)) for v in table[column].dropna()), column
    for family, definitions in DEFINITIONS.items():
        for population, n in (("completers", 6), ("itt", 8), ("mi", 8)):
            got = rows(table, family, population)
            # No baseline adjustment of imputed scores: it is fitted on observed ones.
            expected = definitions[:1] if (family, population) == ("mean_change", "mi") else definitions
            assert list(got["definition"]) == [d for d, _ in expected], (family, population)
            for (_, columns), (_, row) in zip(expected, got.iterrows(), strict=True):
                for column in DECISION_COLUMNS:
                    want = columns.get(column)
                    assert pd.isna(row[column]) if want is None else row[column] == want, (family, column)
                assert row["n"] == n
                counted = family in HAND or family == "reliable_improvement"
                assert pd.isna(row["k"]) == (population == "mi" or not counted)


def test_a_patient_without_a_baseline_is_left_out_everywhere():
    with_gap = cohort().astype({"pcl5_pre": "Float64"})
    extra = pd.DataFrame({"patient_id": ["p8"], "pcl5_pre": pd.array([None], "Float64"), "pcl5_post": [12]})
    with_gap = pd.concat([with_gap, extra.astype({"pcl5_post": "Int64"})], ignore_index=True)
    # The file's mean baseline (the adjusted mean change's centre) is that of the eight with one.
    pd.testing.assert_frame_equal(run(with_gap, entry=(0, 50)), run(cohort(), entry=(0, 50)))


def test_the_mean_change_needs_three_patients_whose_changes_differ():
    t2 = sps.t.ppf(0.975, 2)
    assert M._mean_change(np.array([10.0, 20.0]), np.array([50.0, 60.0]), False, 55, 0.95) == EMPTY
    assert M._mean_change(np.full(5, 7.0), np.arange(50.0, 55.0), False, 52, 0.95) == EMPTY
    # One baseline for all: no slope to adjust with.
    assert M._mean_change(np.array([1.0, 2.0, 4.0]), np.full(3, 50.0), True, 50, 0.95) == EMPTY
    # Three changes 0, 1, 2: mean 1, SD exactly 1, t interval on 2 df.
    got = M._mean_change(np.array([0.0, 1.0, 2.0]), np.array([40.0, 50.0, 61.0]), False, 50, 0.95)
    half = t2 / math.sqrt(3)
    assert got == pytest.approx({"estimate": 1.0, "ci_low": 1 - half, "ci_high": 1 + half})
    # Adjusted at three patients: statsmodels' intercept of change on the centred baseline (1 residual df).
    pre, change = np.array([40.0, 50.0, 61.0]), np.array([0.0, 1.0, 3.0])
    fit = sm.OLS(change, sm.add_constant(pre - 48)).fit()
    got = M._mean_change(change, pre, True, 48, 0.95)
    low, high = fit.conf_int(0.05)[0]
    assert got == pytest.approx({"estimate": fit.params[0], "ci_low": low, "ci_high": high})


def _noncentral_limits(t: float, df: int, level: float) -> tuple[float, float]:
    """The noncentralities whose t distribution puts ``t`` at its upper and lower (1 - level)/2 quantiles."""
    a = (1 - level) / 2
    solve = lambda p: optimize.brentq(lambda ncp: sps.nct.cdf(t, df, ncp) - p, t - 20, t + 20)  # noqa: E731
    return solve(1 - a), solve(a)


def test_effect_sizes_need_three_patients_whose_changes_differ():
    assert M._effect_sizes(np.array([50.0, 60.0]), np.array([40.0, 30.0]), 0.95) == dict.fromkeys(
        ("d_av", "d_z", "g_av"), EMPTY
    )
    flat = np.arange(50.0, 55.0)
    assert M._effect_sizes(flat, flat - 3, 0.95) == dict.fromkeys(("d_av", "d_z", "g_av"), EMPTY)
    # Changes 0, 1, 2 (SD exactly 1): d_z = 1; d_av over the root mean of the two variances; g_av with J(2).
    pre = np.array([40.0, 50.0, 61.0])
    post = pre - np.array([0.0, 1.0, 2.0])
    d_av = 1 / math.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2)
    sizes = {"d_z": 1.0, "d_av": d_av, "g_av": d_av / math.sqrt(math.pi)}  # J(2) = Gamma(1) / (1 Gamma(1/2))
    lo, hi = _noncentral_limits(math.sqrt(3), 2, 0.9)
    got = M._effect_sizes(pre, post, 0.9)
    for name, d in sizes.items():
        expected = {"estimate": d, "ci_low": lo / math.sqrt(3) * d, "ci_high": hi / math.sqrt(3) * d}
        assert got[name] == pytest.approx(expected, rel=1e-6), name


def _rubin(q, u, df_com, level):
    """Rubin's rules with Barnard and Rubin's df, written out: (Qbar, low, high)."""
    q, u = np.asarray(q, float), np.asarray(u, float)
    m = q.size
    b, ubar = q.var(ddof=1), u.mean()
    total = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / total
    df = 1 / (lam**2 / (m - 1) + 1 / ((df_com + 1) / (df_com + 3) * df_com * (1 - lam)))
    half = sps.t.ppf(1 - (1 - level) / 2, df) * math.sqrt(total)
    return q.mean(), q.mean() - half, q.mean() + half


def test_imputed_mean_change_and_effect_sizes_by_rubins_rules_on_imputations_written_out():
    pre = np.array([50.0, 60.0, 40.0, 55.0, 45.0])
    post = np.array([30.0, 45.0, 35.0, np.nan, np.nan])
    imputed = np.array([[38.0, 40.0], [33.0, 47.0], [36.0, 41.0]])  # three data sets of the two dropouts
    got = M._mi_continuous(pre, post, imputed, 0.9)
    n = 5
    means, var_means, d_z, d_av = [], [], [], []
    for row in imputed:
        completed = np.concatenate([post[:3], row])
        change = pre - completed
        means.append(change.mean())
        var_means.append(change.var(ddof=1) / n)
        d_z.append(change.mean() / change.std(ddof=1))
        d_av.append(change.mean() / math.sqrt((pre.var(ddof=1) + completed.var(ddof=1)) / 2))
    estimate, low, high = _rubin(means, var_means, n - 1, 0.9)
    assert got["mean_change"] == pytest.approx({"estimate": estimate, "ci_low": low, "ci_high": high})
    d_z, d_av = np.array(d_z), np.array(d_av)
    var_z = 1 / n + d_z**2 / (2 * n)
    j = math.exp(math.lgamma(2.0) - math.lgamma(1.5)) / math.sqrt(2.0)  # Hedges' J(4)
    for name, q in (("d_z", d_z), ("d_av", d_av), ("g_av", j * d_av)):
        # d_av and g_av carry d_z's variance over with their ratio to d_z, squared.
        estimate, low, high = _rubin(q, var_z * (q / d_z) ** 2, n - 1, 0.9)
        assert got[name] == pytest.approx({"estimate": estimate, "ci_low": low, "ci_high": high}), name


def test_imputed_rows_need_three_patients_whose_changes_differ():
    empty = dict.fromkeys(("mean_change", "d_av", "d_z", "g_av"), EMPTY)
    assert M._mi_continuous(np.array([50.0, 60.0]), np.array([30.0, np.nan]), np.array([[40.0], [44.0]]), 0.95) == empty
    # Every change 10, imputed ones too: no spread.
    same = M._mi_continuous(np.array([50.0, 60.0, 70.0]), np.array([40.0, 50.0, np.nan]), np.array([[60.0]] * 2), 0.95)
    assert same == empty
    # Changes 10, 11 and an imputed 10.5 or 10.2 vary by less than one point: still estimated.
    small = M._mi_continuous(
        np.array([50.0, 60.0, 70.0]), np.array([40.0, 49.0, np.nan]), np.array([[59.5], [59.8]]), 0.95
    )
    assert small["mean_change"]["estimate"] == pytest.approx((10.5 + 10.2) / 2 / 3 + 7)


@pytest.mark.parametrize("k", [0, 1, 6, 7])
def test_exact_interval_at_none_one_all_but_one_and_all(k):
    low, high = M._clopper_pearson(k, 7, 0.9)
    expected = proportion_confint(k, 7, alpha=0.1, method="beta")
    assert (float(low), float(high)) == pytest.approx((100 * expected[0], 100 * expected[1]))


def test_shares_without_completers_and_imputed_shares_at_another_level():
    none = M._shares(np.zeros(0, bool), None, 0, 3, 0.95)
    assert none["completers"]["n"] == 0 and none["completers"]["estimate"] is None
    assert np.isnan(none["completers"]["ci_low"]) and np.isnan(none["completers"]["ci_high"])
    assert none["itt"]["estimate"] == 0 and none["itt"]["ci_high"] == pytest.approx(100 * (1 - 0.025 ** (1 / 3)))
    # Two of four completers meet it; each of three data sets adds what its two imputed dropouts do.
    met_mi = np.array([[True, False], [False, False], [True, True]])
    got = M._shares(np.array([True, True, False, False]), met_mi, 4, 6, 0.8)
    p = np.array([3, 2, 4]) / 6
    estimate, low, high = _rubin(p, p * (1 - p) / 6, 5, 0.8)
    assert got["mi"] == pytest.approx(
        {"n": 6, "k": None, "estimate": 100 * estimate, "ci_low": 100 * low, "ci_high": 100 * high}
    )


def test_imputed_clinically_significant_shares_count_each_dropouts_imputed_change():
    table = run(cohort(), m=4)
    imputed = L.imputed_post_scores(np.array(PRE, float), np.array(POST[:6] + [np.nan] * 2, float), 4, 7)
    dropped = np.array(PRE[6:], float)
    got = rows(table, "clinically_significant", "mi")
    for j, mcid in enumerate((5, 10, 15, 20)):
        shares = [(HAND["clinically_significant"][j] + int(((dropped - row) >= mcid).sum())) / 8 for row in imputed]
        assert got.loc[j, "estimate"] == pytest.approx(100 * np.mean(shares)), mcid


def test_reliable_change_from_two_completers_sd():
    # Completers' baselines 50 and 70 (SD 14.14), changes 30 and 5: RCI at r = 0.82 is
    # 1.96 * 14.142 * sqrt(2 * 0.18) = 16.63, which only the change of 30 exceeds.
    table = run(cohort([50, 70, 60], [20, 65, None]), reliabilities=(0.82,), m=2)
    got = rows(table, "reliable_improvement", "completers")
    assert got.loc[0, "definition"] == "change > RCI (r = 0.82, completers' SD)" and got.loc[0, "k"] == 1


def frame(*specs) -> pd.DataFrame:
    """A table of the multiverse's columns from (family, population, entry, definition, estimate, ci_low,
    ci_high, k, suppressed) tuples."""
    names = ("family", "population", "entry_threshold", "definition", "estimate", "ci_low", "ci_high", "k")
    table = pd.DataFrame([dict(zip(names, s[:8], strict=True), suppressed=s[8]) for s in specs])
    table = table.reindex(columns=list(M.COLUMNS))
    table["duplicate_of"] = pd.array(M._mark_duplicates(table), dtype="Int64")
    return table


def test_repeats_are_the_same_estimate_interval_and_count_in_one_family():
    table = frame(
        ("remission", "completers", 0, "a", 50.0, 30.0, 70.0, 4, False),
        ("remission", "itt", 0, "a", 50.0, 30.0, 70.0, 4, False),  # 1: repeats 0
        ("remission", "completers", 0, "b", 50.0, 31.0, 70.0, 4, False),  # another low end
        ("remission", "completers", 0, "c", 50.0, 30.0, 71.0, 4, False),  # another high end
        ("remission", "completers", 0, "d", 50.0, 30.0, 70.0, 5, False),  # another count
        ("response", "completers", 0, "a", 50.0, 30.0, 70.0, 4, False),  # another family
        ("remission", "completers", 0, "e", None, None, None, None, False),  # nothing computed
        ("remission", "completers", 0, "f", None, None, None, None, False),
        ("remission", "itt", 0, "g", 50.0, 30.0, 70.0, 4, True),  # suppressed
        ("mean_change", "completers", 0, "h", 2.0, None, None, None, False),
        ("mean_change", "itt", 0, "h", 2.0, None, None, None, False),  # 10: repeats 9, without an interval
    )
    assert list(table["duplicate_of"]) == [pd.NA, 0, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, 9]


def test_collapsed_names_the_one_decision_a_repeat_differs_in():
    table = frame(
        ("remission", "completers", 0, "pcl5_post < 31", 50.0, 30.0, 70.0, 4, False),
        ("remission", "itt", 0, "pcl5_post < 31", 50.0, 30.0, 70.0, 4, False),
        ("remission", "mi", 0, "pcl5_post < 31", 50.0, 30.0, 70.0, 4, False),
        ("remission", "completers", 0, "pcl5_post < 33", 50.0, 30.0, 70.0, 4, False),
        ("remission", "itt", 33, "pcl5_post < 33", 50.0, 30.0, 70.0, 4, False),
    )
    assert M.collapsed(table) == [
        {"decision": "population", "n_specifications": 2},
        {"decision": "remission_cutoff", "n_specifications": 1},
        {"decision": "several at once", "n_specifications": 1},
    ]


@pytest.mark.parametrize(
    "values,expected",
    [
        ([3.0, 3.0], 0.0),
        ([1.0, 1.0 + 1e-12], 0.0),  # the same value computed two ways
        ([0.0, 1e-9], 0.0),  # exactly at the tolerance (1e-9 times at least 1)
        ([0.0, 1.5e-9], 1.5e-9),  # beyond it
        ([1000.0, 1000.0 + 1e-7], 0.0),  # the tolerance grows with the values
        ([2.0, 5.5, 4.0], 3.5),
    ],
)
def test_range_treats_last_digit_differences_as_none(values, expected):
    assert M._range(pd.Series(values)) == expected


def test_influence_is_the_median_and_largest_range_over_the_other_decisions():
    table = frame(
        # response first: the output keeps the table's order of families, not the alphabet's
        ("response", "completers", 0, "a", 40.0, 30.0, 50.0, 4, False),
        ("response", "completers", 0, "b", 42.0, 30.0, 50.0, 4, False),
        ("response", "itt", 0, "a", None, None, None, None, False),  # nothing computed: no second population
        ("clinically_significant", "completers", 0, "a", 60.0, 50.0, 70.0, 6, False),
        ("clinically_significant", "completers", 0, "b", 70.0, 60.0, 80.0, 7, False),
        ("clinically_significant", "itt", 0, "a", 50.0, 40.0, 60.0, 6, False),
        ("clinically_significant", "itt", 0, "b", 55.0, 45.0, 65.0, 7, False),
        ("clinically_significant", "itt", 0, "c", 65.0, 55.0, 75.0, 9, False),
        ("clinically_significant", "completers", 33, "a", 62.0, 50.0, 70.0, 6, False),
        # suppressed, and a row with nothing computed: neither is a shown option
        ("clinically_significant", "mi", 0, "a", None, None, None, None, True),
        ("clinically_significant", "mi", 0, "b", None, None, None, None, False),
    )
    got = M.influence(table)
    assert list(got.columns) == ["family", "decision", "median_range", "max_range"]
    expected = [
        # response: one population and one entry restriction, two definitions 2 apart
        ("response", "response_fraction", 2.0, 2.0),
        # by population (definition a at entry 0: 60 vs 50; b: 70 vs 55): ranges 10 and 15
        ("clinically_significant", "population", 12.5, 15.0),
        # by entry restriction: only completers with definition a have two options (60 vs 62)
        ("clinically_significant", "entry_threshold", 2.0, 2.0),
        # by definition: completers at 0 (60, 70) 10; itt at 0 (50, 55, 65) 15; completers at 33 alone: none
        ("clinically_significant", "clinically_significant_definition", 12.5, 15.0),
    ]
    assert [tuple(r) for r in got.itertuples(index=False)] == expected


SUMMARY_KEYS = {
    "multiverse_n_specifications",
    "multiverse_n_distinct",
    "multiverse_n_shown",
    "multiverse_n_distinct_shown",
    "suppressed",
    "multiverse_share_remission_over_60",
    "multiverse_share_remission_over_60_n_within_interval",
    "multiverse_share_clinically_significant_75",
    "multiverse_share_clinically_significant_75_n_within_interval",
    "multiverse_share_large_effect",
    "multiverse_share_large_effect_n_within_interval",
    "multiverse_most_influential_decision",
}
for _family, _name in (
    ("remission", "remission_pct"),
    ("clinically_significant", "clinically_significant_pct"),
    ("response", "response_pct"),
    ("reliable_improvement", "reliable_improvement_pct"),
    ("mean_change", "mean_change"),
    ("effect_size", "d"),
):
    SUMMARY_KEYS |= {f"multiverse_{_family}_n_specifications"} | {
        f"multiverse_{_name}_{s}" for s in ("min", "median", "max")
    }


def test_summary_keys_counts_and_what_it_suppresses():
    table = frame(
        ("remission", "completers", 0, "a", 61.0, 50.0, 70.0, 8, False),
        ("remission", "itt", 0, "a", 55.0, 45.0, 60.0, 8, False),  # below 60, its interval reaches it exactly
        ("remission", "itt", 0, "b", 55.0, 45.0, 60.0, 8, False),  # repeats the row above: counted once
        ("remission", "mi", 0, "a", 40.0, 30.0, 50.0, None, False),  # not in min/max, in the shares
        ("response", "completers", 0, "a", 30.0, 20.0, 40.0, 3, False),
        ("response", "itt", 0, "b", None, None, None, None, False),  # nothing computed: not shown
        ("effect_size", "completers", 0, "d_av", None, None, None, None, True),  # all hidden
        ("mean_change", "completers", 0, "mean change", None, None, None, None, False),  # nothing, not hidden
    )
    got = M.summary(table)
    assert set(got) == SUMMARY_KEYS
    assert (got["multiverse_n_specifications"], got["multiverse_n_distinct"]) == (8, 7)
    assert (got["multiverse_n_shown"], got["multiverse_n_distinct_shown"]) == (7, 4)
    assert (got["multiverse_remission_n_specifications"], got["multiverse_effect_size_n_specifications"]) == (4, 1)
    assert (got["multiverse_remission_pct_min"], got["multiverse_remission_pct_median"]) == (55.0, 58.0)
    assert got["multiverse_remission_pct_max"] == 61.0
    assert got["multiverse_response_pct_median"] == 30.0
    # remission over 60 in 1 of 3 distinct shown rows; of the 2 others, the one whose interval ends at 60
    assert got["multiverse_share_remission_over_60"] == pytest.approx(100 / 3)
    assert got["multiverse_share_remission_over_60_n_within_interval"] == 1
    # nothing to rest on: None, and named as suppressed only where rows were hidden
    assert got["multiverse_d_min"] is None and got["multiverse_mean_change_min"] is None
    assert got["multiverse_share_large_effect"] is None and got["multiverse_share_clinically_significant_75"] is None
    assert got["suppressed"] == [
        "multiverse_d_min",
        "multiverse_d_median",
        "multiverse_d_max",
        "multiverse_share_large_effect",
        "multiverse_share_large_effect_n_within_interval",
    ]


def test_most_influential_decision_is_the_largest_median_range_and_none_when_nothing_moves():
    table = frame(
        ("response", "completers", 0, "a", 40.0, 30.0, 50.0, 4, False),
        ("response", "completers", 0, "b", 40.0, 30.0, 50.0, 4, False),  # definitions move nothing
        ("remission", "completers", 0, "a", 60.0, 50.0, 70.0, 6, False),
        ("remission", "itt", 0, "a", 50.0, 40.0, 60.0, 6, False),  # population: 10
        ("remission", "completers", 0, "b", 60.5, 50.0, 70.0, 6, False),  # definition: 0.5
        ("remission", "itt", 0, "b", 50.5, 40.0, 60.0, 6, False),
        ("effect_size", "completers", 0, "d_av", 1.2, 1.0, 1.4, None, False),
        ("effect_size", "itt", 0, "d_av", 1.0, 0.8, 1.2, None, False),  # population: 0.2
        ("effect_size", "completers", 0, "d_z", 1.4, 1.2, 1.6, None, False),  # definition: 0.2 too
        ("effect_size", "itt", 0, "d_z", 1.2, 1.0, 1.4, None, False),
    )
    got = M.summary(table)["multiverse_most_influential_decision"]
    # Families in the table's order; a tie goes to the first decision in influence()'s order.
    assert list(got.items()) == [("remission", "population"), ("effect_size", "population")]
    small = frame(
        ("remission", "completers", 0, "a", 60.0, 50.0, 70.0, 6, False),
        ("remission", "completers", 0, "b", 60.5, 50.0, 70.0, 6, False),
    )
    assert M.summary(small)["multiverse_most_influential_decision"] == {"remission": "remission_cutoff"}
