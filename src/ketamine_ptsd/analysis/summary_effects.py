"""Paired statistics and effect sizes implied by reported means and SDs.

A paper that reports means and SDs before and after treatment, but not the
pre-post correlation, leaves some statistics open. These functions need only
the reported numbers, not the data:

* :func:`d_definitions`: Cohen's d of the change under each usual definition
  (which of them reproduces a reported d is
  :func:`ketamine_ptsd.analysis.consistency.closest_to`);
* :func:`r_range_for`: what an unreported pre-post correlation leaves open
  (paired t, p, d_z, confidence interval of the change);
* :func:`change_sd_floor`: how small the SD of the change can be when a
  reported share of patients improved by less than a threshold.
"""

from __future__ import annotations

import math

from scipy import stats

from ketamine_ptsd.analysis.effects import t_half_width
from ketamine_ptsd.parameters import DEFAULTS

__all__ = [
    "D_NAMES",
    "d_definitions",
    "implied_r",
    "r_grid",
    "r_range_for",
    "r_range_summary",
    "change_sd_floor",
]

# Default grid of pre-post correlations for r_range_for: from slightly negative
# (scores unrelated or reversed) to almost perfectly stable rank order.
_DEFAULT_R_GRID = tuple(round(-0.20 + 0.05 * i, 2) for i in range(24))
_R_STEP = 0.05


def r_grid(cover=()) -> tuple[float, ...]:
    """The default grid of pre-post correlations (-0.20 to 0.95 by 0.05), extended by the same steps to take in
    every value of ``cover``, whose lowest and highest are added themselves: statistics monotone in r then
    lie between the grid's ends for every r of ``cover``.

    >>> r_grid([-0.317, 0.5])[:4], r_grid()[-1]
    ((-0.317, -0.3, -0.25, -0.2), 0.95)
    """
    cover = [float(r) for r in cover]
    low, high = min([_DEFAULT_R_GRID[0], *cover]), max([_DEFAULT_R_GRID[-1], *cover])
    first = math.floor(round(low / _R_STEP, 9))
    last = math.ceil(round(high / _R_STEP, 9))
    steps = [round(_R_STEP * i, 2) for i in range(first, last + 1)]
    return tuple(sorted({r for r in steps if low <= r <= high} | {low, high}))


# --------------------------------------------------------------------------
# Effect-size definitions
# --------------------------------------------------------------------------
def _sd_change(pre_sd: float, post_sd: float, r: float) -> float:
    """SD of pre - post from the two SDs and their correlation."""
    variance = pre_sd**2 + post_sd**2 - 2 * r * pre_sd * post_sd
    return math.sqrt(variance) if variance > 0 else 0.0


def _paired_row(change: float, sd_change: float, n: int, confidence: float) -> dict:
    """Paired t statistics of a mean change; None where the SD of change is 0."""
    df = n - 1
    if sd_change <= 0:
        return {
            "sd_change": float(sd_change),
            "d_z": None,
            "t": None,
            "df": df,
            "p": None,
            "change_ci_low": None,
            "change_ci_high": None,
        }
    se = sd_change / math.sqrt(n)
    t = change / se
    half = float(t_half_width(se, df, confidence))
    return {
        "sd_change": float(sd_change),
        "d_z": float(change / sd_change),
        "t": float(t),
        "df": df,
        "p": float(2 * stats.t.sf(abs(t), df)),
        "change_ci_low": float(change - half),
        "change_ci_high": float(change + half),
    }


def _d_formulas(pre_mean: float, pre_sd: float, post_mean: float, post_sd: float) -> dict[str, float]:
    change = pre_mean - post_mean
    return {
        "d_av": change / math.sqrt((pre_sd**2 + post_sd**2) / 2),
        "d_mean_sd": change / ((pre_sd + post_sd) / 2),
        "d_pre": change / pre_sd,
        "d_post": change / post_sd,
    }


#: The definitions of d that :func:`d_definitions` computes, in the order they are reported.
D_NAMES = ("d_av", "d_mean_sd", "d_pre", "d_post")


