"""Tests of the multiverse of definitions. Expected counts are made by hand on a small cohort (written out
beside each), intervals come from statsmodels, effect sizes from the primary outcome's function
(pingouin) and a published table; never from the code under test."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import multiverse as M
from ketamine_ptsd.analysis import stats

PRE = [50, 60, 40, 55, 45, 70, 52, 48]
POST = [30, 45, 35, 20, 44, 25, None, None]  # the last two dropped out
# changes of the six completers: 20, 15, 5, 35, 1, 45
GRID = dict(remission_cutoffs=[29, 31, 32, 33], mcids=[5, 10, 15, 20], response_fractions=[0.3, 0.5])


def cohort(pre=PRE, post=POST) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(len(pre))],
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(post, dtype="Int64"),
        }
    )


def run(c, min_cell=0, reliabilities=(0.82, 0.84), m=5):
    return M.multiverse(
        c, **GRID, reliabilities=list(reliabilities), mi_imputations=m, mi_seed=7, ci_level=0.95, min_cell=min_cell
    )


def rows(table, family, population):
    return table[(table["family"] == family) & (table["population"] == population)].reset_index(drop=True)


# Hand counts over the six completers (post 30, 45, 35, 20, 44, 25; change 20, 15, 5, 35, 1, 45).
HAND = {
    # post < 29: 20, 25; < 31, < 32, < 33: 30, 20, 25
    "remission": [2, 3, 3, 3],
    # change >= 5: 20, 15, 5, 35, 45; >= 10 and >= 15: 20, 15, 35, 45; >= 20: 20, 35, 45
    "clinically_significant": [5, 4, 4, 3],
    # >= 30% of pre: 20 >= 15, 35 >= 16.5, 45 >= 21 (15 < 18, 5 < 12, 1 < 13.5); >= 50%: 35 >= 27.5, 45 >= 35
    "response": [3, 2],
}


@pytest.mark.parametrize("family", list(HAND))
@pytest.mark.parametrize("population,n", [("completers", 6), ("itt", 8)])
def test_counts_shares_and_exact_intervals_by_hand(family, population, n):
    table = run(cohort())
    got = rows(table, family, population)
    assert got["k"].tolist() == HAND[family]
    assert got["n"].tolist() == [n] * len(HAND[family])
    np.testing.assert_allclose(got["estimate"].astype(float), [100 * k / n for k in HAND[family]])
    low, high = proportion_confint(HAND[family], n, alpha=0.05, method="beta")
    np.testing.assert_allclose(got["ci_low"].astype(float), 100 * np.asarray(low), atol=1e-9)
    np.testing.assert_allclose(got["ci_high"].astype(float), 100 * np.asarray(high), atol=1e-9)


def test_reliable_improvement_by_hand():
    # threshold 1.96 * SD_pre(completers) * sqrt(2 (1 - r)); SD_pre of 50, 60, 40, 55, 45, 70 is 10.65
    sd = statistics.stdev([50, 60, 40, 55, 45, 70])
    changes = [20, 15, 5, 35, 1, 45]
    for r in (0.5, 0.82, 0.84, 0.95):
        threshold = 1.96 * sd * math.sqrt(2 * (1 - r))
        expected = sum(c > threshold for c in changes)
        got = rows(run(cohort(), reliabilities=[r]), "reliable_improvement", "completers")
        assert got["k"].tolist() == [expected], r
    # r = 0.5: threshold 20.9 -> 35, 45; r = 0.95: threshold 6.6 -> 20, 15, 35, 45
    assert rows(run(cohort(), reliabilities=[0.5, 0.95]), "reliable_improvement", "itt")["k"].tolist() == [2, 4]


def test_ties_at_a_threshold_follow_the_contract():
    # post exactly at the cutoff is not remission; change exactly at mcid is clinically significant
    # (changes 7, 7, 10, 10)
    table = run(cohort([40, 40, 40, 40], [33, 33, 30, 30]), reliabilities=[0.82])
    assert rows(table, "remission", "completers")["k"].tolist() == [0, 2, 2, 2]
    assert rows(table, "clinically_significant", "completers")["k"].tolist() == [4, 2, 0, 0]


def test_effect_sizes_match_the_primary_outcome():
    table = run(cohort())
    pre, post = np.array(PRE[:6], float), np.array(POST[:6], float)
    ref = stats.paired_outcome(pre, post)
    got = rows(table, "effect_size", "completers").set_index("effect_size")
    assert got.loc["d_av", "estimate"] == pytest.approx(ref["d_av"])
    assert got.loc["d_z", "estimate"] == pytest.approx(ref["d_z"])
    for name in ("d_av", "d_z"):
        assert got.loc[name, "ci_low"] == pytest.approx(ref[f"{name}_ci_low"])
        assert got.loc[name, "ci_high"] == pytest.approx(ref[f"{name}_ci_high"])
    # Hedges' J for 5 df: Gamma(5/2) / (sqrt(5/2) Gamma(2)), Gamma(5/2) = 3 sqrt(pi) / 4
    j5 = 3 * math.sqrt(math.pi) / 4 / math.sqrt(2.5)
    assert got.loc["g_av", "estimate"] == pytest.approx(j5 * ref["d_av"], rel=1e-12)
    # intention to treat: dropouts unchanged (post = pre)
    itt = stats.paired_outcome(np.array(PRE, float), np.array(POST[:6] + PRE[6:], float))
    got = rows(table, "effect_size", "itt").set_index("effect_size")
    assert got.loc["d_av", "estimate"] == pytest.approx(itt["d_av"])
    assert got.loc["d_z", "ci_high"] == pytest.approx(itt["d_z_ci_high"])


def test_hedges_j_closed_forms():
    # J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)); Gamma(1/2) = sqrt(pi), Gamma(3/2) = sqrt(pi)/2
    assert M.hedges_j(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-12)
    assert M.hedges_j(4) == pytest.approx(1 / (math.sqrt(2) * math.sqrt(math.pi) / 2), rel=1e-12)
    # Hedges' approximation 1 - 3 / (4 df - 1) is within 5e-5 at 50 df
    assert M.hedges_j(50) == pytest.approx(1 - 3 / 199, abs=5e-5)


def test_imputation_rows_pool_each_data_set():
    c = cohort()
    table = run(c, m=4)
    imputed = L.imputed_post_scores(np.array(PRE, float), np.array(POST[:6] + [np.nan] * 2, float), 4, 7)
    mi = rows(table, "remission", "mi")
    for j, cutoff in enumerate(GRID["remission_cutoffs"]):
        # per data set: the completers below the cutoff plus the imputed scores below it, out of eight
        shares = [(HAND["remission"][j] + sum(x < cutoff for x in row)) / 8 for row in imputed]
        assert mi.loc[j, "estimate"] == pytest.approx(100 * statistics.mean(shares))
        assert mi.loc[j, "k"] is None
    pooled = L.rubin_combine([s for s in shares], [s * (1 - s) / 8 for s in shares], df_complete=7)
    assert mi.loc[3, "ci_high"] == pytest.approx(100 * pooled["ci_high"])
    # L.multiple_imputation draws the same data sets: its pooled mean change is theirs
    changes = [statistics.mean([20, 15, 5, 35, 1, 45, 52 - row[0], 48 - row[1]]) for row in imputed]
    assert L.multiple_imputation(c, m=4, seed=7, min_cell=0)["mi_mean_change"] == pytest.approx(
        statistics.mean(changes)
    )


def test_without_dropouts_only_completers():
    table = run(cohort(PRE[:6], POST[:6]))
    assert set(table["population"]) == {"completers"}
    assert len(table) == 4 + 4 + 2 + 2 + 3 == M.summary(table)["multiverse_n_specifications"]


def test_small_cells_are_flagged_and_left_out_of_the_summary():
    table = run(cohort(), min_cell=3)
    # counts of 1-2 (remission at 29: 2) and every imputed row (2 dropouts) are small
    flagged = table[table["suppressed"]]
    assert set(flagged["population"]) >= {"mi"}
    # with eight dropouts the imputed rows rest on enough patients, but an imputed share still rests on the
    # completers meeting the definition: remission at 29 (2 completers) stays hidden, at 31 (3) is shown
    more = cohort(PRE + [50] * 8, POST + [None] * 8)
    mi = rows(run(more, min_cell=3), "remission", "mi")
    assert mi["suppressed"].tolist() == [True, False, False, False] and mi.loc[0, "estimate"] is None
    assert rows(table, "remission", "completers")["suppressed"].tolist() == [True, False, False, False]
    s = M.summary(table)
    # shown remission rows over completers and ITT: 3/6, 3/6, 3/6, 3/8, 3/8, 3/8 (2/6 and 2/8 are hidden)
    assert s["multiverse_remission_pct_min"] == pytest.approx(37.5)
    assert s["multiverse_remission_pct_max"] == pytest.approx(50)
    # no shown remission share is over 60
    assert s["multiverse_share_remission_over_60"] == 0
    # a cohort of fewer completers than min_cell hides everything, and the summaries say so
    table = run(cohort(), min_cell=7)
    assert table["suppressed"].all()
    s = M.summary(table)
    assert s["multiverse_remission_pct_min"] is None and "multiverse_remission_pct_min" in s["suppressed"]


def test_summary_shares_of_the_statements():
    table = run(cohort())
    s = M.summary(table)
    # clinically significant >= 75%: completers 5/6 (83%) only; 4/6 = 67%, 3/6; ITT 5/8 = 62.5% ... and the
    # imputed rows: count them from the table's own estimates
    cs = table[table["family"] == "clinically_significant"]["estimate"].astype(float)
    assert s["multiverse_share_clinically_significant_75"] == pytest.approx(100 * np.mean(cs >= 75))
    assert s["multiverse_clinically_significant_pct_max"] == pytest.approx(100 * 5 / 6)
    assert s["multiverse_clinically_significant_pct_min"] == pytest.approx(100 * 3 / 8)
    assert s["multiverse_n_specifications"] == 45


def test_a_large_cohort_is_counted_without_a_loop_over_patients():
    rng = np.random.default_rng(3)
    n = 200_000
    pre = rng.integers(33, 81, n)
    post = np.clip(pre - rng.integers(-5, 40, n), 0, 80).astype(float)
    post[rng.random(n) < 0.1] = np.nan
    c = cohort(pre.tolist(), [None if np.isnan(x) else int(x) for x in post])
    table = run(c)
    done = ~np.isnan(post)
    expected = [(post[done] < cut).sum() for cut in GRID["remission_cutoffs"]]
    assert rows(table, "remission", "itt")["k"].tolist() == expected


def test_imputed_effect_sizes_pool_each_completed_data_set():
    table = run(cohort(), m=4)
    pre = np.array(PRE, float)
    imputed = L.imputed_post_scores(pre, np.array(POST[:6] + [np.nan] * 2, float), 4, 7)
    per_set = [stats.paired_outcome(pre, np.array(POST[:6] + list(row), float)) for row in imputed]
    got = rows(table, "effect_size", "mi").set_index("effect_size")
    for name in ("d_av", "d_z"):
        assert got.loc[name, "estimate"] == pytest.approx(statistics.mean(r[name] for r in per_set))
    # Rubin's rules over the large-sample variance of d_z, 1/n + d_z^2 / (2n), n = 8
    d_z = [r["d_z"] for r in per_set]
    pooled = L.rubin_combine(d_z, [1 / 8 + d * d / 16 for d in d_z], df_complete=7)
    assert got.loc["d_z", "ci_low"] == pytest.approx(pooled["ci_low"])
