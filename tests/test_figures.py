"""Figures of the "Reproducing the paper" chapter and the book's shared theme.

Each test reads back what was drawn (line data, bar heights, shaded spans) and compares it with values
computed here from the inputs, not with what the figure function computed.
"""

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis import consistency
from ketamine_ptsd.presentation import figures


@pytest.fixture()
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_pyplot_with_theme_sets_the_colour_blind_palette(plt):
    import matplotlib.colors as mcolors
    import seaborn as sns

    pyplot, seaborn = figures.pyplot_with_theme()
    assert pyplot is plt and seaborn is sns
    cycle = [c["color"] for c in plt.rcParams["axes.prop_cycle"]]
    assert [mcolors.to_hex(c) for c in cycle] == [mcolors.to_hex(c) for c in sns.color_palette("colorblind")]
    assert plt.rcParams["axes.grid"]  # seaborn's "whitegrid"


# --------------------------------------------------------------------------- r_range_figure
@pytest.fixture()
def r_rows():
    # The published means with the preprint SDs, plus a row implied by a reported t, which is not drawn.
    return consistency.r_range_for(52.54, 11.90, 28.78, 16.52, 117, reported_t=20.0)


def _grid(rows):
    return [row for row in rows if row["basis"] == "grid"]


def test_r_range_figure_draws_d_z_and_the_ci_over_the_grid(plt, r_rows):
    grid = _grid(r_rows)
    fig = figures.r_range_figure(r_rows, (0.1, 0.6), 0.87, "75%")
    left, right = fig.axes[:2]
    d_z_line = next(line for line in left.get_lines() if line.get_marker() == "o")
    assert np.array_equal(d_z_line.get_xdata(), [row["r"] for row in grid])
    assert np.allclose(d_z_line.get_ydata(), [row["d_z"] for row in grid])
    # d_z by hand at r = 0: 23.76 / sqrt(11.90^2 + 16.52^2).
    at_zero = [row["r"] for row in grid].index(0.0)
    assert d_z_line.get_ydata()[at_zero] == pytest.approx(23.76 / math.hypot(11.90, 16.52))
    # The interval is symmetric about the mean change, 52.54 - 28.78 = 23.76 points at every r.
    mean_line = next(line for line in right.get_lines() if line.get_label() == "mean change")
    assert np.allclose(mean_line.get_ydata(), 23.76)
    band = next(c for c in right.collections if c.get_label() == "confidence interval")
    y = band.get_paths()[0].vertices[:, 1]
    assert y.min() == pytest.approx(min(row["change_ci_low"] for row in grid))
    assert y.max() == pytest.approx(max(row["change_ci_high"] for row in grid))


def test_r_range_figure_t_axis_is_d_z_times_root_n(plt, r_rows):
    fig = figures.r_range_figure(r_rows, (0.1, 0.6))
    fig.canvas.draw()
    left = fig.axes[0]
    [t_axis] = left.child_axes
    assert np.allclose(t_axis.get_ylim(), np.array(left.get_ylim()) * math.sqrt(117))
    assert t_axis.get_ylabel() == "paired t"


def _vlines_at(ax):
    return [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_r_range_figure_shades_the_reconstructions_and_marks_the_cap(plt, r_rows):
    fig = figures.r_range_figure(r_rows, (0.12, 0.64), 0.87, "75%")
    for ax in fig.axes[:2]:
        span = next(p for p in ax.patches if p.get_label() == "r of the reconstructed cohorts")
        assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((0.12, 0.64))
        assert _vlines_at(ax) == [0.87]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "largest r the 75% allows" in labels
    # No line when the count caps nothing (None) or only above r = 1.
    for r_max in (None, 1.2):
        fig = figures.r_range_figure(r_rows, (0.12, 0.64), r_max, "75%")
        assert all(_vlines_at(ax) == [] for ax in fig.axes[:2])


# --------------------------------------------------------------------------- reconstruction_figure
@pytest.fixture()
def spread():
    # Five cohorts of 10 patients (df = 9), so shares of patients are multiples of 10%.
    return pd.DataFrame(
        {
            "d_z": [1.2, 1.5, 1.9, 2.4, 2.0],
            "pct_reliable_improvement": [60.0, 70.0, 60.0, 60.0, 80.0],
            "n_psychotherapy": [4, 5, 6, 4, 5],
            "psychotherapy_d": [0.42, 0.41, 0.43, 0.42, 0.42],
            "psychotherapy_d_ci_low": [-0.8, -0.7, -0.6, -0.8, -0.7],
            "psychotherapy_d_ci_high": [1.6, 1.5, 1.5, 1.6, 1.5],
            "df": [9] * 5,
        }
    )


def test_reconstruction_figure_counts_cohorts(plt, spread):
    fig = figures.reconstruction_figure(spread)
    hist, shares, therapy = fig.axes
    assert sum(p.get_height() for p in hist.patches) == 5
    # One bar per share: 60% in three cohorts, 70% and 80% in one each; bars 0.8 of 10 points wide.
    bars = {round(p.get_x() + p.get_width() / 2, 9): p.get_height() for p in shares.patches}
    assert bars == {60.0: 3, 70.0: 1, 80.0: 1}
    assert {round(p.get_width(), 9) for p in shares.patches} == {8.0}


def test_reconstruction_figure_draws_each_psychotherapy_interval(plt, spread):
    therapy = figures.reconstruction_figure(spread).axes[2]
    dots = next(line for line in therapy.get_lines() if line.get_marker() == "o")
    assert np.array_equal(dots.get_xdata(), spread["n_psychotherapy"])
    assert np.array_equal(dots.get_ydata(), spread["psychotherapy_d"])
    [intervals] = therapy.collections
    segments = [tuple(map(tuple, seg)) for seg in intervals.get_segments()]
    expected = [
        ((n, lo), (n, hi))
        for n, lo, hi in zip(
            spread["n_psychotherapy"], spread["psychotherapy_d_ci_low"], spread["psychotherapy_d_ci_high"]
        )
    ]
    assert segments == expected
    assert any(np.array_equal(line.get_ydata(), [0, 0]) for line in therapy.get_lines())  # the zero line