def d_definitions(
    pre_mean: float,
    pre_sd: float,
    post_mean: float,
    post_sd: float,
    n: int,
    r_values: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 0.9),
    decimals: int | None = None,
) -> dict:
    """Cohen's d for a pre-post change under several definitions.

    Change is ``pre_mean - post_mean`` (positive = improvement).

    Parameters
    ----------
    pre_mean, pre_sd, post_mean, post_sd : float
        Reported means and SDs before and after treatment.
    n : int
        Number of people with both scores.
    r_values : tuple of float
        Pre-post correlations at which to evaluate d_z (it needs the SD of the
        change, which depends on the unreported correlation).
    decimals : int, optional
        Decimals of the reported means and SDs. When given, ``ranges`` holds
        the smallest and largest value of each definition over all inputs that
        round to the reported ones.

    Returns
    -------
    dict
        ``mean_change``, ``d_av``, ``d_mean_sd``, ``d_pre``, ``d_post`` (floats),
        ``d_z`` (list of ``{r, d_z, sd_change, t, df, p}``), ``ranges``
        (``{name: [low, high]}`` or None) and ``inputs``; the names are :data:`D_NAMES`.

    Examples
    --------
    >>> round(d_definitions(52.39, 11.90, 29.42, 16.52, 117)["d_av"], 4)
    1.5955
    """
    values = _d_formulas(pre_mean, pre_sd, post_mean, post_sd)
    change = pre_mean - post_mean
    d_z = []
    for r in r_values:
        # Only d_z, t, df and p are kept: the interval's level does not matter here.
        row = _paired_row(change, _sd_change(pre_sd, post_sd, r), n, DEFAULTS["ci_level"])
        d_z.append({"r": float(r), **{k: row[k] for k in ("d_z", "sd_change", "t", "df", "p")}})
    ranges = None
    if decimals is not None:
        # Each definition is monotone in every input, so its extremes over the
        # box of rounding intervals sit at the box's corners.
        h = 0.5 * 10**-decimals
        corners = [
            _d_formulas(pre_mean + a, max(pre_sd + b, 1e-12), post_mean + c, max(post_sd + e, 1e-12))
            for a in (-h, h)
            for b in (-h, h)
            for c in (-h, h)
            for e in (-h, h)
        ]
        ranges = {name: [float(min(c[name] for c in corners)), float(max(c[name] for c in corners))] for name in values}
    return {
        "mean_change": float(change),
        **{name: float(v) for name, v in values.items()},
        "d_z": d_z,
        "ranges": ranges,
        "inputs": {
            "pre_mean": pre_mean,
            "pre_sd": pre_sd,
            "post_mean": post_mean,
            "post_sd": post_sd,
            "n": n,
            "decimals": decimals,
        },
    }


def implied_r(pre_sd: float, post_sd: float, sd_change: float) -> float | None:
    """Pre-post correlation that gives this SD of change; None if none in [-1, 1] does."""
    r = (pre_sd**2 + post_sd**2 - sd_change**2) / (2 * pre_sd * post_sd)
    return float(r) if -1 <= r <= 1 else None


