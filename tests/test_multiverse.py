"""Tests of the crossed multiverse. Expected counts are made by hand on a small cohort (written out beside
each) or by a recomputation of this file's own, loops over patients and decisions; intervals come from
statsmodels, effect sizes from the primary outcome's function (pingouin as reference), the sign-flip test
from an exhaustive enumeration; never from the code under test."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.analysis import multiverse as M
from ketamine_ptsd.analysis import specification_curve, stats
from ketamine_ptsd.data.validate import validate_file

PRE = [50, 60, 40, 55, 45, 70, 52, 48]
POST = [30, 45, 35, 20, 44, 25, None, None]  # the last two dropped out
# changes of the six completers: 20, 15, 5, 35, 1, 45
GRID = dict(
    remission_cutoffs=[29, 31, 32, 33],
    mcids=[5, 10, 15, 20],
    response_fractions=[0.3, 0.5],
    rci_sd=None,
    marx_reliable_change=15,
    marx_end_score=28,
)


def cohort(pre=PRE, post=POST) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(len(pre))],
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(post, dtype="Int64"),
        }
    )


def run(c, min_cell=0, reliabilities=(0.82, 0.84), m=5, entry=(0,), **grid):
    return M.multiverse(
        c,
        **(GRID | grid),
        reliabilities=list(reliabilities),
        entry_thresholds=list(entry),
        mi_imputations=m,
        mi_seed=7,
        ci_level=0.95,
        min_cell=min_cell,
    )


def rows(table, family, population, entry=0):
    sel = (table["family"] == family) & (table["population"] == population) & (table["entry_threshold"] == entry)
    return table[sel].reset_index(drop=True)


# Hand counts over the six completers (post 30, 45, 35, 20, 44, 25; change 20, 15, 5, 35, 1, 45).
HAND = {
    # post < 29: 20, 25; < 31, < 32, < 33: 30, 20, 25
    "remission": [2, 3, 3, 3],
    # change >= 5: 20, 15, 5, 35, 45; >= 10 and >= 15: 20, 15, 35, 45; >= 20: 20, 35, 45;
    # Marx: change >= 15 and post <= 28: 35 (post 20), 45 (post 25)
    "clinically_significant": [5, 4, 4, 3, 2],
    # >= 30% of pre: 20 >= 15, 35 >= 16.5, 45 >= 21 (15 < 18, 5 < 12, 1 < 13.5); >= 50%: 35 >= 27.5, 45 >= 35
    "response": [3, 2],
}


@pytest.mark.parametrize("family", list(HAND))
@pytest.mark.parametrize("population,n", [("completers", 6), ("itt", 8)])
def test_counts_shares_and_exact_intervals_by_hand(family, population, n):
    got = rows(run(cohort()), family, population)
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
        # then Marx et al.'s reliable change: a drop of 15 or more (20, 15, 35, 45)
        assert got["k"].tolist() == [expected, 4], r
    # r = 0.5: threshold 20.9 -> 35, 45; r = 0.95: threshold 6.6 -> 20, 15, 35, 45
    assert rows(run(cohort(), reliabilities=[0.5, 0.95]), "reliable_improvement", "itt")["k"].tolist() == [2, 4, 4]
    # A normative SD of 25 given as rci_sd adds its own row: 1.96 * 25 * sqrt(0.36) = 29.4 -> 35, 45; beside it
    # the completers' SD (10.65: threshold 12.5 -> 20, 15, 35, 45) and Marx's 15 points.
    got = rows(run(cohort(), reliabilities=[0.82], rci_sd=25.0), "reliable_improvement", "completers")
    assert got["rci_sd"].tolist()[:2] == [None, 25.0] and got["k"].tolist() == [4, 2, 4]


def test_ties_at_a_threshold_follow_the_contract():
    # post exactly at the cutoff is not remission; change exactly at mcid is clinically significant
    # (changes 7, 7, 10, 10; Marx: a change of 15 or more, none)
    table = run(cohort([40, 40, 40, 40], [33, 33, 30, 30]), reliabilities=[0.82])
    assert rows(table, "remission", "completers")["k"].tolist() == [0, 2, 2, 2]
    assert rows(table, "clinically_significant", "completers")["k"].tolist() == [4, 2, 0, 0, 0]
    # Marx's end score is "at most": change 15 with post 28 counts, with post 29 not.
    table = run(cohort([43, 44], [28, 29]), reliabilities=[0.82])
    assert rows(table, "clinically_significant", "completers")["k"].tolist()[-1] == 1


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


def test_mean_change_as_observed_and_at_the_files_mean_baseline():
    table = run(cohort(), entry=(0, 50))
    change = np.array([20, 15, 5, 35, 1, 45], float)
    got = rows(table, "mean_change", "completers")
    assert got.loc[0, "estimate"] == pytest.approx(change.mean())
    # t interval: 20.1667 +- t(.975, 5) * s / sqrt(6)
    half = 2.570581835636314 * change.std(ddof=1) / math.sqrt(6)
    assert got.loc[0, "ci_low"] == pytest.approx(change.mean() - half)
    # Restricted to pcl5_pre >= 50 (completers 50, 60, 55, 70; changes 20, 15, 35, 45), adjusted to the mean
    # baseline of all eight patients: statsmodels' OLS intercept of change on pcl5_pre centred there.
    centre = np.mean(PRE)
    pre = np.array([50, 60, 55, 70], float)
    fit = sm.OLS(np.array([20, 15, 35, 45], float), sm.add_constant(pre - centre)).fit()
    restricted = rows(table, "mean_change", "completers", entry=50)
    adjusted = restricted[restricted["baseline_adjusted"] == True].iloc[0]  # noqa: E712 (object column)
    assert adjusted["estimate"] == pytest.approx(fit.params[0])
    assert adjusted["ci_low"] == pytest.approx(fit.conf_int(0.05)[0][0])
    assert adjusted["ci_high"] == pytest.approx(fit.conf_int(0.05)[0][1])


def test_hedges_j_closed_forms():
    # J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)); Gamma(1/2) = sqrt(pi), Gamma(3/2) = sqrt(pi)/2
    assert M.hedges_j(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-12)
    assert M.hedges_j(4) == pytest.approx(1 / (math.sqrt(2) * math.sqrt(math.pi) / 2), rel=1e-12)
    # Hedges' approximation 1 - 3 / (4 df - 1) is within 5e-5 at 50 df
    assert M.hedges_j(50) == pytest.approx(1 - 3 / 199, abs=5e-5)


def test_imputation_rows_pool_each_data_set_by_hand():
    table = run(cohort(), m=4)
    imputed = L.imputed_post_scores(np.array(PRE, float), np.array(POST[:6] + [np.nan] * 2, float), 4, 7)
    mi = rows(table, "remission", "mi")
    for j, cutoff in enumerate(GRID["remission_cutoffs"]):
        # per data set: the completers below the cutoff plus the imputed scores below it, out of eight
        shares = [(HAND["remission"][j] + sum(x < cutoff for x in row)) / 8 for row in imputed]
        assert mi.loc[j, "estimate"] == pytest.approx(100 * statistics.mean(shares))
        assert pd.isna(mi.loc[j, "k"])
    # Rubin by hand for the last cutoff: Qbar, Ubar, B, T = Ubar + (1 + 1/m) B, Barnard-Rubin df (df_com 7).
    q = np.array(shares)
    u = q * (1 - q) / 8
    b, ubar = q.var(ddof=1), u.mean()
    total = ubar + 1.25 * b
    lam = 1.25 * b / total
    df_old = 3 / lam**2
    df_obs = (8 / 10) * 7 * (1 - lam)
    df = 1 / (1 / df_old + 1 / df_obs)
    from scipy.stats import t as t_dist

    assert mi.loc[3, "ci_high"] == pytest.approx(100 * (q.mean() + t_dist.ppf(0.975, df) * math.sqrt(total)))


def test_imputed_effect_sizes_pool_each_completed_data_set():
    table = run(cohort(), m=4)
    pre = np.array(PRE, float)
    imputed = L.imputed_post_scores(pre, np.array(POST[:6] + [np.nan] * 2, float), 4, 7)
    per_set = [stats.paired_outcome(pre, np.array(POST[:6] + list(row), float)) for row in imputed]
    got = rows(table, "effect_size", "mi").set_index("effect_size")
    for name in ("d_av", "d_z"):
        assert got.loc[name, "estimate"] == pytest.approx(statistics.mean(r[name] for r in per_set))
    # g_av: Hedges' exact J(7) = Gamma(3.5) / (sqrt(3.5) Gamma(3)) times each set's d_av.
    j = math.exp(math.lgamma(3.5) - math.lgamma(3.0)) / math.sqrt(3.5)
    assert got.loc["g_av", "estimate"] == pytest.approx(j * statistics.mean(r["d_av"] for r in per_set))
    # Rubin by hand for d_z: each set's variance 1/n + d_z^2 / (2n), T = Ubar + (1 + 1/m) B, Barnard-Rubin df
    # with the complete-data df n - 1 = 7.
    q = np.array([r["d_z"] for r in per_set])
    u = 1 / 8 + q**2 / 16
    b, ubar = q.var(ddof=1), u.mean()
    total = ubar + 1.25 * b
    lam = 1.25 * b / total
    df = 1 / (1 / ((4 - 1) / lam**2) + 1 / ((7 + 1) / (7 + 3) * 7 * (1 - lam)))
    half = sps.t.ppf(0.975, df) * math.sqrt(total)
    assert (got.loc["d_z", "ci_low"], got.loc["d_z", "ci_high"]) == pytest.approx((q.mean() - half, q.mean() + half))
    mean_change = rows(table, "mean_change", "mi")
    assert len(mean_change) == 1  # no baseline adjustment of imputed scores
    assert mean_change.loc[0, "estimate"] == pytest.approx(statistics.mean(r["mean_change"] for r in per_set))


def test_repeats_are_marked_and_counted_once():
    # No dropouts and every baseline at or above 40: intention to treat and imputation are not made, and the
    # restriction to pcl5_pre >= 40 repeats every row of "every patient".
    c = cohort(PRE[:6], POST[:6])
    table = run(c, entry=(0, 40))
    assert set(table["population"]) == {"completers"}
    repeats = table[table["duplicate_of"].notna()]
    originals = table.loc[repeats["duplicate_of"].astype(int)]
    for column in ("family", "estimate", "ci_low", "ci_high"):
        assert originals[column].tolist() == repeats[column].tolist()
    assert (table.loc[table["entry_threshold"] == 40, "duplicate_of"].notna()).all()
    s = M.summary(table)
    # Per entry threshold: remission 4 + clinically significant 5 + response 2 + reliable 2 RCI and 1 Marx + mean
    # change 2 + effect sizes 3 = 19 rows. Results of their own (hand counts above): remission 2, 3 (< 31, < 32
    # and < 33 all give 3); clinically significant 5, 4 (>= 10 and >= 15), 3, 2; response 3, 2; reliable change
    # one (r = 0.82 and 0.84 give 12.5 and 11.8 points, and Marx's 15: all four of 20, 15, 35, 45); the mean
    # change two (the intervals differ); three effect sizes: 2 + 4 + 2 + 1 + 2 + 3 = 14.
    assert s["multiverse_n_specifications"] == 38 and s["multiverse_n_distinct"] == 14
    decisions = {row["decision"] for row in M.collapsed(table)}
    assert decisions == {
        "entry_threshold",
        "remission_cutoff",
        "clinically_significant_definition",
        "reliable_change_definition",
        "several at once",
    }


def test_small_cells_are_flagged_and_left_out_of_the_summary():
    table = run(cohort(), min_cell=3)
    flagged = table[table["suppressed"]]
    assert set(flagged["population"]) >= {"mi"}  # two dropouts
    # with eight more dropouts the imputed rows rest on enough patients, but an imputed share still rests on the
    # completers meeting the definition: remission at 29 (2 completers) stays hidden, at 31 (3) is shown
    more = cohort(PRE + [50] * 8, POST + [None] * 8)
    mi = rows(run(more, min_cell=3), "remission", "mi")
    assert mi["suppressed"].tolist() == [True, False, False, False] and mi.loc[0, "estimate"] is None
    assert rows(table, "remission", "completers")["suppressed"].tolist() == [True, False, False, False]
    s = M.summary(table)
    # shown remission rows over completers and ITT: 3/6 (three cutoffs, one result) and 3/8 (likewise)
    assert s["multiverse_remission_pct_min"] == pytest.approx(37.5)
    assert s["multiverse_remission_pct_max"] == pytest.approx(50)
    assert s["multiverse_share_remission_over_60"] == 0
    table = run(cohort(), min_cell=7)
    assert table["suppressed"].all()
    s = M.summary(table)
    assert s["multiverse_remission_pct_min"] is None and "multiverse_remission_pct_min" in s["suppressed"]


def test_statements_count_specifications_and_those_within_their_interval():
    s = M.summary(run(cohort()))
    # Clinically significant, completers: 5/6 (83%, holds), 4/6 (67%; exact interval up to 95.7%), 3/6 (50%,
    # up to 88.2%), 2/6 (33%, up to 77.7%); ITT 5/8, 4/8, 3/8, 2/8 (up to 91.5, 84.3, 75.5, 65.1);
    # imputation rows from the table. Distinct rows: >= 10 and >= 15 give one result per population.
    table = run(cohort())
    distinct = M.distinct(table)
    cs = distinct[distinct["family"] == "clinically_significant"]
    held = cs["estimate"].astype(float) >= 75
    assert s["multiverse_share_clinically_significant_75"] == pytest.approx(100 * held.mean())
    assert s["multiverse_share_clinically_significant_75_n_within_interval"] == int(
        (cs.loc[~held, "ci_high"].astype(float) >= 75).sum()
    )
    low, high = proportion_confint([4, 3, 2], 6, method="beta")
    assert 100 * high[2] > 75 and 100 * proportion_confint(2, 8, method="beta")[1] < 75  # the hand values above


def test_influence_is_the_range_across_a_decisions_options():
    table = run(cohort())
    inf = M.influence(table).set_index(["family", "decision"])
    # Remission among completers: 2/6, 3/6, 3/6, 3/6 -> range 16.7 points; ITT 2/8 .. 3/8 -> 12.5; imputed rows
    # their own. The median over the three populations of these ranges:
    mi = rows(table, "remission", "mi")["estimate"].astype(float)
    expected = statistics.median([100 / 6, 100 / 8, mi.max() - mi.min()])
    assert inf.loc[("remission", "remission_cutoff"), "median_range"] == pytest.approx(expected)
    assert M.summary(table)["multiverse_most_influential_decision"]["response"] in {"response_fraction", "population"}


def _independent(c: pd.DataFrame, grid: dict, reliabilities, entries) -> pd.DataFrame:
    """Every completers' and intention-to-treat share, recomputed patient by patient."""
    out = []
    records = list(zip(c["pcl5_pre"].astype(float), c["pcl5_post"].astype("Float64").to_numpy(na_value=np.nan)))
    for entry in entries:
        kept = [(pre, post) for pre, post in records if pre >= entry]
        done = [(pre, post) for pre, post in kept if not math.isnan(post)]
        sd = statistics.stdev(pre for pre, _ in done)
        definitions = [
            ("remission", f"pcl5_post < {x:g}", lambda pre, post, x=x: post < x) for x in grid["remission_cutoffs"]
        ]
        definitions += [
            ("clinically_significant", f"change >= {x:g}", lambda pre, post, x=x: pre - post >= x)
            for x in grid["mcids"]
        ]
        definitions += [("clinically_significant", "marx", lambda pre, post: pre - post >= 15 and post <= 28)]
        definitions += [
            ("response", f"{x}", lambda pre, post, x=x: pre - post >= x * pre) for x in grid["response_fractions"]
        ]
        definitions += [
            (
                "reliable_improvement",
                f"{r}",
                lambda pre, post, r=r, sd=sd: pre - post > 1.96 * sd * math.sqrt(2 * (1 - r)),
            )
            for r in reliabilities
        ]
        definitions += [("reliable_improvement", "marx", lambda pre, post: pre - post >= 15)]  # fmt: skip
        for family, name, met in definitions:
            k = sum(met(pre, post) for pre, post in done)
            out.append((entry, family, name, "completers", len(done), k))
            if len(kept) > len(done):
                out.append((entry, family, name, "itt", len(kept), k))
    return pd.DataFrame(out, columns=["entry_threshold", "family", "name", "population", "n", "k"])


