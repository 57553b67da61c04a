"""Cohort frames for the unit tests, written out patient by patient."""

from __future__ import annotations

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
