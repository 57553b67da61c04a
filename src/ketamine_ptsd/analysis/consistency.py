"""Consistency checks of reported summary statistics.

Could the published numbers have come from whole-number PCL-5 totals of the
stated number of patients? These checks need only the reported numbers, not the
data:

* :func:`grim` (Brown & Heathers 2017): is a mean reachable by n whole numbers?
* :func:`grimmer` (Anaya 2016; Allard 2018): is a standard deviation reachable
  together with that mean?
* :func:`percent_counts`: which head counts give a reported percentage?
* :func:`closest_to`: which definition of Cohen's d
  (:func:`ketamine_ptsd.analysis.summary_effects.d_definitions`) reproduces a
  reported d?

The checks return values; :mod:`ketamine_ptsd.presentation.consistency_text` puts
each result in plain English for a clinical reader.

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

from ketamine_ptsd.analysis.summary_effects import D_NAMES, implied_r

__all__ = [
    "rounds_to",
    "grim",
    "grim_sums",
    "grim_neighbours",
    "grimmer",
    "grimmer_witness",
    "grimmer_window",
    "percent_counts",
    "closest_to",
]


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


def grim_neighbours(mean: float, n: int, decimals: int, items: int = 1) -> tuple[int, int]:
    """The whole-number totals just below and just above ``n * items`` times the reported mean.

    When :func:`grim` fails, these are the nearest totals, and neither gives the mean.

    Examples
    --------
    >>> grim_neighbours(5.19, 28, 2)
    (145, 146)
    """
    count = n * items
    below = math.floor(Fraction(_scaled_int(mean, decimals), 10**decimals) * count)
    return below, below + 1


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


def grimmer_witness(
    mean: float,
    sd: float,
    n: int,
    decimals: int,
    lo: int | None,
    hi: int | None,
    sd_decimals: int | None,
) -> tuple[int, int] | None:
    """The first (total, sum of squares) pair that passes every condition of :func:`grimmer`, or None when
    none does: a witness that the mean and SD can go together.

    Examples
    --------
    >>> grimmer_witness(52.39, 11.90, 117, 2, 0, 80, None)
    (6130, 337584)
    """
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
    return grimmer_witness(mean, sd, n, decimals, lo, hi, sd_decimals) is not None


def grimmer_window(sd: float, n: int, sd_decimals: int) -> float:
    """Width of the window of sums of squares whose SD over ``n`` scores rounds to ``sd``.

    Once the window spans two or more whole numbers, one of the parity GRIMMER needs always lies in it, so
    the check cannot fail.

    Examples
    --------
    >>> round(grimmer_window(11.90, 117, 2), 1)
    27.6
    """
    _, sd_low, sd_high, _, _ = _interval(sd, sd_decimals)
    return float((n - 1) * (sd_high**2 - max(sd_low, Fraction(0)) ** 2))


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
        at which d_z would equal the reported d, or None);
        :func:`ketamine_ptsd.presentation.consistency_text.explain_closest` says it in words.
    """
    _, low, high, low_in, high_in = _interval(reported_d, decimals)
    ranges = definitions.get("ranges")
    matches = []
    for name in D_NAMES:
        if ranges:
            a, b = ranges[name]
            ok = Fraction(b) >= low and Fraction(a) <= high
        else:
            ok = _inside(Fraction(definitions[name]), low, high, low_in, high_in)
        if ok:
            matches.append(name)
    differences = {name: float(definitions[name] - reported_d) for name in D_NAMES}
    closest = min(D_NAMES, key=lambda name: abs(differences[name]))
    inp = definitions["inputs"]
    change = definitions["mean_change"]
    r_for_d_z = implied_r(inp["pre_sd"], inp["post_sd"], change / reported_d) if reported_d else None
    return {
        "reported": float(reported_d),
        "matches": matches,
        "closest": closest,
        "differences": differences,
        "r_for_d_z": r_for_d_z,
    }
