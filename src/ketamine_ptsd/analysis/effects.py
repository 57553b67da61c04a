"""Effect sizes and their intervals, each written once and vectorised (arrays broadcast).

The paired family of the primary outcome (``d_av``, the paper's d, and ``d_z``), the two-group ``d_s`` of
the psychotherapy contrast, the t interval of a mean, and the noncentral-t interval of a standardised effect
(Steiger & Fouladi 1997). The chapters, the limitations and the reconstructions all call these.

Examples
--------
>>> round(float(d_av(23.76, 11.90, 16.52)), 4), round(float(d_z(23.76, 12.0)), 2)
(1.6504, 1.98)
>>> low, high = t_interval(10.0, 2.0, 30, 0.95)
>>> round(low, 3), round(high, 3)
(5.915, 14.085)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats


def d_av(mean_change, sd_pre, sd_post):
    """Mean change over the root mean of the two variances (Cumming's d_av; the paper's d)."""
    return np.asarray(mean_change) / np.sqrt((np.asarray(sd_pre) ** 2 + np.asarray(sd_post) ** 2) / 2)


def d_z(mean_change, sd_change):
    """Mean change over the SD of the change."""
    return np.asarray(mean_change) / np.asarray(sd_change)


def pooled_sd_from_sums(ss_a, ss_b, n):
    """The SD of two groups pooled over ``n - 2`` degrees of freedom, from each group's sum of squared
    deviations (``n`` patients in all)."""
    return np.sqrt((np.asarray(ss_a) + np.asarray(ss_b)) / (n - 2))


def pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    """The SD of two groups pooled over ``len(a) + len(b) - 2`` degrees of freedom (the denominator of d_s)."""
    ss = [(len(x) - 1) * x.var(ddof=1) for x in (a, b)]
    return float(pooled_sd_from_sums(*ss, len(a) + len(b)))


def d_s(mean_a, mean_b, pooled):
    """Cohen's d_s of two groups: the difference in means over their pooled SD."""
    return (np.asarray(mean_a) - np.asarray(mean_b)) / pooled


def t_half_width(se, df, ci_level: float):
    """Half the width of the t interval at ``ci_level`` of an estimate with standard error ``se``."""
    return stats.t.ppf(0.5 + ci_level / 2, df) * np.asarray(se)


def t_interval(mean: float, se: float, df: float, ci_level: float) -> tuple[float | None, float | None]:
    """``mean`` -/+ :func:`t_half_width`; ``(None, None)`` without a finite standard error or degrees of freedom."""
    if not (math.isfinite(se) and df > 0):
        return None, None
    half = float(t_half_width(se, df, ci_level))
    return mean - half, mean + half


def noncentral_t_ci(t: float, df: float, ci_level: float) -> tuple[float | None, float | None]:
    """Confidence interval of the noncentrality parameter of an observed t (Steiger & Fouladi 1997).

    Solves ``nct.cdf(t, df, ncp) = 1 - a/2`` and ``= a/2``; for very large df the normal approximation
    ``t +- z * sqrt(1 + t^2 / (2 df))`` is used, where the two agree to many digits and root finding is unstable.
    """
    if t is None or df is None or df < 1 or not math.isfinite(t):
        return None, None
    a = 1 - ci_level
    half = stats.norm.ppf(1 - a / 2) * math.sqrt(1 + t * t / (2 * df))
    if df > 10_000 or abs(t) > 200:
        return t - half, t + half
    span = 10 + 2 * abs(t)

    def solve(target):
        # special.nctdtr is what stats.nct.cdf computes, without the distribution object's per-call overhead.
        return optimize.brentq(lambda ncp: special.nctdtr(df, ncp, t) - target, t - span, t + span, xtol=1e-10)

    try:
        return solve(1 - a / 2), solve(a / 2)
    except ValueError:
        # scipy's noncentral t returns NaN in parts of the (t, df, ncp) space with few degrees of freedom.
        return t - half, t + half
