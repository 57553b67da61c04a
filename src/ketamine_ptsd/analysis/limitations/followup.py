"""Follow-up time and the natural course: how long the change took, and whether it differs with time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ketamine_ptsd.analysis.effects import t_interval as _t_interval
from ketamine_ptsd.analysis.limitations._common import _num, _quantile_sizes
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, suppress
from ketamine_ptsd.parameters import DEFAULTS


def _followup_data(cohort: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``days_between`` and change of completers with a known follow-up time."""
    pre, post, days = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post"), _num(cohort, "days_between")
    keep = ~(np.isnan(pre) | np.isnan(post) | np.isnan(days))
    return days[keep], (pre - post)[keep]


def followup_points(cohort: pd.DataFrame) -> pd.DataFrame:
    """``days`` (``days_between``) and ``change`` of every completer with a known follow-up time."""
    days, change = _followup_data(cohort)
    return pd.DataFrame({"days": days, "change": change})


def followup_summary(cohort: pd.DataFrame, min_cell: int = DEFAULTS["min_cell"]) -> dict:
    """Distribution of ``days_between`` over completers (the time the change took to happen).

    The shortest and longest intervals are one patient's each, so the 5th and 95th percentiles describe the
    range instead. With ``min_cell``, a count of 1 to ``min_cell - 1`` completers is suppressed, the mean
    when it rests on that few, and a percentile unless at least ``min_cell`` completers lie at or below it
    and at least as many at or above it.

    Returns
    -------
    dict
        ``n, n_completers_missing, mean, median, q1, q3, iqr, p05, p95`` (days; percentiles by linear
        interpolation), ``reason`` (None, or why the values are None) and ``suppressed``.
    """
    pre, post, days = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post"), _num(cohort, "days_between")
    done = ~(np.isnan(pre) | np.isnan(post))
    d = days[done & ~np.isnan(days)]
    keys = ("mean", "median", "q1", "q3", "iqr", "p05", "p95")
    out = {"n": int(d.size), "n_completers_missing": int(done.sum() - d.size)}
    sizes = {"n": out["n"], "n_completers_missing": out["n_completers_missing"]}
    if d.size == 0:
        out |= dict.fromkeys(keys) | {"reason": "days_between is not available for any completer"}
        return suppress(out, sizes, min_cell)
    p05, q1, med, q3, p95 = (float(v) for v in np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95]))
    out |= {
        "mean": float(d.mean()),
        "median": med,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "p05": p05,
        "p95": p95,
        "reason": None,
    }
    sizes |= {"mean": out["n"], "iqr": _quantile_sizes(d, q1) + _quantile_sizes(d, q3)}
    sizes |= {key: _quantile_sizes(d, out[key]) for key in ("median", "q1", "q3", "p05", "p95")}
    return suppress(out, sizes, min_cell)


def change_by_followup(
    cohort: pd.DataFrame,
    split: str | float = "median",
    ci_level: float = DEFAULTS["ci_level"],
    min_cell: int = DEFAULTS["min_cell"],
) -> dict:
    """Mean change of completers with short vs long follow-up (Welch t-test).

    If scores kept falling with time regardless of treatment (natural course), longer follow-up would
    show larger change; if the effect fades, smaller.

    Parameters
    ----------
    cohort : pandas.DataFrame
    split : "median" or float
        Follow-up ``<= split`` days is short, longer is long; "median" splits at the median.
    ci_level : float
    min_cell : int
        With a group of 1 to ``min_cell - 1`` completers, its count and mean, the comparison and (when it
        is the median) the split are suppressed, and ``reason`` says so.

    Returns
    -------
    dict
        ``split_days, n_short, n_long, mean_change_short, mean_change_long, difference`` (long minus short),
        ``ci_low, ci_high`` (Welch), ``t, df, p``, ``reason`` and ``suppressed``. Values are None, with a
        reason, when ``days_between`` is absent or a group has fewer than two patients.
    """
    out = _change_by_followup(cohort, split, ci_level)
    if out["split_days"] is None:
        return out | {SUPPRESSED_KEY: []}
    groups = (out["n_short"], out["n_long"])
    sizes = dict.fromkeys(("difference", "ci_low", "ci_high", "t", "df", "p"), groups)
    sizes |= {"n_short": groups[0], "mean_change_short": groups[0], "n_long": groups[1], "mean_change_long": groups[1]}
    if split == "median":
        sizes["split_days"] = groups  # the median is a patient's value (or two): it rests on both sides
    out = suppress(out, sizes, min_cell)
    if out[SUPPRESSED_KEY]:
        # The reason may quote the split: say only why nothing is shown.
        out["reason"] = f"a group on one side of the split holds fewer than {min_cell} completers (suppressed)"
    return out


