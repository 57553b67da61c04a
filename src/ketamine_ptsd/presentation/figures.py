"""The report's figures. Each draws aggregates or unlabelled marks, never a patient's identifier.

Above :data:`MAX_POINTS` patients a figure switches from one mark per patient to a summary
(binned densities), which stays readable and costs the same at a million patients as at ten thousand.
"""

from __future__ import annotations

import functools
import importlib

import numpy as np
import pandas as pd

#: Most patients drawn one mark each; above it figures show binned summaries.
MAX_POINTS = 2000
#: The series colours, in order: Paul Tol's high-contrast scheme (dark blue, ochre, rose) and his cyan. Any two
#: stay apart for readers with deuteranopia or protanopia (CAM02-UCS ΔE above 25 simulated by colorspacious;
#: seaborn's "colorblind" put its orange and vermilion, and its green and brown, within 15). Grey and black are
#: for reference lines, never for a series.
PALETTE = ["#004488", "#DDAA33", "#BB5566", "#66CCEE"]
#: How a notebook shows a figure: as SVG, sharp at any zoom on the page and in the PDF printed from it, and
#: at the figure's own size, which its function has laid it out to fit (:func:`fitted`): IPython's default
#: tight bounding box would lay the figure out and draw it a second time. No date: a rebuild is byte-identical.
SHOWN_AS = {"bbox_inches": None, "metadata": {"Date": None}}


