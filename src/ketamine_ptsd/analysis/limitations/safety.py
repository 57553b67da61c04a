"""Safety: what a record without adverse events can and cannot exclude."""

from __future__ import annotations

from ketamine_ptsd.parameters import DEFAULTS


def zero_event_upper_bound(n: int, ci_level: float = DEFAULTS["ci_level"]) -> dict:
    """Largest event rate compatible with observing no events in ``n`` (Clopper-Pearson, exact).

    With x = 0 the exact interval's upper limit has a closed form: ``1 - ((1 - ci_level) / 2) ** (1 / n)``
    (about 3.7 / n at 95%; the one-sided "rule of three" gives 3 / n). It is what "no serious adverse
    events in n patients" can exclude, at best.

    Returns
    -------
    dict
        ``n``, ``upper`` (proportion) and ``upper_pct``; None when n is 0.
    """
    if n <= 0:
        return {"n": int(n), "upper": None, "upper_pct": None}
    upper = 1 - ((1 - ci_level) / 2) ** (1 / n)
    return {"n": int(n), "upper": upper, "upper_pct": 100 * upper}
