"""Figures of the "Reproducing the paper" chapter, the book's shared theme, and how every figure is shown.

Each test reads back what was drawn (line data, bar heights, shaded spans) and compares it with values
computed here from the inputs, not with what the figure function computed.
"""

import functools
import math

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.analysis import summary_effects
from ketamine_ptsd.presentation import figures


def test_pyplot_with_theme_sets_the_colour_blind_palette(plt):
    import matplotlib.colors as mcolors
    import seaborn as sns

    pyplot, seaborn = figures.pyplot_with_theme()
    assert pyplot is plt and seaborn is sns
    cycle = [c["color"] for c in plt.rcParams["axes.prop_cycle"]]
    assert [mcolors.to_hex(c) for c in cycle] == [c.lower() for c in figures.PALETTE]
    assert plt.rcParams["axes.grid"]  # seaborn's "whitegrid"


# --------------------------------------------------------------------------- r_range_figure
@pytest.fixture()
def r_rows():
    # The published means with the preprint SDs, plus a row implied by a reported t, which is not drawn.
    return summary_effects.r_range_for(52.54, 11.90, 28.78, 16.52, 117, reported_t=20.0)


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


# --------------------------------------------------------------------------- every figure of the book
def _cohort(n: int) -> pd.DataFrame:
    from ketamine_ptsd.analysis import stats
    from ketamine_ptsd.data.synthetic import synthetic_cohort

    return stats.completers(synthetic_cohort(n, seed=3))


def _limitation_figure(name: str):
    from ketamine_ptsd.analysis import limitations as L
    from ketamine_ptsd.data.references import load_benchmarks
    from ketamine_ptsd.presentation import limitation_figures as LF

    done = _cohort(117)
    if name == "forest_plot":
        return LF.forest_plot(L.forest_rows({"d_av": 1.6, "ci_low": 1.3, "ci_high": 1.9}, load_benchmarks()))
    if name == "rtm_grid_plot":
        grid = L.rtm_grid([35, 40, 47, 55], [0.7, 0.82, 0.9], [10, 15, 20], observed_mean_change=23.8)
        return LF.rtm_grid_plot(grid, 47, 15, 0.82)
    if name == "followup_histogram":
        return LF.followup_histogram(done["days_between"].to_numpy(dtype=float), 35)
    return LF.change_vs_followup(L.followup_points(done), L.lowess_curve(done), 35)


def _robustness_figure(name: str):
    from ketamine_ptsd import parameters
    from ketamine_ptsd.analysis import bias, multiverse
    from ketamine_ptsd.data.references import load_benchmarks
    from ketamine_ptsd.data.synthetic import synthetic_cohort
    from ketamine_ptsd.presentation import robustness_figures as RF

    cohort = synthetic_cohort(117, seed=3)
    if name in ("bias_steps", "bias_tipping"):
        params = dict(parameters.DEFAULTS, bias_draws=2000)
        result = bias.bias_analysis(cohort, load_benchmarks(), params, 5)
        if name == "bias_tipping":
            return RF.bias_tipping(result["draws"], result["bias_sd_points"], 10, 0.95)
        return RF.bias_steps(result["stacked"], 10, 0.95)
    table = multiverse.multiverse(
        cohort,
        remission_cutoffs=[31, 32, 33],
        mcids=[10, 15, 20],
        response_fractions=[0.3, 0.5],
        reliabilities=[0.82, 0.84],
        entry_thresholds=[0, 33],
        rci_sd=None,
        marx_reliable_change=15,
        marx_end_score=28,
        mi_imputations=3,
        mi_seed=1,
        ci_level=0.95,
        min_cell=5,
    )
    return RF.specification_curve(table, "remission", 60, "over 60% remitted")


