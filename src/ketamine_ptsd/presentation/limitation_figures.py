"""Figures of the "Limitations" chapter. Like :mod:`ketamine_ptsd.presentation.figures`, they draw aggregates or
unlabelled marks, never a patient's identifier, and above :data:`ketamine_ptsd.presentation.figures.MAX_POINTS`
patients they draw summaries instead of one mark per patient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketamine_ptsd.presentation import figures

#: Marker per instrument, so PCL-5 (self-report) and CAPS-5 (clinician-rated) effects are told apart
#: without relying on colour.
INSTRUMENT_MARKERS = {"PCL-5": "o", "CAPS-5": "s", "mixed": "D", "not stated": "^"}
#: Order of the forest plot's groups, top to bottom.
KIND_ORDER = ("this cohort", "within-group active arm", "within-group control arm", "between-group")


@figures.kept
def forest_plot(rows: pd.DataFrame):
    """This cohort's within-group effect beside published within- and between-group effects.

    ``rows`` comes from :func:`ketamine_ptsd.analysis.limitations.forest_rows`. Colour gives the kind of effect,
    the marker and the bracketed label give the instrument; effects without a published interval are drawn
    as hollow markers.
    """
    plt, sns = figures.pyplot_with_theme()
    colors = sns.color_palette(figures.PALETTE)
    kind_color = dict(zip(KIND_ORDER, (colors[3], colors[0], colors[1], colors[2])))
    rows = rows[rows["value"].notna()].copy()
    rows["order"] = rows["kind"].map({k: i for i, k in enumerate(KIND_ORDER)})
    rows = rows.sort_values("order", kind="stable").reset_index(drop=True)
    # One blank line between groups keeps within- and between-group effects visibly apart.
    y, positions, previous = 0.0, [], None
    for kind in rows["kind"]:
        if previous is not None and kind != previous:
            y += 0.8
        positions.append(y)
        y += 1
        previous = kind
    rows["y"] = positions
    fig, ax = plt.subplots(figsize=(11, 0.42 * y + 1.6))
    for row in rows.itertuples():
        color = kind_color.get(row.kind, "grey")
        marker = INSTRUMENT_MARKERS.get(row.instrument, "o")
        has_ci = row.ci_low is not None and row.ci_high is not None and not pd.isna(row.ci_low)
        if has_ci:
            ax.plot([row.ci_low, row.ci_high], [row.y, row.y], color=color, linewidth=2)
        ax.plot(
            row.value,
            row.y,
            marker=marker,
            markersize=8,
            linestyle="none",
            color=color,
            markerfacecolor=color if has_ci else "white",
            markeredgewidth=1.5,
        )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(
        rows["y"], [figures.figure_text(f"{lbl} [{ins}]") for lbl, ins in zip(rows["label"], rows["instrument"])]
    )
    ax.invert_yaxis()
    ax.set_xlabel("standardised effect (Cohen's d or Hedges' g)")
    ax.set_title("How much scores fell (within) and how much more than control (between)")
    from matplotlib.lines import Line2D

    kinds = [Line2D([], [], color=kind_color[k], linewidth=2, label=k) for k in KIND_ORDER if k in set(rows["kind"])]
    instruments = [
        Line2D([], [], color="black", marker=m, linestyle="none", label=i, markerfacecolor="black")
        for i, m in INSTRUMENT_MARKERS.items()
        if i in set(rows["instrument"])
    ]
    hollow = [
        Line2D(
            [], [], color="black", marker="o", linestyle="none", markerfacecolor="white", label="no interval published"
        )
    ]
    # Outside the axes: no position inside is free of markers for every benchmark file.
    ax.legend(handles=kinds + instruments + hollow, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    return figures.fitted(fig)


@figures.kept
def rtm_grid_plot(grid: pd.DataFrame, population_mean: float, population_sd: float, reliability: float):
    """Expected regression to the mean across assumed populations and reliabilities.

    ``grid`` comes from :func:`ketamine_ptsd.analysis.limitations.rtm_grid`; one panel per population SD, one line
    per reliability. The y axis is the share of the observed mean change when the grid has it, else points.
    The build's own assumptions are marked with a star.
    """
    plt, sns = figures.pyplot_with_theme()
    from matplotlib.lines import Line2D

    y = "pct_of_observed_change" if "pct_of_observed_change" in grid else "rtm_expected_change"
    sds = sorted(grid["population_sd"].unique())
    rhos = sorted(grid["reliability"].unique())
    colors = sns.color_palette(figures.PALETTE, n_colors=len(rhos))
    markers = "osD^v<>ph"
    fig, axes = plt.subplots(1, len(sds), figsize=(3.4 * len(sds) + 1.8, 3.8), sharey=True, squeeze=False)
    for ax, sd in zip(axes[0], sds):
        for i, rho in enumerate(rhos):
            sub = grid[(grid["population_sd"] == sd) & (grid["reliability"] == rho)].sort_values("population_mean")
            ax.plot(sub["population_mean"], sub[y], color=colors[i], marker=markers[i % len(markers)], markersize=4)
        if np.isclose(sd, population_sd):
            hit = grid[
                np.isclose(grid["population_sd"], sd)
                & np.isclose(grid["population_mean"], population_mean)
                & np.isclose(grid["reliability"], reliability)
            ]
            ax.plot(hit["population_mean"], hit[y], marker="*", markersize=16, color="black", linestyle="none")
        ax.set_title(f"population SD {sd:g}")
        ax.set_xlabel("assumed population mean PCL-5")
    axes[0][0].set_ylabel(
        "% of the observed mean change" if y == "pct_of_observed_change" else "expected drop (points)"
    )
    handles = [
        Line2D([], [], color=colors[i], marker=markers[i % len(markers)], markersize=4, label=f"r = {rho:.2f}")
        for i, rho in enumerate(rhos)
    ]
    handles.append(
        Line2D([], [], color="black", marker="*", markersize=12, linestyle="none", label="this build's assumptions")
    )
    fig.legend(handles=handles, title="test-retest r", loc="center right", fontsize="small")
    return figures.fitted(fig, rect=(0, 0, 0.82, 1))


@figures.kept
def followup_histogram(days: np.ndarray, median: float | None = None):
    """Distribution of days between the two assessments (a histogram, at any cohort size)."""
    plt, sns = figures.pyplot_with_theme()
    colors = sns.color_palette(figures.PALETTE)
    days = np.asarray(days, dtype=float)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    span = np.ptp(days) if days.size else 0
    bins = int(min(60, max(5, span + 1)))  # whole days for short spans, at most 60 bars
    ax.hist(days, bins=bins, color=colors[0])
    if median is not None:
        ax.axvline(median, color="black", linestyle="--", linewidth=1.2, label=f"median ({median:g} days)")
        ax.legend(loc="upper right")
    ax.set_xlabel("days between assessments (days_between)")
    ax.set_ylabel("completers")
    ax.set_title("Time from the PCL-5 before treatment to the one after")
    return figures.fitted(fig)


@figures.kept
def change_vs_followup(points: pd.DataFrame, curve: pd.DataFrame, split_days: float | None = None):
    """Change in PCL-5 against days between assessments, with a smoothed curve.

    ``points`` from :func:`ketamine_ptsd.analysis.limitations.followup_points`, ``curve`` from
    :func:`ketamine_ptsd.analysis.limitations.lowess_curve`. Up to ``figures.MAX_POINTS`` completers each is a dot;
    above it the curve's bin means are drawn, sized by the number of completers in each bin.
    """
    plt, sns = figures.pyplot_with_theme()
    colors = sns.color_palette(figures.PALETTE)
    fig, ax = plt.subplots(figsize=(8, 4))
    if len(points) <= figures.MAX_POINTS:
        ax.scatter(points["days"], points["change"], s=18, alpha=0.6, color=colors[0], label="completer")
    else:
        size = 200 * curve["n"] / curve["n"].max()
        ax.scatter(
            curve["days"],
            curve["mean_change"],
            s=size,
            alpha=0.7,
            color=colors[0],
            label="mean change in a bin of follow-up times (area ~ completers)",
        )
    if len(curve):
        ax.plot(curve["days"], curve["change_smooth"], color=colors[3], linewidth=2.5, label="local linear smooth")
    if split_days is not None:
        ax.axvline(split_days, color="black", linestyle="--", linewidth=1, label=f"median split ({split_days:g} days)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("days between assessments (days_between)")
    ax.set_ylabel("change in PCL-5 (pre - post)")
    ax.set_title("Did patients followed longer change more?")
    ax.legend(loc="best", fontsize="small")
    return figures.fitted(fig)
