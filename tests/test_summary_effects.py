"""Tests of the statistics implied by reported means and SDs against hand calculations and scipy."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from ketamine_ptsd.analysis.summary_effects import (
    change_sd_floor,
    d_definitions,
    implied_r,
    r_grid,
    r_range_for,
    r_range_summary,
)

PRE = dict(pre_mean=52.39, pre_sd=11.90, post_mean=29.42, post_sd=16.52, n=117)


def test_d_definitions_preprint_by_hand():
    d = d_definitions(**PRE, decimals=2)
    change = 52.39 - 29.42  # 22.97
    assert d["mean_change"] == pytest.approx(22.97)
    # sqrt((141.61 + 272.9104) / 2) = sqrt(207.2602) = 14.39653
    assert d["d_av"] == pytest.approx(change / math.sqrt((11.90**2 + 16.52**2) / 2))
    assert d["d_av"] == pytest.approx(1.59552, abs=1e-5)
    assert d["d_mean_sd"] == pytest.approx(22.97 / 14.21)  # (11.90 + 16.52) / 2 = 14.21
    assert d["d_pre"] == pytest.approx(22.97 / 11.90)
    assert d["d_post"] == pytest.approx(22.97 / 16.52)
    low, high = d["ranges"]["d_av"]
    # Extremes by hand: change 22.96 over sqrt((11.905^2 + 16.525^2)/2), change 22.98 over the 11.895/16.515 pair.
    assert low == pytest.approx(22.96 / math.sqrt((11.905**2 + 16.525**2) / 2))
    assert high == pytest.approx(22.98 / math.sqrt((11.895**2 + 16.515**2) / 2))
    json.dumps(d, allow_nan=False)


def _paired_sample():
    rng = np.random.default_rng(7)
    pre = rng.normal(52, 12, 40).round()
    post = (0.6 * (pre - 52) + rng.normal(29, 13, 40)).round()
    return pre, post


def test_d_z_t_p_agree_with_scipy_paired_t_test():
    pre, post = _paired_sample()
    r = float(np.corrcoef(pre, post)[0, 1])
    d = d_definitions(pre.mean(), pre.std(ddof=1), post.mean(), post.std(ddof=1), len(pre), r_values=(r,))
    row = d["d_z"][0]
    ref = stats.ttest_rel(pre, post)
    diff = pre - post
    assert row["t"] == pytest.approx(ref.statistic, rel=1e-9)
    assert row["p"] == pytest.approx(ref.pvalue, rel=1e-7)
    assert row["df"] == len(pre) - 1
    assert row["sd_change"] == pytest.approx(diff.std(ddof=1), rel=1e-9)
    assert row["d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-9)


# --------------------------------------------------------------------------- unreported correlation
def test_r_range_grid_and_scipy_interval():
    pre, post = _paired_sample()
    r = float(np.corrcoef(pre, post)[0, 1])
    args = (pre.mean(), pre.std(ddof=1), post.mean(), post.std(ddof=1), len(pre))
    rows = r_range_for(*args, r_values=(r,))
    ci = stats.ttest_rel(pre, post).confidence_interval(0.95)
    assert rows[0]["change_ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert rows[0]["change_ci_high"] == pytest.approx(ci.high, rel=1e-9)
    default = r_range_for(**PRE)
    assert [row["r"] for row in default][:2] == [-0.2, -0.15] and default[-1]["r"] == 0.95
    assert len(default) == 24
    # With a positive change, t grows as r grows (the SD of the change shrinks).
    ts = [row["t"] for row in default]
    assert ts == sorted(ts)
    json.dumps(default, allow_nan=False)


def test_r_range_implied_correlation():
    pre, post = _paired_sample()
    r = float(np.corrcoef(pre, post)[0, 1])
    t = float(stats.ttest_rel(pre, post).statistic)
    args = (pre.mean(), pre.std(ddof=1), post.mean(), post.std(ddof=1), len(pre))
    implied = r_range_for(*args, r_values=(), reported_t=t)
    assert implied[0]["basis"] == "reported t"
    assert implied[0]["r"] == pytest.approx(r, rel=1e-9)
    # d_z = 10 needs SD of change 2.297: r = (414.5204 - 5.276) / 393.176 = 1.04 > 1, impossible.
    rows = r_range_for(**PRE, r_values=(), reported_d_z=10)
    assert rows[0]["possible"] is False and rows[0]["r"] is None


def test_r_range_summary():
    rows = r_range_for(**PRE, reported_d_z=1.60)
    summary = r_range_summary(rows)
    # r = -0.2: SD change = sqrt(414.5204 + 0.4 * 196.588) = 22.2071; t = 22.97 / (22.2071 / sqrt(117)) = 11.19
    assert summary["t_min"] == pytest.approx(22.97 / (math.sqrt(414.5204 + 0.4 * 11.90 * 16.52) / math.sqrt(117)))
    assert summary["r_min"] == -0.2 and summary["r_max"] == 0.95


SUMMARY_KEYS = ["r_min", "r_max", "t_min", "t_max", "p_min", "p_max", "d_z_min", "d_z_max", "ci_low_min", "ci_high_max"]


def test_r_grid_is_the_default_steps_extended_to_cover_every_value():
    default = (-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    default += (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    assert r_grid() == default
    assert r_grid([-0.317, 0.5]) == (-0.317, -0.3, -0.25, *default)
    assert r_grid([0.97]) == (*default, 0.97)
    assert r_grid([-0.3, 1.0]) == (-0.3, -0.25, *default, 1.0)  # ends on a step: not repeated


def test_paired_rows_without_spread_give_no_statistics_and_small_spreads_do():
    # Equal SDs and r = 1: the SD of the change is 0, so there is no t, p, d_z or interval.
    d = d_definitions(3.0, 1.0, 2.0, 1.0, 10, r_values=(1.0,))
    assert d["d_z"] == [{"r": 1.0, "d_z": None, "sd_change": 0.0, "t": None, "df": 9, "p": None}]
    assert d["ranges"] is None
    assert d["inputs"] == {"pre_mean": 3.0, "pre_sd": 1.0, "post_mean": 2.0, "post_sd": 1.0, "n": 10, "decimals": None}
    rows = r_range_for(3.0, 1.0, 2.0, 1.0, 10, r_values=(1.0,))
    assert rows == [
        {
            "basis": "grid",
            "r": 1.0,
            "possible": True,
            "sd_change": 0.0,
            "d_z": None,
            "t": None,
            "df": 9,
            "p": None,
            "change_ci_low": None,
            "change_ci_high": None,
        }
    ]
    # r = 0.9: SD of change sqrt(1 + 1 - 1.8) = 0.447, below 1 and still a spread.
    row = d_definitions(3.0, 1.0, 2.0, 1.0, 10, r_values=(0.9,))["d_z"][0]
    assert row["sd_change"] == pytest.approx(math.sqrt(0.2)) and row["t"] == pytest.approx(1 / math.sqrt(0.2 / 10))


def test_d_ranges_with_sds_below_one_by_hand():
    # Means 3.0 and 2.0, SDs 0.5, to 1 decimal: the change runs 0.9 to 1.1 and each SD 0.45 to 0.55.
    ranges = d_definitions(3.0, 0.5, 2.0, 0.5, 10, decimals=1)["ranges"]
    assert ranges["d_av"] == pytest.approx([0.9 / 0.55, 1.1 / 0.45])
    assert ranges["d_pre"] == pytest.approx([0.9 / 0.55, 1.1 / 0.45])


def test_implied_r_at_the_ends_of_its_range():
    # SDs 3 and 5: a change SD of 2 means r = (9 + 25 - 4) / 30 = 1; of 8, r = -1; of 9, r = -47/30.
    assert implied_r(3.0, 5.0, 2.0) == 1.0
    assert implied_r(3.0, 5.0, 8.0) == -1.0
    assert implied_r(3.0, 5.0, 9.0) is None


def test_implied_rows_are_named_and_never_enter_the_summary():
    rows = r_range_for(**PRE, r_values=(0.3, 0.5), reported_d_z=10, reported_t=12.0)
    assert [row["basis"] for row in rows] == ["grid", "grid", "reported t", "reported d_z"]
    assert [row["possible"] for row in rows] == [True, True, True, False]
    assert r_range_summary(rows) == r_range_summary(rows[:2])
    assert list(r_range_summary(rows)) == SUMMARY_KEYS
    assert r_range_summary([]) == dict.fromkeys(SUMMARY_KEYS)


def test_change_sd_floor_at_its_edges():
    # Two patients, one at most 0 with mean 5: changes 0 and 10, SD sqrt(50).
    assert change_sd_floor(5.0, 2, 1, 0.0) == pytest.approx(math.sqrt(50))
    assert change_sd_floor(5.0, 4, 4, 0.0) == 0.0  # everyone below: no constraint
    assert change_sd_floor(5.0, 4, 0, 0.0) == 0.0
    with pytest.raises(ValueError, match="^an SD needs n >= 2$"):
        change_sd_floor(5.0, 1, 0, 0.0)
