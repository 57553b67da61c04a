"""Dropout: the completers' figures beside intention-to-treat and multiple imputation of the missing post scores."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ketamine_ptsd.analysis import stats as book_stats
from ketamine_ptsd.analysis.effects import t_interval as _t_interval
from ketamine_ptsd.analysis.limitations._common import _pairs
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, suppress, suppress_cells
from ketamine_ptsd.analysis.values import plain_frame as _plain
from ketamine_ptsd.parameters import DEFAULTS

#: The statistics of :func:`itt_summary` that rest on the completers and on all patients.
ITT_KEYS = (
    "completer_mean_change",
    "itt_mean_change",
    "itt_change_sd",
    "itt_ci_low",
    "itt_ci_high",
    "itt_pct_of_completer_change",
)
#: The statistics of :func:`multiple_imputation` that rest on the completers and on the imputed patients.
MI_KEYS = (
    "mi_mean_change",
    "mi_se",
    "mi_ci_low",
    "mi_ci_high",
    "mi_df",
    "fraction_missing_information",
    "mi_within_variance",
    "mi_between_variance",
)


def itt_summary(
    cohort: pd.DataFrame, ci_level: float = DEFAULTS["ci_level"], min_cell: int = DEFAULTS["min_cell"]
) -> dict:
    """Completer mean change beside the intention-to-treat mean with dropouts counted as no change.

    Counting every dropout as unchanged (baseline observation carried forward) is the pessimistic bound
    for a patient who left: it assumes they gained nothing. A dropout adds a zero, so the ITT figures rest
    on the completers (and the number of patients); with 1 to ``min_cell - 1`` completers they are
    suppressed. The counts and the share of dropouts are the sizes every chapter gives.

    Returns
    -------
    dict
        ``n_patients, n_completers, n_dropouts, pct_dropout, completer_mean_change, itt_mean_change,
        itt_change_sd, itt_ci_low, itt_ci_high`` (t interval), ``itt_pct_of_completer_change``,
        ``reason`` and ``suppressed``.
    """
    out = _itt_summary(cohort, ci_level)
    return suppress(out, dict.fromkeys(ITT_KEYS, (out["n_completers"], out["n_patients"])), min_cell)


def _itt_summary(cohort: pd.DataFrame, ci_level: float) -> dict:
    """:func:`itt_summary` without the small-cell rule."""
    pre, post = _pairs(cohort)
    done = ~np.isnan(post)
    n, n_done = int(pre.size), int(done.sum())
    change = np.where(done, pre - post, 0.0)
    out = {
        "n_patients": n,
        "n_completers": n_done,
        "n_dropouts": n - n_done,
        "pct_dropout": 100 * (n - n_done) / n if n else None,
    } | dict.fromkeys(ITT_KEYS)
    if n_done == 0:
        return out | {"reason": "no completers"}
    completer_mean = float(change[done].mean())
    itt_mean = float(change.mean())
    out |= {
        "completer_mean_change": completer_mean,
        "itt_mean_change": itt_mean,
        "reason": None,
        "itt_pct_of_completer_change": 100 * itt_mean / completer_mean if completer_mean else None,
    }
    if n >= 2:
        sd = float(change.std(ddof=1))
        lo, hi = _t_interval(itt_mean, sd / math.sqrt(n), n - 1, ci_level)
        out |= {"itt_change_sd": sd, "itt_ci_low": lo, "itt_ci_high": hi}
    return out


def rubin_combine(
    estimates: Sequence[float],
    variances: Sequence[float],
    df_complete: float | None = None,
    ci_level: float = DEFAULTS["ci_level"],
) -> dict:
    """Pool m completed-data estimates by Rubin's rules (Rubin 1987).

    ``Qbar = mean(Q)``, ``Ubar = mean(U)``, ``B = var(Q, ddof=1)``, ``T = Ubar + (1 + 1/m) B``.
    Degrees of freedom: Rubin's ``(m - 1) / lambda^2`` with ``lambda = (1 + 1/m) B / T``; with
    ``df_complete`` (the complete-data df) the Barnard & Rubin (1999) small-sample version
    ``1 / (1/df_rubin + 1/df_obs)``, ``df_obs = (df_com + 1) / (df_com + 3) * df_com * (1 - lambda)``.

    Parameters
    ----------
    estimates, variances : sequence of float
        Point estimate and its squared standard error from each of m >= 2 imputed data sets.
    df_complete : float, optional
        Degrees of freedom the estimate would have without missing data.
    ci_level : float

    Returns
    -------
    dict
        ``estimate, se, within_variance, between_variance, total_variance, df, ci_low, ci_high,
        fraction_missing_information`` (lambda), ``relative_increase_variance`` and ``m``. ``df`` is None
        when infinite (no between-imputation variance and no ``df_complete``); the interval is then normal.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2 or u.size != m:
        raise ValueError("need at least two imputations, with one variance per estimate")
    qbar, ubar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    extra = (1 + 1 / m) * b
    total = ubar + extra
    lam = extra / total if total > 0 else 0.0
    df_rubin = (m - 1) / lam**2 if lam > 0 else math.inf
    if df_complete is not None:
        df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        df = 1 / (1 / df_rubin + 1 / df_obs) if df_obs > 0 else df_rubin
    else:
        df = df_rubin
    se = math.sqrt(total)
    if math.isfinite(df):
        lo, hi = _t_interval(qbar, se, df, ci_level)
    else:
        half = float(stats.norm.ppf(0.5 + ci_level / 2)) * se
        lo, hi = qbar - half, qbar + half
    return {
        "estimate": qbar,
        "se": se,
        "within_variance": ubar,
        "between_variance": b,
        "total_variance": total,
        "df": float(df) if math.isfinite(df) else None,
        "ci_low": lo,
        "ci_high": hi,
        "fraction_missing_information": lam,
        "relative_increase_variance": extra / ubar if ubar > 0 else None,
        "m": m,
    }