def test_bias_tipping_draws_its_lines_where_the_median_reaches_zero_and_the_mcid(plt):
    from matplotlib.contour import ContourSet

    from ketamine_ptsd.presentation import robustness_figures as RF

    rng = np.random.default_rng(4)
    draws = pd.DataFrame(
        {
            "observed": rng.normal(24, 1.4, 4000),
            "dropout": 0.0,
            "rtm": rng.uniform(0.2, 2.8, 4000),
            "placebo": 14.4 * rng.normal(1.18, 0.13, 4000),
        }
    )
    fig = RF.bias_tipping(draws, 14.4, 10, 0.95)
    (lines,) = [c for c in fig.axes[0].collections if isinstance(c, ContourSet) and len(c.levels) == 2]
    before = np.median(draws["observed"] - draws["dropout"])
    for level, segments in zip(lines.levels, lines.allsegs):
        x, y = np.concatenate(segments).T
        # the plane before - rtm - 14.4 d: at each point of the line, what is left equals the level
        np.testing.assert_allclose(before - y - 14.4 * x, level, atol=1e-6)


LIMITATION_FIGURES = ("forest_plot", "rtm_grid_plot", "followup_histogram", "change_vs_followup")


def _durability_figure(name: str):
    from statsmodels.duration.survfunc import SurvfuncRight

    from ketamine_ptsd.presentation import durability_figures as DF

    if name == "trajectory":
        return DF.trajectory(_trajectory_table(), 0.95)
    return DF.loss_of_response_curve(SurvfuncRight([30, 60, 90, 120, 200], [1, 0, 1, 1, 0]), 90)


def _trajectory_table() -> pd.DataFrame:
    """Every time the durability chapter can show, with the default windows: seven labels side by side."""
    times = ["before treatment", "interim", "after treatment", "0-30 days after", "30-90 days after",
             "90-180 days after", "180-365 days after"]  # fmt: skip
    means = np.array([52.5, 40.0, 28.8, 31.0, 33.5, 35.0, 37.0])
    return pd.DataFrame({"time": times, "n": [117, 90, 117, 40, 35, 30, 25], "mean": means,
                         "ci_low": means - 3, "ci_high": means + 3})  # fmt: skip


def test_trajectory_labels_do_not_run_into_each_other(plt):
    from ketamine_ptsd.presentation import durability_figures as DF

    fig = DF.trajectory(_trajectory_table(), 0.95)
    fig.canvas.draw()
    boxes = [label.get_window_extent() for label in fig.axes[0].get_xticklabels()]
    assert len(boxes) == 7
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))


def _spread():
    from ketamine_ptsd.analysis import reconstruction

    rec = reconstruction.reconstruct_many(3, 5)
    return reconstruction.reconstruction_statistics(rec)


#: An example call of every figure function the book uses, by its name in :data:`figures.REGISTRY` (a label
#: after "|" names a second case of the same function).
EXAMPLES = {
    "ketamine_ptsd.presentation.figures:paired_scores": lambda: figures.paired_scores(_cohort(117), 33),
    "ketamine_ptsd.presentation.figures:paired_scores|large cohort": lambda: figures.paired_scores(
        _cohort(figures.MAX_POINTS + 1), 33
    ),
    "ketamine_ptsd.presentation.figures:change_distribution": lambda: figures.change_distribution(
        _cohort(117), 10, 14.0
    ),
    "ketamine_ptsd.presentation.figures:change_distribution|large cohort": lambda: figures.change_distribution(
        _cohort(figures.MAX_POINTS + 1), 10
    ),
    "ketamine_ptsd.presentation.figures:change_by_group": lambda: figures.change_by_group(
        _cohort(117), "psychotherapy", {True: "with psychotherapy", False: "without"}
    ),
    "ketamine_ptsd.presentation.figures:r_range_figure": lambda: figures.r_range_figure(
        summary_effects.r_range_for(52.54, 11.90, 28.78, 16.52, 117), (0.1, 0.6), 0.87, "75%"
    ),
    "ketamine_ptsd.presentation.figures:reconstruction_figure": lambda: figures.reconstruction_figure(_spread()),
    **{
        f"ketamine_ptsd.presentation.limitation_figures:{name}": functools.partial(_limitation_figure, name)
        for name in LIMITATION_FIGURES
    },
    **{
        f"ketamine_ptsd.presentation.robustness_figures:{name}": functools.partial(_robustness_figure, name)
        for name in ("specification_curve", "bias_steps", "bias_tipping")
    },
    **{
        f"ketamine_ptsd.presentation.durability_figures:{name}": functools.partial(_durability_figure, name)
        for name in ("trajectory", "loss_of_response_curve")
    },
}