def pyplot_with_theme():
    """Matplotlib's pyplot and seaborn, with the book's theme set.

    Every figure of the book starts here, so all share one style and one colour-blind-safe palette, and in
    a notebook are shown as :data:`SHOWN_AS` says.

    Returns
    -------
    plt : module
        ``matplotlib.pyplot``.
    sns : module
        ``seaborn``; ``sns.color_palette(PALETTE)`` gives the book's colours.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from IPython import get_ipython

    # A fixed salt makes the SVG's element ids a function of the figure alone (random otherwise).
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook", rc={"svg.hashsalt": "ketamine-ptsd"})
    shell = get_ipython()
    if shell is not None:
        from IPython.core.pylabtools import select_figure_formats
        from matplotlib_inline.backend_inline import InlineBackend

        # The inline backend's settings too: a kernel's first figure activates the backend, which then
        # selects the formats they name.
        inline = InlineBackend.instance()
        inline.print_figure_kwargs = SHOWN_AS
        inline.figure_formats = {"svg"}
        select_figure_formats(shell, "svg", **SHOWN_AS)
    return plt, sns


#: Every figure function of the book by ``module:name``, filled by :func:`kept`: the tests lay out each one.
REGISTRY: dict = {}


def kept(function):
    """Decorates a figure function: in a notebook, its figure is drawn once per arguments and code, and kept
    between builds (:func:`ketamine_ptsd.engine.memo.cached`).

    A notebook runs again whenever any of its inputs changed, most of which a given figure does not use (a
    parameter of another analysis, a new reference file): the figure is then shown from what was kept, as
    the inline backend would have shown it (the SVG :data:`SHOWN_AS` describes, and the figure as text), and
    the function returns None. Outside a notebook it returns the figure.
    """

    @functools.wraps(function)
    def figure_or_shown(*args, **kwargs):
        from IPython import get_ipython

        if get_ipython() is None:
            return function(*args, **kwargs)
        from IPython.display import display

        from ketamine_ptsd.engine import memo

        name = f"{function.__module__}:{function.__qualname__}"
        shown = memo.cached(_shown, name, args, kwargs, code=(function.__module__,))
        if shown is not None:
            display(shown, raw=True)

    REGISTRY[f"{function.__module__}:{function.__qualname__}"] = figure_or_shown
    return figure_or_shown


def _shown(name: str, args: tuple, kwargs: dict) -> dict | None:
    """What a notebook shows for the figure function ``name`` (``module:function``) called with these
    arguments: its figure as SVG and as text (None when it draws nothing)."""
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    module, qualname = name.split(":")
    fig = getattr(importlib.import_module(module), qualname).__wrapped__(*args, **kwargs)
    if fig is None:
        return None
    shown = {"image/svg+xml": print_figure(fig, "svg", **SHOWN_AS), "text/plain": repr(fig)}
    plt.close(fig)
    return shown


def fitted(fig, **tight_layout):
    """``fig`` laid out once to fit its own size (``Figure.tight_layout(**tight_layout)``), then left without
    a layout engine: with one set (``tight_layout`` leaves a placeholder behind), saving a figure draws it
    twice, a dry run for the engine and then for real.

    Every figure function of the book returns through here, so showing a figure draws it exactly once.
    """
    from matplotlib.text import Text

    # Every title, label and legend entry in the house style (numeric ticks have a true minus already; tick labels
    # given as text are set again at each draw, so a figure passes those through figure_text itself).
    for text in fig.findobj(Text):
        text.set_text(figure_text(text.get_text()))
    fig.tight_layout(**tight_layout)
    fig.set_layout_engine(None)
    return fig


#: Where a legend goes when the data fill its axes: under them, beside the x label, never over a mark.
BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "frameon": False}


def figure_text(text: str) -> str:
    """A figure's label in the house style (:func:`~ketamine_ptsd.presentation.prose.typeset`), with the
    glossary's names for statistics (as mathtext), outcomes and columns; mathtext already written is left alone.

    >>> print(figure_text("d_av >= 0.8"), "|", figure_text("clinically_significant"))
    $d_{\\mathrm{av}}$ ≥ 0.8 | clinically significant change
    """
    from ketamine_ptsd.presentation import glossary, prose

    if "$" in text:
        return text
    if text in glossary.TERMS:
        return glossary.mathtext(text)
    # A figure has no code type: a name there is the glossary's (a name it lacks is left for the tests to find).
    return "".join(
        glossary.mathtext(p) if kind != "text" and p in glossary.TERMS else p
        for kind, p in prose.names(prose.typeset(text))
    )


def _violins(ax, long: pd.DataFrame, sns) -> None:
    """The two totals' distributions, with quartile lines white edged in black: they read on the dark fill and
    on the light one alike."""
    from matplotlib import patheffects

    sns.violinplot(
        data=long,
        x="time",
        y="PCL-5 total",
        hue="time",
        ax=ax,
        inner="quart",
        inner_kws={
            "color": "white",
            "linewidth": 1.4,
            "path_effects": [patheffects.withStroke(linewidth=2.8, foreground="black")],
        },
        cut=0,
        legend=False,
        saturation=1,
    )


@kept
def paired_scores(done: pd.DataFrame, remission_cutoff: float | None = None):
    """Left: each patient's line from ``pcl5_pre`` to ``pcl5_post`` (or a 2-D histogram for large cohorts).
    Right: the distribution of the two totals."""
    plt, sns = pyplot_with_theme()
    colors = sns.color_palette(PALETTE)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    pre = done["pcl5_pre"].to_numpy(dtype="float64")
    post = done["pcl5_post"].to_numpy(dtype="float64")
    if len(done) <= MAX_POINTS:
        segments = np.stack(
            [np.column_stack([np.zeros_like(pre), pre]), np.column_stack([np.ones_like(post), post])], 1
        )
        from matplotlib.collections import LineCollection

        left.add_collection(LineCollection(segments, colors=[colors[0]], alpha=0.25, linewidths=1))
        left.plot([0, 1], [pre.mean(), post.mean()], color=colors[3], linewidth=3, marker="o", label="mean")
        left.set_xlim(-0.15, 1.15)
        left.set_xticks([0, 1], ["before", "after"])
        left.legend(**BELOW)
        left.set_title("Each patient's PCL-5, before and after")
    else:
        bins = np.arange(-0.5, 81.5, 2)
        hist = left.hist2d(pre, post, bins=[bins, bins], cmap="viridis", cmin=1)
        fig.colorbar(hist[3], ax=left, label="patients")
        left.plot([0, 80], [0, 80], color="white", linewidth=1, linestyle="--")
        left.set_xlabel("PCL-5 before (pcl5_pre)")
        left.set_title("Patients by PCL-5 before and after")
    left.set_ylabel("PCL-5 total (0-80)")
    left.set_ylim(0, 80)
    if len(done) <= MAX_POINTS:
        long = pd.DataFrame(
            {"PCL-5 total": np.concatenate([pre, post]), "time": ["before"] * len(pre) + ["after"] * len(post)}
        )
        _violins(right, long, sns)
        right.set_ylim(0, 80)
        right.set_xlabel("")
        cutoff_line = right.axhline
    else:
        # A kernel density over a million points is slow and adds nothing: totals are integers 0-80.
        bins = np.arange(-0.5, 81.5, 2)
        for values, label, colour in ((pre, "before", colors[0]), (post, "after", colors[1])):
            right.hist(
                values,
                bins=bins,
                weights=np.full(len(values), 100 / len(values)),
                histtype="step",
                linewidth=2,
                color=colour,
                label=label,
            )
        right.set_xlabel("PCL-5 total")
        right.set_ylabel("% of completers")
        cutoff_line = right.axvline
    if remission_cutoff is not None:
        cutoff_line(
            remission_cutoff,
            color=colors[2],
            linestyle="--",
            linewidth=1.5,
            label=f"remission cutoff ({remission_cutoff:g})",
        )
    if remission_cutoff is not None or len(done) > MAX_POINTS:
        right.legend(**BELOW, ncol=2)
    right.set_title("Distribution of PCL-5 totals")
    return fitted(fig)


@kept
def change_distribution(done: pd.DataFrame, mcid: float, reliable_change_threshold: float | None = None):
    """Each patient's change, sorted (a waterfall), or a histogram of change for large cohorts."""
    plt, sns = pyplot_with_theme()
    colors = sns.color_palette(PALETTE)
    fig, ax = plt.subplots(figsize=(10, 4))
    change = np.sort(done["change"].to_numpy(dtype="float64"))[::-1]
    if len(change) <= MAX_POINTS:
        ax.bar(np.arange(len(change)), change, width=1.0, color=[colors[0] if c >= mcid else colors[1] for c in change])
        ax.set_xlabel("patients, sorted by change")
        ax.set_xticks([])
        ax.set_ylabel("change in PCL-5 (pre - post)")
        line = ax.axhline
    else:
        ax.hist(change, bins=np.arange(-80.5, 81.5, 1), color=colors[0])
        ax.set_xlabel("change in PCL-5 (pre - post)")
        ax.set_ylabel("patients")
        line = ax.axvline
    line(mcid, color="black", linestyle="--", linewidth=1.2, label=f"clinically significant ({mcid:g} points)")
    if reliable_change_threshold is not None:
        line(
            reliable_change_threshold,
            color=colors[2],
            linestyle=":",
            linewidth=1.5,
            label=f"reliable change ({reliable_change_threshold:.1f} points)",
        )
    line(0, color="grey", linewidth=0.8)
    ax.legend(loc="upper right")
    ax.set_title("Change in PCL-5 for every completer (positive = improvement)")
    return fitted(fig)