def multiple_imputation(
    cohort: pd.DataFrame,
    m: int = DEFAULTS["mi_imputations"],
    seed: int = DEFAULTS["mi_seed"],
    ci_level: float = DEFAULTS["ci_level"],
    min_cell: int = DEFAULTS["min_cell"],
) -> dict:
    """Mean change with missing ``pcl5_post`` multiply imputed from ``pcl5_pre``.

    Proper multiple imputation under missing at random given baseline: normal linear regression of
    ``pcl5_post`` on ``pcl5_pre`` over completers, then per imputation a draw of the residual variance
    (``SSR / chi2(n_obs - p)``) and of the coefficients (normal around the estimate with that variance),
    and imputed scores from the drawn line plus drawn noise (Rubin 1987; van Buuren, *Flexible Imputation
    of Missing Data*, algorithm 3.1). Imputed scores are not rounded or bounded to 0-80: bounding would bias
    the mean. Each imputed data set gives the mean change and its variance ``s^2 / n``; Rubin's rules pool
    them (:func:`rubin_combine`, Barnard-Rubin df with ``n - 1`` complete-data df).

    Parameters
    ----------
    cohort : pandas.DataFrame
    m : int
        Number of imputations (>= 2); default the build parameter ``mi_imputations``.
    seed : int
        Seed of the random draws, so the book is reproducible; default the build parameter ``mi_seed``.
    ci_level : float
    min_cell : int
        The pooled figures rest on the completers (the regression) and on the dropouts (each imputed from
        their own baseline): with 1 to ``min_cell - 1`` of either they are suppressed.

    Returns
    -------
    dict
        ``mi_mean_change, mi_se, mi_ci_low, mi_ci_high, mi_df, fraction_missing_information,
        mi_within_variance, mi_between_variance, m, n_patients, n_imputed, method``, ``reason`` and
        ``suppressed``. With no dropouts nothing is imputed and the values are the completers' mean change
        with its t interval exactly.
    """
    out = _multiple_imputation(cohort, m, seed, ci_level)
    groups = (out["n_patients"] - out["n_imputed"], out["n_imputed"])
    return suppress(out, dict.fromkeys(MI_KEYS, groups), min_cell)


