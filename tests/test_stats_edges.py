"""The cohort statistics at their edges: what one or two completers give, the sizes each published value rests
on, the arguments the published paths pass on, the moderator test at one residual degree of freedom and with
few patients in a level. Expected values are written out or come from scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from ketamine_ptsd.analysis import stats as S

OUTCOME_KEYS = (
    "pre_mean", "pre_sd", "post_mean", "post_sd", "mean_change", "change_sd", "change_ci_low", "change_ci_high",
    "t", "df", "p", "d_av", "d_av_ci_low", "d_av_ci_high", "d_z", "d_z_ci_low", "d_z_ci_high", "wilcoxon_p",
    "bf10", "r_pre_post",
)  # fmt: skip


def test_one_completer_gives_the_means_and_nothing_that_needs_a_spread():
    got = S.paired_outcome([50], [30])
    assert got == {"n_completers": 1, **dict.fromkeys(OUTCOME_KEYS), "pre_mean": 50, "post_mean": 30, "mean_change": 20}
    assert S.paired_outcome([], []) == {"n_completers": 0, **dict.fromkeys(OUTCOME_KEYS)}


def test_degrees_of_freedom_are_a_whole_number_and_a_flat_score_has_no_correlation():
    got = S.paired_outcome([50, 60, 40, 55], [30, 30, 30, 30])
    assert got["df"] == 3 and type(got["df"]) is int
    # Every post score the same: no correlation with the baseline (its SD is 0), the rest is computed.
    assert got["r_pre_post"] is None and got["t"] is not None


@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide:RuntimeWarning")  # pingouin's
def test_a_huge_t_has_no_bayes_factor_rather_than_an_overflow():
    rng = np.random.default_rng(0)
    pre = rng.normal(60, 1, 3000)
    got = S.paired_outcome(pre, pre - 20 - rng.normal(0, 0.01, 3000))
    assert got["t"] > 1e5 and got["bf10"] is None


def test_sizes_name_every_published_value_and_the_patients_it_rests_on():
    outcome = S.paired_outcome([50, 60, 40, 55], [30, 45, 35, 20])
    assert S.outcome_sizes(outcome) == dict.fromkeys(OUTCOME_KEYS, 4)
    rates = {f"n_{name}": k for k, name in enumerate(S.DEFINITIONS)}
    sizes = S.clinical_significance_sizes(rates, 9)
    expected = {"reliable_change_threshold": 9, "reliable_change_sd": 9}
    for k, name in enumerate(S.DEFINITIONS):
        expected |= dict.fromkeys((f"n_{name}", f"pct_{name}", f"pct_{name}_itt"), (k, 9))
    assert sizes == expected
    contrast = {"n_psychotherapy": 3, "n_no_psychotherapy": 7}
    assert S.psychotherapy_contrast_sizes(contrast) == {
        "n_psychotherapy": 3,
        "mean_change_psychotherapy": 3,
        "n_no_psychotherapy": 7,
        "mean_change_no_psychotherapy": 7,
        "psychotherapy_d": (3, 7),
        "psychotherapy_d_ci_low": (3, 7),
        "psychotherapy_d_ci_high": (3, 7),
        "psychotherapy_p": (3, 7),
    }


COHORT = pd.DataFrame(
    {
        "pcl5_pre": pd.array([50, 60, 40, 55, 45, 70, 52, 48], dtype="Int64"),
        "pcl5_post": pd.array([30, 45, 35, 20, 44, 25, 50, None], dtype="Int64"),
        "psychotherapy": pd.array([True, True, True, False, False, False, False, True], dtype="boolean"),
    }
)


def test_the_published_paths_pass_every_argument_on():
    done = S.completers(COHORT)
    assert done["change"].dtype == "float64"
    got = S.suppressed_outcome(COHORT, 0.9, min_cell=0)
    assert got == {**S.paired_outcome(done["pcl5_pre"], done["pcl5_post"], 0.9), "suppressed": []}
    # Not the defaults (10, 0.82, 0.3, 33), and a cutoff of 26 counts other patients than 33 does (2, not 3).
    args = dict(mcid=12, reliability=0.9, response_fraction=0.4, remission_cutoff=26)
    got = S.suppressed_rates(COHORT, **args, min_cell=0, rci_sd=8.0)
    assert got == {**S.clinical_significance(COHORT, **args, rci_sd=8.0), "suppressed": []}
    assert S.suppressed_contrast(COHORT, 0.9, min_cell=0) == {**S.psychotherapy_contrast(COHORT, 0.9), "suppressed": []}


def test_what_rests_on_two_completers_is_hidden_at_min_cell_three():
    cohort = pd.DataFrame({"pcl5_pre": [50, 60], "pcl5_post": [30, 58]})
    got = S.suppressed_rates(cohort, 10, 0.82, 0.3, 33, min_cell=3)
    assert got["reliable_change_threshold"] is None and "reliable_change_threshold" in got["suppressed"]


def test_the_baseline_sd_needs_two_completers_and_one_gives_no_reliable_change():
    assert S.baseline_sd(pd.DataFrame({"pcl5_pre": [50, 60], "pcl5_post": [30, 58]})) == pytest.approx(
        10 / math.sqrt(2)
    )
    one = pd.DataFrame({"pcl5_pre": [50], "pcl5_post": [30]})
    assert math.isnan(S.baseline_sd(one))
    rates = S.clinical_significance(one)
    assert rates["reliable_change_threshold"] is None and rates["n_reliable_improvement"] is None
    assert rates["pct_reliable_improvement"] is None and rates["pct_reliable_improvement_itt"] is None
    assert rates["n_clinically_significant"] == 1  # a drop of 20 >= 10
    nobody = S.clinical_significance(pd.DataFrame({"pcl5_pre": [50], "pcl5_post": [None]}))
    assert nobody["n_remission"] == 0 and nobody["pct_remission"] is None and nobody["pct_remission_itt"] == 0


def test_holm_caps_at_one():
    p = [0.6, 0.7, 0.01]
    assert S.holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert S.holm(p)[:2] == [1.0, 1.0]


def test_psychotherapy_contrast_needs_two_patients_in_each_group():
    one = COHORT.assign(psychotherapy=pd.array([True] + [False] * 7, dtype="boolean"))
    got = S.psychotherapy_contrast(one)
    assert got["n_psychotherapy"] == 1 and got["mean_change_psychotherapy"] == 20
    assert got["psychotherapy_d"] is None and got["psychotherapy_p"] is None


def _done(moderator_values) -> pd.DataFrame:
    pre = np.array([50, 60, 40, 55, 45, 70, 52, 48, 66, 58], float)
    change = np.array([20, 15, 5, 35, 1, 45, 2, 30, 25, 12], float)
    n = len(moderator_values)
    return pd.DataFrame({"pcl5_pre": pre[:n], "change": change[:n], "m": moderator_values})


def test_a_moderator_at_one_residual_degree_of_freedom_is_still_tested():
    done = _done([1.0, 4.0, 2.0, 8.0])  # 4 completers, intercept, baseline and moderator: 1 residual df
    got = S.moderator_test(done, "m", 0.95, min_cell=0)
    fit = sm.OLS(done["change"], sm.add_constant(done[["pcl5_pre", "m"]])).fit()
    assert got["estimate"] == pytest.approx(fit.params["m"]) and got["p"] == pytest.approx(fit.pvalues["m"])


def test_a_category_of_two_levels_estimates_the_second_against_the_first():
    done = _done(["b", "a", "b", "a", "a", "b", "a", "b"])
    got = S.moderator_test(done, "m", 0.95, min_cell=0)
    X = sm.add_constant(np.column_stack([done["pcl5_pre"], (done["m"] == "b").astype(float)]))
    assert got["estimate"] == pytest.approx(np.asarray(sm.OLS(done["change"], X).fit().params)[2])


def test_a_category_of_one_level_takes_a_single_value():
    got = S.moderator_test(_done(["a"] * 6), "m", 0.95, min_cell=0)
    assert got["note"] == "takes a single value" and got["p"] is None


def test_notes_of_pooled_and_contrasted_levels():
    levels = ["a", "a", "a", "b", "b", "b", "c", "d", "c", "b"]
    got = S.moderator_test(_done(levels), "m", 0.95, min_cell=3)
    # c (2) and d (1) pooled into one level of 3; then 2 contrasts against a.
    assert got["note"] == "levels of fewer than 3 completers pooled; 2 contrasts against a; F test"
    # Every level large enough: nothing to say but the contrasts.
    assert S.moderator_test(_done(levels[:6]), "m", 0.95, min_cell=3)["note"] == ""
    # c and d left out when pooled they are still too few: the count is of the patients analysed.
    dropped = S.moderator_test(_done(levels[:8]), "m", 0.95, min_cell=3)
    assert dropped["n"] == 6 and dropped["note"] == "levels of fewer than 3 completers left out"


def test_a_moderator_reported_for_too_few_completers_is_suppressed():
    got = S.moderator_test(_done([1.0, 4.0, 2.0, 8.0]), "m", 0.95, min_cell=5)
    assert got["suppressed"] is True and got["p"] is None and got["n"] == 4
