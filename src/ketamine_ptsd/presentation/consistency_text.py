"""The consistency checks of published numbers in plain English for a clinical reader: each sentence is
written from what :mod:`ketamine_ptsd.analysis.consistency` and
:mod:`ketamine_ptsd.analysis.summary_effects` compute."""

from __future__ import annotations

import math

from ketamine_ptsd.analysis import consistency, summary_effects

__all__ = [
    "D_LABELS",
    "explain_grim",
    "explain_grimmer",
    "explain_percent_counts",
    "explain_closest",
]

#: Each definition of d (:data:`ketamine_ptsd.analysis.summary_effects.D_NAMES`) as a reader sees it.
D_LABELS = {
    "d_av": "d_av: mean change / square root of the average of the two variances",
    "d_mean_sd": "mean change / arithmetic average of the two SDs (Lakens 2013 calls this d_av)",
    "d_pre": "d_pre: mean change / baseline SD",
    "d_post": "d_post: mean change / post-treatment SD",
}

# The short names of the definitions inside a sentence that lists their values.
_D_SHORT = {"d_av": "d_av", "d_mean_sd": "change / mean SD", "d_pre": "d_pre", "d_post": "d_post"}


def _fmt(x: float, places: int) -> str:
    return f"{x:.{places}f}"


def explain_grim(mean: float, n: int, decimals: int, items: int = 1) -> str:
    """:func:`ketamine_ptsd.analysis.consistency.grim` in words, for the same arguments.

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
    sums = consistency.grim_sums(mean, n, decimals, items)
    if sums:
        reach = " or ".join(f"total {s} gives {_fmt(s / count, decimals + 3)}" for s in sums)
        text = head + f"{shown} is reachable ({reach}, which rounds to {shown})."
        if count >= 10**decimals:
            text += (
                f" With {count} values and {decimals} decimals every reported mean is reachable, "
                "so this check could not have failed: passing it is no evidence either way."
            )
        return text
    a, b = consistency.grim_neighbours(mean, n, decimals, items)
    return head + (
        f"{shown} is not reachable: the nearest totals, {a} and {b}, give "
        f"{_fmt(a / count, decimals + 3)} and {_fmt(b / count, decimals + 3)}, which do not round "
        f"to {shown}. The mean, the number of people or the rounding must be misreported."
    )


def explain_grimmer(
    mean: float,
    sd: float,
    n: int,
    decimals: int,
    lo: int | None = None,
    hi: int | None = None,
    sd_decimals: int | None = None,
) -> str:
    """:func:`ketamine_ptsd.analysis.consistency.grimmer` in words, for the same arguments.

    Examples
    --------
    >>> explain_grimmer(2.50, 0.82, 4, 2)[-42:]
    't both be right for 4 whole-number scores.'
    """
    sd_places = decimals if sd_decimals is None else sd_decimals
    shown_m, shown_sd = _fmt(mean, decimals), _fmt(sd, sd_places)
    head = (
        f"A standard deviation of {shown_sd} around a mean of {shown_m} from {n} whole-number "
        "scores needs a sum of squared scores that is a whole number, even when the total is even "
        "and odd when it is odd. "
    )
    if not consistency.grim_sums(mean, n, decimals):
        return head + f"Here the mean itself is unreachable with {n} scores (see GRIM)."
    witness = consistency.grimmer_witness(mean, sd, n, decimals, lo, hi, sd_decimals)
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
    width = consistency.grimmer_window(sd, n, sd_places)
    if width >= 2:
        text += (
            f" With {n} scores about {width:.0f} whole-number sums of squares round to this SD, "
            "so one of the right parity always exists: this check could not have failed here."
        )
    return text


def explain_percent_counts(pct: float, n: int, decimals: int = 0) -> str:
    """:func:`ketamine_ptsd.analysis.consistency.percent_counts` in words, for the same arguments.

    Examples
    --------
    >>> explain_percent_counts(75, 117)
    '75% of 117 people can only be 88 people (88/117 = 75.21%); 87 would be 74.36% and 89 would be 76.07%.'
    """
    shown = f"{_fmt(pct, decimals)}%"
    counts = consistency.percent_counts(pct, n, decimals)
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


def explain_closest(found: dict, definitions: dict, decimals: int = 2) -> str:
    """Which definition of d reproduces a reported d, in words.

    Parameters
    ----------
    found : dict
        From :func:`ketamine_ptsd.analysis.consistency.closest_to`.
    definitions : dict
        The :func:`ketamine_ptsd.analysis.summary_effects.d_definitions` that ``found`` was computed from.
    decimals : int, default 2
        Decimals of the reported d.

    Returns
    -------
    str

    Examples
    --------
    >>> defs = summary_effects.d_definitions(52.39, 11.90, 29.42, 16.52, 117, decimals=2)
    >>> explain_closest(consistency.closest_to(1.60, defs, 2), defs)[:60]
    'The reported d of 1.60 is reproduced by d_av: mean change / '
    """
    shown = _fmt(found["reported"], decimals)
    parts = [f"{_D_SHORT[nm]} = {_fmt(definitions[nm], decimals + 1)}" for nm in summary_effects.D_NAMES]
    if found["matches"]:
        text = (
            f"The reported d of {shown} is reproduced by "
            + " and ".join(D_LABELS[m] for m in found["matches"])
            + f" (computed from the reported means and SDs: {'; '.join(parts)})."
        )
    else:
        text = (
            f"None of the usual definitions reproduces the reported d of {shown} "
            f"({'; '.join(parts)}); the closest is {D_LABELS[found['closest']]}."
        )
    if found["r_for_d_z"] is not None:
        text += (
            f" d_z (mean change / SD of the change) would equal {shown} only if the before and after "
            f"scores correlated at r = {found['r_for_d_z']:.2f}, which is not reported."
        )
    return text