@pytest.mark.parametrize("which", ["bundled", "dropouts"])
def test_counts_and_ranges_equal_an_independent_recomputation(which):
    if which == "bundled":
        c = validate_file(paths.BUNDLED_COHORT).cohort
    else:
        rng = np.random.default_rng(11)
        pre = rng.integers(25, 81, 90)
        post = np.clip(pre - rng.integers(-8, 40, 90), 0, 80)
        c = cohort(pre.tolist(), [None if rng.random() < 0.2 else int(x) for x in post])
    grid = dict(remission_cutoffs=[31, 32, 33], mcids=[10, 15, 20], response_fractions=[0.3, 0.5])
    table = run(c, **grid, entry=(0, 33), m=5)
    ours = _independent(c, grid, (0.82, 0.84), (0, 33))
    shares = table[table["family"].isin(["remission", "clinically_significant", "response", "reliable_improvement"])]
    shares = shares[shares["population"] != "mi"]
    assert len(shares) == len(ours)
    for got, want in zip(
        shares.itertuples(),
        ours.sort_values(["family"], key=lambda f: f.map(list(M.FAMILIES).index), kind="stable").itertuples(),
    ):
        assert (got.family, got.population, got.n, got.k) == (want.family, want.population, want.n, want.k)
        assert float(got.estimate) == pytest.approx(100 * want.k / want.n)
    # The summary's ranges over completers and ITT, from the recomputed counts.
    s = M.summary(table)
    remission = ours[ours["family"] == "remission"]
    assert s["multiverse_remission_pct_min"] == pytest.approx(100 * (remission["k"] / remission["n"]).min())
    assert s["multiverse_remission_pct_max"] == pytest.approx(100 * (remission["k"] / remission["n"]).max())
    expected_rows = len(ours) + (len(ours) // 2 if which == "dropouts" else 0)  # imputed share rows
    assert s["multiverse_n_specifications"] == expected_rows + int(s["multiverse_mean_change_n_specifications"]) + int(
        s["multiverse_effect_size_n_specifications"]
    )


def test_joint_test_equals_the_exhaustive_sign_flip_distribution():
    # Six completers: every one of the 2^6 sign patterns is equally likely under the null. The module draws
    # them at random; with many draws its p lies within Monte Carlo error of the exact one.
    c = cohort([50, 60, 40, 55, 45, 70], [30, 45, 35, 20, 44, 25])
    table = run(c)
    joint = specification_curve.joint_test(c, table, draws=20_000, seed=3, alpha=0.05)
    change = np.array([20, 15, 5, 35, 1, 45], float)
    pre = np.array([50, 60, 40, 55, 45, 70], float)
    medians, counts = [], []
    for signs in itertools.product([-1, 1], repeat=6):
        x = change * np.array(signs)
        post = pre - x
        t = x.mean() / (x.std(ddof=1) / math.sqrt(6))
        significant = t > 0 and 2 * stats_t_sf(abs(t), 5) < 0.05
        d_av = x.mean() / math.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2)
        d_z = x.mean() / x.std(ddof=1)
        medians.append(statistics.median([d_av, d_z, M.hedges_j(5) * d_av]))
        # mean change (as observed) and the three effect sizes rest on this t; the adjusted mean change is
        # its own test, and on the whole file it is a separate row
        counts.append(significant)
    observed_median = statistics.median(rows(table, "effect_size", "completers")["estimate"].astype(float).tolist())
    assert joint["multiverse_joint_median_d"] == pytest.approx(observed_median)
    exact_p_median = np.mean(np.array(medians) >= observed_median - 1e-12)
    assert joint["multiverse_joint_p_median"] == pytest.approx(exact_p_median, abs=0.01)
    assert joint["multiverse_null_draws"] == 20_000


