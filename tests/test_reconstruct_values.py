"""The reconstructions' statistics on cohorts small enough to check by hand, and the generator at its bounds.

:func:`reconstruction_statistics` is checked here against numpy and scipy on two hand-made cohorts that differ
in every aggregate (every cohort of a real reconstruction shares its means by construction, and its p values
are too small to tell one formula from another); the bundled generator's searches against targets whose
scores must reach the ends of their range; the many reconstructions against targets of their own; and the
book's 200 reconstructions pinned, so that a change to the search cannot change them unnoticed.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import reconstruction
from ketamine_ptsd.analysis.reconstruction import bundled, many

# Two cohorts of eight: the second starts higher, improves less and has a weaker psychotherapy contrast.
PRE = np.array(
    [
        [50, 62, 45, 71, 58, 39, 66, 54],
        [60, 70, 48, 77, 52, 44, 69, 63],
    ]
)
POST = np.array(
    [
        [30, 41, 40, 35, 28, 33, 60, 20],
        [52, 49, 47, 61, 50, 30, 60, 38],
    ]
)
THERAPY = np.array(
    [
        [True, False, True, False, True, False, False, True],
        [False, True, True, False, False, True, False, True],
    ]
)
REC = reconstruction.Reconstructions(seed=7, pcl5_pre=PRE, pcl5_post=POST, psychotherapy=THERAPY, attempts=[1, 3])


def _noncentral_interval(t, df, level):
    """The ncp whose noncentral t puts ``t`` at the upper and lower tail, solved with scipy's ``nct``."""
    a = 1 - level
    lo = optimize.brentq(lambda ncp: stats.nct.cdf(t, df, ncp) - (1 - a / 2), t - 20, t + 20)
    hi = optimize.brentq(lambda ncp: stats.nct.cdf(t, df, ncp) - a / 2, t - 20, t + 20)
    return lo, hi


@pytest.mark.parametrize("k", [0, 1])
def test_each_cohorts_statistics_by_numpy_and_scipy(k):
    """Each column at a 90% level and non-default thresholds (a drop of 12, reliability 0.9, response at 40%
    of baseline, remission below 40), from numpy, scipy's paired and two-sample t tests and its noncentral t."""
    table = reconstruction.reconstruction_statistics(
        REC, mcid=12, reliability=0.9, response_fraction=0.4, remission_cutoff=40, ci_level=0.9
    )
    assert list(table.columns) == [
        "cohort", "seed", "attempts", "pre_mean", "pre_sd", "post_mean", "post_sd", "r_pre_post", "mean_change",
        "change_sd", "change_ci_low", "change_ci_high", "t", "df", "p", "d_av", "d_z", "reliable_change_threshold",
        "pct_clinically_significant", "pct_reliable_improvement", "pct_response", "pct_remission",
        "n_psychotherapy", "psychotherapy_d", "psychotherapy_d_ci_low", "psychotherapy_d_ci_high", "psychotherapy_p",
    ]  # fmt: skip
    row = table.iloc[k]
    pre, post, therapy = PRE[k].astype(float), POST[k].astype(float), THERAPY[k]
    change = pre - post
    paired = stats.ttest_rel(pre, post)
    ci = paired.confidence_interval(0.9)
    rct = 1.96 * pre.std(ddof=1) * np.sqrt(2 * (1 - 0.9))  # Jacobson & Truax (1991)
    a, b = change[therapy], change[~therapy]
    groups = stats.ttest_ind(a, b, equal_var=True)
    scale = np.sqrt(1 / a.size + 1 / b.size)
    ncp_lo, ncp_hi = _noncentral_interval(groups.statistic, 6, 0.9)
    expected = {
        "cohort": k,
        "seed": 7,
        "attempts": [1, 3][k],
        "pre_mean": pre.mean(),
        "pre_sd": pre.std(ddof=1),
        "post_mean": post.mean(),
        "post_sd": post.std(ddof=1),
        "r_pre_post": np.corrcoef(pre, post)[0, 1],
        "mean_change": change.mean(),
        "change_sd": change.std(ddof=1),
        "change_ci_low": ci.low,
        "change_ci_high": ci.high,
        "t": paired.statistic,
        "df": 7,
        "p": paired.pvalue,
        "d_av": change.mean() / np.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2),
        "d_z": change.mean() / change.std(ddof=1),
        "reliable_change_threshold": rct,
        "pct_clinically_significant": 100 * np.mean(change >= 12),
        "pct_reliable_improvement": 100 * np.mean(change > rct),
        "pct_response": 100 * np.mean(change >= 0.4 * pre),
        "pct_remission": 100 * np.mean(post < 40),
        "n_psychotherapy": therapy.sum(),
        "psychotherapy_d": groups.statistic * scale,
        "psychotherapy_d_ci_low": ncp_lo * scale,
        "psychotherapy_d_ci_high": ncp_hi * scale,
        "psychotherapy_p": groups.pvalue,
    }
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-7), key


