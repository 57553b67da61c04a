"""Figures of the durability chapter: aggregates only (means with intervals, a Kaplan-Meier curve).

No per-patient line is drawn, and a window or curve the small-cell rule hid is not drawn at all.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from .figures import PALETTE, figure_text, fitted, kept, pyplot_with_theme


@kept
def trajectory(table: pd.DataFrame, ci_level: float):
    """Mean PCL-5 with its interval at each time of :func:`ketamine_ptsd.analysis.durability.trajectory`;
    rows whose mean is ``None`` (no patients, or suppressed) are left out."""
    plt, sns = pyplot_with_theme()
    color = sns.color_palette(PALETTE)[0]
    shown = table[table["mean"].notna()].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    x = range(len(shown))
    means = shown["mean"].astype(float)
    low = (means - shown["ci_low"].astype(float)).fillna(0)
    high = (shown["ci_high"].astype(float) - means).fillna(0)
    ax.errorbar(x, means, yerr=[low, high], color=color, marker="o", capsize=4, linewidth=2)
    # Up to seven times side by side: each label wrapped to a narrow column so neighbours never run together.
    labels = [f"{textwrap.fill(t, 11)}\n(n = {int(n)})" for t, n in zip(shown["time"], shown["n"])]
    ax.set_xticks(list(x), [figure_text(label) for label in labels], fontsize=8)
    ax.set_ylim(0, 80)
    ax.set_ylabel("PCL-5 total (mean)")
    ax.set_title(f"PCL-5 before, during and after treatment, with {ci_level:.0%} intervals")
    return fitted(fig)


@kept
def loss_of_response_curve(survival, median: float | None):
    """Kaplan-Meier curve of keeping the response (statsmodels ``SurvfuncRight``), its median marked."""
    plt, sns = pyplot_with_theme()
    color = sns.color_palette(PALETTE)[0]
    fig, ax = plt.subplots(figsize=(7, 4))
    times = [0.0, *survival.surv_times]
    probs = [1.0, *survival.surv_prob]
    ax.step(times, probs, where="post", color=color, linewidth=2)
    ax.axhline(0.5, color="grey", linewidth=1, linestyle="--")
    if median is not None:
        ax.axvline(median, color="grey", linewidth=1, linestyle=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("days after the end of treatment")
    ax.set_ylabel("share still responding")
    ax.set_title("Time to loss of response among responders (Kaplan-Meier)")
    return fitted(fig)