def stats_t_sf(t: float, df: int) -> float:
    from scipy.stats import t as t_dist

    return float(t_dist.sf(t, df))


@pytest.mark.scale
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


def _hand_null_specification(pre, change, signs, adjusted, centre):
    """One specification on every null data set (rows of ``signs``), written out: the statistic, its t and
    two-sided p. Mean change and effect sizes rest on the one-sample t of the flipped changes (scipy); the
    baseline-adjusted mean change is the intercept of change on (baseline - centre), with the textbook
    standard error sqrt(s^2 (1/n + cbar^2 / Sxx)) on n - 2 degrees of freedom."""
    n = change.size
    x = signs * change
    post = pre - x
    res = sps.ttest_1samp(x, 0.0, axis=1)
    j = math.exp(math.lgamma((n - 1) / 2) - math.lgamma((n - 2) / 2)) / math.sqrt((n - 1) / 2)
    d_av = x.mean(axis=1) / np.sqrt((pre.var(ddof=1) + post.var(axis=1, ddof=1)) / 2)
    values = {"d_av": d_av, "d_z": x.mean(axis=1) / x.std(axis=1, ddof=1), "g_av": j * d_av}
    if not adjusted:
        return values | {"mean_change": x.mean(axis=1)}, res.statistic, res.pvalue
    c = pre - centre
    sxx = ((c - c.mean()) ** 2).sum()
    slope = ((c - c.mean()) * (x - x.mean(axis=1, keepdims=True))).sum(axis=1) / sxx
    intercept = x.mean(axis=1) - slope * c.mean()
    rss = ((x - intercept[:, None] - slope[:, None] * c) ** 2).sum(axis=1)
    t = intercept / np.sqrt(rss / (n - 2) * (1 / n + c.mean() ** 2 / sxx))
    return {"mean_change": intercept}, t, 2 * sps.t.sf(np.abs(t), n - 2)


