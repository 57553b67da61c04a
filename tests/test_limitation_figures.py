"""Figures of the limitations chapter, :mod:`ketamine_ptsd.presentation.limitation_figures`: each test reads
back what was drawn and compares it with its inputs."""

from __future__ import annotations

import numpy as np
import pytest

from ketamine_ptsd.analysis import limitations as L

from .cohorts import make_cohort


def test_forest_plot_labels_every_effect_with_its_instrument(benchmarks, plt):
    from ketamine_ptsd.presentation import limitation_figures as LF

    rows = L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, benchmarks)
    ax = LF.forest_plot(rows).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "This cohort ($d_{\\mathrm{av}}$) [PCL-5]"  # the glossary's notation
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
