"""Consistency checks of reported summary statistics.

Could the published numbers have come from whole-number PCL-5 totals of the
stated number of patients? These checks need only the reported numbers, not the
data:

* :func:`grim` (Brown & Heathers 2017): is a mean reachable by n whole numbers?
* :func:`grimmer` (Anaya 2016; Allard 2018): is a standard deviation reachable
  together with that mean?
* :func:`percent_counts`: which head counts give a reported percentage?
* :func:`d_definitions` and :func:`closest_to`: which definition of Cohen's d
  reproduces a reported d?
* :func:`r_range_for`: what an unreported pre-post correlation leaves open
  (paired t, p, d_z, confidence interval of the change).
* :func:`change_sd_floor`: how small the SD of the change can be when a
  reported share of patients improved by less than a threshold.

Each check has a companion ``explain_*`` function that puts the result in plain
English for a clinical reader.

Rounding. A reported value could have been rounded half up (half away from
zero, as in SPSS and Excel) or half to even (as in R and Python). Both are
accepted: a value exactly halfway between two reported values counts as
consistent if either rule gives the reported value. All comparisons use exact
rational arithmetic, so no floating-point error decides a borderline case.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from scipy import stats

from ketamine_ptsd.analysis.effects import t_half_width
from ketamine_ptsd.parameters import DEFAULTS

__all__ = [
    "rounds_to",
    "grim",
    "grim_sums",
    "explain_grim",
    "grimmer",
    "explain_grimmer",
    "percent_counts",
    "explain_percent_counts",
    "d_definitions",
    "closest_to",
    "r_range_for",
    "r_range_summary",
    "explain_r_range",
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
# Rounding intervals
# --------------------------------------------------------------------------
def _scaled_int(reported: float, decimals: int) -> int:
    """Return ``reported * 10**decimals`` as an exact integer.

    Raises ValueError when ``reported`` carries more decimals than stated,
    which would make the check meaningless.
    """
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    # repr gives the shortest decimal string that round-trips, i.e. what was typed.
    scaled = Decimal(repr(float(reported))).scaleb(decimals)
    whole = int(scaled.to_integral_value())
    if abs(scaled - whole) > Decimal("1e-6"):
        raise ValueError(f"{reported} has more than {decimals} decimals")
    return whole


def _interval(reported: float, decimals: int) -> tuple[int, Fraction, Fraction, bool, bool]:
    """Exact values that round to ``reported`` at ``decimals`` places.

    Returns ``(R, low, high, low_included, high_included)`` with ``R`` the
    reported value times ``10**decimals``. Values strictly between ``low`` and
    ``high`` round to ``reported`` under every rule; an endpoint (a tie) is
    included when half-up (away from zero) or half-even rounding maps it there.
    """
    r = _scaled_int(reported, decimals)
    scale = 10**decimals
    low = Fraction(2 * r - 1, 2 * scale)
    high = Fraction(2 * r + 1, 2 * scale)
    even = r % 2 == 0
    if r > 0:  # half-up lifts the lower tie to r; half-even keeps a tie at r if r is even
        return r, low, high, True, even
    if r < 0:  # mirror image: away from zero pulls the upper tie to r
        return r, low, high, even, True
    return r, low, high, True, True  # zero is even: both ties round to it


def _inside(x: Fraction, low: Fraction, high: Fraction, low_in: bool, high_in: bool) -> bool:
    above = x > low or (low_in and x == low)
    below = x < high or (high_in and x == high)
    return above and below


def rounds_to(value: float, reported: float, decimals: int) -> bool:
    """Whether ``value`` rounds to ``reported`` at ``decimals`` places.

    Parameters
    ----------
    value : float
        The unrounded value.
    reported : float
        The value as reported (rounded).
    decimals : int
        Number of decimals reported.

    Returns
    -------
    bool
        True if rounding half up (away from zero) or half to even gives
        ``reported``.

    Examples
    --------
    >>> rounds_to(6147 / 117, 52.54, 2)
    True
    >>> rounds_to(0.125, 0.12, 2), rounds_to(0.125, 0.13, 2)
    (True, True)
    """
    _, low, high, low_in, high_in = _interval(reported, decimals)
    return _inside(Fraction(value), low, high, low_in, high_in)


# --------------------------------------------------------------------------
# GRIM
# --------------------------------------------------------------------------
def grim_sums(mean: float, n: int, decimals: int, items: int = 1) -> list[int]:
    """Integer totals whose mean over ``n * items`` values rounds to ``mean``.

    Parameters
    ----------
    mean : float
        Reported mean.
    n : int
        Number of people.
    decimals : int
        Number of decimals the mean is reported with.
    items : int, default 1
        Number of integer items averaged per person (Brown & Heathers 2017,
        multi-item scales). A PCL-5 total is already a whole number, so 1.

    Returns
    -------
    list of int
        Every total T with T / (n * items) rounding to ``mean``; empty when the
        mean is unreachable.

    Examples
    --------
    >>> grim_sums(52.54, 117, 2)
    [6147]
    """
    if n < 1 or items < 1:
        raise ValueError("n and items must be >= 1")
    count = n * items
    _, low, high, low_in, high_in = _interval(mean, decimals)
    first = math.floor(low * count)
    last = math.ceil(high * count)
    return [s for s in range(first, last + 1) if _inside(Fraction(s, count), low, high, low_in, high_in)]


def grim(mean: float, n: int, decimals: int, items: int = 1) -> bool:
    """GRIM test: can ``n`` whole-number scores have this reported mean?

    A mean of ``n`` integers is a multiple of ``1/n``; the test asks whether
    some multiple rounds to the reported value (Brown & Heathers 2017, Soc
    Psychol Personal Sci 8:363). When ``n * items >= 10**decimals`` every value
    is reachable and the test cannot fail.

    Parameters
    ----------
    mean : float
        Reported mean.
    n : int
        Number of people.
    decimals : int
        Number of decimals the mean is reported with.
    items : int, default 1
        Integer items averaged per person; 1 for PCL-5 totals.

    Returns
    -------
    bool
        True if consistent (under half-up or half-even rounding).

    Examples
    --------
    >>> grim(5.19, 28, 2)
    False
    >>> grim(52.54, 117, 2)
    True
    """
    return bool(grim_sums(mean, n, decimals, items))


def _fmt(x: float, places: int) -> str:
    return f"{x:.{places}f}"


def explain_grim(mean: float, n: int, decimals: int, items: int = 1) -> str:
    """Plain-English account of :func:`grim` for the same arguments.

    Examples
    --------
    >>> explain_grim(52.54, 117, 2)[:60]
    'A mean of 117 whole-number scores can only take values that '
    """
    count = n * items
    shown = _fmt(mean, decimals)
    what = (
        f"A mean of {n} whole-number scores"
        if items == 1
        else f"A mean of {n} people's averages over {items} whole-number items"
    )
    head = f"{what} can only take values that are multiples of 1/{count}; "
    sums = grim_sums(mean, n, decimals, items)
    if sums:
        reach = " or ".join(f"total {s} gives {_fmt(s / count, decimals + 3)}" for s in sums)
        text = head + f"{shown} is reachable ({reach}, which rounds to {shown})."
        if count >= 10**decimals:
            text += (
                f" With {count} values and {decimals} decimals every reported mean is reachable, "
                "so this check could not have failed: passing it is no evidence either way."
            )
        return text
    below = math.floor(Fraction(_scaled_int(mean, decimals), 10**decimals) * count)
    a, b = below, below + 1
    return head + (
        f"{shown} is not reachable: the nearest totals, {a} and {b}, give "
        f"{_fmt(a / count, decimals + 3)} and {_fmt(b / count, decimals + 3)}, which do not round "
        f"to {shown}. The mean, the number of people or the rounding must be misreported."
    )


# --------------------------------------------------------------------------
# GRIMMER
# --------------------------------------------------------------------------
def _min_sum_squares(total: int, n: int) -> int:
    """Smallest sum of squares of n integers adding up to ``total`` (values as equal as possible)."""
    q, r = divmod(total, n)
    return (n - r) * q * q + r * (q + 1) ** 2


def _max_sum_squares(total: int, n: int, lo: int, hi: int) -> int:
    """Largest sum of squares of n integers in [lo, hi] adding up to ``total``.

    Push as many values as possible to ``hi``, the rest to ``lo``, one value in between.
    """
    if hi == lo:
        return n * lo * lo
    k, rem = divmod(total - n * lo, hi - lo)
    if k >= n:
        return n * hi * hi
    return k * hi * hi + (n - k - 1) * lo * lo + (lo + rem) ** 2


def _grimmer_witness(
    mean: float,
    sd: float,
    n: int,
    decimals: int,
    lo: int | None,
    hi: int | None,
    sd_decimals: int | None,
) -> tuple[int, int] | None:
    """First (total, sum of squares) pair passing every GRIMMER condition, or None."""
    if n < 2:
        raise ValueError("a standard deviation needs n >= 2")
    if (lo is None) != (hi is None):
        raise ValueError("give both lo and hi, or neither")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("lo must not exceed hi")
    sd_places = decimals if sd_decimals is None else sd_decimals
    _, sd_low, sd_high, low_in, high_in = _interval(sd, sd_places)
    if sd_high < 0 or (sd_high == 0 and not high_in):
        return None
    # Work with variances so that no square root is ever rounded.
    var_low = max(sd_low, Fraction(0)) ** 2
    var_high = sd_high**2
    low_in = low_in or sd_low < 0  # a negative bound is no bound for an SD
    for total in grim_sums(mean, n, decimals):
        if lo is not None and not (n * lo <= total <= n * hi):
            continue
        centre = Fraction(total * total, n)
        q_first = math.floor((n - 1) * var_low + centre)
        q_last = math.ceil((n - 1) * var_high + centre)
        q_min = _min_sum_squares(total, n)
        q_max = _max_sum_squares(total, n, lo, hi) if lo is not None else None
        for q in range(max(q_first, q_min), q_last + 1):
            if q_max is not None and q > q_max:
                break
            # x*x has the parity of x, so the sum of squares has the parity of the total.
            if (q - total) % 2:
                continue
            variance = (q - centre) / (n - 1)
            if _inside(variance, var_low, var_high, low_in, high_in):
                return total, q
    return None


def grimmer(
    mean: float,
    sd: float,
    n: int,
    decimals: int,
    lo: int | None = None,
    hi: int | None = None,
    sd_decimals: int | None = None,
) -> bool:
    """GRIMMER test: can ``n`` whole numbers have this mean and this SD?

    The SD is the sample SD (denominator n - 1). For n integers with total T
    and sum of squares Q, Q = (n - 1) SD^2 + T^2 / n must be a whole number,
    of the same parity as T (x^2 and x are both odd or both even), and at least
    the sum of squares of the most even split of T (Anaya 2016, PeerJ Preprints
    2400; Allard 2018, analytic GRIMMER). With ``lo`` and ``hi`` the total must
    lie in [n lo, n hi] and Q must not exceed that of the most extreme split.

    These are necessary conditions: False proves that no such sample exists;
    True means no contradiction was found (a few (T, Q) pairs that pass are
    still not sums of n squares, e.g. n = 2, T = 4, Q = 12).

    Parameters
    ----------
    mean, sd : float
        Reported mean and standard deviation.
    n : int
        Number of people (>= 2).
    decimals : int
        Decimals of the mean (and of the SD unless ``sd_decimals`` is given).
    lo, hi : int, optional
        Smallest and largest possible score (0 and 80 for a PCL-5 total).
    sd_decimals : int, optional
        Decimals of the SD when they differ from the mean's.

    Returns
    -------
    bool

    Examples
    --------
    >>> grimmer(2.50, 0.82, 4, 2)  # needs an odd sum of squares with an even total
    False
    >>> grimmer(52.39, 11.90, 117, 2, lo=0, hi=80)
    True
    """
    return _grimmer_witness(mean, sd, n, decimals, lo, hi, sd_decimals) is not None


def explain_grimmer(
    mean: float,
    sd: float,
    n: int,
    decimals: int,
    lo: int | None = None,
    hi: int | None = None,
    sd_decimals: int | None = None,
) -> str:
    """Plain-English account of :func:`grimmer` for the same arguments."""
    sd_places = decimals if sd_decimals is None else sd_decimals
    shown_m, shown_sd = _fmt(mean, decimals), _fmt(sd, sd_places)
    head = (
        f"A standard deviation of {shown_sd} around a mean of {shown_m} from {n} whole-number "
        "scores needs a sum of squared scores that is a whole number, even when the total is even "
        "and odd when it is odd. "
    )
    if not grim_sums(mean, n, decimals):
        return head + f"Here the mean itself is unreachable with {n} scores (see GRIM)."
    witness = _grimmer_witness(mean, sd, n, decimals, lo, hi, sd_decimals)
    if witness is None:
        return head + (
            f"No such sum of squares gives an SD that rounds to {shown_sd}: the mean and SD cannot "
            f"both be right for {n} whole-number scores" + (f" between {lo} and {hi}." if lo is not None else ".")
        )
    total, q = witness
    exact_sd = math.sqrt((q - total * total / n) / (n - 1))
    text = head + (
        f"Total {total} with sum of squares {q} gives SD {_fmt(exact_sd, sd_places + 3)}, "
        f"which rounds to {shown_sd}: consistent."
    )
    # Width of the window of sums of squares that round to the SD: once it spans
    # several whole numbers, one of the right parity always exists.
    _, sd_low, sd_high, _, _ = _interval(sd, sd_places)
    width = float((n - 1) * (sd_high**2 - max(sd_low, Fraction(0)) ** 2))
    if width >= 2:
        text += (
            f" With {n} scores about {width:.0f} whole-number sums of squares round to this SD, "
            "so one of the right parity always exists: this check could not have failed here."
        )
    return text


# --------------------------------------------------------------------------
# Percentages
# --------------------------------------------------------------------------
def percent_counts(pct: float, n: int, decimals: int = 0) -> list[int]:
    """Counts k of n for which 100 k / n rounds to ``pct``.

    Parameters
    ----------
    pct : float
        Reported percentage (0-100).
    n : int
        Denominator (number of people).
    decimals : int, default 0
        Decimals of the reported percentage.

    Returns
    -------
    list of int
        Every matching count; empty when no count of n gives ``pct``.

    Examples
    --------
    >>> percent_counts(75, 117)
    [88]
    >>> percent_counts(62, 117)
    [72, 73]
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    _, low, high, low_in, high_in = _interval(pct, decimals)
    first = max(0, math.floor(low * n / 100))
    last = min(n, math.ceil(high * n / 100))
    return [k for k in range(first, last + 1) if _inside(Fraction(100 * k, n), low, high, low_in, high_in)]