def test_the_two_cohorts_differ_where_their_scores_do():
    """A statistic taken over every cohort at once instead of each would give both rows one value."""
    table = reconstruction.reconstruction_statistics(REC)
    for key in ("pre_mean", "post_mean", "mean_change", "pct_clinically_significant", "p"):
        assert table.loc[0, key] != table.loc[1, key], key
    # By hand: changes 20 21 5 36 30 6 6 34 (mean 19.75, 5 of 8 drop 10 or more) and 8 21 1 16 2 14 9 25
    # (mean 12, 4 of 8).
    assert table["mean_change"].tolist() == [19.75, 12.0]
    assert table["pct_clinically_significant"].tolist() == [62.5, 50.0]


def test_search_scores_reach_zero_and_the_maximum_without_passing_them():
    """Targets that need post-treatment scores of 0 (mean 0.5 over 20: ten 0s and ten 1s give SD 0.51) and
    baseline scores at the maximum of 80 (mean 78.0, SD 2.05 over 20 is not reachable below 80 without many 80s)."""
    targets = reconstruction.Targets(
        n=20,
        pre_mean=78.0,
        pre_sd=2.05,
        post_mean=0.5,
        post_sd=0.51,
        n_clinically_significant=20,
        n_remission=20,
    )
    pre, post = reconstruction.search_scores(targets, np.random.default_rng(3))
    assert pre.dtype == post.dtype == np.int64  # whole-number totals, as the docstring promises
    assert f"{pre.mean():.2f}" == "78.00" and f"{pre.std(ddof=1):.2f}" == "2.05"
    assert f"{post.mean():.2f}" == "0.50" and f"{post.std(ddof=1):.2f}" == "0.51"
    assert pre.max() == 80 and pre.min() >= 33 and post.min() == 0 and post.max() <= 80


def test_fit_sum_moves_single_points_within_bounds():
    """From 0s and 2s, a target sum of 9 over ten entries in [0, 2] is reached exactly, every entry in range;
    a target above ten 2s is refused."""
    x = np.array([0, 2, 0, 2, 0, 2, 0, 2, 0, 2])
    bundled.fit_sum(x, 9, 0, 2, np.random.default_rng(1))
    assert x.sum() == 9 and x.min() >= 0 and x.max() <= 2
    with pytest.raises(reconstruction.ReconstructionError, match=r"^sum unreachable within bounds$"):
        bundled.fit_sum(np.zeros(10, dtype=np.int64), 21, 0, 2, np.random.default_rng(1))


def test_the_searches_say_which_constraint_they_did_not_reach():
    """An SD no scores of 33-80 can have (30) stops the sum-of-squares search with its own message."""
    targets = reconstruction.Targets(pre_sd=30.0)
    with pytest.raises(reconstruction.ReconstructionError, match=r"^sum of squares not reached$"):
        reconstruction.search_scores(targets, np.random.default_rng(0), max_steps=2000)


