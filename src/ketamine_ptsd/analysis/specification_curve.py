"""Simonsohn, Simmons & Nelson's (2020) specification-curve test of the multiverse's mean change and effect sizes.

Under the null of no change each patient's paired difference is as likely negative as positive, so null data
flip each difference's sign at random (exact for a within-patient design). Every specification of the
completers and of intention to treat (:func:`ketamine_ptsd.analysis.multiverse.multiverse`) is recomputed
on each null data set, vectorised over them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ketamine_ptsd.analysis import effects
from ketamine_ptsd.analysis.multiverse import EFFECT_SIZES, distinct, hedges_j


def _paired_null(pre: np.ndarray, change: np.ndarray, signs: np.ndarray, adjusted: bool, centre: float, alpha: float):
    """The three effect sizes for each row of ``signs`` (the null data: each patient's change with its sign
    flipped or not), and whether each of them and the mean change (or its baseline-adjusted value) is
    significant; the test counts significance for every specification but takes the median of effect sizes only."""
    n = change.size
    flipped = signs * change  # draws x patients
    post = pre - flipped
    mean, sd = flipped.mean(axis=1), flipped.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / math.sqrt(n))
        significant = (2 * stats.t.sf(np.abs(t), n - 1) < alpha) & (t > 0)
        d_z = effects.d_z(mean, sd)
        d_av = effects.d_av(mean, pre.std(ddof=1), post.std(axis=1, ddof=1))
    estimates = {"d_av": d_av, "d_z": d_z, "g_av": hedges_j(n - 1) * d_av}
    sig = dict.fromkeys(EFFECT_SIZES, significant)
    if adjusted:
        X = np.column_stack([np.ones(n), pre - centre])
        inv = np.linalg.inv(X.T @ X)
        coef = flipped @ (X @ inv.T)  # draws x 2
        resid = flipped - coef @ X.T
        se = np.sqrt((resid * resid).sum(axis=1) / (n - 2) * inv[0, 0])
        t_adj = coef[:, 0] / se
        sig["mean_change"] = (2 * stats.t.sf(np.abs(t_adj), n - 2) < alpha) & (t_adj > 0)
    else:
        sig["mean_change"] = significant
    return estimates, sig


def joint_test(cohort: pd.DataFrame, table: pd.DataFrame, *, draws: int, seed: int, alpha: float) -> dict:
    """Simonsohn, Simmons & Nelson's (2020) specification-curve test of the mean change and its effect sizes.

    Under the null of no change each patient's paired difference is as likely negative as positive, so the
    null data flip each difference's sign at random (exact for a within-patient design; intention to
    treat's dropouts change by 0 either way). The same ``draws`` sign patterns serve every specification of
    the completers and intention to treat, at every entry threshold (imputation is not repeated under the
    null). Returned: ``multiverse_joint_n_specifications`` (distinct ones tested), the observed median
    effect size (``multiverse_joint_median_d``) and number of specifications with a significant improvement
    (two-sided p below ``alpha``, in the direction of improvement), each with its p: the share of null data
    sets with a median at least as large (``multiverse_joint_p_median``) or at least as many significant
    specifications (``multiverse_joint_p_n_significant``), counting the observed data as one of them.
    ``multiverse_null_draws``: ``draws``.
    """
    rows = distinct(table)
    rows = rows[rows["family"].isin(["mean_change", "effect_size"]) & rows["population"].isin(["completers", "itt"])]
    rows = rows[rows["estimate"].notna() & ~rows["suppressed"].astype(bool)]
    out = {"multiverse_null_draws": draws, "multiverse_joint_n_specifications": len(rows)}
    if rows.empty:
        return out | dict.fromkeys(
            [
                "multiverse_joint_median_d",
                "multiverse_joint_n_significant",
                "multiverse_joint_p_median",
                "multiverse_joint_p_n_significant",
            ]  # fmt: skip
        )
    pre_all = pd.to_numeric(cohort["pcl5_pre"]).to_numpy(dtype="float64", na_value=np.nan)
    post_all = pd.to_numeric(cohort["pcl5_post"]).to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(pre_all)
    pre_all, post_all = pre_all[keep], post_all[keep]
    centre = float(pre_all.mean())
    rng = np.random.default_rng(seed)
    signs_all = np.vstack([np.ones(pre_all.size), rng.choice([-1.0, 1.0], size=(draws, pre_all.size))])
    estimates, significant = [], []
    for row in rows.itertuples():
        subset = pre_all >= row.entry_threshold
        if row.population == "completers":
            subset &= ~np.isnan(post_all)
        pre = pre_all[subset]
        change = np.nan_to_num(pre - post_all[subset])  # intention to treat: dropouts unchanged
        name = "mean_change" if row.family == "mean_change" else row.effect_size
        adjusted = bool(row.baseline_adjusted) if row.family == "mean_change" else False
        est, sig = _paired_null(pre, change, signs_all[:, subset], adjusted, centre, alpha)
        estimates.append(est[name] if row.family == "effect_size" else np.full(draws + 1, np.nan))
        significant.append(sig[name])
    d = np.array(estimates)  # specifications x (observed + draws); mean-change rows NaN here
    medians = np.nanmedian(d, axis=0) if np.isfinite(d).any() else np.full(draws + 1, np.nan)
    counts = np.array(significant).sum(axis=0)
    return out | {
        "multiverse_joint_median_d": None if np.isnan(medians[0]) else float(medians[0]),
        "multiverse_joint_n_significant": int(counts[0]),
        "multiverse_joint_p_median": None if np.isnan(medians[0]) else float(np.mean(medians >= medians[0])),
        "multiverse_joint_p_n_significant": float(np.mean(counts >= counts[0])),
    }