def test_every_figure_function_has_an_example():
    """The registry :func:`figures.kept` fills, with every presentation module imported, lists the book's
    figure functions: a new one without an example here fails, instead of going unchecked."""
    import importlib
    import pkgutil

    from ketamine_ptsd import presentation

    for module in pkgutil.walk_packages(presentation.__path__, presentation.__name__ + "."):
        importlib.import_module(module.name)
    assert set(figures.REGISTRY) == {name.split("|")[0] for name in EXAMPLES}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_figure_fits_in_its_own_size(plt, name):
    """A notebook shows a figure at its own size (no tight bounding box that would grow it), so its function
    must lay it out to fit: nothing drawn (labels, legends outside the axes) may reach past its edges. And
    it leaves no layout engine behind, which would make every save draw the figure twice."""
    fig = EXAMPLES[name]()
    assert fig.get_layout_engine() is None
    fig.canvas.draw()
    drawn = fig.get_tightbbox()  # inches
    width, height = fig.get_size_inches()
    slack = 0.01
    assert drawn.x0 >= -slack and drawn.y0 >= -slack, (name, drawn)
    assert drawn.x1 <= width + slack and drawn.y1 <= height + slack, (name, drawn, (width, height))


def test_in_a_notebook_a_figure_is_shown_as_svg_at_its_own_size_and_drawn_once(plt, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.chdir(tmp_path)  # kept figures go to a folder relative to the working directory
    draw = figures.change_distribution.__wrapped__
    drawn = []
    monkeypatch.setattr(figures.change_distribution, "__wrapped__", lambda *a: drawn.append(a) or draw(*a))
    done = _cohort(117)
    InteractiveShell.instance()
    try:
        with capture_output() as first:
            assert figures.change_distribution(done, 10) is None
        with capture_output() as again:
            figures.change_distribution(done, 10)
        with capture_output() as other:
            figures.change_distribution(done, 15)
    finally:
        InteractiveShell.clear_instance()
    # The same arguments and code: shown from what the first call kept, not drawn again.
    assert len(drawn) == 2
    [shown] = first.outputs
    assert again.outputs[0].data == shown.data != other.outputs[0].data
    assert set(shown.data) == {"image/svg+xml", "text/plain"}
    fig = draw(done, 10)
    assert shown.data["text/plain"] == repr(fig)
    # The figure's own size, in points: no tight bounding box, which would lay it out a second time.
    width, height = fig.get_size_inches() * 72
    svg = shown.data["image/svg+xml"]
    assert f'width="{width:g}pt" height="{height:g}pt"' in svg
    # No date and element ids that depend on the figure alone: drawn again, the same text.
    assert figures._shown("ketamine_ptsd.presentation.figures:change_distribution", (done, 10), {}) == shown.data


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_no_two_labels_of_a_figure_overlap(plt, name):
    """Tick labels, titles, axis labels, legend entries and annotations: no two of a figure's texts share
    more than a pixel, in either direction."""
    import itertools

    from matplotlib.text import Text

    fig = EXAMPLES[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    clashes = [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1
        and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1
    ]
    assert clashes == [], name


#: Smallest CAM02-UCS colour difference between two series of one figure, as a reader with deuteranopia or
#: protanopia sees them (colorspacious's simulation at full severity). 20 keeps adjacent marks apart at a glance;
#: seaborn's "colorblind" palette put its orange and vermilion 11 apart, its green and brown 6.
MIN_DELTA_E = 20
#: Below this CAM02 chroma a colour is grey, black or white: reference lines and frames, not a series.
GREY_CHROMA = 12


def _series_colours(fig) -> set[tuple[float, float, float]]:
    """The chromatic colours of every data-carrying artist (lines, markers, bars, bands, violins, points);
    colour maps (2-D histograms, contours) and the legend's own copies are left out."""
    import matplotlib.colors as mcolors
    from colorspacious import cspace_convert
    from matplotlib.collections import Collection, QuadMesh
    from matplotlib.contour import ContourSet
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    found = []
    for ax in fig.axes:
        for artist in ax.get_children():
            if not artist.get_visible() or artist is ax.patch:
                continue
            if isinstance(artist, Line2D):
                found += [artist.get_color(), artist.get_markerfacecolor()]
            elif isinstance(artist, Collection) and not isinstance(artist, (QuadMesh, ContourSet)):
                if artist.get_array() is None:  # colours from data values are a colour map
                    found += [*artist.get_facecolors(), *artist.get_edgecolors()]
            elif isinstance(artist, Patch):
                found.append(artist.get_facecolor())
    colours = set()
    for colour in found:
        if isinstance(colour, str) and colour.lower() == "none" or mcolors.to_rgba(colour)[3] == 0:
            continue
        rgb = tuple(round(c, 4) for c in mcolors.to_rgb(colour))
        if cspace_convert(rgb, "sRGB1", "JCh")[1] >= GREY_CHROMA:
            colours.add(rgb)
    return colours


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_series_stay_apart_for_readers_with_red_green_colour_blindness(plt, name):
    import itertools

    from colorspacious import cspace_convert

    fig = EXAMPLES[name]()
    fig.canvas.draw()
    close = []
    for deficiency in ("deuteranomaly", "protanomaly"):
        seen = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        for a, b in itertools.combinations(sorted(_series_colours(fig)), 2):
            ja, jb = (
                cspace_convert(np.clip(cspace_convert(c, seen, "sRGB1"), 0, 1), "sRGB1", "CAM02-UCS") for c in (a, b)
            )
            if (delta := float(np.linalg.norm(ja - jb))) < MIN_DELTA_E:
                close.append((deficiency, a, b, round(delta, 1)))
    assert close == [], name


def test_the_series_check_finds_seaborns_orange_beside_its_vermilion(plt):
    """The check above can fail: the pair the editor could not tell apart (Fig 8) is caught."""
    import seaborn as sns

    fig, ax = plt.subplots()
    orange, vermilion = sns.color_palette("colorblind")[1], sns.color_palette("colorblind")[3]
    ax.plot([0, 1], [0, 1], color=orange)
    ax.plot([0, 1], [1, 0], color=vermilion)
    assert len(_series_colours(fig)) == 2
    with pytest.raises(AssertionError):
        EXAMPLES["_probe"] = lambda: fig
        try:
            test_series_stay_apart_for_readers_with_red_green_colour_blindness(plt, "_probe")
        finally:
            del EXAMPLES["_probe"]


def _data_points(ax):
    """Display coordinates of what an axes draws from data: line vertices, marker and bar corners, band outlines."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    points = []
    for artist in ax.get_children():
        if not artist.get_visible() or artist is ax.patch:
            continue
        if isinstance(artist, Line2D) and len(artist.get_xydata()):
            xy = artist.get_xydata()
            # Reference lines drawn across the axes (axhline, axvline) are not data a legend could hide.
            if artist.get_transform() is not ax.transData:
                continue
            points.append(ax.transData.transform(xy))
        elif isinstance(artist, Collection):
            for path in artist.get_paths():
                points.append(artist.get_transform().transform(path.vertices))
            if len(artist.get_offsets()):
                points.append(artist.get_offset_transform().transform(artist.get_offsets()))
        elif isinstance(artist, Patch) and artist.get_transform() is not ax.transAxes:
            points.append(artist.get_transform().transform(artist.get_path().vertices))
    return np.concatenate(points) if points else np.empty((0, 2))


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_no_legend_covers_data(plt, name):
    fig = EXAMPLES[name]()
    fig.canvas.draw()
    covered = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent()
        points = _data_points(ax)
        inside = points[
            (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
        ]
        if len(inside):
            covered.append((ax.get_title() or ax.get_ylabel(), len(inside)))
    assert covered == [], name


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_figure_text_is_in_the_house_style(plt, name):
    """Every title, label, tick label and legend entry as the reader sees it: no name from the code, no
    hyphen for a minus or a range, no ASCII comparison, no e-notation (the checks of the book's text)."""
    from matplotlib.text import Text

    from .reader_text import defects

    fig = EXAMPLES[name]()
    fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and "$" not in t.get_text()]
    assert [d for text in texts for d in defects(text)] == [], name