def _change_by_followup(cohort: pd.DataFrame, split: str | float, ci_level: float) -> dict:
    """:func:`change_by_followup` without the small-cell rule."""
    days, change = _followup_data(cohort)
    keys = (
        "split_days",
        "n_short",
        "n_long",
        "mean_change_short",
        "mean_change_long",
        "difference",
        "ci_low",
        "ci_high",
        "t",
        "df",
        "p",
    )
    empty = dict.fromkeys(keys)
    if days.size == 0:
        return empty | {"reason": "days_between is not available for any completer"}
    cut = float(np.median(days)) if split == "median" else float(split)
    short, long_ = change[days <= cut], change[days > cut]
    base = empty | {"split_days": cut, "n_short": int(short.size), "n_long": int(long_.size)}
    if short.size < 2 or long_.size < 2:
        return base | {"reason": f"fewer than two completers on one side of {cut:g} days"}
    v1, v2 = short.var(ddof=1) / short.size, long_.var(ddof=1) / long_.size
    diff = float(long_.mean() - short.mean())
    se = math.sqrt(v1 + v2)
    out = base | {
        "mean_change_short": float(short.mean()),
        "mean_change_long": float(long_.mean()),
        "difference": diff,
        "reason": None,
    }
    if se == 0:
        return out | {"reason": "no variation in change within either group"}
    df = (v1 + v2) ** 2 / (v1**2 / (short.size - 1) + v2**2 / (long_.size - 1))  # Welch-Satterthwaite
    t = diff / se
    lo, hi = _t_interval(diff, se, df, ci_level)
    return out | {"ci_low": lo, "ci_high": hi, "t": t, "df": float(df), "p": float(2 * stats.t.sf(abs(t), df))}


def lowess_curve(cohort: pd.DataFrame, frac: float = 2 / 3, n_bins: int = 40) -> pd.DataFrame:
    """A LOWESS-style curve of change against ``days_between`` that stays fast on a million patients.

    Completers are binned by follow-up (one bin per distinct day when there are at most ``n_bins`` of them,
    otherwise quantile bins); each bin's mean day and mean change are then smoothed by local linear
    regression with tricube weights over the ``int(frac * bins)`` nearest bins (Cleveland 1979, the rule of
    ``statsmodels``' lowess without robustness iterations), each bin weighted by its patient count.
    Cost: one pass over the patients plus a bins-by-bins matrix.

    Parameters
    ----------
    cohort : pandas.DataFrame
    frac : float
        Share of bins in each local fit, in (0, 1].
    n_bins : int
        Most bins to use.

    Returns
    -------
    pandas.DataFrame
        ``days`` (bin mean), ``n``, ``mean_change`` (bin mean) and ``change_smooth``, ordered by days.
        Empty, with ``attrs["reason"]``, when fewer than three distinct follow-up times are known.
    """
    days, change = _followup_data(cohort)
    columns = ["days", "n", "mean_change", "change_smooth"]
    uniq = np.unique(days)
    if uniq.size < 3:
        out = pd.DataFrame(columns=columns)
        out.attrs["reason"] = (
            "days_between is not available for any completer"
            if uniq.size == 0
            else "fewer than three distinct follow-up times"
        )
        return out
    if uniq.size <= n_bins:
        edges_idx = np.searchsorted(uniq, days)
        nb = uniq.size
    else:
        # Rounded so that an edge meant to fall on a day (7, not 7.000000000000001) opens that day's bin.
        edges = np.unique(np.round(np.quantile(days, np.linspace(0, 1, n_bins + 1)), 9))
        edges_idx = np.clip(np.searchsorted(edges, days, side="right") - 1, 0, edges.size - 2)
        nb = edges.size - 1
    n = np.bincount(edges_idx, minlength=nb).astype(float)
    keep = n > 0
    x = (np.bincount(edges_idx, weights=days, minlength=nb)[keep]) / n[keep]
    y = (np.bincount(edges_idx, weights=change, minlength=nb)[keep]) / n[keep]
    n = n[keep]
    smooth = _local_linear(x, y, n, frac)
    return pd.DataFrame({"days": x, "n": n.astype(int), "mean_change": y, "change_smooth": smooth})


def _local_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, frac: float) -> np.ndarray:
    """Tricube-weighted local linear fit at each x over its ``int(frac * len(x))`` nearest points."""
    nx = x.size
    k = min(max(int(frac * nx + 1e-10), 2), nx)
    dist = np.abs(x[:, None] - x[None, :])
    radius = np.sort(dist, axis=1)[:, k - 1]
    u = np.clip(dist / np.where(radius > 0, radius, 1.0)[:, None], 0, 1)
    weights = (1 - u**3) ** 3 * w[None, :]
    weights /= weights.sum(axis=1, keepdims=True)
    xbar = weights @ x
    ybar = weights @ y
    dx = x[None, :] - xbar[:, None]
    sxx = (weights * dx**2).sum(axis=1)
    sxy = (weights * dx * (y[None, :] - ybar[:, None])).sum(axis=1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxx), where=sxx > 1e-12 * max(np.ptp(x) ** 2, 1.0))
    return ybar + slope * (x - xbar)