def _multiple_imputation(cohort: pd.DataFrame, m: int, seed: int, ci_level: float) -> dict:
    """:func:`multiple_imputation` without the small-cell rule."""
    if m < 2:
        raise ValueError("m must be at least 2")
    pre, post = _pairs(cohort)
    obs = ~np.isnan(post)
    n, n_obs, n_mis = int(pre.size), int(obs.sum()), int((~obs).sum())
    base = {"m": m, "n_patients": n, "n_imputed": n_mis}
    if n_mis == 0:
        change = pre - post
        if n < 2:
            return base | dict.fromkeys(MI_KEYS) | {"method": None, "reason": "fewer than two completers"}
        mean, se = float(change.mean()), float(change.std(ddof=1) / math.sqrt(n))
        lo, hi = _t_interval(mean, se, n - 1, ci_level)
        return base | {
            "mi_mean_change": mean,
            "mi_se": se,
            "mi_ci_low": lo,
            "mi_ci_high": hi,
            "mi_df": float(n - 1),
            "fraction_missing_information": 0.0,
            "mi_within_variance": se**2,
            "mi_between_variance": 0.0,
            "method": "no dropouts: nothing to impute; the completers' mean change and t interval",
            "reason": None,
        }
    imputed = imputed_post_scores(pre, post, m, seed)
    if imputed is None:
        reason = f"too few completers ({n_obs}) to impute"
        return base | dict.fromkeys(MI_KEYS) | {"method": None, "reason": reason}
    change = np.where(obs, pre - post, np.nan)
    est, var = np.empty(m), np.empty(m)
    for i in range(m):
        change[~obs] = pre[~obs] - imputed[i]
        est[i] = change.mean()
        var[i] = change.var(ddof=1) / n
    pooled = rubin_combine(est, var, df_complete=n - 1, ci_level=ci_level)
    return base | {
        "mi_mean_change": pooled["estimate"],
        "mi_se": pooled["se"],
        "mi_ci_low": pooled["ci_low"],
        "mi_ci_high": pooled["ci_high"],
        "mi_df": pooled["df"],
        "fraction_missing_information": pooled["fraction_missing_information"],
        "mi_within_variance": pooled["within_variance"],
        "mi_between_variance": pooled["between_variance"],
        "method": (
            f"normal linear regression imputation of pcl5_post from pcl5_pre with parameter draws "
            f"(proper MI), m = {m}, Rubin's rules with Barnard-Rubin df"
        ),
        "reason": None,
    }


def imputed_post_scores(pre: np.ndarray, post: np.ndarray, m: int, seed: int) -> np.ndarray | None:
    """The ``m`` sets of imputed ``pcl5_post`` of :func:`multiple_imputation`, one row per imputation.

    ``pre`` and ``post`` are every patient's scores (``post`` NaN for a dropout); the columns of the result are
    the dropouts in their order. None when the completers are too few to fit the imputation model.
    """
    obs = ~np.isnan(post)
    n_obs, n_mis = int(obs.sum()), int((~obs).sum())
    # A constant baseline among completers leaves the slope unidentified: impute from the mean alone.
    columns = [np.ones(pre.size)] if np.ptp(pre[obs]) == 0 else [np.ones(pre.size), pre]
    X = np.column_stack(columns)
    p = X.shape[1]
    if n_obs - p < 1:
        return None
    Xo, Xm, y = X[obs], X[~obs], post[obs]
    xtx_inv = np.linalg.inv(Xo.T @ Xo)
    beta = xtx_inv @ (Xo.T @ y)
    ssr = float(((y - Xo @ beta) ** 2).sum())
    chol = np.linalg.cholesky(xtx_inv)
    rng = np.random.default_rng(seed)
    imputed = np.empty((m, n_mis))
    for i in range(m):
        sigma = math.sqrt(ssr / rng.chisquare(n_obs - p))
        beta_i = beta + sigma * (chol @ rng.standard_normal(p))
        imputed[i] = Xm @ beta_i + sigma * rng.standard_normal(n_mis)
    return imputed