def test_covariates_are_whole_numbers_within_their_ranges():
    """Over 20,000 draws no range is passed (the docstring's ranges) and each end is reached, but the 180 days:
    a gamma(4, 9) draw passes it with probability about 3e-6. The infusions sum to the published mean's total,
    ceil(4.87 * n)."""
    n = 20_000
    covariates = bundled._covariates(n, np.random.default_rng(11), reconstruction.Targets())
    for column, (low, high) in {
        "days_between": (7, 180),
        "age": (18, 78),
        "n_psych_meds": (0, 7),
        "n_infusions": (1, 12),
    }.items():
        values = covariates[column]
        assert values.dtype == np.int64, column
        assert values.min() == low, column
        assert values.max() <= high if column == "days_between" else values.max() == high, column
    assert covariates["n_infusions"].sum() == int(np.ceil(4.87 * n))
    # Means of infusions far from the draw's 4.9 move every count to its end of the range, never past it.
    for low, high in ((1.1, 1.3), (11.5, 11.9)):
        targets = reconstruction.Targets(mean_infusions_range=(low, high))
        infusions = bundled._covariates(2000, np.random.default_rng(12), targets)["n_infusions"]
        assert infusions.sum() == int(np.ceil((low + high) / 2 * 2000)) and infusions.between(1, 12).all()


#: SHA-256 of the book's 200 reconstructions (``reconstruct_many(200, DEFAULT_SEED)`` with the published
#: targets): ``pcl5_pre``, ``pcl5_post``, ``psychotherapy`` and ``attempts`` as int64, in that order. A pin, not a
#: check of correctness (the constraint tests of test_reconstruct_many.py are that): the reconstructions chapter
#: publishes these cohorts' spread, so a change to the search that changes any of them changes the book, and
#: must change this digest with a commit that says why.
BOOK_RECONSTRUCTIONS_SHA256 = "31e87375e35910a0117c66963737a61cd1ec7b2bb82482fae9a292165680ed5c"


def test_the_books_reconstructions_are_the_ones_this_search_made():
    rec = reconstruction.reconstruct_many(200, reconstruction.DEFAULT_SEED)
    digest = hashlib.sha256()
    for array in (rec.pcl5_pre, rec.pcl5_post, rec.psychotherapy, rec.attempts):
        digest.update(np.asarray(array, dtype="int64").tobytes())
    assert digest.hexdigest() == BOOK_RECONSTRUCTIONS_SHA256
    assert rec.seed == reconstruction.DEFAULT_SEED and len(rec) == 200


def test_reconstructions_meet_the_targets_they_are_given():
    """Forty patients with their own means, SDs, counts and psychotherapy d (0.50), checked with numpy and
    scipy: the targets reach every cohort's search, not only the published ones."""
    targets = reconstruction.Targets(
        n=40,
        pre_mean=60.1,
        post_mean=35.45,
        pre_sd=9.5,
        post_sd=14.2,
        n_clinically_significant=30,
        n_remission=18,
        psychotherapy_d=0.5,
    )
    rec = reconstruction.reconstruct_many(2, 1, targets=targets)
    assert rec.pcl5_pre.shape == (2, 40) and rec.seed == 1
    for pre, post, therapy in zip(rec.pcl5_pre, rec.pcl5_post, rec.psychotherapy):
        assert f"{pre.mean():.2f}" == "60.10" and f"{post.mean():.2f}" == "35.45"
        assert f"{pre.std(ddof=1):.2f}" == "9.50" and f"{post.std(ddof=1):.2f}" == "14.20"
        # 30 of 40 is 75%, 18 of 40 is 45%: no other count rounds to either.
        assert ((pre - post) >= 10).sum() == 30 and (post < 33).sum() == 18
        change = (pre - post).astype(float)
        a, b = change[therapy], change[~therapy]
        d = stats.ttest_ind(a, b).statistic * np.sqrt(1 / a.size + 1 / b.size)
        assert f"{d:.2f}" == "0.50"