@pytest.mark.parametrize(
    "post",
    [POST, [40, 63, 31, 41, 43, 54, None, None], [44, 58, 25, 57, 31, 75, None, None]],
    ids=["clear", "weak", "borderline"],
)
def test_joint_test_recomputes_every_specification_on_the_same_null_data_by_hand(post):
    # Dropouts, two entry thresholds (50 keeps the patient at exactly 50) and the baseline-adjusted rows; one
    # effect size marked suppressed must be left out. The null data are the module's: the observed signs, then
    # `draws` rows of random signs from the seed; everything else is recomputed here. With the weak change
    # (10, -3, 9, 14, 2, 16) 8 of 20 specifications are significant; with the borderline one (6, 2, 15, -2,
    # 14, -5) a single one is, and both p are near 0.2, so they depend on which null data sets cross the
    # significance line and where their medians fall.
    c = cohort(PRE, post)
    table = run(c, entry=(0, 50))
    hidden = (table["family"] == "effect_size") & (table["population"] == "itt") & (table["entry_threshold"] == 50)
    table.loc[hidden & (table["effect_size"] == "d_z"), "suppressed"] = True
    draws, alpha = 400, 0.05
    joint = specification_curve.joint_test(c, table, draws=draws, seed=11, alpha=alpha)
    pre_all = np.array(PRE, float)
    post_all = np.array([np.nan if p is None else p for p in post])
    signs = np.vstack([np.ones(8), np.random.default_rng(11).choice([-1.0, 1.0], size=(draws, 8))])
    specs = table[
        table["duplicate_of"].isna()
        & table["family"].isin(["mean_change", "effect_size"])
        & table["population"].isin(["completers", "itt"])
        & table["estimate"].notna()
        & ~table["suppressed"].astype(bool)
    ]
    d, significant = [], []
    for spec in specs.itertuples():
        keep = pre_all >= spec.entry_threshold
        if spec.population == "completers":
            keep &= ~np.isnan(post_all)
        change = np.nan_to_num(pre_all[keep] - post_all[keep])  # intention to treat: dropouts unchanged
        adjusted = spec.family == "mean_change" and bool(spec.baseline_adjusted)
        values, t, p = _hand_null_specification(pre_all[keep], change, signs[:, keep], adjusted, pre_all.mean())
        name = "mean_change" if spec.family == "mean_change" else spec.effect_size
        assert values[name][0] == pytest.approx(spec.estimate, rel=1e-9)  # the observed data set is row 0
        if spec.family == "effect_size":
            d.append(values[name])
        significant.append((p < alpha) & (t > 0))
    medians, counts = np.median(np.array(d), axis=0), np.array(significant).sum(axis=0)
    assert joint["multiverse_joint_n_specifications"] == len(specs)
    assert joint["multiverse_joint_median_d"] == pytest.approx(medians[0], rel=1e-12)
    assert joint["multiverse_joint_n_significant"] == counts[0]
    assert joint["multiverse_joint_p_n_significant"] == np.mean(counts >= counts[0])
    # A null median within rounding of the observed one may fall either side of it.
    at_least = (np.mean(medians > medians[0] + 1e-12), np.mean(medians >= medians[0] - 1e-12))
    assert at_least[0] <= joint["multiverse_joint_p_median"] <= at_least[1]
    assert 0 < joint["multiverse_joint_p_n_significant"] < 1 and 0 < joint["multiverse_joint_p_median"] < 1


