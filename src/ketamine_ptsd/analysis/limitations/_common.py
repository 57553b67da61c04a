"""What the limitation analyses share: reading the cohort's columns as arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _num(cohort: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing; all-NaN when the column is absent."""
    if column not in cohort.columns:
        return np.full(len(cohort), np.nan)
    return pd.to_numeric(cohort[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _pairs(cohort: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``pcl5_pre`` and ``pcl5_post`` of every patient with a baseline score (post NaN = dropout)."""
    pre, post = _num(cohort, "pcl5_pre"), _num(cohort, "pcl5_post")
    keep = ~np.isnan(pre)
    return pre[keep], post[keep]


def _quantile_sizes(values: np.ndarray, quantile: float) -> tuple[int, int]:
    """How many of ``values`` lie at or below and at or above ``quantile``: the patients a percentile rests on."""
    return int((values <= quantile).sum()), int((values >= quantile).sum())