def explain_percent_counts(pct: float, n: int, decimals: int = 0) -> str:
    """Plain-English account of :func:`percent_counts`.

    Examples
    --------
    >>> explain_percent_counts(75, 117)
    '75% of 117 people can only be 88 people (88/117 = 75.21%); 87 would be 74.36% and 89 would be 76.07%.'
    """
    shown = f"{_fmt(pct, decimals)}%"
    counts = percent_counts(pct, n, decimals)
    places = decimals + 2

    def share(k: int) -> str:
        return f"{_fmt(100 * k / n, places)}%"

    if not counts:
        k = math.floor(pct * n / 100)
        return (
            f"No whole number of {n} people gives {shown}: {k} would be {share(k)} and "
            f"{k + 1} would be {share(k + 1)}. The percentage or its denominator must be different."
        )
    listed = " or ".join(f"{k}/{n} = {share(k)}" for k in counts)
    people = " or ".join(str(k) for k in counts)
    text = f"{shown} of {n} people can only be {people} people ({listed})"
    neighbours = [k for k in (counts[0] - 1, counts[-1] + 1) if 0 <= k <= n]
    if neighbours:
        text += "; " + " and ".join(f"{k} would be {share(k)}" for k in neighbours)
    return text + "."


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


_D_SHORT = {"d_av": "d_av", "d_mean_sd": "change / mean SD", "d_pre": "d_pre", "d_post": "d_post"}

