"""Adverse events: each ``ae_*`` rate with its exact interval, and the serious adverse events.

A rate is the patients with the event over the patients for whom the column is recorded (an empty cell is
"not recorded", not "no event"), with the exact Clopper-Pearson interval (statsmodels' ``beta`` method).
Counts of 1 to ``min_cell - 1``, and whatever rests on them, are suppressed.

Examples
--------
>>> import pandas as pd
>>> cohort = pd.DataFrame({"ae_nausea": pd.array([True, False, None, False], dtype="boolean")})
>>> rates = adverse_event_rates(cohort, 0.95, min_cell=0)
>>> rates["ae_nausea_n"], rates["ae_nausea_n_recorded"], round(rates["ae_nausea_pct"], 1)
(1, 3, 33.3)
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ketamine_ptsd.data.contract import AE_PATTERN

from .privacy import suppress

#: Adverse-event columns of the validated cohort (the contract's ``ae_<name>``).
AE_COLUMN = re.compile(AE_PATTERN)
SERIOUS = "serious_adverse_event"


def adverse_event_columns(cohort: pd.DataFrame) -> list[str]:
    """The cohort's ``ae_*`` columns, in order."""
    return [c for c in cohort.columns if AE_COLUMN.fullmatch(c)]


def rate(events: int, recorded: int, ci_level: float) -> dict[str, Any]:
    """Percentage with its exact (Clopper-Pearson) interval, 0-100; ``None`` with nothing recorded."""
    if recorded == 0:
        return {"pct": None, "ci_low": None, "ci_high": None}
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(events, recorded, alpha=1 - ci_level, method="beta")
    return {"pct": 100 * events / recorded, "ci_low": 100 * float(low), "ci_high": 100 * float(high)}


def adverse_event_rates(cohort: pd.DataFrame, ci_level: float, min_cell: int) -> dict[str, Any]:
    """``ae_<name>_n``, ``_n_recorded``, ``_pct``, ``_ci_low``, ``_ci_high`` for each ``ae_*`` column, and
    ``n_serious_adverse_events`` (``None`` without the column), with the small-cell rule applied."""
    values: dict[str, Any] = {}
    sizes: dict[str, Any] = {}
    for column in adverse_event_columns(cohort):
        recorded = cohort[column].dropna()
        events, n = int(recorded.sum()), len(recorded)
        values[f"{column}_n"] = events
        values[f"{column}_n_recorded"] = n
        for key, value in rate(events, n, ci_level).items():
            values[f"{column}_{key}"] = value
            sizes[f"{column}_{key}"] = (events, n - events, n)
        sizes[f"{column}_n"] = (events, n - events)
        sizes[f"{column}_n_recorded"] = n
    serious = int(cohort[SERIOUS].dropna().sum()) if SERIOUS in cohort else None
    values["n_serious_adverse_events"] = serious
    sizes["n_serious_adverse_events"] = serious
    return suppress(values, sizes, min_cell)


def serious_claim_check(cohort: pd.DataFrame) -> dict[str, Any]:
    """Whether the data support "no serious adverse events": recorded patients and the events among them.

    ``computable`` is False without the column (or with no patient recorded); ``holds`` then is ``None``.
    """
    if SERIOUS not in cohort or cohort[SERIOUS].notna().sum() == 0:
        return {"computable": False, "holds": None, "n_recorded": 0}
    recorded = cohort[SERIOUS].dropna()
    return {"computable": True, "holds": not bool(recorded.any()), "n_recorded": len(recorded)}
