"""Large synthetic cohorts under the data contract, for scale tests and benchmarks.

Unlike :mod:`ketamine_ptsd.analysis.reconstruction`, nothing here aims at the published aggregates: the cohorts only
look like clinical exports (every column of the contract, some dropouts and unreported values) and are
drawn in vectorised numpy, so a million patients take about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RACE_CATEGORIES = ["White", "Hispanic or Latino", "Black or African American", "Asian", "Multiracial"]


def synthetic_cohort(n: int, seed: int = 0, dropout: float = 0.05) -> pd.DataFrame:
    """``n`` patients with every contract column; a share ``dropout`` has no ``pcl5_post``."""
    rng = np.random.default_rng(seed)
    pre = np.clip(np.rint(rng.normal(52.5, 11.9, n)), 33, 80).astype(np.int64)
    post = np.clip(np.rint(pre - rng.normal(23.8, 14.7, n)), 0, 80)
    post[rng.random(n) < dropout] = np.nan
    race = np.array(RACE_CATEGORIES, dtype=object)[rng.integers(0, len(RACE_CATEGORIES), n)]
    race[rng.random(n) < 0.45] = None
    gender = np.array(["woman", "man", "nonbinary", None], dtype=object)[
        rng.choice(4, size=n, p=[0.66, 0.28, 0.03, 0.03])
    ]
    return pd.DataFrame(
        {
            "patient_id": pd.array(np.char.add("S", np.arange(1, n + 1).astype(str)), dtype="string"),
            "pcl5_pre": pd.array(pre, dtype="Int64"),
            "pcl5_post": pd.array(post, dtype="Int64"),
            "days_between": pd.array(np.clip(np.rint(rng.gamma(4.0, 9.0, n)), 7, 180), dtype="Int64"),
            "age": pd.array(np.clip(np.rint(rng.normal(41, 12, n)), 18, 90), dtype="Int64"),
            "gender": pd.array(gender, dtype="string"),
            "race_ethnicity": pd.array(race, dtype="string"),
            "n_infusions": pd.array(np.clip(rng.poisson(4.9, n), 1, 12), dtype="Int64"),
            "n_psych_meds": pd.array(np.clip(rng.poisson(1.6, n), 0, 7), dtype="Int64"),
            "suicidal_ideation": pd.array(rng.random(n) < 0.35, dtype="boolean"),
            "psychotherapy": pd.array(rng.random(n) < 0.45, dtype="boolean"),
        }
    )
