"""Tests of the statistics implied by reported means and SDs against hand calculations and scipy."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from ketamine_ptsd.analysis.summary_effects import d_definitions, r_range_for, r_range_summary

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
