"""Tests of the probabilistic bias analysis against closed forms: with every bias at zero it gives back the
t interval of the mean change, a fixed bias shifts every draw by exactly its size, and a normal case
matches its analytic interval and tail probabilities (scipy)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_ptsd import parameters
from ketamine_ptsd.analysis import bias as B
from ketamine_ptsd.analysis import limitations as L
from ketamine_ptsd.data import references

OBSERVED = dict(mean_change=23.8, change_sd=14.7, n_completers=117, sd_av=14.4)
NO_RTM = dict(reliability=(1.0, 1.0), population_mean=(47.0, 47.0), population_sd=(15.0, 15.0), entry_threshold=33)


def draws(**kw):
    args = dict(OBSERVED, n_patients=117, placebo_ds=[], dropout_delta=(0.0, 1.0), draws=200_000, seed=5) | NO_RTM
    return B.draw_biases(**(args | kw))


def test_no_bias_gives_the_t_interval_of_the_mean_change():
    d = draws()
    assert (d[["dropout", "rtm", "placebo"]] == 0).all().all()
    se = 14.7 / math.sqrt(117)
    low, high = stats.t.interval(0.95, 116, loc=23.8, scale=se)
    s = B.summarise(d, 14.4, mcid=10, ci_level=0.95)
    # Monte Carlo error of a 2.5% quantile with 200,000 draws is about 0.01 SE; allow 0.05 SE
    assert s["bias_attributable_change_median"] == pytest.approx(23.8, abs=0.05 * se)
    assert s["bias_attributable_change_low"] == pytest.approx(low, abs=0.05 * se)
    assert s["bias_attributable_change_high"] == pytest.approx(high, abs=0.05 * se)
    assert s["bias_attributable_d_median"] == pytest.approx(23.8 / 14.4, abs=0.05 * se / 14.4)
    # P(change > 10) = P(T > (10 - 23.8) / se)
    assert s["bias_prob_above_mcid"] == pytest.approx(stats.t.sf((10 - 23.8) / se, 116), abs=0.002)


def test_a_fixed_placebo_effect_shifts_every_draw_by_exactly_its_size():
    without, with_ = draws(placebo_ds=[]), draws(placebo_ds=[0.7])
    np.testing.assert_allclose(without["attributable"] - with_["attributable"], 0.7 * 14.4, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(without["observed"], with_["observed"])
    # a fixed regression to the mean: the limitations chapter's closed form, subtracted from every draw
    rtm = draws(reliability=(0.82, 0.82))
    expected = L.rtm_expected_change(33, 47.0, 15.0, 0.82)["rtm_expected_change"]
    np.testing.assert_allclose(without["attributable"] - rtm["attributable"], expected, rtol=1e-12)


def test_normal_case_matches_its_analytic_interval():
    # With a million completers t is normal; with delta fixed the dropout step scales the draw by
    # w = 1 - (1 - delta) n_d / n, so attributable ~ Normal(w M - c, w SE) with c the fixed RTM and placebo.
    n_c, n_d, delta = 1_000_000, 250_000, 0.4
    se = 14.7 / math.sqrt(n_c)
    w = 1 - (1 - delta) * n_d / (n_c + n_d)
    rtm = L.rtm_expected_change(33, 40.0, 12.0, 0.84)["rtm_expected_change"]
    c = rtm + 1.1 * 14.4
    d = B.draw_biases(
        **(OBSERVED | {"n_completers": n_c}),
        n_patients=n_c + n_d,
        placebo_ds=[1.1],
        reliability=(0.84, 0.84),
        population_mean=(40.0, 40.0),
        population_sd=(12.0, 12.0),
        entry_threshold=33,
        dropout_delta=(delta, delta),
        draws=200_000,
        seed=11,
    )
    s = B.summarise(d, 14.4, mcid=4.5, ci_level=0.9)
    center, scale = w * 23.8 - c, w * se
    low, high = stats.norm.interval(0.9, loc=center, scale=scale)
    assert s["bias_attributable_change_low"] == pytest.approx(low, abs=0.02 * scale)
    assert s["bias_attributable_change_high"] == pytest.approx(high, abs=0.02 * scale)
    assert s["bias_prob_above_mcid"] == pytest.approx(stats.norm.sf(4.5, center, scale), abs=0.003)


def test_uniform_biases_have_the_right_ranges_and_means():
    d = draws(reliability=(0.82, 0.84), population_mean=(35.0, 55.0), population_sd=(10.0, 20.0), placebo_ds=[1.0, 1.2])
    # placebo: uniform on [1.0, 1.2] * sd_av
    assert d["placebo"].min() >= 14.4 and d["placebo"].max() <= 1.2 * 14.4
    assert d["placebo"].mean() == pytest.approx(1.1 * 14.4, rel=1e-3)
    # RTM: between the grid's closed-form extremes
    corners = [
        L.rtm_expected_change(33, mu, sd, r)["rtm_expected_change"]
        for mu in (35, 55)
        for sd in (10, 20)
        for r in (0.82, 0.84)
    ]
    assert min(corners) <= d["rtm"].min() and d["rtm"].max() <= max(corners)
    # dropout step: with n_d dropouts and delta uniform on [0, 1], E[removed] = E[observed] * n_d / n / 2
    d = draws(n_patients=150)
    assert d["dropout"].mean() == pytest.approx(23.8 * 33 / 150 / 2, rel=0.01)


def test_stacked_steps_add_up():
    d = draws(n_patients=150, reliability=(0.82, 0.84), placebo_ds=[1.0, 1.2])
    steps = B.stacked(d, 0.95)
    assert steps["step"].tolist() == list(B.STEPS)
    assert steps["median"].iloc[-1] == pytest.approx(np.median(d["attributable"]))
    assert steps["median"].iloc[0] == pytest.approx(np.median(d["observed"]))
    assert steps["bias_median"].iloc[-1] == pytest.approx(np.median(d["placebo"]))


def cohort(pre, post):
    return pd.DataFrame({"pcl5_pre": pd.array(pre, dtype="Int64"), "pcl5_post": pd.array(post, dtype="Int64")})


BENCH = [
    {"id": "a", "label": "A", "instrument": "CAPS-5", "measure": "within_group_d", "arm_kind": "control", "value": 1.2},
    {"id": "b", "label": "B", "instrument": "PCL-5", "measure": "within_group_d", "arm_kind": "control", "value": 0.6},
    {"id": "c", "label": "C", "instrument": "PCL-5", "measure": "within_group_d", "arm_kind": "active", "value": 2.0},
    {"id": "d", "label": "D", "instrument": "PCL-5", "measure": "between_group_d", "arm_kind": None, "value": 0.3},
]


def test_placebo_arms_are_control_arms_and_pcl5_only_keeps_pcl5():
    assert B.placebo_arms(BENCH, False)["id"].tolist() == ["a", "b"]
    assert B.placebo_arms(BENCH, True)["id"].tolist() == ["b"]
    # the bundled benchmarks hold no PCL-5 control arm: with pcl5_only no placebo is removed
    assert B.placebo_arms(references.load_benchmarks(), True).empty


def test_bias_analysis_is_seeded_and_keeps_the_small_cell_rule():
    rng = np.random.default_rng(1)
    pre = rng.integers(40, 70, 40).tolist()
    post = [p - int(x) for p, x in zip(pre, rng.integers(0, 30, 40))]
    params = dict(parameters.DEFAULTS, bias_draws=2000)
    first = B.bias_analysis(cohort(pre, post), BENCH, params, min_cell=5)
    again = B.bias_analysis(cohort(pre, post), BENCH, params, min_cell=5)
    assert first["bias_attributable_change_median"] == again["bias_attributable_change_median"]
    assert first["suppressed"] == [] and first["bias_draws"] == 2000
    other = B.bias_analysis(cohort(pre, post), BENCH, params | {"bias_seed": 1}, min_cell=5)
    assert other["bias_attributable_change_median"] != first["bias_attributable_change_median"]
    # two dropouts: the dropout step rests on them, so every result is suppressed
    hidden = B.bias_analysis(cohort(pre, post[:-2] + [None, None]), BENCH, params, min_cell=5)
    assert hidden["bias_attributable_change_median"] is None and "bias_prob_above_zero" in hidden["suppressed"]
    assert hidden["stacked"].empty
    # one completer: nothing can be computed, and the reason says why
    none = B.bias_analysis(cohort([50, 60], [30, None]), BENCH, params, min_cell=0)
    assert none["bias_attributable_change_median"] is None and "two completers" in none["reason"]


def test_bias_ranges_must_run_low_to_high():
    with pytest.raises(parameters.ParameterError, match="bias_reliability_low"):
        parameters.resolve({"bias_reliability_low": 0.9})
    with pytest.raises(parameters.ParameterError, match="bias_placebo_pcl5_only"):
        parameters.resolve({"bias_placebo_pcl5_only": 2})
    assert parameters.resolve({"bias_dropout_delta_low": 1.0})["bias_dropout_delta_low"] == 1.0


def test_the_limitations_summary_gains_a_row_for_all_biases_at_once():
    from ketamine_ptsd.presentation import limitations as LT

    rng = np.random.default_rng(2)
    pre = rng.integers(40, 70, 60).tolist()
    post = [p - int(x) for p, x in zip(pre, rng.integers(0, 30, 60))]
    result = B.bias_analysis(cohort(pre, post), BENCH, dict(parameters.DEFAULTS, bias_draws=1000), min_cell=5)
    table = LT.summary_table(observed_mean_change=20.0, bias=result, benchmarks=references.load_benchmarks())
    row = table[table["limitation"] == "all of these biases at once"].iloc[0]
    assert row["quantity"] == result["bias_attributable_change_median"]
    assert (
        f"{result['bias_attributable_change_low']:.1f} to {result['bias_attributable_change_high']:.1f}"
        in (row["by_how_much"])
    )
    hidden = B.bias_analysis(cohort(pre, post[:-2] + [None, None]), BENCH, dict(parameters.DEFAULTS), min_cell=5)
    table = LT.summary_table(
        observed_mean_change=20.0, bias=hidden, benchmarks=references.load_benchmarks(), min_cell=5
    )
    i = int(np.flatnonzero(table["limitation"] == "all of these biases at once")[0])
    assert table.loc[i, "quantity"] is None and (i, "quantity") in table.attrs["suppressed"]
    assert "suppressed" in table.loc[i, "by_how_much"]
