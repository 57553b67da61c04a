"""Who the patients were: the cohort's gender, race and age beside the Osmind records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.limitations._common import _num
from ketamine_ptsd.analysis.limitations.benchmarks import benchmark
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, suppress
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.analysis.values import plain_frame as _plain
from ketamine_ptsd.parameters import DEFAULTS

_WHITE = ("white", "caucasian", "white non hispanic", "non hispanic white")


def _norm_label(s: pd.Series) -> pd.Series:
    return s.astype("string").str.lower().str.replace(r"[^a-z]+", " ", regex=True).str.strip()


def _pct(k: int, n: int) -> float | None:
    return 100 * k / n if n else None


def _reported_share(cohort: pd.DataFrame, column: str, hits) -> tuple[dict, dict]:
    """The share of patients reporting ``column`` whose value is one of ``hits``, with the bounds among all
    patients; and what each value rests on (for the small-cell rule)."""
    n = len(cohort)
    s = cohort[column] if column in cohort.columns else pd.Series(pd.NA, index=cohort.index, dtype="string")
    s = _norm_label(s)
    reported = (s.notna() & (s != "")).to_numpy(dtype=bool)
    k = int(reported.sum())
    hit = int((reported & s.isin(hits).fillna(False).to_numpy(dtype=bool)).sum())
    values = {
        "cohort_value": 100 * hit / k if k else None,
        "cohort_n_reported": k,
        "cohort_pct_unreported": _pct(n - k, n),
        "cohort_all_low": _pct(hit, n) if k else None,
        "cohort_all_high": _pct(hit + n - k, n) if k else None,
    }
    # A share with its denominator shown reveals both the count in and the count out of the category.
    of_reported = (k, hit, k - hit)
    return values, {
        "cohort_value": of_reported,
        "cohort_n_reported": k,
        "cohort_pct_unreported": (k, n - k),
        "cohort_all_low": of_reported + (n - k,),
        "cohort_all_high": of_reported + (n - k,),
    }


def _mean_age(cohort: pd.DataFrame) -> tuple[dict, dict]:
    """The mean age of the patients who reported it, and what each value rests on."""
    n = len(cohort)
    age = _num(cohort, "age")
    age_k = int((~np.isnan(age)).sum())
    values = {
        "cohort_value": float(np.nanmean(age)) if age_k else None,
        "cohort_n_reported": age_k,
        "cohort_pct_unreported": _pct(n - age_k, n),
        "cohort_all_low": None,
        "cohort_all_high": None,
    }
    return values, {"cohort_value": age_k, "cohort_n_reported": age_k, "cohort_pct_unreported": (age_k, n - age_k)}


def representativeness(
    cohort: pd.DataFrame,
    benchmarks: Sequence[Mapping],
    white_labels: Sequence[str] = _WHITE,
    min_cell: int = DEFAULTS["min_cell"],
) -> pd.DataFrame:
    """The cohort's gender, race and age beside the Osmind records and a reference population.

    Shares are of patients who reported the characteristic; the unreported share is given beside them,
    because a cohort where half did not report race says little about race. The bounds say what the share
    among all patients could be: every non-reporter outside the category (low) or inside it (high).

    Parameters
    ----------
    cohort : pandas.DataFrame
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`.
    white_labels : sequence of str
        ``race_ethnicity`` values counted as white, compared in lower case with punctuation as spaces.
    min_cell : int
        Values resting on a count of patients from 1 to ``min_cell - 1`` (those reporting, those in the
        category or out of it, those not reporting) become None, the row is marked ``suppressed`` and the
        cells are listed in ``attrs["suppressed"]``.

    Returns
    -------
    pandas.DataFrame
        One row each for women (% of reported gender), white (% of reported race) and mean age:
        ``characteristic, unit, cohort_value, cohort_n_reported, cohort_pct_unreported, cohort_all_low,
        cohort_all_high, suppressed, osmind_value, reference_population_value, reference_population_note``.
        ``cohort_value`` is None with the column entirely missing; the bounds are None for mean age.
    """

    def osmind(id_):
        b = benchmark(benchmarks, id_)
        return _float(b["value"]) if b else None

    rows, cells = [], []
    for i, (characteristic, unit, (values, sizes), ref) in enumerate(
        [
            ("women", "% of reported", _reported_share(cohort, "gender", ["woman", "female", "f"]), "osmind_female"),
            (
                "white",
                "% of reported",
                _reported_share(cohort, "race_ethnicity", [w.strip() for w in white_labels]),
                "osmind_white",
            ),
            ("mean age", "years", _mean_age(cohort), "osmind_age"),
        ]
    ):
        shown = suppress(values, sizes, min_cell)
        hidden = shown.pop(SUPPRESSED_KEY)
        cells += [(i, column) for column in hidden]
        rows.append(
            {
                "characteristic": characteristic,
                "unit": unit,
                **shown,
                "suppressed": bool(hidden),
                "osmind_value": osmind(ref),
                "reference_population_value": None,
                "reference_population_note": "not available: the project's sources give no figure for US adults "
                "with PTSD",
            }
        )
    out = _plain(pd.DataFrame(rows))
    out.attrs["suppressed"] = cells
    return out