@kept
def change_by_group(done: pd.DataFrame, column: str, labels: dict):
    """Box plots of change by a grouping column (aggregates only)."""
    plt, sns = pyplot_with_theme()
    fig, ax = plt.subplots(figsize=(6, 4))
    sub = done[done[column].notna()]
    groups = [
        (label, sub.loc[sub[column] == value, "change"].to_numpy(dtype="float64")) for value, label in labels.items()
    ]
    groups = [(label, values) for label, values in groups if len(values)]
    # Box statistics from quantiles: the same picture as a box plot, at any cohort size.
    boxes = []
    for label, values in groups:
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        iqr = q3 - q1
        inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
        boxes.append(
            {
                "label": label,
                "q1": q1,
                "med": med,
                "q3": q3,
                "whislo": inside.min(),
                "whishi": inside.max(),
                "fliers": values[(values < inside.min()) | (values > inside.max())]
                if len(values) <= MAX_POINTS
                else [],
            }
        )
    ax.bxp(boxes, patch_artist=True, boxprops={"facecolor": sns.color_palette(PALETTE)[0], "alpha": 0.6})
    ax.set_xlabel("")
    ax.set_ylabel("change in PCL-5 (pre - post)")
    return fitted(fig)


@kept
def r_range_figure(r_rows: list[dict], reached: tuple[float, float], r_max: float | None = None, share: str = ""):
    """What the unreported pre-post correlation r allows, from published means and SDs.

    Left: d_z over r, with the paired t on a second axis; right: the confidence interval of the mean change
    and its midpoint (the mean change). Both panels shade the correlations the reconstructed cohorts
    reached and mark, dashed, the largest correlation a published head count allows.

    Parameters
    ----------
    r_rows : list of dict
        From :func:`ketamine_ptsd.analysis.summary_effects.r_range_for`; only the ``"grid"`` rows are drawn.
    reached : (float, float)
        Lowest and highest r of the reconstructed cohorts.
    r_max : float, optional
        Largest r the head count allows (:func:`ketamine_ptsd.analysis.claims.change_sd_bound`); no line when None
        or above 1, where it rules nothing out.
    share : str
        The published percentage behind ``r_max``, as stated (e.g. ``"75%"``), for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt, sns = pyplot_with_theme()
    colors = sns.color_palette(PALETTE)
    grid = pd.DataFrame([row for row in r_rows if row["basis"] == "grid"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for ax in (left, right):
        ax.axvspan(*reached, color=colors[2], alpha=0.15, label="r of the reconstructed cohorts")
        if r_max is not None and r_max <= 1:
            ax.axvline(r_max, color="black", linestyle="--", linewidth=1, label=f"largest r the {share} allows")
        ax.set_xlabel("pre-post correlation r (not reported)")
    left.plot(grid["r"], grid["d_z"], color=colors[0], marker="o", markersize=3)
    left.set_ylabel("d_z")
    # t = d_z * sqrt(n), and n = df + 1: the second axis is a rescaling, not a second curve.
    scale = np.sqrt(grid["df"].iloc[0] + 1)
    twin = left.secondary_yaxis("right", functions=(lambda d: d * scale, lambda t: t / scale))
    twin.set_ylabel("paired t")
    left.legend(**{**BELOW, "bbox_to_anchor": (0.5, -0.2)})
    right.fill_between(
        grid["r"],
        grid["change_ci_low"],
        grid["change_ci_high"],
        color=colors[0],
        alpha=0.35,
        label="confidence interval",
    )
    right.plot(grid["r"], (grid["change_ci_low"] + grid["change_ci_high"]) / 2, color=colors[0], label="mean change")
    right.set_ylabel("change in PCL-5 (points)")
    # The lowest y label would sit on the first x label in the panel's corner.
    from matplotlib.ticker import MaxNLocator

    right.yaxis.set_major_locator(MaxNLocator(prune="lower"))
    right.legend(**{**BELOW, "bbox_to_anchor": (0.5, -0.2)}, ncol=2)
    return fitted(fig, w_pad=2.0)  # side-by-side panels: tick labels apart


@kept
def reconstruction_figure(spread: pd.DataFrame):
    """Quantities the paper did not report, across reconstructed cohorts.

    Left: histogram of d_z; middle: how many cohorts give each share of patients with a reliable
    improvement; right: the psychotherapy d (dots) and its confidence interval (lines) against the number
    of patients with psychotherapy, one per cohort.

    Parameters
    ----------
    spread : pandas.DataFrame
        From :func:`ketamine_ptsd.analysis.reconstruction.reconstruction_statistics`, one row per cohort.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt, sns = pyplot_with_theme()
    colors = sns.color_palette(PALETTE)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].hist(spread["d_z"], bins=30, color=colors[0])
    axes[0].set_xlabel("d_z")
    # Shares of n patients take separate values: one bar per value, not bins that straddle them.
    n_patients = int(spread["df"].iloc[0]) + 1
    shares = spread["pct_reliable_improvement"].round(9).value_counts().sort_index()
    axes[1].bar(shares.index, shares.to_numpy(), width=0.8 * 100 / n_patients, color=colors[0])
    axes[1].set_xlabel("reliable improvement (% of patients)")
    axes[2].vlines(
        spread["n_psychotherapy"],
        spread["psychotherapy_d_ci_low"],
        spread["psychotherapy_d_ci_high"],
        color=colors[0],
        alpha=0.3,
    )
    axes[2].plot(spread["n_psychotherapy"], spread["psychotherapy_d"], "o", color=colors[1], markersize=3)
    axes[2].axhline(0, color="black", linewidth=1)
    axes[2].set_xlabel("patients with psychotherapy")
    axes[2].set_ylabel("psychotherapy d (dots), CI (lines)")
    axes[0].set_ylabel("reconstructed cohorts")
    return fitted(fig, w_pad=2.0)  # side-by-side panels: tick labels apart
