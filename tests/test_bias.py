"""Tests of the probabilistic bias analysis against independent values: with every bias at zero it gives
back the t interval of the mean change, a fixed bias shifts every draw by exactly its size, a normal case
matches its analytic interval (scipy), the placebo synthesis matches R's metafor (tests/results/bias_meta.R
and its output), the truncated-normal moments match scipy's truncnorm, the tipping points and the
regression-to-the-mean window hold at their thresholds, and bias_analysis() as a whole, with its sensitivity
rows, equals its recipe written out with numpy and scipy on a small cohort whose probabilities are not near 0
or 1 (the same seeded streams, so the comparison is to rounding error, and a population SD fails it)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd import parameters
from ketamine_ptsd.analysis import bias as B
from ketamine_ptsd.data import references
from ketamine_ptsd.paths import REPO

OBSERVED = dict(mean_change=23.8, change_sd=14.7, n_completers=117, sd=14.4)


def fixed_placebo(d):
    return {"mean": d, "predictive_sd": 0.0}


def draws(**kw):
    args = dict(OBSERVED, n_patients=117, placebo=None, rtm=None, dropout_delta=(0.0, 1.0), draws=200_000, seed=5)
    return B.draw_biases(**(args | kw))


def test_no_bias_gives_the_t_interval_of_the_mean_change():
    d = draws()
    assert (d[["dropout", "rtm", "placebo"]] == 0).all().all()
    se = 14.7 / math.sqrt(117)
    low, high = stats.t.interval(0.95, 116, loc=23.8, scale=se)
    s = B.summarise(d, 14.4, mcid=10, ci_level=0.95)
    # Monte Carlo error of a 2.5% quantile with 200,000 draws is about 0.01 SE; allow 0.05 SE
    assert s["bias_unexplained_change_median"] == pytest.approx(23.8, abs=0.05 * se)
    assert s["bias_unexplained_change_low"] == pytest.approx(low, abs=0.05 * se)
    assert s["bias_unexplained_change_high"] == pytest.approx(high, abs=0.05 * se)
    assert s["bias_unexplained_d_median"] == pytest.approx(23.8 / 14.4, abs=0.05 * se / 14.4)
    # P(change > 10) = P(T > (10 - 23.8) / se)
    assert s["bias_prob_above_mcid"] == pytest.approx(stats.t.sf((10 - 23.8) / se, 116), abs=0.002)


def test_a_fixed_bias_shifts_every_draw_by_exactly_its_size():
    without, with_ = draws(), draws(placebo=fixed_placebo(0.7))
    np.testing.assert_allclose(without["unexplained"] - with_["unexplained"], 0.7 * 14.4, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(without["observed"], with_["observed"])
    rtm = draws(rtm=np.full(200_000, 1.25))
    np.testing.assert_allclose(without["unexplained"] - rtm["unexplained"], 1.25, rtol=0, atol=1e-10)


def test_normal_case_matches_its_analytic_interval():
    # With a million completers t is normal; with delta fixed the dropout step scales the draw by
    # w = 1 - (1 - delta) n_d / n, and a normal placebo d (mean m, SD s) in points adds sd * s of spread:
    # unexplained ~ Normal(w M - c - sd m, sqrt((w SE)^2 + (sd s)^2)).
    n_c, n_d, delta, c = 1_000_000, 250_000, -0.4, 1.5
    se = 14.7 / math.sqrt(n_c)
    w = 1 - (1 - delta) * n_d / (n_c + n_d)
    d = B.draw_biases(
        **(OBSERVED | {"n_completers": n_c}),
        n_patients=n_c + n_d,
        placebo={"mean": 1.1, "predictive_sd": 0.2},
        rtm=np.full(200_000, c),
        dropout_delta=(delta, delta),
        draws=200_000,
        seed=11,
    )
    s = B.summarise(d, 14.4, mcid=4.5, ci_level=0.9)
    center, scale = w * 23.8 - c - 14.4 * 1.1, math.hypot(w * se, 14.4 * 0.2)
    low, high = stats.norm.interval(0.9, loc=center, scale=scale)
    assert s["bias_unexplained_change_low"] == pytest.approx(low, abs=0.02 * scale)
    assert s["bias_unexplained_change_high"] == pytest.approx(high, abs=0.02 * scale)
    assert s["bias_prob_above_mcid"] == pytest.approx(stats.norm.sf(4.5, center, scale), abs=0.003)


def test_dropouts_may_have_worsened_and_without_dropouts_the_step_is_zero():
    # E[removed] = E[observed] (1 - E[delta]) n_d / n, with delta uniform on [-0.5, 1]: E[delta] = 0.25
    d = draws(n_patients=150, dropout_delta=(-0.5, 1.0))
    assert d["dropout"].mean() == pytest.approx(23.8 * 0.75 * 33 / 150, rel=0.01)
    assert (d["dropout"] > 23.8 * 33 / 150).any()  # some dropouts worse than no change at all
    assert (draws(dropout_delta=(-0.5, 1.0))["dropout"] == 0).all()


def test_stacked_steps_add_up():
    d = draws(n_patients=150, rtm=np.linspace(0, 2, 200_000), placebo={"mean": 1.1, "predictive_sd": 0.1})
    steps = B.stacked(d, 0.95)
    assert steps["step"].tolist() == list(B.STEPS)
    assert steps["median"].iloc[-1] == pytest.approx(np.median(d["unexplained"]))
    assert steps["median"].iloc[0] == pytest.approx(np.median(d["observed"]))
    assert steps["bias_median"].iloc[-1] == pytest.approx(np.median(d["placebo"]))


def test_tipping_points_bring_the_median_to_zero_and_to_the_mcid():
    base = draws(n_patients=150, rtm=np.linspace(0, 2, 200_000))
    tips = B.tipping_points(base, 14.4, mcid=10)
    before = np.median(base["observed"] - base["dropout"] - base["rtm"])
    assert tips["bias_tipping_placebo_points_zero"] == pytest.approx(before)
    assert tips["bias_tipping_placebo_d_mcid"] == pytest.approx((before - 10) / 14.4)
    for key, target in (("zero", 0.0), ("mcid", 10.0)):
        at = draws(
            n_patients=150, rtm=np.linspace(0, 2, 200_000), placebo=fixed_placebo(tips[f"bias_tipping_placebo_d_{key}"])
        )
        assert np.median(at["unexplained"]) == pytest.approx(target, abs=1e-9)
        # a slightly larger placebo response takes the median below the threshold, a smaller one leaves it above
        below = draws(
            n_patients=150,
            rtm=np.linspace(0, 2, 200_000),
            placebo=fixed_placebo(tips[f"bias_tipping_placebo_d_{key}"] + 1e-6),
        )
        assert np.median(below["unexplained"]) < target


def test_within_d_variance_is_borenstein_with_r_one_half():
    # Borenstein et al. 2009 eq. 4.28: (1/n + d^2 / (2n)) * 2 (1 - r)
    d, n, r = 1.2, 45, 0.5
    assert B.within_d_variance(d, n) == pytest.approx((1 / n + d**2 / (2 * n)) * 2 * (1 - r))


def _r_reference():
    text = (REPO / "tests/results/bias_meta_output.txt").read_text()
    return {m[0]: tuple(map(float, m[1:])) for m in re.findall(r"(\w+) mean=(\S+) se=(\S+) tau2=(\S+)", text)}


@pytest.mark.parametrize(
    ("case", "d", "n"), [("two", [1.2, 1.164044943820225], [45, 52]), ("three", [1.2, 0.6, 0.9], [45, 30, 60])]
)
def test_placebo_prior_matches_metafor(case, d, n):
    arms = pd.DataFrame({"d": d, "variance": B.within_d_variance(np.array(d), np.array(n)), "usable": True})
    prior = B.placebo_prior(arms)
    mean, se, tau2 = _r_reference()[case]
    assert prior["k"] == len(d)
    # Both iterate Paule-Mandel's estimating equation to their own tolerance: they agree to about 1e-5.
    assert prior["mean"] == pytest.approx(mean, abs=1e-4)
    assert prior["se"] == pytest.approx(se, abs=1e-4)
    assert prior["tau2"] == pytest.approx(tau2, abs=1e-4)
    assert prior["predictive_sd"] == pytest.approx(math.sqrt(se**2 + tau2), abs=1e-4)


def test_one_arm_has_no_heterogeneity_and_none_gives_no_prior():
    prior = B.placebo_prior(pd.DataFrame({"d": [1.2], "variance": [0.04], "usable": [True]}))
    assert prior == {"k": 1, "mean": 1.2, "se": pytest.approx(0.2), "tau2": 0.0, "predictive_sd": pytest.approx(0.2)}
    assert B.placebo_prior(pd.DataFrame({"d": [None], "variance": [None], "usable": [False]})) is None


def test_truncated_moments_match_scipy():
    mu, sigma = np.array([30.0, 47.0, 55.0]), np.array([20.0, 15.0, 10.0])
    mean, sd = B.truncated_moments(mu, sigma, 33)
    for i in range(3):
        ref = stats.truncnorm((33 - mu[i]) / sigma[i], np.inf, loc=mu[i], scale=sigma[i])
        assert mean[i] == pytest.approx(ref.mean(), rel=1e-10)
        assert sd[i] == pytest.approx(ref.std(), rel=1e-10)


def _rtm(pre_mean, pre_sd=12.0, n=100, **kw):
    args = dict(
        pre_mean=pre_mean,
        pre_sd=pre_sd,
        n=n,
        entry_threshold=33,
        reliability=(0.8, 0.8),
        population_mean=(45.0, 45.0),
        population_sd=(14.0, 14.0),
        ci_level=0.95,
        draws=500,
    )
    return B.rtm_draws(np.random.default_rng(3), **(args | kw))


def test_rtm_keeps_a_source_population_exactly_at_its_window_and_not_beyond():
    ref = stats.truncnorm((33 - 45) / 14, np.inf, loc=45, scale=14)
    tol = stats.norm.ppf(0.975) * ref.std() / math.sqrt(100)
    inside = _rtm(ref.mean() + 0.999 * tol, pre_sd=ref.std())
    assert inside is not None and inside["accepted"] == 1.0
    # Barnett et al. 2005: (1 - rho) (E[X | X >= c] - mu)
    np.testing.assert_allclose(inside["rtm"], 0.2 * (ref.mean() - 45), rtol=1e-10)
    assert _rtm(ref.mean() + 1.001 * tol, pre_sd=ref.std()) is None
    # the SD window is z s / sqrt(2 (n - 1)) around the observed s: s = SD / (1 + f k) puts SD at f windows
    k = stats.norm.ppf(0.975) / math.sqrt(2 * 99)
    assert _rtm(ref.mean(), pre_sd=ref.std() / (1 + 0.999 * k)) is not None
    assert _rtm(ref.mean(), pre_sd=ref.std() / (1 + 1.001 * k)) is None


def test_rtm_draws_reproduce_the_baselines_by_an_independent_check():
    out = _rtm(
        52.4,
        pre_sd=11.9,
        n=117,
        population_mean=(31.0, 80.0),
        population_sd=(5.0, 30.0),
        reliability=(0.82, 0.84),
        draws=300,
    )
    z = stats.norm.ppf(0.975)
    for mu, sigma in zip(out["mu"][:50], out["sigma"][:50]):
        ref = stats.truncnorm((33 - mu) / sigma, np.inf, loc=mu, scale=sigma)
        assert abs(ref.mean() - 52.4) <= z * 11.9 / math.sqrt(117) + 1e-9
        assert abs(ref.std() - 11.9) <= z * 11.9 / math.sqrt(2 * 116) + 1e-9
    assert 0 < out["accepted"] < 1 and (out["rtm"] > 0).all()


def cohort(pre, post):
    return pd.DataFrame({"pcl5_pre": pd.array(pre, dtype="Int64"), "pcl5_post": pd.array(post, dtype="Int64")})


def arm(id, instrument, value, arm_kind="control", measure="within_group_d", n=60, n_arm=30):
    return {
        "id": id,
        "label": id.upper(),
        "instrument": instrument,
        "measure": measure,
        "arm_kind": arm_kind,
        "value": value,
        "n": n,
        "n_arm": n_arm,
        "source": f"source of {id}",
    }


BENCH = [
    arm("a", "CAPS-5", 1.2, n_arm=None),
    arm("b", "PCL-5", 0.6),
    arm("c", "PCL-5", 2.0, arm_kind="active"),
    arm("d", "PCL-5", 0.3, arm_kind=None, measure="between_group_d"),
    arm("e", "not stated", 1.0),
    arm("f", "PCL-5", None),
]


def test_placebo_arms_are_control_arms_on_the_pcl5_or_caps5():
    arms = B.placebo_arms(BENCH, False)
    assert arms["id"].tolist() == ["a", "b", "f"]
    assert arms["usable"].tolist() == [True, True, False]
    # an arm whose size the source does not give counts half its trial's
    assert arms["n"].tolist()[:2] == [30.0, 30.0] and arms["n_assumed"].tolist() == [True, False, False]
    assert arms["variance"].iloc[0] == pytest.approx(1 / 30 + 1.2**2 / 60)
    assert B.placebo_arms(BENCH, True)["id"].tolist() == ["b", "f"]
    # the bundled benchmarks: the ketamine trials' control arms are listed without a value, and no PCL-5
    # arm has one, so with pcl5_only there is no placebo prior
    bundled = B.placebo_arms(references.load_benchmarks(), False).set_index("id")
    assert pd.isna(bundled.loc["feder2021_midazolam_within", "d"])
    assert pd.isna(bundled.loc["abdallah2022_placebo_within", "d"])
    assert B.placebo_prior(B.placebo_arms(references.load_benchmarks(), True)) is None


def test_the_derived_mapp2_placebo_d_is_its_formula():
    entries = {b["id"]: b["value"] for b in references.load_benchmarks()}
    change, mdma, between = entries["mapp2_placebo_change"], entries["mapp2_mdma_change"], entries["mapp2_between"]
    assert entries["mapp2_placebo_within"] == pytest.approx(change / ((mdma - change) / between), rel=1e-12)


def test_bias_analysis_is_seeded_and_keeps_the_small_cell_rule():
    rng = np.random.default_rng(1)
    pre = rng.integers(40, 70, 40).tolist()
    post = [p - int(x) for p, x in zip(pre, rng.integers(0, 30, 40))]
    params = dict(parameters.DEFAULTS, bias_draws=2000)
    first = B.bias_analysis(cohort(pre, post), BENCH, params, min_cell=5)
    again = B.bias_analysis(cohort(pre, post), BENCH, params, min_cell=5)
    assert first["bias_unexplained_change_median"] == again["bias_unexplained_change_median"]
    assert first["suppressed"] == [] and first["bias_draws"] == 2000
    # the deprecated names publish the same values
    for old, new in B.DEPRECATED.items():
        assert first[old] == first[new]
    assert first["sensitivity"]["scenario"].iloc[0] == "as specified"
    assert first["sensitivity"]["change_median"].iloc[0] == first["bias_unexplained_change_median"]
    other = B.bias_analysis(cohort(pre, post), BENCH, params | {"bias_seed": 1}, min_cell=5)
    assert other["bias_unexplained_change_median"] != first["bias_unexplained_change_median"]
    # two dropouts: the dropout step rests on them, so every result is suppressed
    hidden = B.bias_analysis(cohort(pre, post[:-2] + [None, None]), BENCH, params, min_cell=5)
    assert hidden["bias_unexplained_change_median"] is None and "bias_prob_above_zero" in hidden["suppressed"]
    assert "bias_attributable_change_median" in hidden["suppressed"]
    assert hidden["stacked"].empty and hidden["sensitivity"].empty and hidden["draws"] is None
    # one completer: nothing can be computed, and the reason says why
    none = B.bias_analysis(cohort([50, 60], [30, None]), BENCH, params, min_cell=0)
    assert none["bias_unexplained_change_median"] is None and "two completers" in none["reason"]
    # no usable control arm on the scales asked for: no placebo prior, and the reason says so
    nothing = B.bias_analysis(cohort(pre, post), BENCH, params | {"bias_placebo_pcl5_only": 1}, 5)
    assert nothing["bias_unexplained_change_median"] is not None  # arm b is a usable PCL-5 arm
    no_arm = B.bias_analysis(cohort(pre, post), BENCH[2:], params, min_cell=5)
    assert no_arm["bias_unexplained_change_median"] is None and "control arm" in no_arm["reason"]


def test_bias_ranges_must_run_low_to_high():
    with pytest.raises(parameters.ParameterError, match="bias_reliability_low"):
        parameters.resolve({"bias_reliability_low": 0.9})
    with pytest.raises(parameters.ParameterError, match="bias_placebo_pcl5_only"):
        parameters.resolve({"bias_placebo_pcl5_only": 2})
    assert parameters.resolve({"bias_dropout_delta_low": 1.0})["bias_dropout_delta_low"] == 1.0
    assert parameters.resolve({"bias_dropout_delta_low": -1.0})["bias_dropout_delta_low"] == -1.0
    with pytest.raises(parameters.ParameterError, match="bias_dropout_delta_low"):
        parameters.resolve({"bias_dropout_delta_low": -1.01})
    assert parameters.resolve({"bias_sd": "pcl5_pre"})["bias_sd"] == "pcl5_pre"
    with pytest.raises(parameters.ParameterError, match="bias_sd"):
        parameters.resolve({"bias_sd": "change"})


# A small cohort for bias_analysis() recomputed by hand: 10 completers and 3 dropouts, a PCL-5 control arm
# (d 0.4 from 40 patients) and a CAPS-5 one (d 0.9, a trial of 60 with no arm size: 30 assumed), and an MCID
# of 2 points, so that both probabilities land between 0.3 and 0.7.
SMALL_PRE = [52, 61, 45, 70, 38, 55, 49, 66, 58, 41, 63, 47, 57]
SMALL_POST = [40, 50, 44, 49, 36, 41, 45, 60, 42, 40, None, None, None]
SMALL_ARMS = [arm("p", "PCL-5", 0.4, n=None, n_arm=40), arm("c", "CAPS-5", 0.9, n=60, n_arm=None)]
SMALL_PARAMS = dict(parameters.DEFAULTS, bias_draws=2000, mcid=2.0)


def _arm_variance(d, n):
    # Borenstein et al. 2009, eq. 4.28 with r = 0.5.
    return 1 / n + d**2 / (2 * n)


def _two_arm_prior():
    """Paule-Mandel by hand for two arms: Q(tau^2) = (d1 - d2)^2 / (v1 + v2 + 2 tau^2) = k - 1 = 1 gives
    tau^2 = ((d1 - d2)^2 - v1 - v2) / 2; the mean weighs each arm by 1 / (v + tau^2); the predictive SD is
    sqrt(SE^2 + tau^2) (Higgins, Thompson & Spiegelhalter 2009). Returns (mean, predictive SD, tau^2)."""
    v1, v2 = _arm_variance(0.4, 40), _arm_variance(0.9, 30)
    tau2 = ((0.4 - 0.9) ** 2 - v1 - v2) / 2
    w1, w2 = 1 / (v1 + tau2), 1 / (v2 + tau2)
    return (w1 * 0.4 + w2 * 0.9) / (w1 + w2), math.sqrt(1 / (w1 + w2) + tau2), tau2


def _by_hand(reliability, sd_name, placebo, with_rtm=True, p=SMALL_PARAMS):
    """bias_analysis's summary written out from the module docstring's recipe, with numpy and scipy only;
    ``placebo`` is the (mean, SD) of the placebo d."""
    pre, post = np.array(SMALL_PRE, dtype=float), np.array(SMALL_POST, dtype=float)
    done = ~np.isnan(post)
    n, n_c = len(pre), int(done.sum())
    n_d = n - n_c
    change, pre_c, post_c = pre[done] - post[done], pre[done], post[done]

    def sample_sd(x):
        return math.sqrt(((x - x.mean()) ** 2).sum() / (len(x) - 1))

    sds = {"d_av": math.sqrt((sample_sd(pre_c) ** 2 + sample_sd(post_c) ** 2) / 2), "pcl5_pre": sample_sd(pre_c)}
    sd, draws = sds[sd_name], p["bias_draws"]
    # The four streams, in the order random error, dropout, regression to the mean, placebo.
    error, dropout_rng, rtm_rng, placebo_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(p["bias_seed"]).spawn(4)
    )
    rtm, accepted = np.zeros(draws), None
    if with_rtm:
        rho = reliability[0] + (reliability[1] - reliability[0]) * rtm_rng.random(draws)
        mu = rtm_rng.uniform(p["bias_population_mean_low"], p["bias_population_mean_high"], 20 * draws)
        sigma = rtm_rng.uniform(p["bias_population_sd_low"], p["bias_population_sd_high"], 20 * draws)
        # Normal truncated below at c: with a = (c - mu) / sigma and l = phi(a) / (1 - Phi(a)), mean
        # mu + sigma l and SD sigma sqrt(1 + a l - l^2).
        a = (p["rtm_entry_threshold"] - mu) / sigma
        lam = stats.norm.pdf(a) / stats.norm.sf(a)
        t_mean, t_sd = mu + sigma * lam, sigma * np.sqrt(1 + a * lam - lam**2)
        z = stats.norm.ppf(0.975)
        fits = (np.abs(t_mean - pre_c.mean()) <= z * sample_sd(pre_c) / math.sqrt(n_c)) & (
            np.abs(t_sd - sample_sd(pre_c)) <= z * sample_sd(pre_c) / math.sqrt(2 * (n_c - 1))
        )
        assert fits.sum() >= draws  # one batch of candidates is enough for this cohort
        accepted = fits.mean()
        # Barnett et al. 2005: (1 - rho) (E[X | X >= c] - mu), for the first `draws` populations that fit.
        rtm = (1 - rho) * (t_mean[fits][:draws] - mu[fits][:draws])
    observed = change.mean() + sample_sd(change) / math.sqrt(n_c) * error.standard_t(n_c - 1, draws)
    delta = p["bias_dropout_delta_low"] + (p["bias_dropout_delta_high"] - p["bias_dropout_delta_low"]) * (
        dropout_rng.random(draws)
    )
    # Mean over all n when the n_d dropouts changed by delta times the completers' mean: (n_c + delta n_d) / n
    # of it, so the step removes (1 - delta) n_d / n of the observed change.
    dropout = observed * (1 - delta) * n_d / n
    placebo_points = sd * (placebo[0] + placebo[1] * placebo_rng.standard_normal(draws))
    left = observed - dropout - rtm - placebo_points
    before = np.median(observed - dropout - rtm)
    low, median, high = np.quantile(left, [0.025, 0.5, 0.975])
    return {
        "bias_unexplained_change_median": median,
        "bias_unexplained_change_low": low,
        "bias_unexplained_change_high": high,
        "bias_unexplained_d_median": median / sd,
        "bias_unexplained_d_low": low / sd,
        "bias_unexplained_d_high": high / sd,
        "bias_prob_above_zero": np.mean(left > 0),
        "bias_prob_above_mcid": np.mean(left >= p["mcid"]),
        "bias_tipping_placebo_points_zero": before,
        "bias_tipping_placebo_points_mcid": before - p["mcid"],
        "bias_tipping_placebo_d_zero": before / sd,
        "bias_tipping_placebo_d_mcid": (before - p["mcid"]) / sd,
        "bias_rtm_accepted_share": accepted,
        "bias_sd_points": sd,
        "stacked_median": [np.median(x) for x in (observed, observed - dropout, observed - dropout - rtm, left)],
    }


def test_bias_analysis_equals_its_recipe_by_hand_on_a_small_cohort():
    got = B.bias_analysis(cohort(SMALL_PRE, SMALL_POST), SMALL_ARMS, SMALL_PARAMS, min_cell=3)
    mean, predictive_sd, tau2 = _two_arm_prior()
    want = _by_hand((0.82, 0.84), "d_av", (mean, predictive_sd))
    assert got["reason"] is None and got["suppressed"] == []
    # Not degenerate: both probabilities are away from 0 and 1, so a shift of the draws moves them.
    assert 0.3 < want["bias_prob_above_mcid"] < want["bias_prob_above_zero"] < 0.7
    stacked_median = want.pop("stacked_median")
    # statsmodels iterates Paule-Mandel's equation to about 1e-11 of the closed form: hence rel 1e-8.
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-8, abs=1e-12), key
    assert got["stacked"]["median"].tolist() == pytest.approx(stacked_median, rel=1e-8)
    assert got["bias_placebo_n_arms"] == 2 and got["bias_n_dropouts"] == 3
    assert got["bias_placebo_prior_mean"] == pytest.approx(mean, rel=1e-8)
    assert got["bias_placebo_prior_sd"] == pytest.approx(predictive_sd, rel=1e-8)
    assert got["bias_placebo_tau2"] == pytest.approx(tau2, rel=1e-8) and tau2 > 0
    assert (got["bias_draws"], got["bias_seed"], got["arms"]["id"].tolist()) == (
        2000,
        SMALL_PARAMS["bias_seed"],
        ["p", "c"],
    )
    # The SD is the sample SD (n - 1): a population SD (ddof=0) is 5% smaller with 10 completers.
    pre_c, post_c = np.array(SMALL_PRE[:10], dtype=float), np.array(SMALL_POST[:10], dtype=float)
    population = math.sqrt((pre_c.var() + post_c.var()) / 2)
    assert got["bias_sd_points"] != pytest.approx(population, rel=0.01)


def test_bias_sensitivity_rows_equal_their_recipe_by_hand():
    table = B.bias_analysis(cohort(SMALL_PRE, SMALL_POST), SMALL_ARMS, SMALL_PARAMS, min_cell=3)["sensitivity"]
    rows = table.set_index("scenario")
    both = _two_arm_prior()[:2]
    cases = {
        "as specified": _by_hand((0.82, 0.84), "d_av", both),
        "placebo only, no regression-to-the-mean step": _by_hand((0.82, 0.84), "d_av", both, with_rtm=False),
        # the PCL-5 arm alone: its d and SD, no heterogeneity
        "PCL-5 control arms only": _by_hand((0.82, 0.84), "d_av", (0.4, math.sqrt(_arm_variance(0.4, 40)))),
        "placebo d in points through the baseline SD": _by_hand((0.82, 0.84), "pcl5_pre", both),
        "reliability 0.7 to 0.9": _by_hand((0.70, 0.90), "d_av", both),
    }
    assert list(rows.index) == list(cases)
    for scenario, want in cases.items():
        row = rows.loc[scenario]
        for column, key in B._SENSITIVITY_FROM_SUMMARY.items():
            assert row[column] == pytest.approx(want[key], rel=1e-8, abs=1e-12), (scenario, column)
        assert row["note"] == ""


def test_probabilities_count_draws_at_their_thresholds():
    # above zero: strictly; at least the MCID: a draw exactly at it counts.
    draws = pd.DataFrame({"unexplained": [-0.5, 0.0, 1.9, 2.0, 2.1]})
    s = B.summarise(draws, 1.0, mcid=2.0, ci_level=0.95)
    assert s["bias_prob_above_zero"] == 3 / 5
    assert s["bias_prob_above_mcid"] == 2 / 5


def test_bias_analysis_says_why_it_computed_nothing_and_keeps_its_tables_shape():
    params = dict(parameters.DEFAULTS, bias_draws=500)
    # Two completers whose change varies are enough; two with the same change are not.
    two = B.bias_analysis(cohort([60, 50], [40, 45]), BENCH, params, min_cell=0)
    assert two["reason"] is None and two["bias_unexplained_change_median"] is not None
    same = B.bias_analysis(cohort([60, 50], [40, 30]), BENCH, params, min_cell=0)
    assert same["reason"] == "it needs at least two completers whose change varies"
    assert same["suppressed"] == [] and same["draws"] is None
    assert list(same["stacked"].columns) == ["step", "label", "median", "low", "high"] + [
        "bias_median",
        "bias_low",
        "bias_high",
    ]
    assert list(same["sensitivity"].columns) == [
        "scenario",
        "change_median",
        "change_low",
        "change_high",
        "d_median",
        "prob_above_zero",
        "prob_above_mcid",
        "note",
    ]
    no_arm = B.bias_analysis(cohort(SMALL_PRE, SMALL_POST), BENCH[2:], params, min_cell=3)
    assert no_arm["reason"] == (
        "no control arm of data/benchmarks.yml has a usable within-group change on the scales asked for"
    )
    # A source population averaging 1 to 2 points with an SD of 5 to 6 cannot give baselines in the 50s.
    far = params | {"bias_population_mean_low": 1.0, "bias_population_mean_high": 2.0, "bias_population_sd_high": 6.0}
    no_fit = B.bias_analysis(cohort(SMALL_PRE, SMALL_POST), BENCH, far, min_cell=3)
    assert no_fit["reason"] == "no source population in the prior reproduces the cohort's baseline mean and SD"
    assert no_fit["bias_unexplained_change_median"] is None
    # bias_placebo_pcl5_only keeps the PCL-5 arms: b (d 0.6) is the only usable one.
    pcl5 = B.bias_analysis(cohort(SMALL_PRE, SMALL_POST), BENCH, params | {"bias_placebo_pcl5_only": 1}, 3)
    assert pcl5["arms"]["id"].tolist() == ["b", "f"] and pcl5["bias_placebo_prior_mean"] == 0.6


def test_draw_biases_needs_two_completers_whose_change_varies():
    message = "^the bias analysis needs at least two completers whose change varies$"
    with pytest.raises(ValueError, match=message):
        draws(n_completers=1, n_patients=1, draws=10)
    with pytest.raises(ValueError, match=message):
        draws(change_sd=0.0, draws=10)
    assert len(draws(n_completers=2, n_patients=2, change_sd=0.5, draws=10)) == 10


def test_placebo_arms_carry_their_sources_and_keep_their_columns_when_empty():
    columns = ["id", "label", "instrument", "d", "n", "n_assumed", "variance", "usable", "source"]
    arms = B.placebo_arms(BENCH + [arm("g", "CAPS-5", 0.8, n=None, n_arm=None)], False)
    assert list(arms.columns) == columns
    assert arms["label"].tolist() == ["A", "B", "F", "G"] and arms["instrument"].tolist()[:2] == ["CAPS-5", "PCL-5"]
    assert arms["source"].tolist()[0] == "source of a"
    # no size at all: listed, not usable
    assert pd.isna(arms["n"].iloc[-1]) and not arms["usable"].iloc[-1]
    assert list(B.placebo_arms(BENCH[2:4], False).columns) == columns


def test_rtm_window_edges_count_as_inside():
    # Entry far below the population: the truncated normal is the normal itself, mean mu and SD sigma exactly.
    # Baselines exactly one window away (mean: z SD / sqrt(n); SD: z SD / sqrt(2 (n - 1))) are kept.
    z, n, pre_sd = stats.norm.ppf(0.975), 100, 10.0
    mean_tol, sd_tol = z * pre_sd / math.sqrt(n), z * pre_sd / math.sqrt(2 * (n - 1))
    assert (pre_sd + sd_tol) - pre_sd == sd_tol  # exact in floating point, so the draw sits on the edge
    edge = dict(entry_threshold=-1e9, population_mean=(0.0, 0.0), draws=5)
    at_mean = _rtm(mean_tol, pre_sd=pre_sd, population_sd=(pre_sd, pre_sd), **edge)
    at_sd = _rtm(0.0, pre_sd=pre_sd, population_sd=(pre_sd + sd_tol, pre_sd + sd_tol), **edge)
    assert at_mean is not None and at_sd is not None


class _Batches:
    """Stands in for the random generator: each ``uniform`` call hands out the next of the given arrays."""

    def __init__(self, *arrays):
        self.arrays = list(arrays)

    def uniform(self, low, high, size):
        return np.asarray(self.arrays.pop(0), dtype=float)


def test_rtm_stops_at_the_first_batch_with_enough_fits():
    # Two draws, so batches of 40 candidates; exactly two candidates of the first batch fit (mu = 45 with
    # sigma 14 against baselines of that truncated normal), none of the second.
    ref = stats.truncnorm((33 - 45) / 14, np.inf, loc=45, scale=14)
    fitting = np.array([45.0, 45.0] + [80.0] * 38)
    rng = _Batches([0.8, 0.8], fitting, np.full(40, 14.0), np.full(40, 80.0), np.full(40, 14.0))
    out = B.rtm_draws(
        rng,
        pre_mean=ref.mean(),
        pre_sd=ref.std(),
        n=100,
        entry_threshold=33,
        reliability=(0.8, 0.8),
        population_mean=(0, 80),
        population_sd=(5, 30),
        ci_level=0.95,
        draws=2,
    )
    assert out["accepted"] == 2 / 40 and out["mu"].tolist() == [45.0, 45.0]


def test_sensitivity_rows_that_cannot_be_computed_say_why():
    numbers = {
        "mean_change": 10.0,
        "change_sd": 8.0,
        "n_completers": 10,
        "n_patients": 13,
        "pre_mean": 55.0,
        "pre_sd": 9.0,
        "sds": {"d_av": 9.0, "pcl5_pre": 9.0},
    }
    # The wide-reliability row draws its own source populations: a prior averaging 1 to 2 points, SD 5 to 6,
    # fits none.
    far = {"bias_population_mean_low": 1.0, "bias_population_mean_high": 2.0, "bias_population_sd_high": 6.0}
    params = dict(parameters.DEFAULTS, bias_draws=200, **far)
    main = {"placebo": fixed_placebo(0.5), "rtm": {"rtm": np.zeros(200)}}
    rows = B.sensitivity(numbers, BENCH[:1], params, main).set_index("scenario")
    assert rows.loc["PCL-5 control arms only", "note"] == (
        "no PCL-5 control arm with a within-group change in data/benchmarks.yml"
    )
    wide = rows.loc["reliability 0.7 to 0.9"]
    assert wide["note"] == "no source population in the prior reproduces the cohort's baseline mean and SD"
    assert pd.isna(wide["change_median"]) and not pd.isna(rows.loc["as specified", "change_median"])
