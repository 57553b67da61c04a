"""Writes the two clinic-style fixtures of the mixed-model reference (run once; the CSVs are committed).

``durability_lbfgs_early.csv``: 140 patients, where statsmodels' ``lbfgs`` reports convergence at a REML
log-likelihood about 12 below the optimum. ``durability_few_repeated.csv``: 30 patients, 2 of them with two or
more post-treatment totals, too few for a random slope. ``durability_clinic_export.csv``: the export that
``tests/test_clinic_build.py`` builds, where Powell's fit comes closest and BFGS must go on from it. Columns: ``patient_id``, ``pcl5_pre``, ``days_after_post``
(0 = the end-of-treatment ``post`` total; empty for a patient without one), ``pcl5``.
"""

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def fixture(seed: int, n: int, followups) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pre = int(rng.integers(33, 81))
        pid = f"P{i:03d}"
        if rng.random() < 0.08:  # a dropout: no post, so not in the model
            rows.append((pid, pre, None, None))
            continue
        start, slope = rng.normal(30, 12), rng.normal(1.2, rng.choice([0.3, 1.5]))
        days = [0, *sorted(rng.choice(np.arange(10, 366), followups(rng), replace=False).tolist())]
        for day in days:
            score = int(np.clip(np.rint(start + slope * day / 30.4375 + rng.normal(0, 6)), 0, 80))
            rows.append((pid, pre, day, score))
    return pd.DataFrame(rows, columns=["patient_id", "pcl5_pre", "days_after_post", "pcl5"]).astype(
        {"days_after_post": "Int64", "pcl5": "Int64"}
    )


def clinic_export() -> pd.DataFrame:
    """The export of ``tests/test_clinic_build.py`` in this layout."""
    sys.path.insert(0, str(HERE.parents[1]))
    from tests.test_clinic_build import export

    rows = pd.read_csv(io.StringIO(export()), parse_dates=["visit_date"])
    first = rows.groupby("record_id")["PCL5_total"].first()
    end = rows[rows["visit"] == "End of treatment"].set_index("record_id")["visit_date"]
    later = rows[rows["visit"] != "Baseline"]
    return pd.DataFrame(
        {
            "patient_id": later["record_id"],
            "pcl5_pre": later["record_id"].map(first),
            "days_after_post": (later["visit_date"] - later["record_id"].map(end)).dt.days,
            "pcl5": later["PCL5_total"],
        }
    )


if __name__ == "__main__":
    fixture(38, 140, lambda rng: rng.integers(0, 7)).to_csv(HERE / "durability_lbfgs_early.csv", index=False)
    fixture(7, 30, lambda rng: int(rng.random() < 0.15)).to_csv(HERE / "durability_few_repeated.csv", index=False)
    clinic_export().to_csv(HERE / "durability_clinic_export.csv", index=False)