def test_reconstruct_many_needs_a_cohort_and_long_format_names_its_columns():
    with pytest.raises(ValueError, match=r"^n_cohorts must be at least 1$"):
        reconstruction.reconstruct_many(0)
    long = reconstruction.long_format(REC)
    assert list(long.columns) == ["cohort", "patient", "pcl5_pre", "pcl5_post", "psychotherapy"]
    assert long["pcl5_pre"].tolist() == PRE.ravel().tolist()
    assert long["psychotherapy"].tolist() == THERAPY.ravel().tolist()


def test_the_sum_of_squares_window_excludes_an_sd_on_its_upper_rounding_edge():
    """401 scores with mean 50.0 (sum 20,050, so sum^2 / n = 1,002,500) and SD 0.9 at one decimal: the SD is
    sqrt((SS - 1,002,500) / 400), so SD 0.85 (rounds up to 0.9) is SS 1,002,789, inside, and SD 0.95 (rounds up
    to 1.0) is SS 1,002,861, outside: the window ends at 1,002,860."""
    targets = reconstruction.Targets(n=401, pre_mean=50.0, pre_sd=0.9, decimals=1)
    assert targets.ss_window(50.0, 0.9) == (1_002_789, 1_002_860)


def test_reconstruction_refuses_an_sd_no_whole_numbers_have_and_accepts_a_single_sum_of_squares():
    """Three scores of mean 50.0 and SD 0.01: SS would lie in [7500.00005, 7500.00045], which holds no whole
    number. Twenty post scores of mean 0.5 and SD 0.51: exactly one SS, 10 (ten 0s and ten 1s), which is a
    window, not an empty one."""
    impossible = reconstruction.Targets(n=3, pre_mean=50.0, pre_sd=0.01)
    with pytest.raises(reconstruction.ReconstructionError, match=r"^no 3 whole numbers have mean 50.0 and SD 0.01$"):
        reconstruction.reconstruct_cohort(np.random.SeedSequence(0), impossible)
    single = reconstruction.Targets(
        n=20, pre_mean=60.0, pre_sd=10.0, post_mean=0.5, post_sd=0.51, n_clinically_significant=20, n_remission=20
    )
    assert single.ss_window(0.5, 0.51) == (10, 10)
    post = reconstruction.reconstruct_cohort(np.random.SeedSequence(0), single)[1]
    assert sorted(post.tolist()) == [0] * 10 + [1] * 10


def test_a_stalled_search_draws_again():
    """With 20 steps per search, seed 5's first two starting draws stall and its third meets every constraint:
    the attempt count says so, and the cohort is the one a larger budget would not need to redraw for."""
    pre, post, therapy, attempts = reconstruction.reconstruct_cohort(np.random.SeedSequence(5), max_steps=20)
    assert attempts == 3
    assert f"{pre.mean():.2f}" == "52.54" and f"{post.std(ddof=1):.2f}" == "16.52"
    assert round(100 * np.mean(post < 33)) == 62 and round(100 * np.mean(pre - post >= 10)) == 75


def test_each_count_that_rounds_to_the_published_percentage_is_used_for_both_counts():
    """72 and 73 of 117 both round to 62%: with 72 as the clinically significant count (as for remission),
    cohorts with either count appear."""
    rec = reconstruction.reconstruct_many(30, 5, targets=reconstruction.Targets(n_clinically_significant=72))
    assert set(((rec.pcl5_pre - rec.pcl5_post) >= 10).sum(axis=1).tolist()) == {72, 73}


def test_descend_tries_other_shifts_when_one_cannot_help():
    """Two scores of 5 in [0, 10] and a sum of squares of exactly 52: only a shift of one point (6 and 4) gets
    there; a shift of 2 to 5 overshoots and one of 6 or more leaves the range. Whatever shift is drawn first,
    the search draws again until it reaches the window."""
    for seed in range(10):
        x = np.array([5, 5])
        assert many._descend(x, (52, 52), 0, 10, np.random.default_rng(seed), max_steps=500)
        assert sorted(x.tolist()) == [4, 6]