def test_joint_test_without_effect_sizes_counts_significance_only_and_without_rows_gives_none():
    c = cohort()
    table = run(c)
    only_means = table.assign(suppressed=table["suppressed"].astype(bool) | (table["family"] == "effect_size"))
    joint = specification_curve.joint_test(c, only_means, draws=50, seed=2, alpha=0.05)
    assert joint["multiverse_joint_median_d"] is None and joint["multiverse_joint_p_median"] is None
    assert joint["multiverse_joint_n_significant"] >= 1
    none = specification_curve.joint_test(c, table.assign(suppressed=True), draws=50, seed=2, alpha=0.05)
    assert none == {
        "multiverse_null_draws": 50,
        "multiverse_joint_n_specifications": 0,
        "multiverse_joint_median_d": None,
        "multiverse_joint_n_significant": None,
        "multiverse_joint_p_median": None,
        "multiverse_joint_p_n_significant": None,
    }


@pytest.mark.parametrize("adjusted", [False, True])
def test_null_statistics_of_one_specification_on_many_sign_patterns(adjusted):
    # Twelve patients and 3,000 sign patterns: with this seed some null t values fall between the critical
    # values of neighbouring degrees of freedom (11 and 13; 9 and 10 adjusted), so a wrong df changes a verdict.
    rng = np.random.default_rng(9)
    pre = rng.integers(35, 75, 12).astype(float)
    change = rng.integers(-8, 20, 12).astype(float)
    signs = rng.choice([-1.0, 1.0], size=(3000, 12))
    est, sig = specification_curve._paired_null(pre, change, signs, adjusted, 50.0, 0.05)
    _, t, p = _hand_null_specification(pre, change, signs, adjusted, 50.0)
    significant = (p < 0.05) & (t > 0)
    assert 20 < significant.sum() < 2980
    np.testing.assert_array_equal(sig["mean_change"], significant)
    # The effect sizes and their significance rest on the unadjusted t whichever the mean change's model.
    sizes, t, p = _hand_null_specification(pre, change, signs, False, 50.0)
    for name in ("d_av", "d_z", "g_av"):
        np.testing.assert_allclose(est[name], sizes[name], rtol=1e-12)
        np.testing.assert_array_equal(sig[name], (p < 0.05) & (t > 0))
