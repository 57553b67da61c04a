"""Figures of the "How robust is the result?" chapter: specification curves and the bias analysis.

They draw aggregates only (one estimate per specification or per step of the bias analysis), never a
patient; suppressed specifications are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ketamine_ptsd.analysis.multiverse import FAMILIES, POPULATIONS
from ketamine_ptsd.presentation import figures

_MARKERS = {"completers": "o", "itt": "s", "mi": "D"}


@figures.kept
def specification_curve(table: pd.DataFrame, family: str, reference: float | None = None, statement: str = ""):
    """One family's distinct specifications, estimates sorted with their intervals, and beneath them the options.

    ``table`` holds the multiverse rows as published (suppressed estimates are None and not drawn; a row that
    repeats an earlier one's result, ``duplicate_of``, is drawn once); ``reference`` draws the paper's
    statement as a dashed line. The lower panel has one line per option (the family's definitions, the entry
    restrictions, then the populations) and a mark where a specification takes it. None when no
    specification of the family has an estimate to draw.
    """
    rows = table[(table["family"] == family) & table["estimate"].notna() & table["duplicate_of"].isna()].copy()
    if rows.empty:
        return None
    plt, sns = figures.pyplot_with_theme()
    colors = dict(zip(POPULATIONS, sns.color_palette(figures.PALETTE)))
    rows["estimate"] = rows["estimate"].astype(float)
    rows = rows.sort_values("estimate", kind="stable").reset_index(drop=True)
    rows["entry"] = ["every patient" if t == 0 else f"pcl5_pre >= {t:g}" for t in rows["entry_threshold"]]
    definitions = list(dict.fromkeys(table.loc[table["family"] == family, "definition"]))
    definitions = [d for d in definitions if d in set(rows["definition"])]
    entries = list(dict.fromkeys(rows.sort_values("entry_threshold")["entry"]))
    populations = [p for p in POPULATIONS if p in set(rows["population"])]
    lines = [*definitions, *entries, *(POPULATIONS[p] for p in populations)]
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        # As wide as its specifications need (labels on the left, legend on the right), not a page of white.
        figsize=(min(10.0, 7.5 + 0.3 * len(rows)), 3.2 + 0.28 * len(lines)),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 0.35 * len(lines) + 0.4]},
    )
    x = np.arange(len(rows))
    for population in populations:
        sel = (rows["population"] == population).to_numpy()
        low = rows.loc[sel, "ci_low"].astype(float).to_numpy()
        high = rows.loc[sel, "ci_high"].astype(float).to_numpy()
        est = rows.loc[sel, "estimate"].to_numpy()
        top.errorbar(
            x[sel],
            est,
            yerr=[est - low, high - est],
            fmt=_MARKERS[population],
            color=colors[population],
            capsize=2,
            label=POPULATIONS[population],
        )
    if reference is not None:
        top.axhline(reference, color="black", linestyle="--", linewidth=1, label=statement or f"{reference:g}")
    top.set_ylabel(FAMILIES[family])
    # The lowest label of the top panel would meet the first line of options beneath it.
    from matplotlib.ticker import MaxNLocator

    top.yaxis.set_major_locator(MaxNLocator(prune="lower"))
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    top.set_title(family.replace("_", " ").capitalize())  # the caption says what is drawn and sorted
    for i, (column, value) in enumerate([("definition", d) for d in definitions] + [("entry", e) for e in entries]):
        hit = (rows[column] == value).to_numpy()
        bottom.plot(x[hit], np.full(int(hit.sum()), i), "s", color="black", markersize=5)
    for j, population in enumerate(populations):
        hit = (rows["population"] == population).to_numpy()
        y = len(definitions) + len(entries) + j
        bottom.plot(x[hit], np.full(int(hit.sum()), y), _MARKERS[population], color=colors[population], markersize=5)
    bottom.set_yticks(range(len(lines)), [figures.figure_text(line) for line in lines])
    bottom.set_ylim(len(lines) - 0.5, -0.5)
    bottom.set_xticks(x, [""] * len(x))
    bottom.set_xlim(-0.6, len(rows) - 0.4)  # half a step of margin: no mark on the frame
    bottom.set_xlabel("specifications, sorted by estimate")
    bottom.grid(axis="x", visible=False)
    # The one layout pass (figures are shown at their own size): room for the legend beside the top panel,
    # and the two panels close together, as they share their x axis, but not so close that their labels meet.
    return figures.fitted(fig, h_pad=1.2)


@figures.kept
def bias_steps(steps: pd.DataFrame, mcid: float | None, ci_level: float):
    """Stacked intervals: the change left after removing each bias in turn (median and interval), top to
    bottom, with the points each bias removed written beside its bar."""
    plt, sns = figures.pyplot_with_theme()
    colors = sns.color_palette(figures.PALETTE)
    # Wide enough for the long tick labels on the left and the long x label beside each other.
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(steps) + 1.6))
    y = np.arange(len(steps))
    for i, row in enumerate(steps.itertuples()):
        ax.plot([row.low, row.high], [i, i], color=colors[0], linewidth=6, solid_capstyle="butt", alpha=0.6)
        ax.plot(row.median, i, "o", color="black")
        if row.bias_median is not None and not pd.isna(row.bias_median):
            ax.annotate(
                f"-{row.bias_median:.1f} ({row.bias_low:.1f} to {row.bias_high:.1f})",
                (row.high, i),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
            )
    ax.axvline(0, color="grey", linewidth=0.8)
    if mcid is not None:
        ax.axvline(
            mcid, color="black", linestyle="--", linewidth=1, label=f"clinically significant change ({mcid:g} points)"
        )
        ax.legend(loc="upper left", fontsize="small")
    ax.set_yticks(y, [figures.figure_text("+ " + label if i else label) for i, label in enumerate(steps["label"])])
    ax.invert_yaxis()
    ax.set_xlabel(f"PCL-5 points left (median and {ci_level:.0%} simulation interval)")
    ax.set_title("Removing one bias after another from the mean change")
    left, right = ax.get_xlim()
    ax.set_xlim(min(left, -1), right + 0.35 * (right - left))
    return figures.fitted(fig)


@figures.kept
def bias_tipping(draws: pd.DataFrame, sd: float, mcid: float | None, ci_level: float):
    """Two-way tipping-point plot: the median change left (colour) for a fixed placebo d (x) and a fixed
    regression to the mean in points (y), with the lines where it reaches 0 and ``mcid``, and the medians
    and simulation intervals at ``ci_level`` of the drawn placebo d (``draws["placebo"] / sd``) and RTM.

    A fixed placebo response and a fixed regression to the mean shift every draw, so the median left is
    ``median(observed - dropout) - rtm - sd * d``: a plane, whose contours are straight lines.
    """
    plt, sns = figures.pyplot_with_theme()
    before = float(np.median(draws["observed"] - draws["dropout"]))
    quantiles = [(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2]
    rtm_low, rtm_median, rtm_high = np.quantile(draws["rtm"], quantiles)
    low, median, high = np.quantile(draws["placebo"] / sd, quantiles)
    d_max = max(2.0, 1.1 * before / sd)
    rtm_max = max(10.0, 1.5 * rtm_high)
    d, rtm = np.meshgrid(np.linspace(0, d_max, 201), np.linspace(0, rtm_max, 201))
    left = before - rtm - sd * d
    fig, ax = plt.subplots(figsize=(8, 5.5))
    filled = ax.contourf(d, rtm, left, levels=20, cmap="RdBu", vmin=-abs(left).max(), vmax=abs(left).max())
    fig.colorbar(filled, ax=ax, label="median PCL-5 points not explained")
    levels, styles = ([0], ["-"]) if mcid is None else ([0, mcid], ["-", "--"])
    ax.contour(d, rtm, left, levels=levels, colors="black", linestyles=styles)
    handles = [Line2D([], [], color="black", linestyle="-", label="0 points left")]
    if mcid is not None:
        handles.append(
            Line2D([], [], color="black", linestyle="--", label=f"{mcid:g} points left (clinically significant)")
        )
    handles.append(
        ax.errorbar(
            median,
            rtm_median,
            xerr=[[median - low], [high - median]],
            yerr=[[rtm_median - rtm_low], [rtm_high - rtm_median]],
            fmt="o",
            color="black",
            capsize=3,
            label=f"drawn (median and {ci_level:.0%} of draws)",
        )
    )
    ax.set_xlabel("placebo and expectancy response, within-group d")
    ax.set_ylabel("regression to the mean, PCL-5 points")
    ax.set_title("Where the change not explained reaches 0\nand the clinically significant change")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize="small")
    return figures.fitted(fig)