def test_a_draw_clipped_to_one_value_is_returned_as_it_is():
    """A target mean of 200 on a 0-80 scale clips every score to 80: the spread is 0 and the rounds stop."""
    z = np.array([-1.0, 0.0, 1.0, 2.0])
    assert many._matched_draw(z, 200.0, 10.0, 0, 80).tolist() == [80, 80, 80, 80]


def test_the_bundled_searches_say_which_target_they_could_not_reach():
    """25 remissions among 20 patients; a psychotherapy d of 5; a psychotherapy p below 1e-12: each search
    gives up with its own message."""
    remissions = reconstruction.Targets(
        n=20, pre_mean=60.0, pre_sd=10.0, post_mean=30.0, post_sd=10.0, n_clinically_significant=10, n_remission=25
    )
    with pytest.raises(reconstruction.ReconstructionError, match=r"^post scores did not reach every constraint$"):
        reconstruction.search_scores(remissions, np.random.default_rng(0), max_steps=5000)
    scores = pd.DataFrame({"pcl5_pre": [60, 55, 70, 65, 50, 62], "pcl5_post": [30, 40, 35, 20, 45, 33]})
    with pytest.raises(reconstruction.ReconstructionError, match=r"^psychotherapy effect not reached$"):
        bundled._assign_psychotherapy(scores, reconstruction.Targets(psychotherapy_d=5.0), np.random.default_rng(0), 50)
    with pytest.raises(reconstruction.ReconstructionError, match=r"^no covariate draw met every target in 2 tries$"):
        reconstruction.bundled_cohort(targets=reconstruction.Targets(alpha=1e-12), max_tries=2)


def test_search_scores_reach_the_maximum_after_treatment_without_passing_it():
    """Post scores of mean 78.0 and SD 2.05 over 20 patients need several at the maximum of 80."""
    targets = reconstruction.Targets(
        n=20, pre_mean=79.0, pre_sd=1.03, post_mean=78.0, post_sd=2.05, n_clinically_significant=0, n_remission=0
    )
    for seed in range(3):
        pre, post = reconstruction.search_scores(targets, np.random.default_rng(seed))
        assert f"{post.mean():.2f}" == "78.00" and f"{post.std(ddof=1):.2f}" == "2.05"
        assert post.max() == 80 and pre.max() <= 80


def _bundled_typed():
    return bundled._typed(pd.read_csv(paths.BUNDLED_COHORT))


def test_the_covariate_check_holds_for_the_bundled_cohort_and_fails_on_each_finding():
    """The bundled cohort meets the qualitative findings. Exactly half of the reported genders women is not
    "most"; 58 of 117 without race (49.6%) is still "nearly half", 59 (50.4%) is not."""
    targets = reconstruction.Targets()
    cohort = _bundled_typed()
    assert bundled._meets_covariate_targets(cohort, targets)
    reported = cohort.index[cohort["gender"].notna()]
    half = cohort.copy()
    half.loc[reported, "gender"] = ["woman" if i % 2 else "man" for i in range(len(reported))]
    if len(reported) % 2:  # an odd count cannot split in half: leave one unreported
        half.loc[reported[-1], "gender"] = pd.NA
    assert not bundled._meets_covariate_targets(half, targets)
    # The published finding is the unsuppressed test: three "nonbinary" patients with the largest changes make
    # gender a significant moderator (p < .001), though pooling small levels would hide it (p = .27).
    gender = cohort.copy()
    gender["gender"] = gender["gender"].replace("nonbinary", "woman")
    gender.loc[(cohort["pcl5_pre"] - cohort["pcl5_post"]).nlargest(3).index, "gender"] = "nonbinary"
    assert not bundled._meets_covariate_targets(gender, targets)
    for unreported, expected in ((58, True), (59, False)):
        race = cohort.copy()
        race["race_ethnicity"] = pd.array(["White"] * (117 - unreported) + [pd.NA] * unreported, dtype="string")
        assert bool(bundled._meets_covariate_targets(race, targets)) is expected, unreported
