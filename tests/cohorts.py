"""Inputs for the unit tests, written out by hand: cohort frames patient by patient, and benchmark entries."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_cohort(pre, post, days=None, age=None, gender=None, race=None) -> pd.DataFrame:
    """A cohort frame in the contract's normalized dtypes; absent optional columns are all NA."""
    n = len(pre)

    def col(values, dtype):
        return pd.array([pd.NA] * n if values is None else list(values), dtype=dtype)

    return pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(n)],
            "pcl5_pre": col(pre, "Int64"),
            "pcl5_post": col(post, "Int64"),
            "days_between": col(days, "Int64"),
            "age": col(age, "Int64"),
            "gender": col(gender, "string"),
            "race_ethnicity": col(race, "string"),
            "n_infusions": col(None, "Int64"),
            "n_psych_meds": col(None, "Int64"),
            "suicidal_ideation": col(None, "boolean"),
            "psychotherapy": col(None, "boolean"),
        }
    )


def completers_with_days(change, days) -> pd.DataFrame:
    """Completers with a baseline of 80, the given changes, and follow-up days as given (floats allowed)."""
    change = np.asarray(change, dtype=float)
    return pd.DataFrame({"pcl5_pre": np.full(change.size, 80.0), "pcl5_post": 80.0 - change, "days_between": days})


#: The fields of an entry of ``data/benchmarks.yml``, as the tests write them.
BENCHMARK_FIELDS = (
    "id",
    "label",
    "instrument",
    "design",
    "arm_kind",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "range_low",
    "range_high",
    "n_arm",
    "n",
    "source",
    "note",
)


def benchmark_entry(id_, measure, arm_kind, value, **more) -> dict:
    """One entry of a benchmarks file: every field present, None where not given; ``more`` sets any field."""
    return dict.fromkeys(BENCHMARK_FIELDS) | {
        "id": id_,
        "label": f"{id_} label",
        "measure": measure,
        "arm_kind": arm_kind,
        "value": value,
        "source": f"{id_} source",
        **more,
    }