def _comparison_cell_sizes(done: np.ndarray, rates: Mapping, itt: Mapping, mi: Mapping):
    """What each cell of :func:`missing_data_comparison` rests on (for the small-cell rule), and the cells
    whose value the rule already hid in ``itt`` or ``mi``."""
    n_done, n_drop = int(done.sum()), int((~done).sum())
    k_cs, k_rem = rates["n_clinically_significant"], rates["n_remission"]
    groups = {
        "mean_change": (n_done,),
        "ci_low": (n_done,),
        "ci_high": (n_done,),
        "d_av": (n_done,),
        "pct_clinically_significant": (n_done, k_cs),
        "pct_remission": (n_done, k_rem),
    }
    sizes = {(0, column): size for column, size in groups.items()}
    sizes |= {(1, column): size + ((n_drop,) if column == "d_av" else ()) for column, size in groups.items()}
    sizes |= {(2, column): (n_done, n_drop) for column in ("mean_change", "ci_low", "ci_high")}
    # Values of itt and mi that the rule already hid are None here: still marked as suppressed.
    inherited = [
        (row, column)
        for row, values, prefix in ((1, itt, "itt_"), (2, mi, "mi_"))
        for column in ("mean_change", "ci_low", "ci_high")
        if prefix + column in values.get(SUPPRESSED_KEY, ())
    ]
    return sizes, inherited


def missing_data_comparison(
    cohort: pd.DataFrame,
    itt: Mapping,
    mi: Mapping,
    *,
    mcid: float = DEFAULTS["mcid"],
    reliability: float = DEFAULTS["reliability"],
    response_fraction: float = DEFAULTS["response_fraction"],
    remission_cutoff: float = DEFAULTS["remission_cutoff"],
    ci_level: float = DEFAULTS["ci_level"],
    min_cell: int = DEFAULTS["min_cell"],
) -> pd.DataFrame:
    """The headline numbers under three treatments of patients without a post score.

    Rows: completers only (the book's default); all patients with dropouts counted as unchanged
    (``pcl5_post = pcl5_pre``: mean change and d_av) and as not improved (the ``_itt`` shares of
    :func:`ketamine_ptsd.analysis.stats.clinical_significance`); all patients with ``pcl5_post`` multiply imputed
    (mean change only: the shares and d_av are not pooled).

    Parameters
    ----------
    cohort : pandas.DataFrame
    itt, mi : mapping
        From :func:`itt_summary` and :func:`multiple_imputation` of the same cohort.
    mcid, reliability, response_fraction, remission_cutoff : float
        The book's definitions, passed to :func:`ketamine_ptsd.analysis.stats.clinical_significance`.
    ci_level : float
    min_cell : int
        A cell resting on 1 to ``min_cell - 1`` patients is None and listed in ``attrs["suppressed"]``:
        every figure rests on the completers; a share also on the patients it counts; d_av with dropouts
        unchanged and the imputed figures also on the dropouts (their baselines enter them).

    Returns
    -------
    pandas.DataFrame
        ``analysis, n, mean_change, ci_low, ci_high, d_av, pct_clinically_significant, pct_remission``.
    """
    pre, post = _pairs(cohort)
    done = ~np.isnan(post)
    completer = book_stats.paired_outcome(pre[done], post[done], ci_level)
    unchanged = book_stats.paired_outcome(pre, np.where(done, post, pre), ci_level)
    rates = book_stats.clinical_significance(cohort, mcid, reliability, response_fraction, remission_cutoff)
    rows = [
        {
            "analysis": "completers only",
            "n": int(done.sum()),
            "mean_change": completer["mean_change"],
            "ci_low": completer["change_ci_low"],
            "ci_high": completer["change_ci_high"],
            "d_av": completer["d_av"],
            "pct_clinically_significant": rates["pct_clinically_significant"],
            "pct_remission": rates["pct_remission"],
        },
        {
            "analysis": "all patients, dropouts unchanged",
            "n": int(pre.size),
            "mean_change": itt["itt_mean_change"],
            "ci_low": itt["itt_ci_low"],
            "ci_high": itt["itt_ci_high"],
            "d_av": unchanged["d_av"],
            "pct_clinically_significant": rates["pct_clinically_significant_itt"],
            "pct_remission": rates["pct_remission_itt"],
        },
        {
            "analysis": "all patients, multiple imputation",
            "n": int(pre.size),
            "mean_change": mi["mi_mean_change"],
            "ci_low": mi["mi_ci_low"],
            "ci_high": mi["mi_ci_high"],
            "d_av": None,
            "pct_clinically_significant": None,
            "pct_remission": None,
        },
    ]
    sizes, inherited = _comparison_cell_sizes(done, rates, itt, mi)
    return suppress_cells(_plain(pd.DataFrame(rows)), sizes, min_cell, inherited)
