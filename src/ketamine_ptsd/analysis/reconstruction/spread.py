"""The statistics of many reconstructed cohorts (:mod:`.many`), and an independent check of each cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis import effects, outcomes
from ketamine_ptsd.analysis.reconstruction.many import Reconstructions
from ketamine_ptsd.analysis.reconstruction.targets import Targets
from ketamine_ptsd.parameters import DEFAULTS

#: Columns of :func:`reconstruction_statistics`, one row per cohort.
STATISTICS_COLUMNS = (
    "cohort",
    "seed",
    "attempts",
    "pre_mean",
    "pre_sd",
    "post_mean",
    "post_sd",
    "r_pre_post",
    "mean_change",
    "change_sd",
    "change_ci_low",
    "change_ci_high",
    "t",
    "df",
    "p",
    "d_av",
    "d_z",
    "reliable_change_threshold",
    "pct_clinically_significant",
    "pct_reliable_improvement",
    "pct_response",
    "pct_remission",
    "n_psychotherapy",
    "psychotherapy_d",
    "psychotherapy_d_ci_low",
    "psychotherapy_d_ci_high",
    "psychotherapy_p",
)


def reconstruction_statistics(
    rec: Reconstructions,
    mcid: float = DEFAULTS["mcid"],
    reliability: float = DEFAULTS["reliability"],
    response_fraction: float = DEFAULTS["response_fraction"],
    remission_cutoff: float = DEFAULTS["remission_cutoff"],
    ci_level: float = DEFAULTS["ci_level"],
) -> pd.DataFrame:
    """Per cohort, the statistics the report computes, under the same names and definitions.

    Vectorised over cohorts: each column equals what :func:`ketamine_ptsd.analysis.stats.paired_outcome`,
    :func:`~ketamine_ptsd.analysis.stats.clinical_significance` and :func:`~ketamine_ptsd.analysis.stats.psychotherapy_contrast`
    give for that cohort (the tests check it), without their per-cohort cost.
    """
    from scipy import stats as sps

    pre = rec.pcl5_pre.astype("float64")
    post = rec.pcl5_post.astype("float64")
    change = pre - post
    k, n = change.shape
    df = n - 1
    pre_sd, post_sd = pre.std(axis=1, ddof=1), post.std(axis=1, ddof=1)
    mean_change, change_sd = change.mean(axis=1), change.std(axis=1, ddof=1)
    half = effects.t_half_width(change_sd / np.sqrt(n), df, ci_level)
    t = mean_change / (change_sd / np.sqrt(n))
    covariance = ((pre - pre.mean(axis=1, keepdims=True)) * (post - post.mean(axis=1, keepdims=True))).sum(axis=1) / df
    rct = outcomes.reliable_change_threshold(pre_sd, reliability)

    # Psychotherapy: Cohen's d_s over the pooled SD of change, Student's t, noncentral-t interval.
    labels = rec.psychotherapy
    n1 = labels.sum(axis=1)
    n0 = n - n1
    m1 = np.where(labels, change, 0).sum(axis=1) / n1
    m0 = np.where(~labels, change, 0).sum(axis=1) / n0
    ss1 = np.where(labels, (change - m1[:, None]) ** 2, 0).sum(axis=1)
    ss0 = np.where(~labels, (change - m0[:, None]) ** 2, 0).sum(axis=1)
    d = effects.d_s(m1, m0, effects.pooled_sd_from_sums(ss1, ss0, n))
    scale = np.sqrt(1 / n1 + 1 / n0)
    t_groups = d / scale
    ci = [effects.noncentral_t_ci(float(tg), n - 2, ci_level) for tg in t_groups]

    return pd.DataFrame(
        {
            "cohort": np.arange(k),
            "seed": rec.seed,
            "attempts": rec.attempts,
            "pre_mean": pre.mean(axis=1),
            "pre_sd": pre_sd,
            "post_mean": post.mean(axis=1),
            "post_sd": post_sd,
            "r_pre_post": covariance / (pre_sd * post_sd),
            "mean_change": mean_change,
            "change_sd": change_sd,
            "change_ci_low": mean_change - half,
            "change_ci_high": mean_change + half,
            "t": t,
            "df": df,
            "p": 2 * sps.t.sf(np.abs(t), df),
            "d_av": effects.d_av(mean_change, pre_sd, post_sd),
            "d_z": effects.d_z(mean_change, change_sd),
            "reliable_change_threshold": rct,
            "pct_clinically_significant": 100 * outcomes.clinically_significant(change, mcid).mean(axis=1),
            "pct_reliable_improvement": 100 * outcomes.reliable_improvement(change, rct[:, None]).mean(axis=1),
            "pct_response": 100 * outcomes.response(change, pre, response_fraction).mean(axis=1),
            "pct_remission": 100 * outcomes.remission(post, remission_cutoff).mean(axis=1),
            "n_psychotherapy": n1,
            "psychotherapy_d": d,
            "psychotherapy_d_ci_low": np.array([lo for lo, _ in ci]) * scale,
            "psychotherapy_d_ci_high": np.array([hi for _, hi in ci]) * scale,
            "psychotherapy_p": 2 * sps.t.sf(np.abs(t_groups), n - 2),
        },
        columns=list(STATISTICS_COLUMNS),
    )


#: Claims whose percentages every reconstructed cohort must reproduce: clinically significant change
#: (a drop of at least ``Targets.mcid``) and remission (a score below ``Targets.remission_cutoff``).
PERCENT_CLAIMS = ("pct_clinically_significant_published", "pct_remission_published")


def meets_constraints(
    pre: np.ndarray, post: np.ndarray, psychotherapy: np.ndarray, targets: Targets, claims: list[dict]
) -> bool:
    """Whether one cohort meets every published constraint, checked from its scores.

    An independent check of the search: it recomputes each aggregate from the scores and compares it
    with the report's rounding rule (:func:`ketamine_ptsd.analysis.consistency.rounds_to`), and takes the two
    percentages from the claims themselves rather than from the head counts in ``targets``, so any count
    that rounds to a published percentage passes.

    Parameters
    ----------
    pre, post : numpy.ndarray
        Whole-number PCL-5 totals before and after treatment, one per patient.
    psychotherapy : numpy.ndarray of bool
        Whether each patient had psychotherapy.
    targets : Targets
        Means, SDs and psychotherapy d (at ``targets.decimals``), score bounds (``pre_min``,
        ``score_max``, and 0 after treatment) and the thresholds ``mcid`` and ``remission_cutoff``.
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`; must hold the ids in :data:`PERCENT_CLAIMS`.

    Returns
    -------
    bool
        True when the means and SDs round to their targets, the shares with a drop of at least ``mcid``
        and with ``post`` below ``remission_cutoff`` round to the published percentages, every score is
        within its bounds, and Cohen's d_s of the change (psychotherapy against the rest, pooled SD) rounds
        to ``targets.psychotherapy_d``.
    """
    from ketamine_ptsd.analysis.consistency import rounds_to

    by_id = {claim["id"]: claim for claim in claims}
    cs, remission = (by_id[name] for name in PERCENT_CLAIMS)
    change = (pre - post).astype("float64")
    a, b = change[psychotherapy], change[~psychotherapy]
    d = effects.d_s(a.mean(), b.mean(), effects.pooled_sd(a, b))
    return bool(
        rounds_to(pre.mean(), targets.pre_mean, targets.decimals)
        and rounds_to(post.mean(), targets.post_mean, targets.decimals)
        and rounds_to(pre.std(ddof=1), targets.pre_sd, targets.decimals)
        and rounds_to(post.std(ddof=1), targets.post_sd, targets.decimals)
        and rounds_to(100 * np.mean(outcomes.clinically_significant(change, targets.mcid)), cs["value"], cs["decimals"])
        and rounds_to(
            100 * np.mean(outcomes.remission(post, targets.remission_cutoff)), remission["value"], remission["decimals"]
        )
        and pre.min() >= targets.pre_min
        and pre.max() <= targets.score_max
        and post.min() >= 0
        and post.max() <= targets.score_max
        and rounds_to(d, targets.psychotherapy_d, targets.decimals)
    )


#: Columns of :func:`reconstruction_statistics` the paper did not report, with labels for the report.
UNREPORTED = {
    "r_pre_post": "pre-post correlation r",
    "change_sd": "SD of the change (points)",
    "d_z": "d_z (mean change / SD of change)",
    "t": "paired t",
    "change_ci_low": "CI of the mean change: lower end (points)",
    "change_ci_high": "CI of the mean change: upper end (points)",
    "pct_reliable_improvement": "reliable improvement (% of patients)",
    "pct_response": "response (% of patients)",
    "psychotherapy_d_ci_low": "psychotherapy d: CI lower end",
    "psychotherapy_d_ci_high": "psychotherapy d: CI upper end",
    "psychotherapy_p": "psychotherapy p (two-sample t test)",
}


def spread_table(spread: pd.DataFrame, results: dict) -> pd.DataFrame:
    """Lowest, median and highest of each :data:`UNREPORTED` quantity across cohorts, beside one cohort's.

    Parameters
    ----------
    spread : pandas.DataFrame
        From :func:`reconstruction_statistics`.
    results : dict
        One cohort's results under the same names (e.g. the book's ``results.json`` values); a name that
        is absent or None gives NaN.

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``quantity`` (its label), ``lowest``, ``median``, ``highest`` and
        ``this book's cohort``.
    """
    return pd.DataFrame(
        [
            {
                "quantity": label,
                "lowest": spread[key].min(),
                "median": spread[key].median(),
                "highest": spread[key].max(),
                "this book's cohort": np.nan if results.get(key) is None else float(results[key]),
            }
            for key, label in UNREPORTED.items()
        ]
    )