_D_LABELS = {
    "d_av": "d_av: mean change / square root of the average of the two variances",
    "d_mean_sd": "mean change / arithmetic average of the two SDs (Lakens 2013 calls this d_av)",
    "d_pre": "d_pre: mean change / baseline SD",
    "d_post": "d_post: mean change / post-treatment SD",
}


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
        (``{name: [low, high]}`` or None), ``labels`` and ``inputs``.

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
        "labels": dict(_D_LABELS),
        "inputs": {
            "pre_mean": pre_mean,
            "pre_sd": pre_sd,
            "post_mean": post_mean,
            "post_sd": post_sd,
            "n": n,
            "decimals": decimals,
        },
    }


def _implied_r(pre_sd: float, post_sd: float, sd_change: float) -> float | None:
    """Pre-post correlation that gives this SD of change; None if none in [-1, 1] does."""
    r = (pre_sd**2 + post_sd**2 - sd_change**2) / (2 * pre_sd * post_sd)
    return float(r) if -1 <= r <= 1 else None


def closest_to(reported_d: float, definitions: dict, decimals: int = 2) -> dict:
    """Which d definition reproduces a reported d at its precision.

    Parameters
    ----------
    reported_d : float
        The d as reported.
    definitions : dict
        Output of :func:`d_definitions`.
    decimals : int, default 2
        Decimals of the reported d.

    Returns
    -------
    dict
        ``reported``, ``matches`` (names whose value, or range over the
        rounding of the inputs, is compatible with the reported d), ``closest``
        (name with the smallest absolute difference), ``differences``
        (``{name: value - reported}``), ``r_for_d_z`` (the pre-post correlation
        at which d_z would equal the reported d, or None) and ``explanation``.
    """
    _, low, high, low_in, high_in = _interval(reported_d, decimals)
    names = list(_D_LABELS)
    ranges = definitions.get("ranges")
    matches = []
    for name in names:
        if ranges:
            a, b = ranges[name]
            ok = Fraction(b) >= low and Fraction(a) <= high
        else:
            ok = _inside(Fraction(definitions[name]), low, high, low_in, high_in)
        if ok:
            matches.append(name)
    differences = {name: float(definitions[name] - reported_d) for name in names}
    closest = min(names, key=lambda name: abs(differences[name]))
    inp = definitions["inputs"]
    change = definitions["mean_change"]
    r_for_d_z = _implied_r(inp["pre_sd"], inp["post_sd"], change / reported_d) if reported_d else None

    shown = _fmt(reported_d, decimals)
    parts = [f"{_D_SHORT[nm]} = {_fmt(definitions[nm], decimals + 2)}" for nm in names]
    if matches:
        text = (
            f"The reported d of {shown} is reproduced by "
            + " and ".join(_D_LABELS[m] for m in matches)
            + f" (computed from the reported means and SDs: {'; '.join(parts)})."
        )
    else:
        text = (
            f"None of the usual definitions reproduces the reported d of {shown} "
            f"({'; '.join(parts)}); the closest is {_D_LABELS[closest]}."
        )
    if r_for_d_z is not None:
        text += (
            f" d_z (mean change / SD of the change) would equal {shown} only if the before and after "
            f"scores correlated at r = {r_for_d_z:.2f}, which is not reported."
        )
    return {
        "reported": float(reported_d),
        "matches": matches,
        "closest": closest,
        "differences": differences,
        "r_for_d_z": r_for_d_z,
        "explanation": text,
    }


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
        r = _implied_r(pre_sd, post_sd, sd_change)
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


def explain_r_range(rows: list[dict]) -> str:
    """Plain-English account of what the unreported correlation leaves open."""
    s = r_range_summary(rows)
    if s["t_min"] is None:
        return "No correlation in the grid gives a defined paired test."
    p_text = "below .001" if s["p_max"] < 0.001 else f"at most {s['p_max']:.3g}"
    text = (
        "The paper does not report how strongly patients' scores before and after treatment are "
        f"correlated (r). For any r from {s['r_min']:.2f} to {s['r_max']:.2f} the paired t "
        f"statistic lies between {s['t_min']:.1f} and {s['t_max']:.1f}, d_z between "
        f"{s['d_z_min']:.2f} and {s['d_z_max']:.2f}, and p is {p_text}; the confidence interval "
        f"of the mean change lies within {s['ci_low_min']:.1f} to {s['ci_high_max']:.1f} points."
    )
    for row in rows:
        if row["basis"] == "grid":
            continue
        if row["possible"]:
            text += f" The {row['basis']} implies r = {row['r']:.2f}."
        else:
            text += f" No correlation between -1 and 1 gives the {row['basis']}: it cannot be right."
    return text


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