# --------------------------------------------------------------------------
# What the unreported pre-post correlation leaves open
# --------------------------------------------------------------------------
def r_range_for(
    pre_mean: float,
    pre_sd: float,
    post_mean: float,
    post_sd: float,
    n: int,
    r_values: tuple[float, ...] | None = None,
    reported_t: float | None = None,
    reported_d_z: float | None = None,
    confidence: float = DEFAULTS["ci_level"],
) -> list[dict]:
    """Paired statistics of the change over a grid of pre-post correlations.

    The SD of the change, and with it t, p, d_z and the confidence interval of
    the mean change, depend on the correlation r between before and after
    scores: SD_change^2 = SD_pre^2 + SD_post^2 - 2 r SD_pre SD_post.

    Parameters
    ----------
    pre_mean, pre_sd, post_mean, post_sd : float
        Reported means and SDs.
    n : int
        Number of people with both scores.
    r_values : tuple of float, optional
        Correlations to evaluate; default -0.20 to 0.95 in steps of 0.05.
    reported_t, reported_d_z : float, optional
        A reported paired t or d_z; adds a row with the r it implies.
    confidence : float, default the build parameter ``ci_level``
        Level of the t interval of the mean change.

    Returns
    -------
    list of dict
        Rows ``{basis, r, possible, sd_change, d_z, t, df, p, change_ci_low,
        change_ci_high}``; ``basis`` is ``"grid"``, ``"reported t"`` or
        ``"reported d_z"``. For an implied row, ``r`` is None and ``possible``
        False when no correlation in [-1, 1] gives the reported statistic.
    """
    change = pre_mean - post_mean
    grid = _DEFAULT_R_GRID if r_values is None else r_values
    rows = []
    for r in grid:
        row = _paired_row(change, _sd_change(pre_sd, post_sd, r), n, confidence)
        rows.append({"basis": "grid", "r": float(r), "possible": True, **row})
    implied = []
    if reported_t is not None:
        implied.append(("reported t", reported_t / math.sqrt(n)))
    if reported_d_z is not None:
        implied.append(("reported d_z", reported_d_z))
    for basis, d_z in implied:
        sd_change = change / d_z
        r = implied_r(pre_sd, post_sd, sd_change)
        row = _paired_row(change, abs(sd_change), n, confidence)
        rows.append({"basis": basis, "r": r, "possible": r is not None, **row})
    return rows


def r_range_summary(rows: list[dict]) -> dict:
    """Smallest and largest t, p, d_z and CI bounds over the grid rows of :func:`r_range_for`."""
    grid = [row for row in rows if row["basis"] == "grid" and row["t"] is not None]
    if not grid:
        return {
            key: None
            for key in (
                "r_min",
                "r_max",
                "t_min",
                "t_max",
                "p_min",
                "p_max",
                "d_z_min",
                "d_z_max",
                "ci_low_min",
                "ci_high_max",
            )
        }

    def pick(fn, key):
        return float(fn(row[key] for row in grid))

    return {
        "r_min": pick(min, "r"),
        "r_max": pick(max, "r"),
        "t_min": pick(min, "t"),
        "t_max": pick(max, "t"),
        "p_min": pick(min, "p"),
        "p_max": pick(max, "p"),
        "d_z_min": pick(min, "d_z"),
        "d_z_max": pick(max, "d_z"),
        "ci_low_min": pick(min, "change_ci_low"),
        "ci_high_max": pick(max, "change_ci_high"),
    }


# --------------------------------------------------------------------------
# What a reported head count says about the spread of the change
# --------------------------------------------------------------------------
def change_sd_floor(mean_change: float, n: int, n_below: int, below_max: float) -> float:
    """Smallest SD (denominator n - 1) of n changes with this mean when ``n_below`` are at most ``below_max``.

    With the mean fixed, the spread is smallest when the ``n_below`` changes all equal ``below_max`` and
    the others share the rest of the total equally, so no data can have a smaller SD. Through
    ``SD_change^2 = SD_pre^2 + SD_post^2 - 2 r SD_pre SD_post`` this caps the pre-post correlation, d_z and
    the paired t that the reported count allows.

    Parameters
    ----------
    mean_change : float
        Mean change (positive = improvement).
    n : int
        Number of patients (>= 2).
    n_below : int
        Patients whose change is at most ``below_max``; e.g. those without a clinically significant
        change of 10 points have a change of at most 9 (whole-number scores).
    below_max : float
        Largest change of those patients.

    Returns
    -------
    float
        The floor; 0 when the constraint does not bind (no such patients, all of them, or a mean change
        not above ``below_max``).

    Examples
    --------
    29 of 117 patients improving by at most 9 points, mean change 2780 / 117:

    >>> round(change_sd_floor(2780 / 117, 117, 29, 9), 3)
    8.51
    """
    if n < 2:
        raise ValueError("an SD needs n >= 2")
    if not 0 < n_below < n or mean_change <= below_max:
        return 0.0
    rest = (n * mean_change - n_below * below_max) / (n - n_below)
    share = n_below / n
    return math.sqrt(n / (n - 1) * share * (1 - share)) * (rest - below_max)
