"""The report's figures. Each draws aggregates or unlabelled marks, never a patient's identifier.

Above :data:`MAX_POINTS` patients a figure switches from one mark per patient to a summary
(binned densities), which stays readable and costs the same at a million patients as at ten thousand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Most patients drawn one mark each; above it figures show binned summaries.
MAX_POINTS = 2000
PALETTE = "colorblind"


def _plt():
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    return plt, sns


def paired_scores(done: pd.DataFrame, remission_cutoff: float | None = None):
    """Left: each patient's line from ``pcl5_pre`` to ``pcl5_post`` (or a 2-D histogram for large cohorts).
    Right: the distribution of the two totals."""
    plt, sns = _plt()
    colors = sns.color_palette(PALETTE)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    pre = done["pcl5_pre"].to_numpy(dtype="float64")
    post = done["pcl5_post"].to_numpy(dtype="float64")
    if len(done) <= MAX_POINTS:
        segments = np.stack([np.column_stack([np.zeros_like(pre), pre]), np.column_stack([np.ones_like(post), post])], 1)
        from matplotlib.collections import LineCollection

        left.add_collection(LineCollection(segments, colors=[colors[0]], alpha=0.25, linewidths=1))
        left.plot([0, 1], [pre.mean(), post.mean()], color=colors[3], linewidth=3, marker="o", label="mean")
        left.set_xlim(-0.15, 1.15)
        left.set_xticks([0, 1], ["before", "after"])
        left.legend(loc="upper right")
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
        sns.violinplot(data=long, x="time", y="PCL-5 total", hue="time", ax=right, inner="quart", cut=0,
                       legend=False)
        right.set_ylim(0, 80)
        right.set_xlabel("")
        cutoff_line = right.axhline
    else:
        # A kernel density over a million points is slow and adds nothing: totals are integers 0-80.
        bins = np.arange(-0.5, 81.5, 2)
        for values, label, colour in ((pre, "before", colors[0]), (post, "after", colors[1])):
            right.hist(values, bins=bins, weights=np.full(len(values), 100 / len(values)), histtype="step",
                       linewidth=2, color=colour, label=label)
        right.set_xlabel("PCL-5 total")
        right.set_ylabel("% of completers")
        cutoff_line = right.axvline
    if remission_cutoff is not None:
        cutoff_line(remission_cutoff, color=colors[2], linestyle="--", linewidth=1.5,
                    label=f"remission cutoff ({remission_cutoff:g})")
    if remission_cutoff is not None or len(done) > MAX_POINTS:
        right.legend(loc="upper right")
    right.set_title("Distribution of PCL-5 totals")
    fig.tight_layout()
    return fig


def change_distribution(done: pd.DataFrame, mcid: float, reliable_change_threshold: float | None = None):
    """Each patient's change, sorted (a waterfall), or a histogram of change for large cohorts."""
    plt, sns = _plt()
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
        line(reliable_change_threshold, color=colors[2], linestyle=":", linewidth=1.5,
             label=f"reliable change ({reliable_change_threshold:.1f} points)")
    line(0, color="grey", linewidth=0.8)
    ax.legend(loc="upper right")
    ax.set_title("Change in PCL-5 for every completer (positive = improvement)")
    fig.tight_layout()
    return fig


def change_by_group(done: pd.DataFrame, column: str, labels: dict):
    """Box plots of change by a grouping column (aggregates only)."""
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    sub = done[done[column].notna()]
    groups = [(label, sub.loc[sub[column] == value, "change"].to_numpy(dtype="float64"))
              for value, label in labels.items()]
    groups = [(label, values) for label, values in groups if len(values)]
    # Box statistics from quantiles: the same picture as a box plot, at any cohort size.
    boxes = []
    for label, values in groups:
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        iqr = q3 - q1
        inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
        boxes.append({"label": label, "q1": q1, "med": med, "q3": q3, "whislo": inside.min(), "whishi": inside.max(),
                      "fliers": values[(values < inside.min()) | (values > inside.max())] if len(values) <= MAX_POINTS else []})
    ax.bxp(boxes, patch_artist=True, boxprops={"facecolor": sns.color_palette(PALETTE)[0], "alpha": 0.6})
    ax.set_xlabel("")
    ax.set_ylabel("change in PCL-5 (pre - post)")
    fig.tight_layout()
    return fig
